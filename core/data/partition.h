// SPDX-License-Identifier: MIT
#pragma once

#include "core/common/error.h"
#include "core/common/rng.h"

#include <cstdint>
#include <vector>

namespace fcl {

enum class PartitionMethod {
    Iid,       ///< each client gets a uniform random sample of the pool
    Dirichlet, ///< label skew: client c draws class shares p ~ Dir(alpha_c)
    Quantity,  ///< quantity skew: the total is split over clients by Dir(beta) (FCIT's split)
};

/// How one task's pool of samples is shared among the clients that train on it.
struct PartitionRequest {
    PartitionMethod method = PartitionMethod::Iid;
    std::vector<int> labels;    ///< label of each pool sample; the pool is 0..labels.size()-1
    std::vector<int> requested; ///< samples per client (Quantity: only their sum is used)
    std::vector<double> alpha;  ///< Dirichlet: concentration per client (> 0)
    double quantityBeta = 1.0;  ///< Quantity: concentration of the size split (> 0)
    int minPerClient = 1;       ///< Quantity: every client gets at least this many
    int maxQuantityDraws = 100; ///< Quantity: redraws before giving up with an error
    std::uint64_t seed = 0;
};

/// Disjoint subsets of the pool, one per client, in pool positions. Always terminates: a request
/// that cannot be met (more samples than the pool holds, a minimum per client that no draw meets)
/// is an Error saying why. Pure function; any thread.
Result<std::vector<std::vector<int>>> partitionSamples(const PartitionRequest &request);

/// A Dirichlet(alpha, ..., alpha) draw of `dimensions` shares, computed identically on every
/// platform (Marsaglia-Tsang gamma on our own uniform source).
std::vector<double> sampleDirichlet(Rng &rng, int dimensions, double alpha);

/// Largest-remainder rounding of shares * total; the counts add up to exactly `total`.
std::vector<int> apportion(const std::vector<double> &shares, int total);

} // namespace fcl
