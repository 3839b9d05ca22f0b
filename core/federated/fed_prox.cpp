// SPDX-License-Identifier: MIT
// FedProx: Li et al. 2020, local objective eq. (2): the FedAvg server and a proximal client term.
#include "core/federated/aggregator_p.h"
#include "core/federated/fed_avg_p.h"

namespace fcl::detail {

torch::Tensor proximalTerm(const std::vector<torch::Tensor> &parameters,
                           const std::vector<torch::Tensor> &globalParameters, double mu)
{
    torch::Tensor sum = torch::zeros({}, parameters.front().options());
    for (std::size_t i = 0; i < parameters.size(); ++i) {
        sum = sum + (parameters[i] - globalParameters[i]).pow(2).sum();
    }
    return sum * (mu / 2.0);
}

namespace {

class ProximalPlugin : public ClientPlugin {
public:
    explicit ProximalPlugin(double mu) : m_mu(mu) {}

    void beforeTraining(LocalTraining &training) override
    {
        m_shared.clear();
        for (std::size_t i : training.layout->sharedIndices) {
            m_shared.push_back(training.model->parameters()[i]);
        }
        m_global = valuesOf(training.download->tensors);
    }

    torch::Tensor lossTerm(LocalTraining &, const Batch &, const Outputs &, int) override
    {
        return proximalTerm(m_shared, m_global, m_mu);
    }

    void afterTraining(LocalTraining &, Payload &) override
    {
        m_shared.clear();
        m_global.clear();
    }

private:
    double m_mu;
    std::vector<torch::Tensor> m_shared;
    std::vector<torch::Tensor> m_global;
};

} // namespace

MethodDescriptor fedProxMethod()
{
    return describeMethod(
        "federated", "fedprox", "FedProx",
        "FedAvg plus a proximal term that keeps local models near the global one.",
        "FedProx (Li et al. 2020) adds (mu/2)·||w - w_global||² to every client's loss. With "
        "non-IID data, clients that train for long drift towards their own optimum; the "
        "proximal term pulls them back, which stabilises the average. mu = 0 is FedAvg.",
        {doubleParam("mu", 0, 100, 0.01,
                     "Strength of the proximal term (mu/2)·||w - w_global||².")},
        [](const QVariantMap &params) {
            auto parts = std::make_unique<MethodParts>();
            parts->strategy = std::make_unique<FedAvgStrategy>();
            const double mu = params.value(QStringLiteral("mu")).toDouble();
            parts->clientPlugin = [mu] {
                return std::make_unique<ProximalPlugin>(mu);
            };
            return parts;
        });
}

} // namespace fcl::detail
