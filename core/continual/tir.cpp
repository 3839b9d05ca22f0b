// SPDX-License-Identifier: MIT
// TIR: task-similarity-informed regularisation (He et al., continual instruction tuning of
// multimodal models). Importance (MAS by default, or EWC's Fisher) is kept as one map over the
// weights: after each stage Ipt := max(Ipt, Ipt_stage), and every weight remembers the task that
// set its maximum (its owner). Before training a new task, each weight's protection is scaled by
// (1 - sim(new task, owner)): a weight that mattered for a similar task may move (the tasks help
// each other), one that mattered for a different task is held. The loss is
// CE + lambda * sum_p Ipt_p (1 - sim_owner(p)) (theta_p - theta*_p)^2.
// Similarity is the product over image, instruction and answer embeddings of their standardised
// scores (task_similarity_math.h), from the model's frozen input layers (TaskEncoder).
// Built: the per-stage view of the undecayed importance (the original assigns Ipt := Ipt * (1 -
// sim), which compounds over stages and flips owners; not offered). Federated: clients upload
// their importance and their task's embedding; the server averages both by samples, so a stage
// whose clients hold different tasks gets one averaged task embedding (exact with one client).
#include "core/common/method_descriptor.h"
#include "core/continual/regularizers_p.h"
#include "core/continual/task_similarity_p.h"
#include "core/federated/aggregator_p.h"
#include "core/model/method_api_p.h"

namespace fcl::detail {

namespace {

constexpr const char *kModalities[] = {"img", "inst", "ans"};

torch::Tensor toTensor(const std::vector<double> &v)
{
    return torch::tensor(v, torch::kFloat64);
}

struct TirOptions {
    double lambda = 10;
    int samples = 200;
    Importance importance = Importance::Mas;
    bool useSimilarity = true;
    tasksim::Form form = tasksim::Form::Standardized;
    bool half = false;
};

/// The broadcast: n importance tensors, n owner tensors (int32: the index of the task that set
/// each maximum), n anchor tensors, then three embedding vectors per task learned so far.
struct TirBroadcast {
    std::size_t n = 0;
    const TensorList *list = nullptr;
    std::size_t tasks() const { return (list->size() - 3 * n) / 3; }
    const torch::Tensor &importance(std::size_t i) const { return (*list)[i].value; }
    const torch::Tensor &owner(std::size_t i) const { return (*list)[n + i].value; }
    const torch::Tensor &anchor(std::size_t i) const { return (*list)[2 * n + i].value; }
    tasksim::TaskEmbedding task(std::size_t k) const
    {
        const std::size_t at = 3 * n + 3 * k;
        return {toDoubles((*list)[at].value), toDoubles((*list)[at + 1].value),
                toDoubles((*list)[at + 2].value)};
    }
};

/// The run's encoder (the untrained base), or one from `network` when there is none (a plugin
/// driven by hand).
const TaskEncoder &encoderFor(const TaskEncoder *encoder, Network &network)
{
    static thread_local TaskEncoder fallback;
    if (encoder != nullptr) {
        return *encoder;
    }
    fallback = TaskEncoder(network);
    return fallback;
}

class TirPlugin : public ClientPlugin {
public:
    explicit TirPlugin(TirOptions options) : m_options(options) {}

    torch::Tensor lossTerm(LocalTraining &training, const Batch &, const Outputs &, int) override
    {
        if (training.broadcast == nullptr || training.broadcast->empty()) {
            return {};
        }
        std::vector<torch::Tensor> parameters = training.model->parameters();
        if (m_version != training.broadcastVersion || m_column != training.column) {
            const TirBroadcast b{parameters.size(), training.broadcast};
            std::vector<double> similarity(b.tasks(), 0.0);
            if (m_options.useSimilarity) {
                const tasksim::TaskEmbedding own =
                    encoderFor(training.encoder, training.model->network())
                        .embed(*training.data, training.column, training.indices, training.columns);
                std::vector<tasksim::TaskEmbedding> earlier;
                for (std::size_t k = 0; k < b.tasks(); ++k) {
                    earlier.push_back(b.task(k));
                }
                similarity = tasksim::similarityToPrevious(own, earlier, tasksim::Variant::Fixed,
                                                           m_options.form);
            }
            m_similarity = similarity;
            torch::NoGradGuard noGrad;
            const torch::Tensor keep = 1.0 - torch::tensor(similarity, torch::kFloat32);
            m_weight.clear();
            m_anchor.clear();
            for (std::size_t i = 0; i < b.n; ++i) {
                m_weight.push_back(b.importance(i) *
                                   keep.index_select(0, b.owner(i).flatten().to(torch::kInt64))
                                       .view(b.importance(i).sizes()));
                m_anchor.push_back(b.anchor(i));
            }
            m_version = training.broadcastVersion;
            m_column = training.column;
        }
        torch::Tensor sum = torch::zeros({}, parameters.front().options());
        for (std::size_t i = 0; i < parameters.size(); ++i) {
            sum = sum + (m_weight[i] * (parameters[i] - m_anchor[i]).pow(2)).sum();
        }
        return sum * (m_options.half ? m_options.lambda / 2.0 : m_options.lambda);
    }

