// SPDX-License-Identifier: MIT
// DISCO's server and inference arithmetic (issue 9) on hand-made identity tokens, against the
// values computed by hand in docs/design/fcit-disco-fedhds.md §4: the clusters and per-slot
// averages, a singleton merge, a new slot opening, the token fold, SSA and its ablations, and each
// quirk's faithful variant against the fixed one on a case that separates them.
#include "core/federated/disco_math.h"
#include "tests/support/near.h"

#include <QTest>

#include <cmath>

using namespace fcl::disco;

namespace {

using fcl::test::near;

/// The slot average of scalar "slices" with the given weights.
double average(const Vector &weights, const Vector &slices)
{
    double sum = 0;
    for (std::size_t i = 0; i < weights.size(); ++i) {
        sum += weights[i] * slices[i];
    }
    return sum;
}

const std::vector<Vector> kTokens = {
    {1, 0, 0}, {0.96, 0.28, 0}, {0, 1, 0}, {0, 0.95, 0.3122}, {0, 0, 1}};

} // namespace

class TestDisco : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void clustersTokensAndSlotAverages()
    {
        const Vector n = {100, 300, 200, 200, 400};
        QVERIFY(near(cosine(kTokens[0], kTokens[1]), 0.96));
        QVERIFY(near(cosine(kTokens[2], kTokens[3]), 0.950015));
        QVERIFY(near(cosine(kTokens[3], kTokens[4]), 0.312205));
        const auto clusters = greedyThresholdClusters(kTokens, n, 0.9, 1e-3, false);
        QCOMPARE(clusters, (std::vector<std::vector<int>>{{0, 1}, {2, 3}, {4}}));
        const auto weights = slotAverageWeights(clusters, n, 5, false);
        const Vector slices = {1, 2, 3, 5, 7};
        QVERIFY(near(average(weights[0], slices), 1.75));
        QVERIFY(near(average(weights[1], slices), 4));
        QVERIFY(near(average(weights[2], slices), 7));
        QVERIFY(near(clusterToken(clusters[0], kTokens, n), {0.97, 0.21, 0}));
        QVERIFY(near(clusterToken(clusters[1], kTokens, n), {0, 0.975, 0.1561}));
        QVERIFY(near(clusterToken(clusters[2], kTokens, n), {0, 0, 1}));
        // Without the threshold's merges every client is its own slot.
        QCOMPARE(greedyThresholdClusters(kTokens, n, 0.99, 1e-3, false).size(), std::size_t(5));
    }

    void tinySingletonJoinsTheMostSimilarEarlierCluster()
    {
        std::vector<Vector> tokens = kTokens;
        tokens[4] = {0, 0.3, 0.954};
        const Vector n = {1000, 3000, 2000, 2000, 5}; // client 4's share .000625 < .001
        QVERIFY(near(cosine(tokens[4], tokens[0]), 0));
        QVERIFY(near(cosine(tokens[4], tokens[2]), 0.299983));
        const auto clusters = greedyThresholdClusters(tokens, n, 0.9, 1e-3, false);
        QCOMPARE(clusters, (std::vector<std::vector<int>>{{0, 1}, {2, 3, 4}}));
        QVERIFY(near(clusterToken(clusters[1], tokens, n), {0, 0.974157, 0.157096}));
        // Above the share it keeps a slot of its own.
        QCOMPARE(greedyThresholdClusters(tokens, n, 0.9, 1e-4, false).size(), std::size_t(3));
        // Q9: a tiny singleton with no earlier valid cluster: fixed keeps it, faithful drops it.
        const std::vector<Vector> lone = {{1, 0}, {0, 1}};
        const Vector tinyFirst = {1, 5000};
        QCOMPARE(greedyThresholdClusters(lone, tinyFirst, 0.9, 1e-3, false),
                 (std::vector<std::vector<int>>{{0}, {1}}));
        QCOMPARE(greedyThresholdClusters(lone, tinyFirst, 0.9, 1e-3, true),
                 (std::vector<std::vector<int>>{{1}}));
    }

    void aNewTaskOpensAnEmptySlotAndTokensFold()
    {
        const Vector n = {100, 300, 200, 200, 400};
        std::vector<Vector> slotTokens;
        for (const auto &members : {std::vector<int>{0, 1}, {2, 3}, {4}}) {
            slotTokens.push_back(clusterToken(members, kTokens, n));
        }
        for (int s = 3; s < 8; ++s) {
            slotTokens.push_back({0, 0, 0});
        }
        const Vector counts = {400, 400, 400, 0, 0, 0, 0, 0};
        QVERIFY(near(cosine({0.95, 0.25, 0}, slotTokens[0]), 0.9990, 1e-4));
        QCOMPARE(chooseSlot({0.95, 0.25, 0}, slotTokens, counts, 0.9), 0);
        // Best cosine .8 (slot 2) is not above tau: the first empty slot.
        QCOMPARE(chooseSlot({0.6, 0, 0.8}, slotTokens, counts, 0.9), 3);
        // Every slot taken: the most similar one.
        QCOMPARE(chooseSlot({0.6, 0, 0.8}, slotTokens, Vector(8, 100), 0.9), 2);
        // Rounds >= 2 fold the client into the most similar slot: cosines (.586415, .126471, .8).
        QVERIFY(near(cosine({0.6, 0, 0.8}, slotTokens[0]), 0.586415));
        QVERIFY(near(cosine({0.6, 0, 0.8}, slotTokens[1]), 0.126471));
        QVERIFY(near(foldToken(slotTokens[2], 400, {60, 0, 80}, 100, false), {0.12, 0, 0.96}));
    }

    void quirkQ2OverlappingClusters()
    {
        const double d = M_PI / 180;
        const std::vector<Vector> tokens = {
            {1, 0}, {std::cos(20 * d), std::sin(20 * d)}, {std::cos(40 * d), std::sin(40 * d)}};
        const Vector n = {100, 100, 100};
        const Vector slices = {1, 2, 3};
        const auto faithful = greedyThresholdClusters(tokens, n, 0.9, 1e-3, true);
        QCOMPARE(faithful, (std::vector<std::vector<int>>{{0, 1}, {2, 1}}));
        const auto fw = slotAverageWeights(faithful, n, 3, true);
        QVERIFY(near(average(fw[1], slices), 1.5)); // client 1's slice went to cluster 0
        QVERIFY(near(clusterToken(faithful[1], tokens, n), {0.852869, 0.492404}));
        const auto fixed = greedyThresholdClusters(tokens, n, 0.9, 1e-3, false);
        QCOMPARE(fixed, (std::vector<std::vector<int>>{{0, 1}, {2}}));
        QVERIFY(near(average(slotAverageWeights(fixed, n, 3, false)[1], slices), 3));
        QVERIFY(near(clusterToken(fixed[1], tokens, n), {0.766044, 0.642788}));
    }

    void quirkQ3TokenPrecedence()
    {
        const Vector fixed = foldToken({1, 0}, 100, {0, 100}, 100, false);
        QVERIFY(near(fixed, {0.5, 0.5}));
        const Vector faithful = foldToken({1, 0}, 100, {0, 100}, 100, true);
        QVERIFY(near(faithful, {100, 0.5}));
        QVERIFY(near(cosine(faithful, {1, 0}), 0.9999875));
    }

    void quirkQ4SlotChosenPerBatch()
    {
        // Two learned slots along the axes, two empty. The client's samples are half like each:
        // its mean (1,1)/sqrt2 has cosine 0.707 < tau with both, so it opens the first empty
        // slot. Faithful chooses again per batch: a batch like slot 0, then one like slot 1,
        // and the client reports the last one.
        const std::vector<Vector> tokens = {{1, 0}, {0, 1}, {0, 0}, {0, 0}};
        const Vector counts = {100, 100, 0, 0};
        const Vector mean = {0.7071, 0.7071};
        SlotChoice fixed(tokens, counts, 0.9, false);
        QCOMPARE(fixed.forClient(mean), 2);
        QCOMPARE(fixed.forBatch({1, 0.1}), 2);
        QCOMPARE(fixed.forBatch({0.1, 1}), 2);
        QCOMPARE(fixed.current(), 2);
        SlotChoice faithful(tokens, counts, 0.9, true);
        QCOMPARE(faithful.forClient(mean), 2);
        QCOMPARE(faithful.forBatch({1, 0.1}), 0);
        QCOMPARE(faithful.forBatch({0.1, 1}), 1);
        QCOMPARE(faithful.current(), 1);
        QCOMPARE(faithful.forBatch({0.1, 1}), 1);
        QCOMPARE(faithful.forBatch({1, 1}), 2); // like neither: the first empty slot again
        QCOMPARE(faithful.forBatch({1, 0}), 0);
        QCOMPARE(faithful.current(), 0);
    }

    void ssaAndItsAblations()
    {
        // Slot outputs for x = (1, 2) with W = 0, gamma = 1: slot 0 A (1,0) B 1 -> 1; slot 1
        // A (0,1) B 1 -> 2; slot 2 (empty, B = 0) -> 0.
        const Vector outputs = {1, 2, 0};
        const Vector cosines = {0.9, 0.5, 0};
        const Vector counts = {10, 10, 0};
        const Vector ssa = activationWeights(cosines, counts, 0.05, Activation::Ssa, false);
        QVERIFY(near(ssa, {0.9996646346, 0.0003353501, 1.52e-8}, 1e-9));
        QVERIFY(near(average(ssa, outputs), 1.000335335, 1e-8));
        QVERIFY(near(
            average(activationWeights(cosines, counts, 0.05, Activation::Concat, false), outputs),
            3));
        QVERIFY(near(
            average(activationWeights(cosines, counts, 0.05, Activation::Cosine, false), outputs),
            1.9));
        QCOMPARE(activationWeights(cosines, counts, 0.05, Activation::Argmax, true),
                 (Vector{1, 0, 0}));
        double sum = 0;
        for (double w : ssa) {
            sum += w;
        }
        QVERIFY(near(sum, 1, 1e-12));
    }

    void quirkQ6EmptySlotsTakeSoftmaxMass()
    {
        const Vector cosines = {0.1, 0.05, 0, 0, 0, 0, 0, 0};
        const Vector counts = {10, 10, 0, 0, 0, 0, 0, 0};
        const Vector outputs = {1, 2, 0, 0, 0, 0, 0, 0};
        const Vector faithful = activationWeights(cosines, counts, 0.05, Activation::Ssa, false);
        QVERIFY(near(faithful[0], 0.4587385));
        QVERIFY(near(faithful[1], 0.1687605));
        QVERIFY(near(faithful[5], 0.0620835));
        QVERIFY(near(average(faithful, outputs), 0.7962594));
        const Vector fixed = activationWeights(cosines, counts, 0.05, Activation::Ssa, true);
        QVERIFY(near(fixed[0], 0.7310586));
        QVERIFY(near(fixed[1], 0.2689414));
        QCOMPARE(fixed[2], 0.0);
        QVERIFY(near(average(fixed, outputs), 1.2689414));
    }
};

QTEST_GUILESS_MAIN(TestDisco)
#include "tst_disco.moc"
