// SPDX-License-Identifier: MIT
// FedAvgM: Hsu, Qi and Brown 2019, "Measuring the effects of non-identical data distribution for
// federated visual classification": server momentum on the pseudo-gradient x - mean(y_i).
#include "core/federated/fed_avg_p.h"

namespace fcl::detail {
namespace {

class FedAvgMStrategy : public Strategy {
public:
    FedAvgMStrategy(double serverLr, double momentum) : m_serverLr(serverLr), m_momentum(momentum)
    {
    }

    void aggregate(const RoundPlan &, std::vector<ClientResult> &results) override
    {
        const std::vector<torch::Tensor> mean = weightedMeanOfUploads(results, m_global.size());
        torch::NoGradGuard noGrad;
        if (m_velocity.empty()) {
            for (const NamedTensor &t : m_global) {
                m_velocity.push_back({t.name, torch::zeros_like(t.value)});
            }
        }
        TensorList next;
        for (std::size_t i = 0; i < m_global.size(); ++i) {
            const torch::Tensor delta = m_global[i].value - mean[i];
            m_velocity[i].value = m_velocity[i].value * m_momentum + delta;
            next.push_back(
                {m_global[i].name, m_global[i].value - m_velocity[i].value * m_serverLr});
        }
        m_global = std::move(next);
    }

    void save(TensorArchive &archive) const override
    {
        Strategy::save(archive);
        saveTensorList(archive, "strategy/velocity", m_velocity);
    }

    void load(const TensorArchive &archive) override
    {
        Strategy::load(archive);
        m_velocity = loadTensorList(archive, "strategy/velocity");
    }

private:
    double m_serverLr;
    double m_momentum;
    TensorList m_velocity;
};

} // namespace

MethodDescriptor fedAvgMMethod()
{
    return describeMethod(
        "federated", "fedavgm", "FedAvgM",
        "FedAvg with server momentum: the server accumulates the average update.",
        "FedAvgM (Hsu et al. 2019) treats the difference between the global model and the "
        "clients' average as a gradient and applies it with momentum on the server: v = beta·v + "
        "(x - mean y), x = x - server_lr·v. With label skew the momentum smooths the direction "
        "the clients disagree on. server_lr 1 and server_momentum 0 is FedAvg.",
        {doubleParam("server_lr", 0, 10, 1.0, "Server step size.", true),
         doubleParam("server_momentum", 0, 0.999, 0.9, "Server momentum beta.")},
        [](const QVariantMap &params) {
            auto parts = std::make_unique<MethodParts>();
            parts->strategy = std::make_unique<FedAvgMStrategy>(
                params.value(QStringLiteral("server_lr")).toDouble(),
                params.value(QStringLiteral("server_momentum")).toDouble());
            return parts;
        });
}

} // namespace fcl::detail
