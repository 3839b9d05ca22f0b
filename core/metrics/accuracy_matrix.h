// SPDX-License-Identifier: MIT
#pragma once

#include <vector>

namespace fcl {

/// The continual-learning accuracy matrix R (GEM notation): R[i][j] is the score on task j after
/// stage i finished (0-based here), with b[j] the untrained model's score. Columns are tasks in the
/// order they first appear, so heterogeneous sequences (several tasks per stage, tasks recurring)
/// fit too; `learnedAt[j]` is the first stage that trains task j. For a homogeneous sequence
/// learnedAt[j] == j and every formula reduces to the papers' (shared/docs/algorithms.md §1).
/// Plain value type; unset cells are NaN.
class AccuracyMatrix {
public:
    AccuracyMatrix() = default;
    AccuracyMatrix(int stages, std::vector<int> learnedAt);

    int stages() const { return m_stages; }
    int tasks() const { return static_cast<int>(m_learnedAt.size()); }
    int learnedAt(int task) const { return m_learnedAt[static_cast<std::size_t>(task)]; }

    void set(int stage, int task, double value);
    double at(int stage, int task) const;
    void setBaseline(int task, double value);
    double baseline(int task) const;

    /// A_k: mean of R[k][j] over the tasks learned by stage k (RWalk; FCIT's per-stage "Avg").
    double averageAccuracy(int stage) const;
    /// ACC = Last = A_{T-1}.
    double finalAverageAccuracy() const;
    /// Avg = mean over stages of A_k (average incremental accuracy).
    double averageIncrementalAccuracy() const;
    /// F_k: mean over tasks learned before stage k of max_{l<k} R[l][j] - R[k][j]; 0 at stage 0.
    double averageForgetting(int stage) const;
    /// F at the last stage.
    double finalAverageForgetting() const;
    /// BWT: mean over tasks learned before the last stage of R[T-1][j] - R[learnedAt j][j]
    /// (divided by T-1 for a homogeneous sequence, as in the GEM paper).
    double backwardTransfer() const;
    /// FWT: mean over tasks learned after stage 0 of R[learnedAt j - 1][j] - b[j].
    double forwardTransfer() const;
    /// MFT (MCITlib): mean over the tasks learned so far of R[learnedAt j][j], each task's score
    /// right after the stage that first trains it.
    double meanFinetuneAccuracy() const;
    /// MFN (MCITlib): mean over the tasks learned so far of their score after the last stage.
    /// Equal to Last while every column is a learned task; MAA is Avg.
    double meanFinalAccuracy() const;

private:
    int m_stages = 0;
    std::vector<int> m_learnedAt;
    std::vector<double> m_values; // row-major stages x tasks
    std::vector<double> m_baseline;
};

} // namespace fcl
