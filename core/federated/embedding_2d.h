// SPDX-License-Identifier: MIT
#pragma once

#include <vector>

namespace fcl {

/// A 2-D view of n points (row-major n x dim): FedHDS reduces each sample's hidden-state
/// features to two dimensions before clustering them.
struct Embedding2d {
    std::vector<double> points;        ///< n x 2, row-major
    double explainedRatio[2] = {0, 0}; ///< share of the total variance along each axis
};

/// Principal component analysis to two dimensions, deterministic: the points are centred, the
/// top two eigenvectors of their covariance found by orthogonal (block power) iteration from a
/// fixed start with a 2x2 Rayleigh-Ritz step, O(n * dim) per iteration and no dim x dim matrix;
/// each axis signed so that its largest loading is positive (ties: the lowest index), as
/// scikit-learn >= 1.5 signs them. Fewer than two points or dimensions give zeros.
Embedding2d pca2d(const std::vector<double> &points, int n, int dim);

struct TsneOptions {
    double perplexity = 0; ///< 0: min(30, n - 1), as FedHDS sets it
    int iterations = 1000; ///< in all: 250 exaggerated, the rest not
};

/// t-SNE to two dimensions on scikit-learn 1.5's schedule with the exact gradient (identical to
/// its Barnes-Hut variant while n <= 3 * perplexity + 1): squared distances, a bisection per row
/// for the perplexity, P symmetrised, PCA start scaled to std 1e-4, Student-t (1 degree of
/// freedom), 250 iterations with P x 12 and momentum 0.5, then momentum 0.8; gains +0.2 / x0.8
/// (at least 0.01), learning rate max(n / 48, 50), checks every 50 iterations. Deterministic
/// (no random start), single-threaded, O(n^2) per iteration. explainedRatio stays 0.
Embedding2d tsne2d(const std::vector<double> &points, int n, int dim,
                   const TsneOptions &options = {});

namespace detail {
/// Conditional probabilities P(j|i), row-major n x n (0 on the diagonal), from squared distances,
/// with each row's precision beta found by bisection for entropy ln(perplexity) (tolerance 1e-5,
/// at most 100 steps); the betas in `betas` if given.
std::vector<double> tsneConditional(const std::vector<double> &squaredDistances, int n,
                                    double perplexity, std::vector<double> *betas = nullptr);
/// KL(P || Q) and its gradient (into `gradient`, n x 2) at the embedding `y` (n x 2) for a joint
/// P (n x n, symmetric, summing to 1).
double tsneKlGradient(const std::vector<double> &joint, const std::vector<double> &y, int n,
                      std::vector<double> &gradient);
} // namespace detail

} // namespace fcl
