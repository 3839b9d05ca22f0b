// SPDX-License-Identifier: MIT
// Private (torch) header: the frozen task encoder of He et al.'s task similarity.
#pragma once

#include "core/continual/task_similarity_math.h"
#include "core/data/shared_data_p.h"
#include "core/metrics/observation.h"
#include "core/model/model_p.h"

#include <vector>

namespace fcl::detail {

/// Embeds tasks with a frozen copy of the base's input layers, per modality (He et al.):
/// - tiny-vlm: image = the mean over the 16 patches of patch_proj(p) + patch_pos; instruction and
///   answer = the mean token_embedding row over the characters of the prompt and of the answer;
/// - classifiers: image = the mean pixel row, instruction = its code, answer = the one-hot word.
/// A task's embedding is the normalised mean over up to `maxSamples` training samples taken at a
/// stride over its pool; text-only tasks have a zero image vector. Copies what it reads: the base
/// may train afterwards.
class TaskEncoder {
public:
    TaskEncoder() = default;
    explicit TaskEncoder(Network &base);

    bool valid() const { return m_valid; }
    /// `indices` (and `columns`, as LocalTraining::columns): embed only these training samples of
    /// the task (a client's own); nullptr: the task's whole pool.
    tasksim::TaskEmbedding embed(const SharedData &data, int column,
                                 const std::vector<int> *indices = nullptr,
                                 const std::vector<int> *columns = nullptr,
                                 int maxSamples = 1000) const;

private:
    bool m_valid = false;
    bool m_generative = false;
    torch::Tensor m_tokenEmbedding; ///< [V, d]
    torch::Tensor m_patchWeight;    ///< [d, patch pixels]
    torch::Tensor m_patchBias;      ///< [d]
    torch::Tensor m_patchPos;       ///< [patches, d]
    int m_patchSide = 7;
};

/// A tensor's values as doubles (any dtype; flattened).
std::vector<double> toDoubles(const torch::Tensor &t);

/// The observations of a task set's similarity: "task_similarity.product" (the heatmap, task x
/// task, diagonal NaN) and "task_similarity.cosine" (the three modalities' plain cosines averaged
/// with the diagonal NaN too), for the run's columns `labels`.
std::vector<Observation>
taskSimilarityObservations(const std::vector<tasksim::TaskEmbedding> &tasks,
                           const QStringList &labels);

} // namespace fcl::detail
