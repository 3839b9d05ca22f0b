// SPDX-License-Identifier: MIT
// Task similarity for continual instruction tuning (He et al.) as plain functions of doubles. A
// task is embedded per modality (image, instruction, answer); the similarity of two tasks is the
// product over modalities of a per-pair score. The standardized form scores each pair by
// sigmoid((dot - mean) / std) over every pair of the task set (the original's z-score of the upper
// triangle of E E^T); the cosine form scores it by the dot clamped to [0, 1]. The original's quirks
// (a single pair, a zero std) are a `Variant` switch. No torch: callers pass the embeddings.
#pragma once

#include <vector>

namespace fcl::tasksim {

/// One task's embedding: a vector per modality, L2-normalised by the caller (see normalized()).
/// Within a modality every task has the same dimension. An empty or zero vector means "absent": a
/// modality absent from every task in the set is left out of the product (a text-only task set
/// then scores on instruction and answer alone). Where only some tasks lack it, theirs counts as
/// the zero vector (dot 0 with every other task).
struct TaskEmbedding {
    std::vector<double> img, inst, ans;
};

/// Faithful keeps the original code's arithmetic; Fixed guards its degenerate cases: with a single
/// pair (two tasks) Fixed clamps the raw dot to [0, 1] where Faithful uses it as is, and with a
/// zero std Fixed scores every pair 0.5 where Faithful gets NaN (0 / 0).
enum class Variant { Faithful, Fixed };

/// Standardized: sigmoid z-score of the dots over all pairs of the set, per modality. Cosine: the
/// dot clamped to [0, 1], per pair, with no standardisation (the same for both variants).
enum class Form { Standardized, Cosine };

/// v / |v|; the zero (or empty) vector is returned unchanged.
std::vector<double> normalized(std::vector<double> v);

/// The dot of two vectors; entries past the shorter one count as zeros (so an empty vector acts as
/// the zero vector).
double dot(const std::vector<double> &a, const std::vector<double> &b);

/// The row-major upper triangle with offset 1 of E E^T for the rows E: for rows (0, 1, 2) the dots
/// of the pairs (0,1), (0,2), (1,2).
std::vector<double> pairDots(const std::vector<std::vector<double>> &rows);

/// The standardized scores of one modality's pair dots. More than one pair: sigmoid((p - mean) /
/// std) with the unbiased std (divide by n - 1); all pairs equal (std 0): NaN everywhere for
/// Faithful, 0.5 everywhere for Fixed. One pair: the dot itself for Faithful, clamped to [0, 1] for
/// Fixed. The std-0 case is detected as "all entries equal", so rounding in the mean cannot turn it
/// into +-inf.
std::vector<double> standardize(const std::vector<double> &pairs, Variant variant);

/// The similarity of the current task to each earlier task, in the order of `earlier`: the tasks
/// are stacked current first, [e_t; e_1; ...; e_{t-1}], every modality's pair dots are scored over
/// all t(t-1)/2 pairs of that stack (Form), and the scores of the pairs (current, e_k), the first
/// t - 1 of the triangle, are multiplied over the present modalities. Empty `earlier`: empty.
std::vector<double> similarityToPrevious(const TaskEmbedding &current,
                                         const std::vector<TaskEmbedding> &earlier, Variant variant,
                                         Form form = Form::Standardized);

/// The heatmap: a symmetric T x T row-major matrix whose (i, j) entry is the product over present
/// modalities of pair (i, j)'s score, each modality standardized over all T(T-1)/2 pairs (same
/// rules as standardize()); the diagonal is NaN. T = 1: {NaN}; T = 0: empty. Since the scores
/// depend only on the set of pairs, the row of the current task in the matrix of [current,
/// earlier...] equals similarityToPrevious(current, earlier).
std::vector<double> similarityMatrix(const std::vector<TaskEmbedding> &tasks, Variant variant,
                                     Form form = Form::Standardized);

} // namespace fcl::tasksim
