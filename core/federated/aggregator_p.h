// SPDX-License-Identifier: MIT
// Private (torch) header: include only from core .cpp files and tests.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace fcl::detail {

/// FedAvg (McMahan et al. 2017, Algorithm 1): the weighted mean of the clients' parameter lists,
/// sum_k (w_k / sum w) * theta_k, accumulated in the given client order (so the result is the same
/// whatever thread trained which client). Weights are the clients' sample counts. Requires at
/// least one update with positive total weight.
std::vector<torch::Tensor> federatedAverage(const std::vector<std::vector<torch::Tensor>> &updates,
                                            const std::vector<double> &weights);

/// FedProx (Li et al. 2020, local objective eq. (2)): (mu / 2) * sum ||w - w_global||^2.
torch::Tensor proximalTerm(const std::vector<torch::Tensor> &parameters,
                           const std::vector<torch::Tensor> &globalParameters, double mu);

} // namespace fcl::detail
