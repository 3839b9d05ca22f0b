// SPDX-License-Identifier: MIT
// FedPer: Arivazhagan et al. 2019, "Federated Learning with Personalization Layers": the base is
// averaged as in FedAvg, the output layer (the head) stays on each client and is never sent.
// Evaluation then uses each client's own model: the global base with its personal head.
#include "core/federated/fed_avg_p.h"

namespace fcl::detail {
namespace {

class FedPerStrategy : public FedAvgStrategy {
public:
    ParameterScope scopeOf(const std::string &name, const Network &network) const override
    {
        return name.rfind(network.headPrefix(), 0) == 0 ? ParameterScope::Local
                                                        : ParameterScope::Shared;
    }
    bool isPersonalised() const override { return true; }
};

} // namespace

MethodDescriptor fedPerMethod()
{
    MethodDescriptor method = describeMethod(
        "federated", "fedper", "FedPer (personal heads)",
        "Average the body of the network; every client keeps its own output layer.",
        "FedPer (Arivazhagan et al. 2019): the layers below the output are averaged as in "
        "FedAvg, but each client's output layer (its head) is personal: it is trained locally, "
        "never sent, and used to evaluate that client. With clients that answer different "
        "questions, the shared body learns common features while heads specialise. Accuracy is "
        "measured per client (each on its own model) and shown as a client x task matrix.",
        {}, [](const QVariantMap &) {
            auto parts = std::make_unique<MethodParts>();
            parts->strategy = std::make_unique<FedPerStrategy>();
            return parts;
        });
    method.oneTaskPerStage = true;
    return method;
}

} // namespace fcl::detail
