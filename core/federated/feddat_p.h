// SPDX-License-Identifier: MIT
// Private (torch) header: FedDAT's loss, exposed for tests.
#pragma once

#include <torch/torch.h>

namespace fcl::detail {

/// One of FedDAT's two mutual-distillation losses: (1 - w) taskLoss + w τ² KL(σ(teacher/τ) ‖
/// σ(logits/τ)), the KL averaged over rows (PyTorch's "batchmean"); the paper's w is ½, τ 3.
torch::Tensor mutualKdLoss(const torch::Tensor &taskLoss, const torch::Tensor &logits,
                           const torch::Tensor &teacher, double kdWeight, double temperature);

} // namespace fcl::detail
