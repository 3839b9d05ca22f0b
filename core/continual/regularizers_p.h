// SPDX-License-Identifier: MIT
// Private (torch) header: include only from core .cpp files and tests.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace fcl::detail {

/// EWC (Kirkpatrick et al. 2017): (lambda / 2) * sum_p F_p (theta_p - theta*_p)^2.
torch::Tensor ewcPenalty(const std::vector<torch::Tensor> &parameters,
                         const std::vector<torch::Tensor> &fisher,
                         const std::vector<torch::Tensor> &anchor, double lambda);

/// LwF (Li & Hoiem 2016): lambda * T^2 * KL(softmax(z_old / T) || softmax(z_new / T)), averaged
/// over the batch.
torch::Tensor distillationLoss(const torch::Tensor &newLogits, const torch::Tensor &oldLogits,
                               double lambda, double temperature);

} // namespace fcl::detail
