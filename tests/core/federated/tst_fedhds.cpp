// SPDX-License-Identifier: MIT
// FedHDS's building blocks (issue 9), against values computed by hand: HDBSCAN on a point set
// with two clusters and noise (core distances, spanning tree, stabilities, membership
// probabilities, weighted centroids), the coreset it picks, the server's clustering of the
// clients' centroids, and the deterministic 2-D PCA.
#include "core/federated/embedding_2d.h"
#include "core/federated/hdbscan.h"

#include <QTest>

#include <cmath>

using namespace fcl;

namespace {

constexpr double kTolerance = 1e-6;

bool near(double a, double b)
{
    return std::abs(a - b) < kTolerance;
}

/// Points 0-3 a unit square at the origin, 4 above it at (.5, 2.5), 5-8 a unit square at x 10,
/// 9 far away at (5, 30).
std::vector<double> twoSquares()
{
    return {0, 0, 0, 1, 1, 0, 1, 1, 0.5, 2.5, 10, 0, 10, 1, 11, 0, 11, 1, 5, 30};
}

} // namespace

class TestFedHds : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void hdbscanFindsTwoClustersAndNoise()
    {
        const std::vector<double> points = twoSquares();
        const HdbscanResult r = hdbscan(points, 10, 2, {3, 0, false});
        // Core distance: to the 3rd nearest other point.
        for (int p : {0, 1, 2, 3, 5, 6, 7, 8}) {
            QVERIFY(near(r.coreDistances[static_cast<std::size_t>(p)], std::sqrt(2.0)));
        }
        QVERIFY(near(r.coreDistances[4], 2.549510));  // sqrt(6.5), to (0,0) and (1,0)
        QVERIFY(near(r.coreDistances[9], 29.427878)); // to (0,1)
        // Mutual reachability tree: six edges of sqrt 2, (0,4) 2.549510, (2,5) 9, (1,9) 29.43.
        QCOMPARE(r.spanningTree.size(), std::size_t(9));
        int unit = 0;
        for (const HdbscanEdge &e : r.spanningTree) {
            if (near(e.weight, std::sqrt(2.0))) {
                ++unit;
            } else if (near(e.weight, 2.549510)) {
                QCOMPARE(std::make_pair(e.a, e.b), std::make_pair(0, 4)); // first on the tie
            } else if (near(e.weight, 9)) {
                QCOMPARE(std::make_pair(e.a, e.b), std::make_pair(2, 5));
            } else {
                QVERIFY(near(e.weight, 29.427878));
                QCOMPARE(std::make_pair(e.a, e.b), std::make_pair(1, 9));
            }
        }
        QCOMPARE(unit, 6);
        QCOMPARE(r.clusters, 2);
        QCOMPARE(r.labels, (std::vector<int>{0, 0, 0, 0, 0, 1, 1, 1, 1, -1}));
        // Born at lambda 1/9; the squares leave at 1/sqrt 2, point 4 at 1/sqrt 6.5.
        QVERIFY(near(r.stabilities[0], 2.665104));
        QVERIFY(near(r.stabilities[1], 2.383983));
        for (int p : {0, 1, 2, 3, 5, 6, 7, 8}) {
            QVERIFY(near(r.probabilities[static_cast<std::size_t>(p)], 1.0));
        }
        QVERIFY(near(r.probabilities[4], 0.554700)); // (1/sqrt 6.5) / (1/sqrt 2)
        QCOMPARE(r.probabilities[9], 0.0);
        const std::vector<double> centroids = weightedCentroids(points, 2, r);
        QVERIFY(near(centroids[0], 0.5) && near(centroids[1], 0.743573));
        QVERIFY(near(centroids[2], 10.5) && near(centroids[3], 0.5));
        // The coreset: one real sample per cluster, the one nearest its centroid. Points 1 and 3
        // tie at .561921 (the lowest wins); 5-8 tie four ways.
        QCOMPARE(nearestMembers(points, 2, r, centroids), (std::vector<int>{1, 5}));
    }

    void singleClusterOnlyWhenAllowed()
    {
        // One tight group and nothing else: excess of mass never selects the root...
        const std::vector<double> points = {0, 0, 0, 1, 1, 0, 1, 1, 0.5, 0.5};
        const HdbscanResult strict = hdbscan(points, 5, 2, {3, 0, false});
        QCOMPARE(strict.clusters, 0);
        QCOMPARE(strict.labels, (std::vector<int>(5, -1)));
        // ...unless a single cluster is allowed.
        const HdbscanResult single = hdbscan(points, 5, 2, {3, 0, true});
        QCOMPARE(single.clusters, 1);
        QCOMPARE(single.labels, (std::vector<int>(5, 0)));
        // Too few points for a cluster of the minimum size: all noise, no crash.
        QCOMPARE(hdbscan(points, 1, 2, {3, 0, false}).labels, std::vector<int>{-1});
        QCOMPARE(hdbscan({}, 0, 2, {3, 0, false}).clusters, 0);
    }

    void serverKeepsOneUploadPerGlobalCluster()
    {
        // Seven uploaded client centroids (client, cluster): (0,0) (.5,.5), (0,1) (11,.5),
        // (1,0) (.8,.3), (1,1) (30,30), (2,0) (10.2,.9), (2,1) (.2,.6), (2,2) (10.5,.4).
        const std::vector<double> uploads = {0.5, 0.5,  11,  0.5, 0.8, 0.3,  30,
                                             30,  10.2, 0.9, 0.2, 0.6, 10.5, 0.4};
        const HdbscanResult r = hdbscan(uploads, 7, 2, {2, 0, false});
        QCOMPARE(r.labels, (std::vector<int>{0, 1, 0, -1, 1, 0, 1}));
        const std::vector<double> centroids = weightedCentroids(uploads, 2, r);
        QVERIFY(near(centroids[0], 0.5) && near(centroids[1], 0.466667));
        QVERIFY(near(centroids[2], 10.566667) && near(centroids[3], 0.6));
        // Kept: upload 0 (distance .033333) and upload 6 (.210819); client 1 keeps nothing.
        QCOMPARE(nearestMembers(uploads, 2, r, centroids), (std::vector<int>{0, 6}));
    }

    void pcaRecoversTheAxesAndTheirShares()
    {
        // (+-2,0,0), (+-1,0,0), (0,+-1,0): variances 2 and .4 along x and y, none along z.
        const std::vector<double> points = {2,  0, 0, -2, 0, 0, 1, 0,  0,
                                            -1, 0, 0, 0,  1, 0, 0, -1, 0};
        const Embedding2d e = pca2d(points, 6, 3);
        QVERIFY(near(e.explainedRatio[0], 10.0 / 12.0));
        QVERIFY(near(e.explainedRatio[1], 2.0 / 12.0));
        for (std::size_t p = 0; p < 6; ++p) {
            // Each axis signed so that its largest loading is positive: exactly x and y.
            QVERIFY2(near(e.points[p * 2], points[p * 3]) &&
                         near(e.points[p * 2 + 1], points[p * 3 + 1]),
                     qPrintable(QStringLiteral("point %1: %2, %3")
                                    .arg(p)
                                    .arg(e.points[p * 2])
                                    .arg(e.points[p * 2 + 1])));
        }
        // Deterministic: the same bits twice.
        QCOMPARE(pca2d(points, 6, 3).points, e.points);
        // Rotated data: the first axis follows the direction of most variance.
        std::vector<double> rotated;
        for (std::size_t p = 0; p < 6; ++p) {
            const double x = points[p * 3];
            const double y = points[p * 3 + 1];
            rotated.insert(rotated.end(), {0.6 * x - 0.8 * y, 0.8 * x + 0.6 * y, 0.0});
        }
        const Embedding2d r = pca2d(rotated, 6, 3);
        QVERIFY(near(r.explainedRatio[0], 10.0 / 12.0));
        QVERIFY(near(std::abs(r.points[0]), 2.0)); // (2,0,0) lies 2 along the first axis
    }
};

QTEST_GUILESS_MAIN(TestFedHds)
#include "tst_fedhds.moc"
