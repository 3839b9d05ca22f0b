// SPDX-License-Identifier: MIT
// Metric definitions: GEM (Lopez-Paz & Ranzato 2017) and RWalk (Chaudhry et al. 2018);
// see shared/docs/algorithms.md §1.
#include "core/metrics/accuracy_matrix.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace fcl {
namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double meanOf(const std::vector<double> &values)
{
    if (values.empty()) {
        return 0.0;
    }
    double sum = 0;
    for (double v : values) {
        sum += v;
    }
    return sum / static_cast<double>(values.size());
}
} // namespace

AccuracyMatrix::AccuracyMatrix(int stages, std::vector<int> learnedAt)
    : m_stages(stages), m_learnedAt(std::move(learnedAt)),
      m_values(static_cast<std::size_t>(stages) * m_learnedAt.size(), kNaN),
      m_baseline(m_learnedAt.size(), kNaN)
{
}

void AccuracyMatrix::set(int stage, int task, double value)
{
    m_values[static_cast<std::size_t>(stage) * m_learnedAt.size() +
             static_cast<std::size_t>(task)] = value;
}

double AccuracyMatrix::at(int stage, int task) const
{
    return m_values[static_cast<std::size_t>(stage) * m_learnedAt.size() +
                    static_cast<std::size_t>(task)];
}

void AccuracyMatrix::setBaseline(int task, double value)
{
    m_baseline[static_cast<std::size_t>(task)] = value;
}

double AccuracyMatrix::baseline(int task) const
{
    return m_baseline[static_cast<std::size_t>(task)];
}

double AccuracyMatrix::averageAccuracy(int stage) const
{
    std::vector<double> seen;
    for (int j = 0; j < tasks(); ++j) {
        if (learnedAt(j) <= stage) {
            seen.push_back(at(stage, j));
        }
    }
    return meanOf(seen);
}

double AccuracyMatrix::finalAverageAccuracy() const
{
    return m_stages > 0 ? averageAccuracy(m_stages - 1) : 0.0;
}

double AccuracyMatrix::averageIncrementalAccuracy() const
{
    std::vector<double> perStage;
    for (int k = 0; k < m_stages; ++k) {
        perStage.push_back(averageAccuracy(k));
    }
    return meanOf(perStage);
}

double AccuracyMatrix::averageForgetting(int stage) const
{
    std::vector<double> forgetting;
    for (int j = 0; j < tasks(); ++j) {
        if (learnedAt(j) >= stage) {
            continue;
        }
        double best = -std::numeric_limits<double>::infinity();
        for (int l = 0; l < stage; ++l) {
            if (!std::isnan(at(l, j))) {
                best = std::max(best, at(l, j));
            }
        }
        forgetting.push_back(best - at(stage, j));
    }
    return meanOf(forgetting);
}

double AccuracyMatrix::finalAverageForgetting() const
{
    return m_stages > 0 ? averageForgetting(m_stages - 1) : 0.0;
}

double AccuracyMatrix::backwardTransfer() const
{
    std::vector<double> transfer;
    const int last = m_stages - 1;
    for (int j = 0; j < tasks(); ++j) {
        if (learnedAt(j) < last) {
            transfer.push_back(at(last, j) - at(learnedAt(j), j));
        }
    }
    return meanOf(transfer);
}

double AccuracyMatrix::forwardTransfer() const
{
    std::vector<double> transfer;
    for (int j = 0; j < tasks(); ++j) {
        // Tasks first met after the last stage recorded here (a cancelled run) have no FWT yet.
        if (learnedAt(j) > 0 && learnedAt(j) < m_stages) {
            transfer.push_back(at(learnedAt(j) - 1, j) - baseline(j));
        }
    }
    return meanOf(transfer);
}

double AccuracyMatrix::meanFinetuneAccuracy() const
{
    std::vector<double> right;
    for (int j = 0; j < tasks(); ++j) {
        if (learnedAt(j) < m_stages) {
            right.push_back(at(learnedAt(j), j));
        }
    }
    return meanOf(right);
}

double AccuracyMatrix::meanFinalAccuracy() const
{
    std::vector<double> final;
    for (int j = 0; j < tasks(); ++j) {
        if (learnedAt(j) < m_stages) {
            final.push_back(at(m_stages - 1, j));
        }
    }
    return meanOf(final);
}

} // namespace fcl
