// SPDX-License-Identifier: MIT
// Private (torch) header: include only from core .cpp files and tests.
#pragma once

#include <torch/torch.h>

#include <QString>

#include <memory>
#include <vector>

namespace fcl {
class CancellationToken;
}

namespace fcl::detail {

class Network;
struct SharedData;
struct MethodParts;

/// EWC (Kirkpatrick et al. 2017): (lambda / 2) * sum_p F_p (theta_p - theta*_p)^2.
torch::Tensor ewcPenalty(const std::vector<torch::Tensor> &parameters,
                         const std::vector<torch::Tensor> &fisher,
                         const std::vector<torch::Tensor> &anchor, double lambda);

/// LwF (Li & Hoiem 2016): lambda * T^2 * KL(softmax(z_old / T) || softmax(z_new / T)), averaged
/// over the batch.
torch::Tensor distillationLoss(const torch::Tensor &newLogits, const torch::Tensor &oldLogits,
                               double lambda, double temperature);

/// How a regulariser measures a weight's importance for a task.
enum class Importance {
    Fisher, ///< EWC: the mean squared gradient of the task loss (the empirical diagonal Fisher)
    Mas,    ///< MAS (Aljundi et al. 2018): the mean |gradient| of the squared L2 norm of the output
};

/// MAS importance of one sample: |d(sum of output^2)/d p| for every p of `parameters` (zeros
/// for a parameter the output does not depend on). `output` must depend on `parameters` through
/// autograd; the graph is freed.
std::vector<torch::Tensor> masSampleImportance(const torch::Tensor &output,
                                               const std::vector<torch::Tensor> &parameters);

/// The mean importance per parameter over the first `samples` of `indices` (one sample at a time,
/// on the network's current weights). Outputs are the network's predictions for the sample (for
/// generative backbones the logits of its answer tokens).
std::vector<torch::Tensor>
estimateImportance(Importance kind, Network &network, std::vector<torch::Tensor> &parameters,
                   const SharedData &data, int column, const std::vector<int> &indices,
                   const std::vector<int> *columns, int samples, const CancellationToken &cancel);

/// How a stage's importance is scaled before it is folded in: by its max or its mean over all
/// parameters (so that lambda does not depend on the gradients' scale), by its sum (TIR's
/// normalisation to a distribution), or not at all.
enum class ImportanceNormalization { None, Mean, Max, Sum };
ImportanceNormalization importanceNormalizationFromName(const QString &name);
/// Divides every tensor by the chosen statistic over all of them (nothing when it is 0).
void normalizeImportance(std::vector<torch::Tensor> &importance,
                         ImportanceNormalization normalization);

/// EWC's parts with the given importance (EWC: Fisher; MAS: Mas): the penalty
/// (lambda/2) sum_p Omega_p (theta_p - theta*_p)^2, Omega the running (gamma-decayed) sum of the
/// stages' normalised importance, estimated on `samples` samples per client.
std::unique_ptr<MethodParts> importanceRegularizerParts(double lambda, int samples, double gamma,
                                                        ImportanceNormalization normalization,
                                                        Importance kind);

} // namespace fcl::detail
