// SPDX-License-Identifier: MIT
#include "core/continual/task_similarity_math.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

namespace fcl::tasksim {

namespace {

using Member = std::vector<double> TaskEmbedding::*;
constexpr Member kModalities[] = {&TaskEmbedding::img, &TaskEmbedding::inst, &TaskEmbedding::ans};

double sigmoid(double x)
{
    return 1.0 / (1.0 + std::exp(-x));
}

/// The product over present modalities of every pair's score, in the row-major upper-triangle
/// order of pairDots(). No present modality: every pair scores 1 (the empty product).
std::vector<double> pairScores(const std::vector<const TaskEmbedding *> &tasks, Variant variant,
                               Form form)
{
    const std::size_t n = tasks.size();
    std::vector<double> scores(n < 2 ? 0 : n * (n - 1) / 2, 1.0);
    for (const Member modality : kModalities) {
        // A modality no task has (empty or zero vectors: text-only tasks have no image) is left
        // out; scored, its dots of 0 would clamp to 0 or standardise to a constant 0.5.
        const bool present = std::any_of(tasks.begin(), tasks.end(), [&](const TaskEmbedding *t) {
            return dot(t->*modality, t->*modality) > 0;
        });
        if (!present) {
            continue;
        }
        std::vector<std::vector<double>> rows;
        rows.reserve(n);
        for (const TaskEmbedding *t : tasks) {
            rows.push_back(t->*modality);
        }
        std::vector<double> part = pairDots(rows);
        if (form == Form::Cosine) {
            for (double &p : part) {
                p = std::clamp(p, 0.0, 1.0);
            }
        } else {
            part = standardize(part, variant);
        }
        for (std::size_t k = 0; k < scores.size(); ++k) {
            scores[k] *= part[k];
        }
    }
    return scores;
}

} // namespace

std::vector<double> normalized(std::vector<double> v)
{
    const double norm = std::sqrt(dot(v, v));
    if (norm > 0) {
        for (double &x : v) {
            x /= norm;
        }
    }
    return v;
}

double dot(const std::vector<double> &a, const std::vector<double> &b)
{
    double sum = 0;
    for (std::size_t k = 0; k < a.size() && k < b.size(); ++k) {
        sum += a[k] * b[k];
    }
    return sum;
}

std::vector<double> pairDots(const std::vector<std::vector<double>> &rows)
{
    std::vector<double> result;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        for (std::size_t j = i + 1; j < rows.size(); ++j) {
            result.push_back(dot(rows[i], rows[j]));
        }
    }
    return result;
}

std::vector<double> standardize(const std::vector<double> &pairs, Variant variant)
{
    if (pairs.empty()) {
        return {};
    }
    if (pairs.size() == 1) {
        return {variant == Variant::Faithful ? pairs.front() : std::clamp(pairs.front(), 0.0, 1.0)};
    }
    // Equal up to rounding (the same task embedded twice): a std of 1e-16 would turn rounding
    // noise into scores of 0.24 or 0.76.
    const auto [low, high] = std::minmax_element(pairs.begin(), pairs.end());
    const bool allEqual = *high - *low <= 1e-12 * std::max(1.0, std::abs(*high));
    if (allEqual) {
        // The original divides 0 by a zero std.
        const double value =
            variant == Variant::Faithful ? std::numeric_limits<double>::quiet_NaN() : 0.5;
        return std::vector<double>(pairs.size(), value);
    }
    const auto n = static_cast<double>(pairs.size());
    double mean = 0;
    for (const double p : pairs) {
        mean += p;
    }
    mean /= n;
    double squares = 0;
    for (const double p : pairs) {
        squares += (p - mean) * (p - mean);
    }
    const double stddev = std::sqrt(squares / (n - 1)); // unbiased, as torch.std
    std::vector<double> result;
    result.reserve(pairs.size());
    for (const double p : pairs) {
        result.push_back(sigmoid((p - mean) / stddev));
    }
    return result;
}

std::vector<double> similarityToPrevious(const TaskEmbedding &current,
                                         const std::vector<TaskEmbedding> &earlier, Variant variant,
                                         Form form)
{
    if (earlier.empty()) {
        return {};
    }
    std::vector<const TaskEmbedding *> stack{&current};
    for (const TaskEmbedding &task : earlier) {
        stack.push_back(&task);
    }
    std::vector<double> scores = pairScores(stack, variant, form);
    // The first t - 1 pairs of the row-major triangle are (current, e_k).
    scores.resize(earlier.size());
    return scores;
}

std::vector<double> similarityMatrix(const std::vector<TaskEmbedding> &tasks, Variant variant,
                                     Form form)
{
    const std::size_t n = tasks.size();
    std::vector<double> matrix(n * n, std::numeric_limits<double>::quiet_NaN());
    std::vector<const TaskEmbedding *> pointers;
    pointers.reserve(n);
    for (const TaskEmbedding &task : tasks) {
        pointers.push_back(&task);
    }
    const std::vector<double> scores = pairScores(pointers, variant, form);
    std::size_t k = 0;
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = i + 1; j < n; ++j, ++k) {
            matrix[i * n + j] = scores[k];
            matrix[j * n + i] = scores[k];
        }
    }
    return matrix;
}

} // namespace fcl::tasksim
