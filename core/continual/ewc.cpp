// SPDX-License-Identifier: MIT
// EWC: Kirkpatrick et al. 2017, penalty (lambda/2) sum_p F_p (theta_p - theta*_p)^2 with the
// empirical diagonal Fisher; online EWC (Schwarz et al. 2018, "Progress & Compress"): one running
// Fisher F = gamma F + F_stage instead of one penalty per task (gamma 1 is the plain sum).
// Federated: after each stage but the last, every client of the stage estimates its Fisher on the
// final global model and uploads it; the server averages them by sample count, optionally
// normalises the stage's Fisher (by its mean or its max over all parameters, so that lambda does
// not depend on the gradients' scale), folds it into the running Fisher and sends that down. The
// anchor is the global model the clients receive at the next stage's start anyway, so only the
// Fisher is counted as extra traffic.
#include "core/common/method_descriptor.h"
#include "core/continual/regularizers_p.h"
#include "core/federated/aggregator_p.h"
#include "core/model/method_api_p.h"

namespace fcl::detail {

torch::Tensor ewcPenalty(const std::vector<torch::Tensor> &parameters,
                         const std::vector<torch::Tensor> &fisher,
                         const std::vector<torch::Tensor> &anchor, double lambda)
{
    torch::Tensor sum = torch::zeros({}, parameters.front().options());
    for (std::size_t i = 0; i < parameters.size(); ++i) {
        sum = sum + (fisher[i] * (parameters[i] - anchor[i]).pow(2)).sum();
    }
    return sum * (lambda / 2.0);
}

std::vector<torch::Tensor> masSampleImportance(const torch::Tensor &output,
                                               const std::vector<torch::Tensor> &parameters)
{
    const std::vector<torch::Tensor> grads =
        torch::autograd::grad({output.pow(2).sum()}, parameters, {}, false, false, true);
    std::vector<torch::Tensor> importance;
    for (std::size_t k = 0; k < parameters.size(); ++k) {
        importance.push_back(grads[k].defined() ? grads[k].abs()
                                                : torch::zeros_like(parameters[k]));
    }
    return importance;
}

std::vector<torch::Tensor>
estimateImportance(Importance kind, Network &network, std::vector<torch::Tensor> &parameters,
                   const SharedData &data, int column, const std::vector<int> &indices,
                   const std::vector<int> *columns, int samples, const CancellationToken &cancel)
{
    std::vector<torch::Tensor> importance;
    for (const auto &p : parameters) {
        importance.push_back(torch::zeros_like(p));
    }
    const int count = std::min<int>(samples, static_cast<int>(indices.size()));
    for (int i = 0; i < count; ++i) {
        if (cancel.isCancelled()) {
            break;
        }
        const auto at = static_cast<std::size_t>(i);
        const Batch batch =
            makeBatch(data, {{columns != nullptr ? (*columns)[at] : column, indices[at]}});
        const Outputs outputs = network.predict(batch);
        if (kind == Importance::Mas) {
            const std::vector<torch::Tensor> sample =
                masSampleImportance(outputs.logits, parameters);
            torch::NoGradGuard noGrad;
            for (std::size_t k = 0; k < importance.size(); ++k) {
                importance[k].add_(sample[k]);
            }
            continue;
        }
        for (auto &p : parameters) {
            if (p.grad().defined()) {
                p.grad().zero_();
            }
        }
        torch::nn::functional::cross_entropy(outputs.logits, outputs.targets).backward();
        torch::NoGradGuard noGrad;
        for (std::size_t k = 0; k < importance.size(); ++k) {
            importance[k].add_(parameters[k].grad().pow(2));
        }
    }
    torch::NoGradGuard noGrad;
    for (auto &f : importance) {
        f.div_(std::max(1, count));
    }
    return importance;
}

ImportanceNormalization importanceNormalizationFromName(const QString &name)
{
    return name == QLatin1String("mean")  ? ImportanceNormalization::Mean
           : name == QLatin1String("max") ? ImportanceNormalization::Max
           : name == QLatin1String("sum") ? ImportanceNormalization::Sum
                                          : ImportanceNormalization::None;
}

void normalizeImportance(std::vector<torch::Tensor> &importance,
                         ImportanceNormalization normalization)
{
    if (normalization == ImportanceNormalization::None) {
        return;
    }
    torch::NoGradGuard noGrad;
    double total = 0;
    double largest = 0;
    std::int64_t elements = 0;
    for (const torch::Tensor &f : importance) {
        total += f.sum().item<double>();
        largest = std::max(largest, f.max().item<double>());
        elements += f.numel();
    }
    const double scale = normalization == ImportanceNormalization::Mean
                             ? total / static_cast<double>(std::max<std::int64_t>(1, elements))
                         : normalization == ImportanceNormalization::Sum ? total
                                                                         : largest;
    if (scale > 0) {
        for (torch::Tensor &f : importance) {
            f.div_(scale);
        }
    }
}

namespace {

class EwcPlugin : public ClientPlugin {
public:
    EwcPlugin(double lambda, int fisherSamples, Importance kind)
        : m_lambda(lambda), m_fisherSamples(fisherSamples), m_kind(kind)
    {
    }

