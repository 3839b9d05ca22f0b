// SPDX-License-Identifier: MIT
#include "core/metrics/accuracy_matrix.h"
#include "tests/support/test_support.h"

#include <QTest>

using fcl::AccuracyMatrix;
using fcl::test::fuzzyCompare;

class TestMetrics : public QObject {
    Q_OBJECT

private:
    /// A homogeneous 3-task sequence; every expected value below is worked out by hand.
    static AccuracyMatrix handMadeMatrix()
    {
        AccuracyMatrix m(3, {0, 1, 2});
        const double rows[3][3] = {{0.9, 0.1, 0.2}, {0.6, 0.8, 0.3}, {0.5, 0.7, 0.95}};
        for (int i = 0; i < 3; ++i) {
            for (int j = 0; j < 3; ++j) {
                m.set(i, j, rows[i][j]);
            }
        }
        m.setBaseline(0, 0.1);
        m.setBaseline(1, 0.2);
        m.setBaseline(2, 0.25);
        return m;
    }

private Q_SLOTS:
    void averageAccuracyPerStageMatchesHandComputation()
    {
        const AccuracyMatrix m = handMadeMatrix();
        QVERIFY(fuzzyCompare(m.averageAccuracy(0), 0.9));
        QVERIFY(fuzzyCompare(m.averageAccuracy(1), (0.6 + 0.8) / 2));
        QVERIFY(fuzzyCompare(m.averageAccuracy(2), (0.5 + 0.7 + 0.95) / 3));
        QVERIFY(fuzzyCompare(m.finalAverageAccuracy(), 2.15 / 3));
        QVERIFY(fuzzyCompare(m.averageIncrementalAccuracy(), (0.9 + 0.7 + 2.15 / 3) / 3));
    }

    void forgettingUsesBestEarlierScore()
    {
        const AccuracyMatrix m = handMadeMatrix();
        QVERIFY(fuzzyCompare(m.averageForgetting(0), 0.0));
        QVERIFY(fuzzyCompare(m.averageForgetting(1), 0.9 - 0.6));
        // task 1: max(0.9, 0.6) - 0.5 = 0.4; task 2: max(0.1, 0.8) - 0.7 = 0.1
        QVERIFY(fuzzyCompare(m.averageForgetting(2), 0.25));
        QVERIFY(fuzzyCompare(m.finalAverageForgetting(), 0.25));
    }

    void backwardTransferDividesByTMinusOne()
    {
        // ((0.5 - 0.9) + (0.7 - 0.8)) / 2
        QVERIFY(fuzzyCompare(handMadeMatrix().backwardTransfer(), -0.25));
    }

    void forwardTransferComparesWithUntrainedBaseline()
    {
        // ((R[0][1] - b1) + (R[1][2] - b2)) / 2 = ((0.1 - 0.2) + (0.3 - 0.25)) / 2
        QVERIFY(fuzzyCompare(handMadeMatrix().forwardTransfer(), -0.025));
    }

    void heterogeneousColumnsCountFromTheirFirstStage()
    {
        // Two tasks learned together in stage 0, a third in stage 1.
        AccuracyMatrix m(2, {0, 0, 1});
        m.set(0, 0, 0.8);
        m.set(0, 1, 0.6);
        m.set(0, 2, 0.3);
        m.set(1, 0, 0.5);
        m.set(1, 1, 0.7);
        m.set(1, 2, 0.9);
        m.setBaseline(2, 0.1);
        QVERIFY(fuzzyCompare(m.averageAccuracy(0), 0.7));
        QVERIFY(fuzzyCompare(m.averageAccuracy(1), 0.7));
        QVERIFY(fuzzyCompare(m.averageForgetting(1), ((0.8 - 0.5) + (0.6 - 0.7)) / 2));
        QVERIFY(fuzzyCompare(m.backwardTransfer(), ((0.5 - 0.8) + (0.7 - 0.6)) / 2));
        QVERIFY(fuzzyCompare(m.forwardTransfer(), 0.3 - 0.1));
    }

