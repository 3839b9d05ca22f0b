// SPDX-License-Identifier: MIT
// DISCO's server and inference arithmetic (Guo et al., FCIT, ICCV 2025) as plain functions of
// doubles: greedy threshold clustering of the clients' identity tokens, the weights of each
// client's LoRA slice in a slot's average, slot tokens as weighted running means, the slot a client
// picks, and subspace selective activation (SSA). No torch: the strategy applies the weights to
// tensors. Each quirk of the original code is a `faithful` switch (see docs/methods.md).
#pragma once

#include <vector>

namespace fcl::disco {

using Vector = std::vector<double>;

/// cos(a, b); 0 when either is zero.
double cosine(const Vector &a, const Vector &b);

/// Greedy threshold clustering (the original's `greedy`): in client order, each client not yet in
/// a cluster opens one with itself and every other client whose token has cosine >= tau with its
/// own. fixed: clients already in a cluster are skipped; faithful (Q2): they are added again, so
/// a client can sit in two clusters. Then (Q9) a singleton whose share n_i / sum(n) is below
/// minShare joins the earlier valid cluster (not itself such a singleton) whose first member's
/// token is most similar (ties: the earlier); with no earlier valid cluster, faithful drops it
/// (its update is lost), fixed keeps it as its own cluster. Each cluster lists its members, the
/// opener first.
std::vector<std::vector<int>> greedyThresholdClusters(const std::vector<Vector> &tokens,
                                                      const Vector &samples, double tau,
                                                      double minShare, bool faithful);

/// weights[g][i]: the share of client i's slice in cluster g's slot average. fixed: n_i / (sum of
/// n over g's members). faithful (Q2): a client counts in the divisor of every cluster it is in,
/// but its slice goes only to the first of them.
std::vector<Vector> slotAverageWeights(const std::vector<std::vector<int>> &clusters,
                                       const Vector &samples, int clients, bool faithful);

/// A cluster's token: the sample-weighted mean of its members' tokens (every member counts).
Vector clusterToken(const std::vector<int> &members, const std::vector<Vector> &tokens,
                    const Vector &samples);

/// A slot's token after new clients join it: fixed, the weighted running mean
/// (token * count + sum n_i mu_i) / (count + sum n_i); faithful (Q3), the original's precedence
/// slip token * count + (sum n_i mu_i) / (sum n_i + count). `weightedSum` = sum n_i mu_i,
/// `added` = sum n_i.
Vector foldToken(const Vector &token, double count, const Vector &weightedSum, double added,
                 bool faithful);

/// The slot a client trains in a later stage's first round: the slot whose token is most similar
/// if that cosine exceeds tau, else the first empty slot (count 0), else the most similar one.
/// Ties go to the lower slot.
int chooseSlot(const Vector &identity, const std::vector<Vector> &slotTokens,
               const Vector &slotCounts, double tau);

/// A client's slot in a later stage's first round, when the server told it none (Q4). fixed: one
/// choice (chooseSlot) from the client's mean identity over all its samples. faithful: the
/// original chooses again for every mini-batch from that batch's mean identity, trains the batch
/// in that slot, and reports only the last batch's choice.
class SlotChoice {
public:
    SlotChoice(std::vector<Vector> slotTokens, Vector slotCounts, double tau, bool perBatch);
    /// Before training: the choice from the client's mean identity.
    int forClient(const Vector &clientMean);
    /// Before each batch: faithful, the choice from the batch's mean identity; fixed, unchanged.
    int forBatch(const Vector &batchMean);
    /// The slot trained last: what the client reports.
    int current() const { return m_current; }
    bool perBatch() const { return m_perBatch; }

private:
    std::vector<Vector> m_tokens;
    Vector m_counts;
    double m_tau;
    bool m_perBatch;
    int m_current = 0;
};

/// How inference mixes the slots: SSA softmax(cos / epsilon), concatenation (every slot weight
/// 1), the raw cosines, or one-hot on the most similar slot.
enum class Activation { Ssa, Concat, Cosine, Argmax };

/// Per-slot weights for one prompt from its identity's cosine with each slot token. maskEmpty
/// (fixed, Q6): slots with count 0 get weight 0 and take no softmax mass; faithful: they are
/// scored with their cosine like any other.
Vector activationWeights(const Vector &cosines, const Vector &slotCounts, double epsilon,
                         Activation activation, bool maskEmpty);

} // namespace fcl::disco
