// SPDX-License-Identifier: MIT
#include "core/federated/disco_math.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

namespace fcl::disco {

double cosine(const Vector &a, const Vector &b)
{
    double dot = 0;
    double na = 0;
    double nb = 0;
    for (std::size_t k = 0; k < a.size() && k < b.size(); ++k) {
        dot += a[k] * b[k];
        na += a[k] * a[k];
        nb += b[k] * b[k];
    }
    return na > 0 && nb > 0 ? dot / (std::sqrt(na) * std::sqrt(nb)) : 0.0;
}

std::vector<std::vector<int>> greedyThresholdClusters(const std::vector<Vector> &tokens,
                                                      const Vector &samples, double tau,
                                                      double minShare, bool faithful)
{
    const auto n = static_cast<int>(tokens.size());
    std::vector<bool> visited(tokens.size(), false);
    std::vector<std::vector<int>> opened;
    for (int i = 0; i < n; ++i) {
        if (visited[static_cast<std::size_t>(i)]) {
            continue;
        }
        std::vector<int> cluster{i};
        visited[static_cast<std::size_t>(i)] = true;
        for (int j = 0; j < n; ++j) {
            if (j == i || (!faithful && visited[static_cast<std::size_t>(j)])) {
                continue;
            }
            if (cosine(tokens[static_cast<std::size_t>(i)], tokens[static_cast<std::size_t>(j)]) >=
                tau) {
                cluster.push_back(j);
                visited[static_cast<std::size_t>(j)] = true;
            }
        }
        opened.push_back(std::move(cluster));
    }
    // Tiny singletons join the earlier valid cluster whose opener is most similar.
    const double total = std::accumulate(samples.begin(), samples.end(), 0.0);
    const auto tiny = [&](const std::vector<int> &cluster) {
        return cluster.size() == 1 && total > 0 &&
               samples[static_cast<std::size_t>(cluster.front())] / total < minShare;
    };
    std::vector<std::vector<int>> result;
    for (const std::vector<int> &cluster : opened) {
        if (!tiny(cluster)) {
            result.push_back(cluster);
            continue;
        }
        const Vector &mine = tokens[static_cast<std::size_t>(cluster.front())];
        int best = -1;
        double bestCosine = -std::numeric_limits<double>::infinity();
        for (std::size_t g = 0; g < result.size(); ++g) {
            if (tiny(result[g])) {
                continue; // a kept tiny singleton (fixed) is not a valid target
            }
            const double c = cosine(mine, tokens[static_cast<std::size_t>(result[g].front())]);
            if (c > bestCosine) {
                bestCosine = c;
                best = static_cast<int>(g);
            }
        }
        if (best >= 0) {
            result[static_cast<std::size_t>(best)].push_back(cluster.front());
        } else if (!faithful) {
            result.push_back(cluster);
        }
    }
    return result;
}

std::vector<Vector> slotAverageWeights(const std::vector<std::vector<int>> &clusters,
                                       const Vector &samples, int clients, bool faithful)
{
    std::vector<Vector> weights(clusters.size(), Vector(static_cast<std::size_t>(clients), 0.0));
    std::vector<bool> placed(static_cast<std::size_t>(clients), false);
    for (std::size_t g = 0; g < clusters.size(); ++g) {
        double divisor = 0;
        for (int i : clusters[g]) {
            divisor += samples[static_cast<std::size_t>(i)];
        }
        for (int i : clusters[g]) {
            const auto ci = static_cast<std::size_t>(i);
            if (faithful && placed[ci]) {
                continue; // its slice went to its first cluster; the divisor still counts it
            }
            weights[g][ci] += divisor > 0 ? samples[ci] / divisor : 0.0;
            placed[ci] = true;
        }
    }
    return weights;
}

Vector clusterToken(const std::vector<int> &members, const std::vector<Vector> &tokens,
                    const Vector &samples)
{
    Vector token(tokens.empty() ? 0 : tokens.front().size(), 0.0);
    double total = 0;
    for (int i : members) {
        const double n = samples[static_cast<std::size_t>(i)];
        const Vector &mu = tokens[static_cast<std::size_t>(i)];
        for (std::size_t k = 0; k < token.size(); ++k) {
            token[k] += n * mu[k];
        }
        total += n;
    }
    for (double &value : token) {
        value = total > 0 ? value / total : 0.0;
    }
    return token;
}

Vector foldToken(const Vector &token, double count, const Vector &weightedSum, double added,
                 bool faithful)
{
    Vector result(token.size(), 0.0);
    for (std::size_t k = 0; k < token.size(); ++k) {
        if (faithful) {
            result[k] = token[k] * count + weightedSum[k] / (added + count);
        } else {
            result[k] =
                count + added > 0 ? (token[k] * count + weightedSum[k]) / (count + added) : 0.0;
        }
    }
    return result;
}

namespace {

int mostSimilar(const Vector &cosines, const Vector &counts, bool onlyFilled)
{
    int best = -1;
    for (std::size_t s = 0; s < cosines.size(); ++s) {
        if (onlyFilled && counts[s] <= 0) {
            continue;
        }
        if (best < 0 || cosines[s] > cosines[static_cast<std::size_t>(best)]) {
            best = static_cast<int>(s);
        }
    }
    return best;
}

} // namespace

int chooseSlot(const Vector &identity, const std::vector<Vector> &slotTokens,
               const Vector &slotCounts, double tau)
{
    Vector cosines;
    for (const Vector &token : slotTokens) {
        cosines.push_back(cosine(identity, token));
    }
    const int best = mostSimilar(cosines, slotCounts, false);
    if (best >= 0 && cosines[static_cast<std::size_t>(best)] > tau) {
        return best;
    }
    for (std::size_t s = 0; s < slotCounts.size(); ++s) {
        if (slotCounts[s] <= 0) {
            return static_cast<int>(s);
        }
    }
    return best;
}

SlotChoice::SlotChoice(std::vector<Vector> slotTokens, Vector slotCounts, double tau, bool perBatch)
    : m_tokens(std::move(slotTokens)), m_counts(std::move(slotCounts)), m_tau(tau),
      m_perBatch(perBatch)
{
}

int SlotChoice::forClient(const Vector &clientMean)
{
    m_current = chooseSlot(clientMean, m_tokens, m_counts, m_tau);
    return m_current;
}

int SlotChoice::forBatch(const Vector &batchMean)
{
    if (m_perBatch) {
        m_current = chooseSlot(batchMean, m_tokens, m_counts, m_tau);
    }
    return m_current;
}

Vector activationWeights(const Vector &cosines, const Vector &slotCounts, double epsilon,
                         Activation activation, bool maskEmpty)
{
    const std::size_t slots = cosines.size();
    const auto used = [&](std::size_t s) {
        return !maskEmpty || slotCounts[s] > 0;
    };
    Vector weights(slots, 0.0);
    switch (activation) {
    case Activation::Concat:
        for (std::size_t s = 0; s < slots; ++s) {
            weights[s] = used(s) ? 1.0 : 0.0;
        }
        break;
    case Activation::Cosine:
        for (std::size_t s = 0; s < slots; ++s) {
            weights[s] = used(s) ? cosines[s] : 0.0;
        }
        break;
    case Activation::Argmax:
        if (const int best = mostSimilar(cosines, slotCounts, maskEmpty); best >= 0) {
            weights[static_cast<std::size_t>(best)] = 1;
        }
        break;
    case Activation::Ssa: {
        double top = -std::numeric_limits<double>::infinity();
        for (std::size_t s = 0; s < slots; ++s) {
            if (used(s)) {
                top = std::max(top, cosines[s] / epsilon);
            }
        }
        double sum = 0;
        for (std::size_t s = 0; s < slots; ++s) {
            if (used(s)) {
                weights[s] = std::exp(cosines[s] / epsilon - top);
                sum += weights[s];
            }
        }
        for (double &w : weights) {
            w = sum > 0 ? w / sum : 0.0;
        }
        break;
    }
    }
    return weights;
}

} // namespace fcl::disco
