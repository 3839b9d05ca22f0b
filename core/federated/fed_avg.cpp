// SPDX-License-Identifier: MIT
// FedAvg: McMahan et al. 2017; FedProx: Li et al. 2020, eq. (2). See shared/docs/algorithms.md.
#include "core/federated/aggregator_p.h"

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

torch::Tensor proximalTerm(const std::vector<torch::Tensor> &parameters,
                           const std::vector<torch::Tensor> &globalParameters, double mu)
{
    torch::Tensor sum = torch::zeros({}, parameters.front().options());
    for (std::size_t i = 0; i < parameters.size(); ++i) {
        sum = sum + (parameters[i] - globalParameters[i]).pow(2).sum();
    }
    return sum * (mu / 2.0);
}

} // namespace fcl::detail
