// SPDX-License-Identifier: MIT
// FedAdam and FedYogi: Reddi et al. 2021, "Adaptive Federated Optimization", Algorithm 2 (no bias
// correction, v starts at tau^2). The pseudo-gradient is the sample-weighted mean of the clients'
// models minus the global model (Flower's FedAdam/FedYogi average the same way).
#include "core/federated/fed_avg_p.h"

namespace fcl::detail {
namespace {

class AdaptiveStrategy : public Strategy {
public:
    enum class Rule { Adam, Yogi };

    AdaptiveStrategy(Rule rule, const QVariantMap &params)
        : m_rule(rule), m_serverLr(params.value(QStringLiteral("server_lr")).toDouble()),
          m_beta1(params.value(QStringLiteral("beta1")).toDouble()),
          m_beta2(params.value(QStringLiteral("beta2")).toDouble()),
          m_tau(params.value(QStringLiteral("tau")).toDouble())
    {
    }

    void initialize(const TensorList &initialShared, int clients) override
    {
        Strategy::initialize(initialShared, clients);
        m_first.clear();
        m_second.clear();
        for (const NamedTensor &t : m_global) {
            m_first.push_back({t.name, torch::zeros_like(t.value)});
            m_second.push_back({t.name, torch::full_like(t.value, m_tau * m_tau)});
        }
    }

    void aggregate(const RoundPlan &, std::vector<ClientResult> &results) override
    {
        const std::vector<torch::Tensor> mean = weightedMeanOfUploads(results, m_global.size());
        torch::NoGradGuard noGrad;
        for (std::size_t i = 0; i < m_global.size(); ++i) {
            const torch::Tensor delta = mean[i] - m_global[i].value;
            const torch::Tensor squared = delta * delta;
            m_first[i].value = m_first[i].value * m_beta1 + delta * (1.0 - m_beta1);
            if (m_rule == Rule::Adam) {
                m_second[i].value = m_second[i].value * m_beta2 + squared * (1.0 - m_beta2);
            } else {
                m_second[i].value =
                    m_second[i].value -
                    squared * torch::sign(m_second[i].value - squared) * (1.0 - m_beta2);
            }
            m_global[i].value = m_global[i].value +
                                m_first[i].value * m_serverLr / (m_second[i].value.sqrt() + m_tau);
        }
    }

    void save(TensorArchive &archive) const override
    {
        Strategy::save(archive);
        saveTensorList(archive, "strategy/m", m_first);
        saveTensorList(archive, "strategy/v", m_second);
    }

    void load(const TensorArchive &archive) override
    {
        Strategy::load(archive);
        m_first = loadTensorList(archive, "strategy/m");
        m_second = loadTensorList(archive, "strategy/v");
    }

private:
    Rule m_rule;
    double m_serverLr;
    double m_beta1;
    double m_beta2;
    double m_tau;
    TensorList m_first;
    TensorList m_second;
};

std::vector<ParamDescriptor> adaptiveParams()
{
    return {doubleParam("server_lr", 0, 10, 1e-2, "Server learning rate eta.", true),
            doubleParam("beta1", 0, 0.999, 0.9, "First-moment decay."),
            doubleParam("beta2", 0, 0.9999, 0.99, "Second-moment decay."),
            doubleParam("tau", 0, 1, 1e-3, "Adaptivity tau (v starts at tau^2).", true)};
}

MethodFactory adaptiveFactory(AdaptiveStrategy::Rule rule)
{
    return [rule](const QVariantMap &params) {
        auto parts = std::make_unique<MethodParts>();
        parts->strategy = std::make_unique<AdaptiveStrategy>(rule, params);
        return parts;
    };
}

} // namespace

MethodDescriptor fedAdamMethod()
{
    return describeMethod(
        "federated", "fedadam", "FedAdam",
        "The server applies Adam to the clients' average update.",
        "FedAdam (Reddi et al. 2021): clients train as in FedAvg, but the server treats the "
        "average change of the model as a gradient and takes an Adam step with its own moments "
        "(m, v) and learning rate. Adaptive server steps help when client updates are noisy or "
        "badly scaled. Defaults from the paper: server_lr 0.01, beta1 0.9, beta2 0.99, tau 0.001.",
        adaptiveParams(), adaptiveFactory(AdaptiveStrategy::Rule::Adam));
}

MethodDescriptor fedYogiMethod()
{
    return describeMethod(
        "federated", "fedyogi", "FedYogi",
        "The server applies Yogi (a gentler Adam) to the clients' average update.",
        "FedYogi (Reddi et al. 2021) is FedAdam with Yogi's second-moment rule, v = v - "
        "(1 - beta2)·Δ²·sign(v - Δ²), which grows v additively and so avoids Adam's sudden "
        "jumps of the effective learning rate. Same defaults as FedAdam.",
        adaptiveParams(), adaptiveFactory(AdaptiveStrategy::Rule::Yogi));
}

} // namespace fcl::detail
