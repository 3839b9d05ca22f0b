// SPDX-License-Identifier: MIT
// FedDAT: Chen, Zhang, Krompass, Gu and Tresp, "FedDAT: An Approach for Foundation Model
// Finetuning in Multi-Modal Heterogeneous Federated Learning" (AAAI 2024). Every adapter slot of
// the backbone holds a trio (core/model/peft.cpp): the client's own adapter A_c (never sent), the
// shared adapter A_s (the only part averaged) and a frozen snapshot Ā_s of the global A_s taken
// when the round starts. The dual-adapter teacher (DAT) is h + ½A_c(h) + ½Ā_s(h). Per batch, two
// steps of mutual knowledge distillation:
//   teacher  z_T = f_DAT(x) without gradients;
//   step 1   z_s = f_{A_s}(x),  L_s = ½ [CE(z_s, y) + τ² KL(σ(z_T/τ) ‖ σ(z_s/τ))], step;
//   step 2   z_c = f_DAT(x),    L_c = ½ [CE(z_c, y) + τ² KL(σ(z_s/τ) ‖ σ(z_c/τ))], step,
// with z_s from before step 1's update and detached. The server averages A_s uniformly; heads
// (classifier backbones) stay personal. A client is evaluated with its A_c, its head and the
// global A_s on the DAT route.
#include "core/continual/regularizers_p.h"
#include "core/federated/aggregator_p.h"
#include "core/federated/fed_avg_p.h"
#include "core/federated/feddat_p.h"
#include "core/model/model_p.h"
#include "core/sim/local_sgd_p.h"

#include <optional>

namespace fcl::detail {

torch::Tensor mutualKdLoss(const torch::Tensor &taskLoss, const torch::Tensor &logits,
                           const torch::Tensor &teacher, double kdWeight, double temperature)
{
    return (1 - kdWeight) * taskLoss + distillationLoss(logits, teacher, kdWeight, temperature);
}

namespace {

enum class DatTraining { MutualKd, SharedOnly, ClientOnly };

struct FedDatSettings {
    DatTraining training = DatTraining::MutualKd;
    double temperature = 3;
    double kdWeight = 0.5;
    double clientShare = 0.5; ///< A_c's share in the DAT mix
    bool uniform = true;      ///< average A_s with equal weights (as the code), else by samples
    bool faithful = false;
};

AdapterRoute evaluationRoute(DatTraining training)
{
    switch (training) {
    case DatTraining::SharedOnly:
        return AdapterRoute::Shared;
    case DatTraining::ClientOnly:
        return AdapterRoute::Client;
    case DatTraining::MutualKd:
        break;
    }
    return AdapterRoute::Dat;
}

class FedDatStrategy : public Strategy {
public:
    explicit FedDatStrategy(const FedDatSettings &settings) : m_settings(settings) {}

    /// A_c and (on classifiers) the output layer are the client's own; A_s travels. Local-only
    /// training keeps everything at home, so nothing travels.
    ParameterScope scopeOf(const std::string &name, const Network &network) const override
    {
        if (m_settings.training == DatTraining::ClientOnly ||
            name.find(".client.") != std::string::npos ||
            (!network.generative() && name.rfind(network.headPrefix(), 0) == 0)) {
            return ParameterScope::Local;
        }
        return ParameterScope::Shared;
    }
    bool isPersonalised() const override { return true; }

    void aggregate(const RoundPlan &, std::vector<ClientResult> &results) override
    {
        if (m_global.empty()) {
            return;
        }
        std::vector<std::vector<torch::Tensor>> uploads;
        std::vector<double> weights;
        for (const ClientResult &result : results) {
            uploads.push_back(valuesOf(result.upload.tensors));
            weights.push_back(m_settings.uniform ? 1.0 : result.weight);
        }
        m_global = withNames(m_global, federatedAverage(uploads, weights));
    }

private:
    FedDatSettings m_settings;
};

class FedDatTraining : public LocalSgd {
public:
    explicit FedDatTraining(const FedDatSettings &settings) : m_settings(settings) {}

