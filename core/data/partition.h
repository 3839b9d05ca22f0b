// SPDX-License-Identifier: MIT
#pragma once

#include "core/common/error.h"
#include "core/common/rng.h"

#include <cstdint>
#include <vector>

namespace fcl {

enum class PartitionMethod {
    Iid, ///< each client gets a uniform random sample of the pool
    /// label skew as NIID-Bench (Li et al. 2022, "noniid-labeldir") and Hsu et al. 2019 split it:
    /// each class is split over the clients by p ~ Dir_N(alpha); client sizes vary, the pooled
    /// data stay class-balanced
    Dirichlet,
    /// label skew with fixed client sizes: client c draws its class mix p ~ Dir(alpha_c)
    DirichletClientMix,
    Quantity, ///< quantity skew: the total is split over clients by Dir(beta) (FCIT's split)
};

/// How a Quantity split turns a draw of shares p into sizes.
enum class QuantityRounding {
    Apportion, ///< largest remainder: the sizes add up to the total exactly
    /// int(p_k * total), as FCIT's code does: up to clients - 1 samples are left unused
    Floor,
};

/// How one task's pool of samples is shared among the clients that train on it.
struct PartitionRequest {
    PartitionMethod method = PartitionMethod::Iid;
    std::vector<int> labels;        ///< label of each pool sample; the pool is 0..labels.size()-1
    std::vector<int> requested;     ///< samples per client (Quantity: only their sum is used)
    std::vector<double> alpha;      ///< DirichletClientMix: concentration per client (> 0)
    double classAlpha = 0.5;        ///< Dirichlet: concentration of each class's split (> 0)
    int minPerClientDirichlet = 10; ///< Dirichlet: redraw until every client has this many
    double quantityBeta = 1.0;      ///< Quantity: concentration of the size split (> 0)
    int minPerClient = 1;           ///< Quantity: every client gets at least this many
    int maxQuantityDraws = 100;     ///< Quantity and Dirichlet: redraws before giving up
    QuantityRounding rounding = QuantityRounding::Apportion; ///< Quantity only
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
