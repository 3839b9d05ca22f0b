// SPDX-License-Identifier: MIT
#include "core/data/partition.h"

#include <QLocale>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

namespace fcl {
namespace {

double sampleGamma(Rng &rng, double shape)
{
    if (shape < 1.0) {
        // Boost a shape < 1 draw: Gamma(a) = Gamma(a + 1) * U^(1/a).
        const double u = 1.0 - uniform01(rng);
        return sampleGamma(rng, shape + 1.0) * std::pow(u, 1.0 / shape);
    }
    const double d = shape - 1.0 / 3.0;
    const double c = 1.0 / std::sqrt(9.0 * d);
    for (;;) {
        double x = 0;
        double v = 0;
        do {
            x = standardNormal(rng);
            v = 1.0 + c * x;
        } while (v <= 0.0);
        v = v * v * v;
        const double u = 1.0 - uniform01(rng);
        if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) {
            return d * v;
        }
    }
}

QString count(qint64 n)
{
    return QLocale::c().toString(n);
}

} // namespace

std::vector<double> sampleDirichlet(Rng &rng, int dimensions, double alpha)
{
    std::vector<double> shares(static_cast<std::size_t>(dimensions));
    double sum = 0;
    for (double &share : shares) {
        share = sampleGamma(rng, alpha);
        sum += share;
    }
    if (sum <= 0) {
        // Possible only by underflow for tiny alpha: all mass on one coordinate, chosen at random.
        std::fill(shares.begin(), shares.end(), 0.0);
        shares[uniformIndex(rng, shares.size())] = 1.0;
        return shares;
    }
    for (double &share : shares) {
        share /= sum;
    }
    return shares;
}

std::vector<int> apportion(const std::vector<double> &shares, int total)
{
    std::vector<int> counts(shares.size());
    std::vector<std::pair<double, std::size_t>> remainders;
    int assigned = 0;
    for (std::size_t i = 0; i < shares.size(); ++i) {
        const double exact = shares[i] * total;
        counts[i] = static_cast<int>(std::floor(exact));
        assigned += counts[i];
        remainders.push_back({exact - counts[i], i});
    }
    std::stable_sort(remainders.begin(), remainders.end(), [](const auto &a, const auto &b) {
        return a.first > b.first;
    });
    for (std::size_t k = 0; assigned < total && !remainders.empty(); ++k, ++assigned) {
        ++counts[remainders[k % remainders.size()].second];
    }
    return counts;
}

namespace {

/// NIID-Bench's "noniid-labeldir" (Li et al. 2022, partition.py; after Yurochkin et al. 2019 and
/// Hsu et al. 2019): `total` samples are taken class-balanced from the pools, then each class is
/// split over the clients by p ~ Dir_N(alpha), where a client already holding its fair share
/// (total / clients) gets no more; the whole split is redrawn until every client has the minimum.
Result<std::vector<std::vector<int>>> splitEachClass(const PartitionRequest &request,
                                                     const std::vector<std::vector<int>> &pools,
                                                     int poolSize, int total, Rng &rng)
{
    const int clients = static_cast<int>(request.requested.size());
    if (!(request.classAlpha > 0)) {
        return Error{QStringLiteral("partition.alpha"), QStringLiteral("must be > 0")};
    }
    std::vector<double> poolShares;
    for (const auto &pool : pools) {
        poolShares.push_back(static_cast<double>(pool.size()) / poolSize);
    }
    const std::vector<int> perClass = apportion(poolShares, total);
    const int fairShare = total / clients;
    const int minimum = std::min(request.minPerClientDirichlet, fairShare);
    std::vector<std::vector<int>> result;
    for (int draw = 0; draw < request.maxQuantityDraws; ++draw) {
        result.assign(static_cast<std::size_t>(clients), {});
        for (std::size_t k = 0; k < pools.size(); ++k) {
            std::vector<double> shares = sampleDirichlet(rng, clients, request.classAlpha);
            double sum = 0;
            for (int c = 0; c < clients; ++c) {
                if (static_cast<int>(result[static_cast<std::size_t>(c)].size()) >= fairShare) {
                    shares[static_cast<std::size_t>(c)] = 0;
                }
                sum += shares[static_cast<std::size_t>(c)];
            }
            for (double &share : shares) {
                share = sum > 0 ? share / sum : 1.0 / clients;
            }
            const std::vector<int> counts = apportion(shares, perClass[k]);
            std::size_t next = 0;
            for (int c = 0; c < clients; ++c) {
                for (int t = 0; t < counts[static_cast<std::size_t>(c)]; ++t) {
                    result[static_cast<std::size_t>(c)].push_back(pools[k][next++]);
                }
            }
        }
        bool met = true;
        for (const auto &mine : result) {
            met = met && static_cast<int>(mine.size()) >= minimum;
        }
        if (met) {
            return result;
        }
    }
    return Error{QStringLiteral("partition.alpha"),
                 QStringLiteral("no per-class Dirichlet(%1) split of %2 samples over %3 clients "
                                "gave every client %4 samples in %5 draws; raise alpha or use "
                                "fewer clients")
                     .arg(request.classAlpha)
                     .arg(total)
                     .arg(clients)
                     .arg(minimum)
                     .arg(request.maxQuantityDraws)};
}

} // namespace

