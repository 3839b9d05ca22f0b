// SPDX-License-Identifier: MIT
#include "core/federated/hdbscan.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace fcl {

namespace {

double distance(const std::vector<double> &points, int dim, int a, int b)
{
    double sum = 0;
    for (int k = 0; k < dim; ++k) {
        const double d = points[static_cast<std::size_t>(a) * static_cast<std::size_t>(dim) +
                                static_cast<std::size_t>(k)] -
                         points[static_cast<std::size_t>(b) * static_cast<std::size_t>(dim) +
                                static_cast<std::size_t>(k)];
        sum += d * d;
    }
    return std::sqrt(sum);
}

/// One row of the condensed tree: `child` (a point < n, or a cluster label >= n) leaves or is
/// born from cluster `parent` at lambda = 1 / distance.
struct CondensedRow {
    int parent;
    int child;
    double lambda;
    int size;
};

} // namespace

HdbscanResult hdbscan(const std::vector<double> &points, int n, int dim,
                      const HdbscanOptions &options)
{
    HdbscanResult result;
    const auto un = static_cast<std::size_t>(std::max(0, n));
    result.labels.assign(un, -1);
    result.probabilities.assign(un, 0.0);
    result.coreDistances.assign(un, 0.0);
    const int mcs = std::max(2, options.minClusterSize);
    if (n < 2) {
        return result;
    }
    // Pairwise distances and core distances.
    std::vector<double> d(un * un, 0.0);
    for (int a = 0; a < n; ++a) {
        for (int b = a + 1; b < n; ++b) {
            const double value = distance(points, dim, a, b);
            d[static_cast<std::size_t>(a) * un + static_cast<std::size_t>(b)] = value;
            d[static_cast<std::size_t>(b) * un + static_cast<std::size_t>(a)] = value;
        }
    }
    auto at = [&](int a, int b) {
        return d[static_cast<std::size_t>(a) * un + static_cast<std::size_t>(b)];
    };
    const int k = std::min(options.minSamples > 0 ? options.minSamples : mcs, n - 1);
    for (int a = 0; a < n; ++a) {
        std::vector<double> others;
        others.reserve(un - 1);
        for (int b = 0; b < n; ++b) {
            if (b != a) {
                others.push_back(at(a, b));
            }
        }
        std::nth_element(others.begin(), others.begin() + (k - 1), others.end());
        result.coreDistances[static_cast<std::size_t>(a)] = others[static_cast<std::size_t>(k - 1)];
    }
    auto reach = [&](int a, int b) {
        return std::max({result.coreDistances[static_cast<std::size_t>(a)],
                         result.coreDistances[static_cast<std::size_t>(b)], at(a, b)});
    };
    // Prim's minimum spanning tree of the mutual reachability graph, from point 0.
    {
        std::vector<bool> inTree(un, false);
        std::vector<double> best(un, std::numeric_limits<double>::infinity());
        std::vector<int> from(un, -1);
        int current = 0;
        for (int step = 1; step < n; ++step) {
            inTree[static_cast<std::size_t>(current)] = true;
            int next = -1;
            for (int b = 0; b < n; ++b) {
                if (inTree[static_cast<std::size_t>(b)]) {
                    continue;
                }
                const double w = reach(current, b);
                if (w < best[static_cast<std::size_t>(b)]) {
                    best[static_cast<std::size_t>(b)] = w;
                    from[static_cast<std::size_t>(b)] = current;
                }
                if (next < 0 ||
                    best[static_cast<std::size_t>(b)] < best[static_cast<std::size_t>(next)]) {
                    next = b;
                }
            }
            result.spanningTree.push_back(
                {from[static_cast<std::size_t>(next)], next, best[static_cast<std::size_t>(next)]});
            current = next;
        }
    }
    // Single linkage: merge along the tree's edges by weight (stable: Prim's order on ties).
    std::vector<HdbscanEdge> edges = result.spanningTree;
    std::stable_sort(edges.begin(), edges.end(), [](const HdbscanEdge &x, const HdbscanEdge &y) {
        return x.weight < y.weight;
    });
    const int nodes = 2 * n - 1;
    std::vector<int> parentOf(static_cast<std::size_t>(nodes));
    std::iota(parentOf.begin(), parentOf.end(), 0);
    auto find = [&](int x) {
        while (parentOf[static_cast<std::size_t>(x)] != x) {
            parentOf[static_cast<std::size_t>(x)] =
                parentOf[static_cast<std::size_t>(parentOf[static_cast<std::size_t>(x)])];
            x = parentOf[static_cast<std::size_t>(x)];
        }
        return x;
    };
    std::vector<int> left(static_cast<std::size_t>(nodes), -1);
    std::vector<int> right(static_cast<std::size_t>(nodes), -1);
    std::vector<double> delta(static_cast<std::size_t>(nodes), 0.0);
    std::vector<int> size(static_cast<std::size_t>(nodes), 1);
    for (int e = 0; e < n - 1; ++e) {
        const int a = find(edges[static_cast<std::size_t>(e)].a);
        const int b = find(edges[static_cast<std::size_t>(e)].b);
        const int merged = n + e;
        left[static_cast<std::size_t>(merged)] = a;
        right[static_cast<std::size_t>(merged)] = b;
        delta[static_cast<std::size_t>(merged)] = edges[static_cast<std::size_t>(e)].weight;
        size[static_cast<std::size_t>(merged)] =
            size[static_cast<std::size_t>(a)] + size[static_cast<std::size_t>(b)];
        parentOf[static_cast<std::size_t>(a)] = merged;
        parentOf[static_cast<std::size_t>(b)] = merged;
    }
    const int root = nodes - 1;
    auto subtree = [&](int top) { // breadth first, as the package walks it
        std::vector<int> order{top};
        for (std::size_t i = 0; i < order.size(); ++i) {
            const int node = order[i];
            if (node >= n) {
                order.push_back(left[static_cast<std::size_t>(node)]);
                order.push_back(right[static_cast<std::size_t>(node)]);
            }
        }
        return order;
    };
    // The condensed tree; cluster labels start at n (the root).
    std::vector<CondensedRow> rows;
    std::vector<int> relabel(static_cast<std::size_t>(nodes), -1);
    std::vector<bool> ignore(static_cast<std::size_t>(nodes), false);
    relabel[static_cast<std::size_t>(root)] = n;
    int nextLabel = n + 1;
    for (int node : subtree(root)) {
        if (node < n || ignore[static_cast<std::size_t>(node)]) {
            continue;
        }
        const int l = left[static_cast<std::size_t>(node)];
        const int r = right[static_cast<std::size_t>(node)];
        const double dist = delta[static_cast<std::size_t>(node)];
        const double lambda = dist > 0 ? 1.0 / dist : std::numeric_limits<double>::infinity();
        const int label = relabel[static_cast<std::size_t>(node)];
        const bool bigLeft = size[static_cast<std::size_t>(l)] >= mcs;
        const bool bigRight = size[static_cast<std::size_t>(r)] >= mcs;
        auto fallOut = [&](int side) {
            for (int sub : subtree(side)) {
                if (sub < n) {
                    rows.push_back({label, sub, lambda, 1});
                }
                ignore[static_cast<std::size_t>(sub)] = true;
            }
        };
        if (bigLeft && bigRight) {
            for (int side : {l, r}) {
                relabel[static_cast<std::size_t>(side)] = nextLabel++;
                rows.push_back({label, relabel[static_cast<std::size_t>(side)], lambda,
                                size[static_cast<std::size_t>(side)]});
            }
        } else if (!bigLeft && !bigRight) {
            fallOut(l);
            fallOut(r);
        } else if (bigLeft) {
            relabel[static_cast<std::size_t>(l)] = label;
            fallOut(r);
        } else {
            relabel[static_cast<std::size_t>(r)] = label;
            fallOut(l);
        }
    }
    // Stability: sum over children of (lambda_child - lambda_birth) * size.
    const int labels = nextLabel - n;
    auto index = [&](int label) {
        return static_cast<std::size_t>(label - n);
    };
    std::vector<double> birth(static_cast<std::size_t>(labels), 0.0);
    std::vector<double> stability(static_cast<std::size_t>(labels), 0.0);
    std::vector<double> death(static_cast<std::size_t>(labels), 0.0);
    std::vector<int> clusterParent(static_cast<std::size_t>(labels), -1);
    for (const CondensedRow &row : rows) {
        if (row.child >= n) {
            birth[index(row.child)] = row.lambda;
            clusterParent[index(row.child)] = row.parent;
        }
    }
    for (const CondensedRow &row : rows) {
        stability[index(row.parent)] += (row.lambda - birth[index(row.parent)]) * row.size;
        death[index(row.parent)] = std::max(death[index(row.parent)], row.lambda);
    }
    // Excess of mass, deepest clusters first (children have larger labels than parents).
    std::vector<bool> selected(static_cast<std::size_t>(labels), true);
    std::vector<double> mass = stability;
    const int lowest = options.allowSingleCluster ? n : n + 1;
    if (!options.allowSingleCluster) {
        selected[0] = false;
    }
    for (int label = nextLabel - 1; label >= lowest; --label) {
        double children = 0;
        bool hasChildren = false;
        for (int c = label + 1; c < nextLabel; ++c) {
            if (clusterParent[index(c)] == label) {
                children += mass[index(c)];
                hasChildren = true;
            }
        }
        if (hasChildren && children > mass[index(label)]) {
            selected[index(label)] = false;
            mass[index(label)] = children;
        } else {
            for (int c = label + 1; c < nextLabel; ++c) { // every descendant is unselected
                int up = clusterParent[index(c)];
                while (up >= n && up != label) {
                    up = clusterParent[index(up)];
                }
                if (up == label) {
                    selected[index(c)] = false;
                }
            }
        }
    }
    // Each point belongs to its nearest selected ancestor, if any.
    std::vector<int> pointParent(un, -1);
    std::vector<double> pointLambda(un, 0.0);
    for (const CondensedRow &row : rows) {
        if (row.child < n) {
            pointParent[static_cast<std::size_t>(row.child)] = row.parent;
            pointLambda[static_cast<std::size_t>(row.child)] = row.lambda;
        }
    }
    std::vector<int> clusterOfPoint(un, -1);
    for (int p = 0; p < n; ++p) {
        for (int up = pointParent[static_cast<std::size_t>(p)]; up >= n;
             up = clusterParent[index(up)]) {
            if (selected[index(up)]) {
                clusterOfPoint[static_cast<std::size_t>(p)] = up;
                break;
            }
        }
    }
    // Number the selected clusters by their smallest member.
    std::vector<int> number(static_cast<std::size_t>(labels), -1);
    for (int p = 0; p < n; ++p) {
        const int cluster = clusterOfPoint[static_cast<std::size_t>(p)];
        if (cluster >= n && number[index(cluster)] < 0) {
            number[index(cluster)] = result.clusters++;
            result.stabilities.push_back(stability[index(cluster)]);
        }
    }
    for (int p = 0; p < n; ++p) {
        const int cluster = clusterOfPoint[static_cast<std::size_t>(p)];
        if (cluster < n) {
            continue;
        }
        result.labels[static_cast<std::size_t>(p)] = number[index(cluster)];
        const double most = death[index(cluster)];
        const double lambda = pointLambda[static_cast<std::size_t>(p)];
        result.probabilities[static_cast<std::size_t>(p)] =
            most == 0.0 || !std::isfinite(lambda) ? 1.0 : std::min(lambda, most) / most;
    }
    return result;
}

