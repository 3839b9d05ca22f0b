// SPDX-License-Identifier: MIT
// FedHDS's building blocks (issue 9), against values computed by hand: HDBSCAN on a point set
// with two clusters and noise (core distances, spanning tree, stabilities, membership
// probabilities, weighted centroids), the coreset it picks, the server's clustering of the
// clients' centroids, the deterministic 2-D PCA, and t-SNE's perplexity search and gradient.
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

    void tsnePerplexityGradientAndDeterminism()
    {
        // Perplexity 2 on x = 0, 1, 2, 4: each row's precision by bisection.
        const std::vector<double> x = {0, 1, 2, 4};
        std::vector<double> squared(16);
        for (int i = 0; i < 4; ++i) {
            for (int j = 0; j < 4; ++j) {
                squared[static_cast<std::size_t>(i * 4 + j)] = (x[i] - x[j]) * (x[i] - x[j]);
            }
        }
        std::vector<double> betas;
        const std::vector<double> p = detail::tsneConditional(squared, 4, 2.0, &betas);
        QVERIFY(std::abs(betas[0] - 0.254347) < 1e-5);
        QVERIFY(std::abs(p[1] - 0.671917) < 1e-5);
        QVERIFY(std::abs(p[2] - 0.313279) < 1e-5 && std::abs(p[3] - 0.014804) < 1e-5);
        QVERIFY(std::abs(betas[2] - 0.639317) < 1e-5);
        QVERIFY(std::abs(p[8] - 0.113546) < 1e-5 && std::abs(p[9] - 0.772908) < 1e-5 &&
                std::abs(p[11] - 0.113546) < 1e-5);
        // Perplexity n - 1: every row nearly uniform. The entropy falls short of ln 3 only by
        // about beta^2 Var(d) / 2, so the bisection stops (1e-5) at beta ~ 7e-4, where the
        // probabilities still differ from 1/3 by about beta (d_j - mean d) / 3 ~ 2e-3.
        const std::vector<double> uniform = detail::tsneConditional(squared, 4, 3.0);
        for (int j : {1, 2, 3}) {
            QVERIFY(std::abs(uniform[static_cast<std::size_t>(j)] - 1.0 / 3.0) < 5e-3);
        }
        QVERIFY(std::abs(uniform[3] - 1.0 / 3.0) > 1e-4); // the farthest point a little less
        // The gradient at Y = (0,0), (1,0), (3,0) with p = 1/6 for every pair: q = .3125, .0625,
        // .125 by hand.
        std::vector<double> joint(9, 1.0 / 6.0);
        for (int i = 0; i < 3; ++i) {
            joint[static_cast<std::size_t>(i * 4)] = 0;
        }
        const std::vector<double> y = {0, 0, 1, 0, 3, 0};
        std::vector<double> gradient;
        const double kl = detail::tsneKlGradient(joint, y, 3, gradient);
        QVERIFY(near(kl, 0.2133009));
        QVERIFY(near(gradient[0], 0.1666667) && near(gradient[2], -0.3583333) &&
                near(gradient[4], 0.1916667));
        QCOMPARE(gradient[1], 0.0);
        for (double &v : joint) {
            v *= 12; // early exaggeration
        }
        detail::tsneKlGradient(joint, y, 3, gradient);
        QVERIFY(near(gradient[0], -5.7) && near(gradient[2], 0.375) && near(gradient[4], 5.325));

        // A whole run at perplexity 3 (at the default, min(30, n - 1) = 11 of 12 points, every
        // point is everyone's neighbour and there is no structure to keep): two separated groups
        // stay apart in 2-D, and the same input gives the same bits (no random start).
        std::vector<double> points;
        for (int i = 0; i < 12; ++i) {
            const double offset = i < 6 ? 0.0 : 20.0;
            points.insert(points.end(),
                          {offset + 0.3 * (i % 3), offset + 0.2 * (i % 2), 0.1 * (i % 4)});
        }
        const Embedding2d e = tsne2d(points, 12, 3, {3.0, 1000});
        QCOMPARE(tsne2d(points, 12, 3, {3.0, 1000}).points, e.points);
        auto gap = [&](int a, int b) {
            return std::hypot(e.points[static_cast<std::size_t>(a * 2)] -
                                  e.points[static_cast<std::size_t>(b * 2)],
                              e.points[static_cast<std::size_t>(a * 2 + 1)] -
                                  e.points[static_cast<std::size_t>(b * 2 + 1)]);
        };
        double within = 0;
        double across = 1e300;
        for (int a = 0; a < 12; ++a) {
            for (int b = a + 1; b < 12; ++b) {
                if ((a < 6) == (b < 6)) {
                    within = std::max(within, gap(a, b));
                } else {
                    across = std::min(across, gap(a, b));
                }
            }
        }
        QVERIFY2(across > within, qPrintable(QStringLiteral("%1 %2").arg(across).arg(within)));
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