Result<std::vector<std::vector<int>>> partitionSamples(const PartitionRequest &request)
{
    const int clients = static_cast<int>(request.requested.size());
    const int poolSize = static_cast<int>(request.labels.size());
    if (clients == 0) {
        return std::vector<std::vector<int>>{};
    }
    const qint64 wanted =
        std::accumulate(request.requested.begin(), request.requested.end(), qint64(0));
    if (wanted > poolSize) {
        return Error{
            QStringLiteral("partition"),
            QStringLiteral("%1 clients ask for %2 samples in total but the task has only %3; "
                           "lower samples_per_task or use fewer clients on this task")
                .arg(clients)
                .arg(count(wanted), count(poolSize))};
    }
    Rng rng(request.seed);
    std::vector<std::vector<int>> result(static_cast<std::size_t>(clients));

    if (request.method == PartitionMethod::Iid || request.method == PartitionMethod::Quantity) {
        std::vector<int> sizes = request.requested;
        if (request.method == PartitionMethod::Quantity) {
            if (request.quantityBeta <= 0) {
                return Error{QStringLiteral("partition.quantity_beta"),
                             QStringLiteral("must be > 0")};
            }
            if (qint64(clients) * request.minPerClient > wanted) {
                return Error{QStringLiteral("partition.min_samples_per_client"),
                             QStringLiteral("%1 clients x %2 samples minimum is more than the %3 "
                                            "samples to share")
                                 .arg(clients)
                                 .arg(request.minPerClient)
                                 .arg(count(wanted))};
            }
            bool met = false;
            for (int draw = 0; draw < request.maxQuantityDraws && !met; ++draw) {
                const std::vector<double> shares =
                    sampleDirichlet(rng, clients, request.quantityBeta);
                if (request.rounding == QuantityRounding::Floor) {
                    for (int c = 0; c < clients; ++c) {
                        sizes[static_cast<std::size_t>(c)] = static_cast<int>(
                            shares[static_cast<std::size_t>(c)] * static_cast<double>(wanted));
                    }
                } else {
                    sizes = apportion(shares, static_cast<int>(wanted));
                }
                met = *std::min_element(sizes.begin(), sizes.end()) >= request.minPerClient;
            }
            if (!met) {
                return Error{
                    QStringLiteral("partition.min_samples_per_client"),
                    QStringLiteral("no split of %1 samples over %2 clients with quantity_beta "
                                   "= %3 gave every client %4 samples in %5 draws; raise "
                                   "quantity_beta or lower the minimum")
                        .arg(count(wanted))
                        .arg(clients)
                        .arg(request.quantityBeta)
                        .arg(request.minPerClient)
                        .arg(request.maxQuantityDraws)};
            }
        }
        std::vector<int> order(static_cast<std::size_t>(poolSize));
        std::iota(order.begin(), order.end(), 0);
        shuffleInPlace(order, rng);
        std::size_t next = 0;
        for (int c = 0; c < clients; ++c) {
            auto &mine = result[static_cast<std::size_t>(c)];
            mine.assign(order.begin() + static_cast<std::ptrdiff_t>(next),
                        order.begin() +
                            static_cast<std::ptrdiff_t>(next + sizes[static_cast<std::size_t>(c)]));
            next += static_cast<std::size_t>(sizes[static_cast<std::size_t>(c)]);
        }
        return result;
    }

    // Label skew: per class a shuffled pool.
    std::map<int, std::vector<int>> byLabel;
    for (int i = 0; i < poolSize; ++i) {
        byLabel[request.labels[static_cast<std::size_t>(i)]].push_back(i);
    }
    std::vector<int> labelOrder;
    std::vector<std::vector<int>> pools;
    for (auto &[label, members] : byLabel) {
        shuffleInPlace(members, rng);
        labelOrder.push_back(label);
        pools.push_back(std::move(members));
    }
    if (request.method == PartitionMethod::Dirichlet) {
        return splitEachClass(request, pools, poolSize, static_cast<int>(wanted), rng);
    }
    // Client class mixes: each client draws its shares and consumes the class pools in turn.
    std::vector<std::size_t> used(pools.size(), 0);
    for (int c = 0; c < clients; ++c) {
        const double alpha =
            request.alpha.empty() ? 1.0 : request.alpha[static_cast<std::size_t>(c)];
        if (!(alpha > 0)) {
            return Error{QStringLiteral("clients[%1].dirichlet_alpha").arg(c),
                         QStringLiteral("must be > 0")};
        }
        const int need = request.requested[static_cast<std::size_t>(c)];
        const std::vector<double> shares =
            sampleDirichlet(rng, static_cast<int>(pools.size()), alpha);
        std::vector<int> targets = apportion(shares, need);
        auto &mine = result[static_cast<std::size_t>(c)];
        int shortfall = 0;
        for (std::size_t k = 0; k < pools.size(); ++k) {
            const int available = static_cast<int>(pools[k].size() - used[k]);
            const int take = std::min(targets[k], available);
            shortfall += targets[k] - take;
            for (int t = 0; t < take; ++t) {
                mine.push_back(pools[k][used[k]++]);
            }
        }
        // An exhausted class: fill from the classes this client favours most, then any class.
        std::vector<std::size_t> preference(pools.size());
        std::iota(preference.begin(), preference.end(), 0);
        std::stable_sort(preference.begin(), preference.end(), [&](std::size_t a, std::size_t b) {
            return shares[a] > shares[b];
        });
        for (std::size_t k : preference) {
            while (shortfall > 0 && used[k] < pools[k].size()) {
                mine.push_back(pools[k][used[k]++]);
                --shortfall;
            }
        }
        Q_ASSERT(shortfall == 0); // guaranteed by the total-size check above
    }
    return result;
}

} // namespace fcl
