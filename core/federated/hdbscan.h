// SPDX-License-Identifier: MIT
#pragma once

#include <vector>

namespace fcl {

/// Density clustering as the `hdbscan` package (0.8.x, the version FedHDS pins) defines it:
/// core distance = distance to the k-th nearest other point (k = min(minSamples, n - 1)), mutual
/// reachability max(core_a, core_b, d_ab), its minimum spanning tree (exact Prim, ties to the
/// lowest index), single linkage, the condensed tree (a split where both sides have at least
/// minClusterSize points makes two clusters; otherwise the small side's points fall out), and the
/// excess-of-mass selection (the root only with allowSingleCluster). Plain C++, single-threaded,
/// deterministic; O(n^2) time and memory. Clusters are numbered by their smallest member (the
/// package's numbering is a permutation of it). Not ported: GLOSH outlier scores, prediction,
/// leaf selection, cluster_selection_epsilon.
struct HdbscanOptions {
    int minClusterSize = 5;
    int minSamples = 0; ///< 0: minClusterSize, as the package's default
    bool allowSingleCluster = false;
};

struct HdbscanEdge {
    int a = 0;
    int b = 0;
    double weight = 0; ///< mutual reachability distance
};

struct HdbscanResult {
    std::vector<int> labels;               ///< per point: cluster 0.., or -1 for noise
    std::vector<double> probabilities;     ///< per point: membership strength in [0, 1], 0 noise
    std::vector<double> stabilities;       ///< per cluster: excess of mass
    std::vector<double> coreDistances;     ///< per point
    std::vector<HdbscanEdge> spanningTree; ///< n - 1 edges in Prim's order
    int clusters = 0;
};

/// `points` row-major, n x dim.
HdbscanResult hdbscan(const std::vector<double> &points, int n, int dim,
                      const HdbscanOptions &options);

/// Each cluster's centroid weighted by membership probability (the package's
/// weighted_cluster_centroid): clusters x dim, row-major.
std::vector<double> weightedCentroids(const std::vector<double> &points, int dim,
                                      const HdbscanResult &result);

/// Per cluster, the member nearest its centroid (Euclidean; ties to the lowest index): FedHDS's
/// one real sample per cluster.
std::vector<int> nearestMembers(const std::vector<double> &points, int dim,
                                const HdbscanResult &result, const std::vector<double> &centroids);

} // namespace fcl