    ClientResult train(LocalTraining &training, ClientState &state) const override
    {
        // The replica is reused (for evaluation, other clients): whatever happens, it leaves
        // with no snapshot and on the evaluation route.
        struct Restore {
            Network &network;
            AdapterRoute route;
            double share;
            ~Restore()
            {
                clearAdapterSnapshots(network);
                setAdapterRoute(network, route, share);
            }
        } restore{training.model->network(), evaluationRoute(m_settings.training),
                  m_settings.clientShare};
        return LocalSgd::train(training, state);
    }

protected:
    void beforeBatches(LocalTraining &training) const override
    {
        Network &network = training.model->network();
        // A reused replica still holds the previous client's gradients; with `faithful`'s
        // zero_grad they would become zeros that Adam steps on (and counts), so a client's
        // result would depend on which replica trained it before.
        dropGradients(training);
        if (m_settings.training == DatTraining::MutualKd) {
            snapshotSharedAdapters(network); // Ā_s := A_s^g, as received
        }
        setAdapterRoute(network, evaluationRoute(m_settings.training), m_settings.clientShare);
    }

    double trainBatch(LocalTraining &training, ClientState &state,
                      torch::optim::Optimizer &optimizer, const Batch &batch, int current,
                      const std::function<bool(double)> &healthy) const override
    {
        if (m_settings.training != DatTraining::MutualKd) {
            return LocalSgd::trainBatch(training, state, optimizer, batch, current, healthy);
        }
        Network &network = training.model->network();
        const double share = m_settings.clientShare;
        torch::Tensor teacher;
        {
            torch::NoGradGuard noGrad;
            setAdapterRoute(network, AdapterRoute::Dat, share);
            teacher = network.predict(batch).logits;
        }
        // Step 1: the shared adapter (and the head) learn from the labels and the teacher.
        setAdapterRoute(network, AdapterRoute::Shared, share);
        clearGradients(training, optimizer);
        const Outputs shared = network.predict(batch);
        if (!step(training, state, optimizer, batch, current, shared, teacher, healthy)) {
            return 0;
        }
        // Step 2: the teacher's client side (and the head) learn from the labels and from step
        // 1's student, as it was before its update.
        setAdapterRoute(network, AdapterRoute::Dat, share);
        clearGradients(training, optimizer);
        const Outputs dat = network.predict(batch);
        const std::optional<double> taskLoss =
            step(training, state, optimizer, batch, current, dat, shared.logits.detach(), healthy);
        return taskLoss.value_or(0);
    }

private:
    /// `fixed`: gradients become undefined, so the optimiser leaves the branch a step does not
    /// use exactly where it is. `faithful`: zeroed, as torch's zero_grad did in the original
    /// code, so Adam's moments and weight decay still move it.
    void clearGradients(LocalTraining &training, torch::optim::Optimizer &optimizer) const
    {
        if (m_settings.faithful) {
            optimizer.zero_grad();
        } else {
            dropGradients(training);
        }
    }

    /// Every trainable parameter's gradient becomes undefined (the optimiser skips it).
    static void dropGradients(LocalTraining &training)
    {
        for (torch::Tensor &parameter : training.model->parameters()) {
            parameter.mutable_grad() = torch::Tensor();
        }
    }

    /// One distillation step towards `teacher`; returns its task loss, or nothing on divergence.
    std::optional<double> step(LocalTraining &training, ClientState &state,
                               torch::optim::Optimizer &optimizer, const Batch &batch, int current,
                               const Outputs &outputs, const torch::Tensor &teacher,
                               const std::function<bool(double)> &healthy) const
    {
        const LocalConfig &config = *training.config;
        const torch::Tensor taskLoss = taskLossOf(config, batch, outputs);
        // Multi-head training: distil over the task's own answers only, as the task loss does.
        const torch::Tensor loss =
            mutualKdLoss(taskLoss, ownAnswerLogits(config, batch, outputs, outputs.logits),
                         ownAnswerLogits(config, batch, outputs, teacher), m_settings.kdWeight,
                         m_settings.temperature);
        if (!finishStep(training, state, optimizer, batch, current, outputs, loss, healthy)) {
            return std::nullopt;
        }
        return taskLoss.item<double>();
    }

