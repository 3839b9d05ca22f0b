// SPDX-License-Identifier: MIT
// EWC: Kirkpatrick et al. 2017; LwF: Li & Hoiem 2016. See shared/docs/algorithms.md §6.3.
#include "core/continual/regularizers_p.h"

namespace fcl::detail {

torch::Tensor ewcPenalty(const std::vector<torch::Tensor> &parameters,
                         const std::vector<torch::Tensor> &fisher,
                         const std::vector<torch::Tensor> &anchor, double lambda)
{
    torch::Tensor sum = torch::zeros({}, parameters.front().options());
    for (std::size_t i = 0; i < parameters.size(); ++i) {
        sum = sum + (fisher[i] * (parameters[i] - anchor[i]).pow(2)).sum();
    }
    return sum * (lambda / 2.0);
}

torch::Tensor distillationLoss(const torch::Tensor &newLogits, const torch::Tensor &oldLogits,
                               double lambda, double temperature)
{
    const torch::Tensor teacher = torch::softmax(oldLogits / temperature, 1);
    const torch::Tensor logTeacher = torch::log_softmax(oldLogits / temperature, 1);
    const torch::Tensor logStudent = torch::log_softmax(newLogits / temperature, 1);
    const torch::Tensor kl = (teacher * (logTeacher - logStudent)).sum(1).mean();
    return kl * (lambda * temperature * temperature);
}

} // namespace fcl::detail
