// SPDX-License-Identifier: MIT
// FedAvg: McMahan et al. 2017, Algorithm 1 (server update: the sample-weighted mean).
#include "core/federated/aggregator_p.h"
#include "core/federated/fed_avg_p.h"

#include <QtGlobal>

namespace fcl::detail {

std::vector<torch::Tensor> federatedAverage(const std::vector<std::vector<torch::Tensor>> &updates,
                                            const std::vector<double> &weights)
{
    Q_ASSERT(!updates.empty() && updates.size() == weights.size());
    torch::NoGradGuard noGrad;
    double total = 0;
    for (double w : weights) {
        total += w;
    }
    std::vector<torch::Tensor> mean;
    for (const auto &tensor : updates.front()) {
        mean.push_back(torch::zeros_like(tensor));
    }
    for (std::size_t k = 0; k < updates.size(); ++k) {
        const double share = weights[k] / total;
        for (std::size_t i = 0; i < mean.size(); ++i) {
            mean[i].add_(updates[k][i], share);
        }
    }
    return mean;
}

std::vector<torch::Tensor> weightedMeanOfUploads(const std::vector<ClientResult> &results,
                                                 std::size_t count)
{
    std::vector<std::vector<torch::Tensor>> parameters;
    std::vector<double> weights;
    parameters.reserve(results.size());
    for (const ClientResult &result : results) {
        std::vector<torch::Tensor> tensors;
        tensors.reserve(count);
        for (std::size_t i = 0; i < count; ++i) {
            tensors.push_back(result.upload.tensors[i].value);
        }
        parameters.push_back(std::move(tensors));
        weights.push_back(result.weight);
    }
    return federatedAverage(parameters, weights);
}

void FedAvgStrategy::aggregate(const RoundPlan &, std::vector<ClientResult> &results)
{
    m_global = withNames(m_global, weightedMeanOfUploads(results, m_global.size()));
}

MethodDescriptor fedAvgMethod()
{
    return describeMethod(
        "federated", "fedavg", "FedAvg",
        "Average the clients' models, weighted by their data size.",
        "Federated Averaging (McMahan et al. 2017): each round the server sends the global "
        "model to a sample of clients, each trains it for a few epochs on its own data, and "
        "the server replaces the global model by the average of the returned models, "
        "weighted by how many samples each client holds. Raw data never leaves a client.",
        {}, [](const QVariantMap &) {
            auto parts = std::make_unique<MethodParts>();
            parts->strategy = std::make_unique<FedAvgStrategy>();
            return parts;
        });
}

} // namespace fcl::detail