    Payload afterStage(StageEnd &end, double *weight) override
    {
        Payload upload;
        const std::vector<torch::Tensor> importance = estimateImportance(
            m_options.importance, end.model->network(), end.model->parameters(), *end.data,
            end.column, *end.indices, end.columns, m_options.samples, *end.cancel);
        for (std::size_t i = 0; i < importance.size(); ++i) {
            upload.tensors.push_back({"importance/" + std::to_string(i), importance[i]});
        }
        const tasksim::TaskEmbedding own =
            encoderFor(end.encoder, end.model->network())
                .embed(*end.data, end.column, end.indices, end.columns);
        upload.tensors.push_back({"task/img", toTensor(own.img)});
        upload.tensors.push_back({"task/inst", toTensor(own.inst)});
        upload.tensors.push_back({"task/ans", toTensor(own.ans)});
        *weight = static_cast<double>(std::min<std::size_t>(
            end.indices->size(), static_cast<std::size_t>(m_options.samples)));
        return upload;
    }

    /// For tests: the similarity of this client's task to each earlier task, as last used.
    const std::vector<double> &similarity() const { return m_similarity; }

private:
    TirOptions m_options;
    int m_version = -1;
    int m_column = -1;
    std::vector<double> m_similarity;
    std::vector<torch::Tensor> m_weight;
    std::vector<torch::Tensor> m_anchor;
};

class TirServer : public StagePlugin {
public:
    explicit TirServer(ImportanceNormalization normalization) : m_normalization(normalization) {}

    bool collectsFromClients() const override { return true; }

