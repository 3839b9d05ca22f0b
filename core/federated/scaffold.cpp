// SPDX-License-Identifier: MIT
// SCAFFOLD: Karimireddy et al. 2020, "Stochastic Controlled Averaging for Federated Learning",
// Algorithm 1 with option II for the client control variate:
//   client: y <- y - lr (g(y) - c_i + c) each step;  c_i+ = c_i - c + (x - y) / (K lr)
//   server: x <- x + server_lr * mean_i (y_i - x);   c <- c + (1/N) sum_i (c_i+ - c_i)
// N is the number of clients taking part in the stage. The server sends x and c (twice the model)
// and each client returns y_i and c_i+ - c_i (twice the model): both are counted in the bytes.
#include "core/federated/fed_avg_p.h"

#include <cmath>
#include <limits>

namespace fcl::detail {
namespace {

constexpr const char *kControlPrefix = "control/";
constexpr const char *kDeltaPrefix = "control_delta/";

class ScaffoldPlugin : public ClientPlugin {
public:
    void beforeTraining(LocalTraining &training) override
    {
        const TensorList &download = training.download->tensors;
        const std::size_t shared = training.layout->sharedIndices.size();
        Q_ASSERT(download.size() == 2 * shared);
        torch::NoGradGuard noGrad;
        if (m_control.empty()) {
            for (std::size_t k = 0; k < shared; ++k) {
                m_control.push_back({download[k].name, torch::zeros_like(download[k].value)});
            }
        }
        m_correction.clear();
        m_parameters.clear();
        for (std::size_t k = 0; k < shared; ++k) {
            m_correction.push_back(download[shared + k].value - m_control[k].value);
            m_parameters.push_back(training.model->parameters()[training.layout->sharedIndices[k]]);
        }
    }

    void beforeStep(LocalTraining &) override
    {
        torch::NoGradGuard noGrad;
        for (std::size_t k = 0; k < m_parameters.size(); ++k) {
            if (m_parameters[k].grad().defined()) {
                m_parameters[k].mutable_grad().add_(m_correction[k]);
            }
        }
    }

    void afterTraining(LocalTraining &training, Payload &upload) override
    {
        const TensorList &download = training.download->tensors;
        const std::size_t shared = m_control.size();
        const double scale =
            1.0 / (std::max(1, training.stepsTaken) * training.config->learningRate);
        torch::NoGradGuard noGrad;
        double squaredNorm = 0;
        for (std::size_t k = 0; k < shared; ++k) {
            const torch::Tensor &x = download[k].value;
            const torch::Tensor &c = download[shared + k].value;
            const torch::Tensor updated =
                m_control[k].value - c + (x - upload.tensors[k].value) * scale;
            upload.tensors.push_back(
                {kDeltaPrefix + m_control[k].name, updated - m_control[k].value});
            m_control[k].value = updated;
            squaredNorm += updated.pow(2).sum().item<double>();
        }
        upload.meta.insert(QStringLiteral("control_variate_norm"), std::sqrt(squaredNorm));
        m_correction.clear();
        m_parameters.clear();
    }

    void save(TensorArchive &archive, const std::string &prefix) const override
    {
        saveTensorList(archive, prefix + "control", m_control);
    }

    void load(const TensorArchive &archive, const std::string &prefix) override
    {
        m_control = loadTensorList(archive, prefix + "control");
    }

private:
    TensorList m_control; ///< c_i, created on first training
    std::vector<torch::Tensor> m_correction;
    std::vector<torch::Tensor> m_parameters;
};

class ScaffoldStrategy : public Strategy {
public:
    explicit ScaffoldStrategy(double serverLr) : m_serverLr(serverLr) {}

    void initialize(const TensorList &initialShared, int clients) override
    {
        Strategy::initialize(initialShared, clients);
        m_control.clear();
        for (const NamedTensor &t : m_global) {
            m_control.push_back({kControlPrefix + t.name, torch::zeros_like(t.value)});
        }
        m_norms = torch::full({clients}, std::numeric_limits<double>::quiet_NaN(), torch::kFloat64);
    }