    FedDatSettings m_settings;
};

QLatin1String routeName(AdapterRoute route)
{
    switch (route) {
    case AdapterRoute::Shared:
        return QLatin1String("shared");
    case AdapterRoute::Client:
        return QLatin1String("client");
    case AdapterRoute::Dat:
        break;
    }
    return QLatin1String("dat");
}

} // namespace

MethodDescriptor fedDatMethod()
{
    MethodDescriptor method = describeMethod(
        "federated", "feddat", "FedDAT (dual-adapter teacher)",
        "Each client keeps its own adapter beside a shared one; the two teach each other.",
        "FedDAT (Chen et al. 2024), for clients whose data differ in modality or answers: every "
        "adapter slot holds three adapters, the client's own (never sent), a shared one (the "
        "only part the server averages) and a frozen copy of the shared one as received. The "
        "client's own adapter mixed half and half with that frozen copy is the dual-adapter "
        "teacher. Per batch the shared adapter learns from the labels and from the teacher, then "
        "the teacher's own half learns from the labels and from the shared adapter (mutual "
        "distillation). Classifier heads stay personal. Needs model.tuning \"adapter\".",
        {doubleParam("temperature", 0, 100, 3, "Distillation temperature (tau).", true),
         doubleParam("kd_weight", 0, 1, 0.5,
                     "Share of the distillation term in each step's loss (the rest is the task "
                     "loss); the paper's 1/2."),
         doubleParam("dat_mix", 0, 1, 0.5,
                     "The client adapter's share in the dual-adapter teacher (the frozen shared "
                     "copy has the rest); the paper's fixed 1/2."),
         choiceParam("weighting", {"uniform", "samples"},
                     "How the server averages the shared adapters: equally (as the original "
                     "code) or by the clients' sample counts."),
         choiceParam("train", {"mutual_kd", "shared_only", "client_only"},
                     "mutual_kd: FedDAT. shared_only: only the shared adapter trains and is "
                     "evaluated (FedAvg of one adapter, heads personal). client_only: only the "
                     "client's adapter (local training, nothing travels)."),
         choiceParam("variant", {"fixed", "faithful"},
                     "faithful: as the original code (gradients zeroed, not cleared, so Adam still "
                     "moves the branch a step does not use; weights start as N(0, 0.02^2)); "
                     "fixed: a step moves only its branch, and adapters start as the identity.")},
        [](const QVariantMap &params) {
            FedDatSettings s;
            const QString train = params.value(QStringLiteral("train")).toString();
            s.training = train == QLatin1String("shared_only")   ? DatTraining::SharedOnly
                         : train == QLatin1String("client_only") ? DatTraining::ClientOnly
                                                                 : DatTraining::MutualKd;
            s.temperature = params.value(QStringLiteral("temperature")).toDouble();
            s.kdWeight = params.value(QStringLiteral("kd_weight")).toDouble();
            s.clientShare = params.value(QStringLiteral("dat_mix")).toDouble();
            s.uniform =
                params.value(QStringLiteral("weighting")).toString() != QLatin1String("samples");
            s.faithful =
                params.value(QStringLiteral("variant")).toString() == QLatin1String("faithful");
            auto parts = std::make_unique<MethodParts>();
            parts->strategy = std::make_unique<FedDatStrategy>(s);
            parts->algorithm = std::make_unique<FedDatTraining>(s);
            parts->adjustModel = [s](QVariantMap &model) {
                if (model.value(QStringLiteral("tuning")).toString() != QLatin1String("adapter")) {
                    return QStringLiteral(
                        "federated.method: \"feddat\" trains adapters; set model.tuning to "
                        "\"adapter\"");
                }
                model.insert(QStringLiteral("adapter_branches"), 3);
                model.insert(QStringLiteral("adapter_route"),
                             QString(routeName(evaluationRoute(s.training))));
                model.insert(QStringLiteral("adapter_mix"), s.clientShare);
                model.insert(QStringLiteral("adapter_init"),
                             s.faithful ? QStringLiteral("gaussian") : QStringLiteral("zero_up"));
                return QString();
            };
            return parts;
        });
    method.oneTaskPerStage = true;
    return method;
}

} // namespace fcl::detail
