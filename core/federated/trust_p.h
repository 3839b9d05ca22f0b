// SPDX-License-Identifier: MIT
// Private (torch) header: PCFT's trust matrices (Wagner, Fan and Jaggi), as pure tensor functions.
// A trust matrix W is N x N, row i = the learner, column j = the source; rows sum to 1 and client
// i's next model is sum_j W[i][j] * theta_j. Scores and weights are float64.
#pragma once

#include "core/model/parameters_p.h"

#include <torch/torch.h>

#include <vector>

namespace fcl::detail {

/// How a row of scores becomes a row of trust: softmax of all (`Softmax`), of the k best only
/// (`TopK`, the rest get weight 0), or of the entries above a threshold with the two best always
/// kept (`Threshold`). Ties go to the lower index.
enum class TrustVariant { Softmax, TopK, Threshold };

/// Weight similarity: S[i][j] = the mean, over every column of every 2-D trainable matrix (a LoRA
/// A [r, in] has `in` columns, B [out, r] has `r`), of the cosine between client i's and client
/// j's column (0 when either is zero); a 1-D tensor counts as one column. The original stores A as
/// [in, r] and compares rows: ours are transposed, so columns are its rows.
torch::Tensor weightSimilarity(const std::vector<TensorList> &models);

/// Validation scores from losses[i][j] = mean cross-entropy of model j on client i's validation
/// data: S[i][j] = -exp(losses[i][j]), minus the perplexity.
torch::Tensor validationScores(const torch::Tensor &losses);

/// Keeps each row's `k` largest entries (and any tied with the k-th) and sets the rest to 0.
torch::Tensor keepTopLogits(const torch::Tensor &logits, int k);

/// Prediction scores from every model's logits on the same reference rows ([rows, V] each):
/// Z_j = keepTopLogits(logits_j, topLogits), Dist[i][j] = mean over rows of |Z_i - Z_j|_1, each
/// row of Dist divided by its L1 norm (floored at 1e-12), S = -scale * that.
torch::Tensor predictionScores(const std::vector<torch::Tensor> &logits, int topLogits,
                               double scale = 10);

/// Rows of softmax(S / temperature) after the variant's selection (k for TopK, threshold for
/// Threshold). Entries left out get exactly 0.
torch::Tensor trustFromScores(const torch::Tensor &scores, TrustVariant variant, int k,
                              double threshold, double temperature = 1);

/// theta_i' = sum_j W[i][j] theta_j for every i at once (from the models before any update), in
/// source order, so the result does not depend on threads.
std::vector<TensorList> mixModels(const torch::Tensor &trust,
                                  const std::vector<TensorList> &models);

/// The directed edges a trust matrix uses: W[i][j] > 0 for i != j.
int usedEdges(const torch::Tensor &trust);

} // namespace fcl::detail