std::vector<double> weightedCentroids(const std::vector<double> &points, int dim,
                                      const HdbscanResult &result)
{
    const auto udim = static_cast<std::size_t>(dim);
    std::vector<double> sums(static_cast<std::size_t>(result.clusters) * udim, 0.0);
    std::vector<double> weights(static_cast<std::size_t>(result.clusters), 0.0);
    for (std::size_t p = 0; p < result.labels.size(); ++p) {
        const int label = result.labels[p];
        if (label < 0) {
            continue;
        }
        const double w = result.probabilities[p];
        weights[static_cast<std::size_t>(label)] += w;
        for (std::size_t k = 0; k < udim; ++k) {
            sums[static_cast<std::size_t>(label) * udim + k] += w * points[p * udim + k];
        }
    }
    for (std::size_t c = 0; c < weights.size(); ++c) {
        for (std::size_t k = 0; k < udim; ++k) {
            sums[c * udim + k] /= weights[c] > 0 ? weights[c] : 1.0;
        }
    }
    return sums;
}

std::vector<int> nearestMembers(const std::vector<double> &points, int dim,
                                const HdbscanResult &result, const std::vector<double> &centroids)
{
    const auto udim = static_cast<std::size_t>(dim);
    std::vector<int> nearest(static_cast<std::size_t>(result.clusters), -1);
    std::vector<double> best(static_cast<std::size_t>(result.clusters),
                             std::numeric_limits<double>::infinity());
    for (std::size_t p = 0; p < result.labels.size(); ++p) {
        const int label = result.labels[p];
        if (label < 0) {
            continue;
        }
        double sum = 0;
        for (std::size_t k = 0; k < udim; ++k) {
            const double diff =
                points[p * udim + k] - centroids[static_cast<std::size_t>(label) * udim + k];
            sum += diff * diff;
        }
        if (sum < best[static_cast<std::size_t>(label)]) { // strict: the lowest index on ties
            best[static_cast<std::size_t>(label)] = sum;
            nearest[static_cast<std::size_t>(label)] = static_cast<int>(p);
        }
    }
    return nearest;
}

} // namespace fcl
