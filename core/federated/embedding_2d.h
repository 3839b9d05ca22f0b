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

} // namespace fcl