    torch::Tensor lossTerm(LocalTraining &training, const Batch &, const Outputs &, int) override
    {
        if (training.broadcast == nullptr || training.broadcast->empty()) {
            return {};
        }
        if (m_version != training.broadcastVersion) {
            // The broadcast is the Fisher sum, then the anchor, each in layout order.
            const std::size_t half = training.broadcast->size() / 2;
            m_fisher.clear();
            m_anchor.clear();
            for (std::size_t i = 0; i < half; ++i) {
                m_fisher.push_back((*training.broadcast)[i].value);
                m_anchor.push_back((*training.broadcast)[half + i].value);
            }
            m_version = training.broadcastVersion;
        }
        return ewcPenalty(training.model->parameters(), m_fisher, m_anchor, m_lambda);
    }

    Payload afterStage(StageEnd &end, double *weight) override
    {
        Payload upload;
        const std::vector<torch::Tensor> fisher =
            estimateImportance(m_kind, end.model->network(), end.model->parameters(), *end.data,
                               end.column, *end.indices, end.columns, m_fisherSamples, *end.cancel);
        for (std::size_t i = 0; i < fisher.size(); ++i) {
            upload.tensors.push_back({"fisher/" + std::to_string(i), fisher[i]});
        }
        *weight = static_cast<double>(
            std::min<std::size_t>(end.indices->size(), static_cast<std::size_t>(m_fisherSamples)));
        return upload;
    }

private:
    double m_lambda;
    int m_fisherSamples;
    Importance m_kind;
    int m_version = -1;
    std::vector<torch::Tensor> m_fisher;
    std::vector<torch::Tensor> m_anchor;
};

class EwcServer : public StagePlugin {
public:
    EwcServer(double gamma, ImportanceNormalization normalization)
        : m_gamma(gamma), m_normalization(normalization)
    {
    }

    bool collectsFromClients() const override { return true; }

    std::int64_t afterStage(int stage, const TensorList &globalModel, std::vector<Payload> &uploads,
                            const std::vector<double> &weights) override
    {
        if (uploads.empty()) {
            return 0;
        }
        std::vector<std::vector<torch::Tensor>> fishers;
        for (const Payload &upload : uploads) {
            fishers.push_back(valuesOf(upload.tensors));
        }
        std::vector<torch::Tensor> stageFisher = federatedAverage(fishers, weights);
        normalizeImportance(stageFisher, m_normalization);
        const std::size_t count = globalModel.size();
        TensorList next;
        for (std::size_t i = 0; i < count; ++i) {
            torch::Tensor sum = stageFisher[i];
            if (!m_broadcast.empty()) {
                sum = m_broadcast[i].value;
                if (m_gamma != 1.0) {
                    sum.mul_(m_gamma);
                }
                sum.add_(stageFisher[i]);
            }
            next.push_back({"fisher/" + globalModel[i].name, sum});
        }
        const std::int64_t fisherBytes = byteSize(next);
        for (const NamedTensor &t : globalModel) {
            next.push_back({"anchor/" + t.name, t.value.detach().clone()});
        }
        m_broadcast = std::move(next);
        m_version = stage;
        return static_cast<std::int64_t>(uploads.size()) * fisherBytes;
    }

private:
    double m_gamma;
    ImportanceNormalization m_normalization;
};

} // namespace

std::unique_ptr<MethodParts> importanceRegularizerParts(double lambda, int samples, double gamma,
                                                        ImportanceNormalization normalization,
                                                        Importance kind)
{
    auto parts = std::make_unique<MethodParts>();
    parts->clientPlugin = [lambda, samples, kind] {
        return std::make_unique<EwcPlugin>(lambda, samples, kind);
    };
    parts->stagePlugin = std::make_unique<EwcServer>(gamma, normalization);
    return parts;
}

MethodDescriptor ewcMethod()
{
    return describeMethod(
        "continual", "ewc", "EWC",
        "Penalise changes to weights that mattered for earlier tasks (diagonal Fisher).",
        "Elastic Weight Consolidation (Kirkpatrick et al. 2017): after each stage every "
        "participating client estimates how important each weight was (the diagonal of the "
        "Fisher information, mean squared gradient), the server averages these, and later "
        "training pays (lambda/2)·Σ F·(w - w*)² for moving important weights. The Fisher "
        "upload is counted in the communication cost.",
        {doubleParam("lambda", 0, 1e7, 10,
                     "Penalty strength. With SGD, lr x lambda x (largest running Fisher) must stay "
                     "below 2 or training diverges; fisher_normalization max keeps each stage's "
                     "Fisher at most 1."),
         intParam("fisher_samples", 1, 60000, 200,
                  "Samples per client used to estimate the Fisher information."),
         doubleParam("gamma", 0, 1, 1.0,
                     "Online EWC: the running Fisher decays by gamma each stage (1: a plain sum "
                     "over stages, as Kirkpatrick et al.)."),
         choiceParam("fisher_normalization",
                     {QStringLiteral("max"), QStringLiteral("mean"), QStringLiteral("none")},
                     "Divide each stage's Fisher by its max or its mean over all parameters, so "
                     "that lambda does not depend on the scale of the gradients (none: the raw "
                     "Fisher, as Kirkpatrick et al.).")},
        [](const QVariantMap &params) {
            return importanceRegularizerParts(
                params.value(QStringLiteral("lambda")).toDouble(),
                params.value(QStringLiteral("fisher_samples")).toInt(),
                params.value(QStringLiteral("gamma")).toDouble(),
                importanceNormalizationFromName(
                    params.value(QStringLiteral("fisher_normalization")).toString()),
                Importance::Fisher);
        });
}

} // namespace fcl::detail