    void mcitMetricsOnHomogeneousAndHeterogeneousSequences()
    {
        // FCIT's and MCITlib's figures by hand. Hom: R = [[.8,.1,0],[.5,.7,.2],[.4,.6,.9]].
        AccuracyMatrix hom(3, {0, 1, 2});
        const double r[3][3] = {{0.8, 0.1, 0.0}, {0.5, 0.7, 0.2}, {0.4, 0.6, 0.9}};
        for (int i = 0; i < 3; ++i) {
            for (int j = 0; j < 3; ++j) {
                hom.set(i, j, r[i][j]);
            }
        }
        QVERIFY(fuzzyCompare(hom.finalAverageAccuracy(), 0.633333333333));       // Last
        QVERIFY(fuzzyCompare(hom.averageIncrementalAccuracy(), 0.677777777778)); // Avg = MAA
        QVERIFY(fuzzyCompare(hom.meanFinetuneAccuracy(), 0.8));                  // (.8+.7+.9)/3
        QVERIFY(fuzzyCompare(hom.meanFinalAccuracy(), 0.633333333333));
        // In a homogeneous sequence BWT = T/(T-1) (MFN - MFT).
        QVERIFY(fuzzyCompare(hom.backwardTransfer(),
                             1.5 * (hom.meanFinalAccuracy() - hom.meanFinetuneAccuracy())));
        // Het: four columns, the first two learned together, L = (0, 0, 1, 2).
        AccuracyMatrix het(3, {0, 0, 1, 2});
        const double h[3][4] = {{0.6, 0.4, 0.1, 0.0}, {0.5, 0.3, 0.7, 0.2}, {0.2, 0.5, 0.6, 0.8}};
        for (int i = 0; i < 3; ++i) {
            for (int j = 0; j < 4; ++j) {
                het.set(i, j, h[i][j]);
            }
        }
        QVERIFY(fuzzyCompare(het.finalAverageAccuracy(), 0.525));
        QVERIFY(fuzzyCompare(het.averageIncrementalAccuracy(), 0.508333333333));
        QVERIFY(fuzzyCompare(het.meanFinetuneAccuracy(), 0.625)); // (.6+.4+.7+.8)/4
        QVERIFY(fuzzyCompare(het.meanFinalAccuracy(), 0.525));
        // A run cancelled after stage 1 counts only the tasks learned so far.
        AccuracyMatrix cut(2, {0, 0, 1, 2});
        for (int i = 0; i < 2; ++i) {
            for (int j = 0; j < 4; ++j) {
                cut.set(i, j, h[i][j]);
            }
        }
        QVERIFY(fuzzyCompare(cut.meanFinetuneAccuracy(), (0.6 + 0.4 + 0.7) / 3));
        QVERIFY(fuzzyCompare(cut.meanFinalAccuracy(), (0.5 + 0.3 + 0.7) / 3));
    }

    void truncatedMatrixIgnoresTasksNotYetLearned()
    {
        // A run cancelled after stage 1 of 3: only task 0 counts.
        AccuracyMatrix m(1, {0, 1, 2});
        m.set(0, 0, 0.9);
        m.set(0, 1, 0.2);
        m.set(0, 2, 0.1);
        QVERIFY(fuzzyCompare(m.finalAverageAccuracy(), 0.9));
        QCOMPARE(m.forwardTransfer(), 0.0);
        QCOMPARE(m.backwardTransfer(), 0.0);
        AccuracyMatrix empty(0, {0, 1});
        QCOMPARE(empty.forwardTransfer(), 0.0);
        QCOMPARE(empty.finalAverageForgetting(), 0.0);
    }

    void singleStageHasNoForgettingOrTransfer()
    {
        AccuracyMatrix m(1, {0});
        m.set(0, 0, 0.7);
        m.setBaseline(0, 0.5);
        QCOMPARE(m.finalAverageForgetting(), 0.0);
        QCOMPARE(m.backwardTransfer(), 0.0);
        QCOMPARE(m.forwardTransfer(), 0.0);
        QVERIFY(fuzzyCompare(m.finalAverageAccuracy(), 0.7));
    }
};

QTEST_GUILESS_MAIN(TestMetrics)
#include "tst_metrics.moc"