    Payload configure(const RoundPlan &, int) const override
    {
        Payload payload;
        payload.tensors = m_global;
        payload.tensors.insert(payload.tensors.end(), m_control.begin(), m_control.end());
        return payload;
    }

    void aggregate(const RoundPlan &plan, std::vector<ClientResult> &results) override
    {
        const std::size_t shared = m_global.size();
        const double sampledShare = 1.0 / static_cast<double>(results.size());
        const double populationShare =
            1.0 / static_cast<double>(std::max<std::size_t>(1, plan.active.size()));
        torch::NoGradGuard noGrad;
        for (std::size_t k = 0; k < shared; ++k) {
            torch::Tensor modelStep = torch::zeros_like(m_global[k].value);
            torch::Tensor controlStep = torch::zeros_like(m_control[k].value);
            for (const ClientResult &result : results) {
                modelStep.add_(result.upload.tensors[k].value - m_global[k].value, sampledShare);
                controlStep.add_(result.upload.tensors[shared + k].value, populationShare);
            }
            m_global[k].value = m_global[k].value + modelStep * m_serverLr;
            m_control[k].value = m_control[k].value + controlStep;
        }
        for (const ClientResult &result : results) {
            m_norms[result.client] =
                result.upload.meta.value(QStringLiteral("control_variate_norm")).toDouble();
        }
    }

    void observe(const RoundPlan &plan, const std::vector<ClientResult> &,
                 std::vector<Observation> &observations) override
    {
        Observation norms;
        norms.kind = QStringLiteral("scaffold.control_variate_norm");
        norms.title = QStringLiteral("SCAFFOLD: control-variate norm ||c_i|| per client");
        norms.shape = ObservationShape::Series;
        double serverSquared = 0;
        for (const NamedTensor &t : m_control) {
            serverSquared += t.value.pow(2).sum().item<double>();
        }
        norms.labels << QStringLiteral("server c");
        norms.values.push_back(std::sqrt(serverSquared));
        for (std::size_t c = 0; c < plan.clientNames->size(); ++c) {
            norms.labels << (*plan.clientNames)[c];
            norms.values.push_back(m_norms[static_cast<std::int64_t>(c)].item<double>());
        }
        observations.push_back(std::move(norms));
    }

    void save(TensorArchive &archive) const override
    {
        Strategy::save(archive);
        saveTensorList(archive, "strategy/control", m_control);
        archive.put("strategy/client_norms", m_norms);
    }

    void load(const TensorArchive &archive) override
    {
        Strategy::load(archive);
        m_control = loadTensorList(archive, "strategy/control");
        m_norms = archive.get("strategy/client_norms");
    }

private:
    double m_serverLr;
    TensorList m_control;  ///< the server control variate c
    torch::Tensor m_norms; ///< last known ||c_i|| per client (NaN before it first trains)
};

} // namespace

MethodDescriptor scaffoldMethod()
{
    return describeMethod(
        "federated", "scaffold", "SCAFFOLD",
        "Control variates correct each client's drift towards its own data.",
        "SCAFFOLD (Karimireddy et al. 2020): the server keeps a control variate c (its estimate "
        "of the average gradient direction) and each client keeps its own c_i. Every local step "
        "follows g - c_i + c instead of g, which cancels the pull of the client's own data and "
        "makes the average converge under strong label skew. The control variates double what "
        "travels each way; the per-client norm ||c_i|| is plotted as an observation.",
        {doubleParam("server_lr", 0, 10, 1.0, "Global step size eta_g.", true)},
        [](const QVariantMap &params) {
            auto parts = std::make_unique<MethodParts>();
            parts->strategy = std::make_unique<ScaffoldStrategy>(
                params.value(QStringLiteral("server_lr")).toDouble());
            parts->clientPlugin = [] {
                return std::make_unique<ScaffoldPlugin>();
            };
            return parts;
        });
}

} // namespace fcl::detail
