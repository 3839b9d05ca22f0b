// SPDX-License-Identifier: MIT
// Tensor-level checks of the aggregation and regularization math against hand-computed values.
#include "core/continual/regularizers_p.h"
#include "core/continual/replay_buffer.h"
#include "core/federated/aggregator_p.h"
#include "tests/support/test_support.h"

#include <QTest>

using namespace fcl;
using namespace fcl::detail;

class TestFederated : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void fedAvgWeightsBySampleCount()
    {
        // Client A (100 samples): w = [1, 2], b = [10]; client B (300 samples): w = [5, 6], b =
        // [-2].
        const std::vector<std::vector<torch::Tensor>> updates = {
            {torch::tensor({1.0f, 2.0f}), torch::tensor({10.0f})},
            {torch::tensor({5.0f, 6.0f}), torch::tensor({-2.0f})}};
        const auto mean = federatedAverage(updates, {100, 300});
        QCOMPARE(mean.size(), std::size_t(2));
        // 0.25 * 1 + 0.75 * 5 = 4; 0.25 * 2 + 0.75 * 6 = 5; 0.25 * 10 + 0.75 * -2 = 1
        QCOMPARE(mean[0][0].item<float>(), 4.0f);
        QCOMPARE(mean[0][1].item<float>(), 5.0f);
        QCOMPARE(mean[1][0].item<float>(), 1.0f);
        // Inputs are untouched.
        QCOMPARE(updates[0][0][0].item<float>(), 1.0f);
    }

    void fedAvgOfOneClientIsThatClient()
    {
        const auto mean = federatedAverage({{torch::tensor({3.5f, -1.0f})}}, {42});
        QVERIFY(torch::equal(mean[0], torch::tensor({3.5f, -1.0f})));
    }

    void proximalTermIsHalfMuSquaredDistance()
    {
        // ||[1,2]-[0,0]||^2 + ||[3]-[1]||^2 = 1 + 4 + 4 = 9; mu = 0.5 -> 0.25 * 9 = 2.25
        const auto term = proximalTerm({torch::tensor({1.0f, 2.0f}), torch::tensor({3.0f})},
                                       {torch::tensor({0.0f, 0.0f}), torch::tensor({1.0f})}, 0.5);
        QVERIFY(test::fuzzyCompare(term.item<double>(), 2.25, 1e-6));
    }

    void ewcPenaltyWeighsByFisher()
    {
        // F = [2, 0], theta - theta* = [1, 5]: sum F d^2 = 2; lambda = 3 -> 1.5 * 2 = 3
        const auto penalty =
            ewcPenalty({torch::tensor({1.0f, 5.0f})}, {torch::tensor({2.0f, 0.0f})},
                       {torch::tensor({0.0f, 0.0f})}, 3.0);
        QVERIFY(test::fuzzyCompare(penalty.item<double>(), 3.0, 1e-6));
    }

    void distillationIsZeroForTheSameLogitsAndPositiveOtherwise()
    {
        const auto logits = torch::tensor({{1.0f, 2.0f, 0.5f}, {0.0f, -1.0f, 3.0f}});
        QVERIFY(std::abs(distillationLoss(logits, logits, 1.0, 2.0).item<double>()) < 1e-7);
        // Two classes, T = 1: teacher softmax(0, 0) = (0.5, 0.5), student softmax(0, ln 3) = (0.25,
        // 0.75). KL = 0.5 ln(0.5/0.25) + 0.5 ln(0.5/0.75) = 0.5 ln 2 + 0.5 ln(2/3)
        const double expected = 0.5 * std::log(2.0) + 0.5 * std::log(2.0 / 3.0);
        const auto kl = distillationLoss(torch::tensor({{0.0f, float(std::log(3.0))}}),
                                         torch::tensor({{0.0f, 0.0f}}), 1.0, 1.0);
        QVERIFY(test::fuzzyCompare(kl.item<double>(), expected, 1e-5));
    }

    void reservoirKeepsCapacityAndSamplesUniformly()
    {
        // 100 slots over a stream of 1,000: each item is kept with probability 0.1, so the first
        // and second halves of the stream each hold about 50 (binomial sd ~ 4.7 for one run;
        // averaged over 20 seeds, well inside +-8).
        double firstHalf = 0;
        for (int seed = 0; seed < 20; ++seed) {
            ReplayBuffer buffer(100);
            Rng rng(static_cast<std::uint64_t>(seed));
            for (int i = 0; i < 1000; ++i) {
                buffer.offer({0, i}, rng);
            }
            QCOMPARE(buffer.size(), 100);
            QCOMPARE(buffer.seen(), std::int64_t(1000));
            for (const SampleRef &ref : buffer.items()) {
                firstHalf += ref.index < 500 ? 1 : 0;
            }
        }
        QVERIFY2(std::abs(firstHalf / 20 - 50) < 8, qPrintable(QString::number(firstHalf / 20)));
        ReplayBuffer empty(10);
        Rng rng(1);
        QVERIFY(empty.sample(5, rng).empty());
    }
};

QTEST_GUILESS_MAIN(TestFederated)
#include "tst_federated.moc"