    std::int64_t afterStage(int stage, const TensorList &globalModel, std::vector<Payload> &uploads,
                            const std::vector<double> &weights) override
    {
        if (uploads.empty()) {
            return 0;
        }
        const std::size_t n = globalModel.size();
        std::vector<std::vector<torch::Tensor>> importances;
        std::vector<std::vector<torch::Tensor>> embeddings;
        for (const Payload &upload : uploads) {
            const std::vector<torch::Tensor> values = valuesOf(upload.tensors);
            importances.emplace_back(values.begin(),
                                     values.begin() + static_cast<std::ptrdiff_t>(n));
            embeddings.emplace_back(values.begin() + static_cast<std::ptrdiff_t>(n), values.end());
        }
        torch::NoGradGuard noGrad;
        std::vector<torch::Tensor> stageImportance = federatedAverage(importances, weights);
        normalizeImportance(stageImportance, m_normalization);
        const std::vector<torch::Tensor> stageTask = federatedAverage(embeddings, weights);
        const bool first = m_broadcast.empty();
        const TirBroadcast previous{n, &m_broadcast};
        const std::size_t taskIndex = first ? 0 : previous.tasks();
        TensorList next;
        std::vector<torch::Tensor> owners;
        for (std::size_t i = 0; i < n; ++i) {
            const torch::Tensor &fresh = stageImportance[i];
            if (first) {
                next.push_back({"importance/" + globalModel[i].name, fresh});
                owners.push_back(torch::full(fresh.sizes(), static_cast<std::int64_t>(taskIndex),
                                             torch::kInt32));
            } else {
                const torch::Tensor larger = fresh.gt(previous.importance(i));
                next.push_back({"importance/" + globalModel[i].name,
                                torch::maximum(previous.importance(i), fresh)});
                owners.push_back(torch::where(
                    larger,
                    torch::full_like(previous.owner(i), static_cast<std::int64_t>(taskIndex)),
                    previous.owner(i)));
            }
        }
        for (std::size_t i = 0; i < n; ++i) {
            next.push_back({"owner/" + globalModel[i].name, owners[i]});
        }
        for (const NamedTensor &t : globalModel) {
            next.push_back({"anchor/" + t.name, t.value.detach().clone()});
        }
        for (std::size_t k = 0; k < taskIndex; ++k) {
            for (std::size_t m = 0; m < 3; ++m) {
                next.push_back(m_broadcast[3 * n + 3 * k + m]);
            }
        }
        for (std::size_t m = 0; m < 3; ++m) {
            next.push_back({"task/" + std::to_string(taskIndex) + "/" + kModalities[m],
                            toTensor(tasksim::normalized(toDoubles(stageTask[m])))});
        }
        // Down: everything but the anchor, which is the global model the clients get anyway.
        std::int64_t bytes = 0;
        for (std::size_t i = 0; i < next.size(); ++i) {
            if (i < 2 * n || i >= 3 * n) {
                bytes += next[i].value.numel() * next[i].value.element_size();
            }
        }
        m_broadcast = std::move(next);
        m_version = stage;
        return static_cast<std::int64_t>(uploads.size()) * bytes;
    }

private:
    ImportanceNormalization m_normalization;
};

} // namespace

MethodDescriptor tirMethod()
{
    return describeMethod(
        "continual", "tir", "TIR",
        "Regularise by importance, relaxed for weights owned by similar earlier tasks (He et al.).",
        "Task-similarity-informed regularisation (He et al., continual instruction tuning): "
        "after each stage the clients measure each weight's importance (MAS by default) and "
        "embed their task (image, instruction and answer means of the frozen input layers); the "
        "server keeps the maximum importance per weight and which task set it. A new task pays "
        "lambda·Σ Ipt·(1 − sim(new task, owner))·(w − w*)²: weights that mattered for a similar "
        "task may move, weights of different tasks are held. Importance and embeddings travel "
        "and are counted.",
        {doubleParam("lambda", 0, 1e7, 10,
                     "Penalty strength (importance_normalization max: each stage's importance is "
                     "at most 1; the original's sum normalisation wants lambda about 1e2 and still "
                     "gives a near-zero penalty over 10^5 weights)."),
         choiceParam("importance", {QStringLiteral("mas"), QStringLiteral("fisher")},
                     "mas: mean |d||output||²/dw| (Aljundi et al., no labels); fisher: EWC's mean "
                     "squared gradient of the task loss."),
         intParam("importance_samples", 1, 60000, 200,
                  "Samples per client used to estimate the importance (and the task embedding "
                  "uses up to 1000)."),
         choiceParam("importance_normalization",
                     {QStringLiteral("max"), QStringLiteral("sum"), QStringLiteral("mean")},
                     "Divide each stage's importance by its max, its sum (the original) or its "
                     "mean over all weights before the max-merge."),
         boolParam("use_similarity", true,
                   "false: the ablation without similarity (max-merged importance, every weight "
                   "fully protected)."),
         choiceParam("similarity", {QStringLiteral("standardized"), QStringLiteral("cosine")},
                     "standardized: the product of sigmoid z-scores of the three modalities' "
                     "cosines over the task set (the original; relative: identical tasks do not "
                     "reach 1; with only two tasks there is one pair and the clamped cosines are "
                     "used); cosine: the product of the cosines clamped to [0, 1]."),
         boolParam("half", false,
                   "Use lambda/2 (as a third-party port does; the paper has no ½).")},
        [](const QVariantMap &params) {
            TirOptions options;
            options.lambda = params.value(QStringLiteral("lambda")).toDouble();
            options.samples = params.value(QStringLiteral("importance_samples")).toInt();
            options.importance =
                params.value(QStringLiteral("importance")).toString() == QLatin1String("fisher")
                    ? Importance::Fisher
                    : Importance::Mas;
            options.useSimilarity = params.value(QStringLiteral("use_similarity")).toBool();
            options.form =
                params.value(QStringLiteral("similarity")).toString() == QLatin1String("cosine")
                    ? tasksim::Form::Cosine
                    : tasksim::Form::Standardized;
            options.half = params.value(QStringLiteral("half")).toBool();
            auto parts = std::make_unique<MethodParts>();
            parts->clientPlugin = [options] {
                return std::make_unique<TirPlugin>(options);
            };
            parts->stagePlugin = std::make_unique<TirServer>(importanceNormalizationFromName(
                params.value(QStringLiteral("importance_normalization")).toString()));
            return parts;
        });
}

} // namespace fcl::detail
