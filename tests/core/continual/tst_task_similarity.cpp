// SPDX-License-Identifier: MIT
// He et al.'s task similarity on hand-made 2-D embeddings (three tasks, current first), against
// values computed by hand (and checked in Python): the per-modality sigmoid z-scores with the
// unbiased std (the population std would give other numbers), their product, the heatmap and its
// agreement with the current task's row, the single-pair and zero-std cases in both variants, the
// cosine form, and an absent modality.
#include "core/continual/task_similarity_math.h"
#include "tests/support/near.h"

#include <QTest>

#include <algorithm>
#include <cmath>
#include <cstddef>

using namespace fcl::tasksim;

namespace {

using Vector = std::vector<double>;

using fcl::test::near;

bool allNan(const Vector &values)
{
    for (const double v : values) {
        if (!std::isnan(v)) {
            return false;
        }
    }
    return !values.empty();
}

const double kHalfSqrt2 = std::sqrt(0.5);

// img: c [1,0], 1 [1,0], 2 [0,1]; inst: c [1,1]/sqrt2, 1 [1,0], 2 [0,1]; ans: c [1,0], 1 [.6,.8],
// 2 [-1,0]. Pair dots (c-1, c-2, 1-2): img [1,0,0], inst [.707107,.707107,0], ans [.6,-1,-.6].
const TaskEmbedding kCurrent{{1, 0}, {kHalfSqrt2, kHalfSqrt2}, {1, 0}};
const std::vector<TaskEmbedding> kEarlier{{{1, 0}, {1, 0}, {0.6, 0.8}}, {{0, 1}, {0, 1}, {-1, 0}}};

// sim(c, 1), sim(c, 2), sim(1, 2) with the unbiased std.
const Vector kSim = {0.367261, 0.071359, 0.036239};

} // namespace

class TestTaskSimilarity : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void normalizesAndKeepsZero()
    {
        QCOMPARE(normalized({2, 0}), (Vector{1, 0}));
        QCOMPARE(normalized({0, 0}), (Vector{0, 0}));
        QVERIFY(normalized({}).empty());
        QVERIFY(near(normalized({1, 1}), {kHalfSqrt2, kHalfSqrt2}));
        QVERIFY(near(normalized({3, 4}), {0.6, 0.8}));
        // An empty vector acts as the zero vector.
        QCOMPARE(dot({}, {1, 0}), 0.0);
        QCOMPARE(dot({0.6, 0.8}, {-1, 0}), -0.6);
    }

    void standardizesEachModality()
    {
        const Vector img = pairDots({kCurrent.img, kEarlier[0].img, kEarlier[1].img});
        const Vector inst = pairDots({kCurrent.inst, kEarlier[0].inst, kEarlier[1].inst});
        const Vector ans = pairDots({kCurrent.ans, kEarlier[0].ans, kEarlier[1].ans});
        QVERIFY(near(img, {1, 0, 0}));
        QVERIFY(near(inst, {kHalfSqrt2, kHalfSqrt2, 0}));
        QVERIFY(near(ans, {0.6, -1, -0.6}));
        for (const Variant variant : {Variant::Faithful, Variant::Fixed}) {
            QVERIFY(near(standardize(img, variant), {0.760368, 0.359543, 0.359543}));
            QVERIFY(near(standardize(inst, variant), {0.640457, 0.640457, 0.239632}));
            QVERIFY(near(standardize(ans, variant), {0.754155, 0.309888, 0.420613}));
        }
    }

    void similarityToPreviousHandComputed()
    {
        for (const Variant variant : {Variant::Faithful, Variant::Fixed}) {
            const Vector sim = similarityToPrevious(kCurrent, kEarlier, variant);
            QVERIFY(near(sim, {kSim[0], kSim[1]}));
            // The population std (divide by n) would give these instead.
            QVERIFY(!near(sim[0], 0.429854, 1e-3));
            QVERIFY(!near(sim[1], 0.060333, 1e-3));
        }
        QVERIFY(similarityToPrevious(kCurrent, {}, Variant::Fixed).empty());
    }

    void heatmapIsSymmetricAndMatchesTheCurrentRow()
    {
        const std::vector<TaskEmbedding> tasks{kCurrent, kEarlier[0], kEarlier[1]};
        const Vector matrix = similarityMatrix(tasks, Variant::Fixed);
        QCOMPARE(matrix.size(), std::size_t(9));
        for (std::size_t i = 0; i < 3; ++i) {
            QVERIFY(std::isnan(matrix[i * 3 + i]));
            for (std::size_t j = 0; j < 3; ++j) {
                if (i != j) {
                    QCOMPARE(matrix[i * 3 + j], matrix[j * 3 + i]);
                }
            }
        }
        QVERIFY(near(matrix[0 * 3 + 1], kSim[0]));
        QVERIFY(near(matrix[0 * 3 + 2], kSim[1]));
        QVERIFY(near(matrix[1 * 3 + 2], kSim[2]));
        // The current task's row equals similarityToPrevious (same pair set).
        const Vector previous = similarityToPrevious(kCurrent, kEarlier, Variant::Faithful);
        QVERIFY(near(matrix[1], previous[0], 1e-12));
        QVERIFY(near(matrix[2], previous[1], 1e-12));
        // The scores depend on the set of pairs only: task order (1, 2, current) moves them.
        const Vector reordered =
            similarityMatrix({kEarlier[0], kEarlier[1], kCurrent}, Variant::Faithful);
        QVERIFY(near(reordered[0 * 3 + 1], kSim[2]));
        QVERIFY(near(reordered[0 * 3 + 2], kSim[0]));
        QVERIFY(near(reordered[1 * 3 + 2], kSim[1]));
    }

    void smallTaskSets()
    {
        QVERIFY(similarityMatrix({}, Variant::Fixed).empty());
        const Vector one = similarityMatrix({kCurrent}, Variant::Fixed);
        QCOMPARE(one.size(), std::size_t(1));
        QVERIFY(std::isnan(one[0]));
    }

    void singlePairUsesTheDot()
    {
        // Two tasks: modality dots .6, .6, -.6.
        const TaskEmbedding current{{1, 0}, {0, 1}, {1, 0}};
        const TaskEmbedding earlier{{0.6, 0.8}, {0.8, 0.6}, {-0.6, 0.8}};
        QVERIFY(near(similarityToPrevious(current, {earlier}, Variant::Faithful), {-0.216}));
        QVERIFY(near(similarityToPrevious(current, {earlier}, Variant::Fixed), {0}));
        const Vector faithful = similarityMatrix({current, earlier}, Variant::Faithful);
        QVERIFY(near(faithful[1], -0.216));
        QVERIFY(near(faithful[2], -0.216));
        QVERIFY(near(similarityMatrix({current, earlier}, Variant::Fixed)[1], 0));
        // Clamping keeps a dot inside [0, 1] as it is.
        QVERIFY(near(standardize({0.6}, Variant::Fixed), {0.6}));
        QVERIFY(near(standardize({1.2}, Variant::Fixed), {1}));
    }

    void zeroStd()
    {
        // Three identical tasks: every pair dot is 1 in every modality.
        const TaskEmbedding same{{1, 0}, {kHalfSqrt2, kHalfSqrt2}, {0.6, 0.8}};
        QVERIFY(allNan(similarityToPrevious(same, {same, same}, Variant::Faithful)));
        QVERIFY(near(similarityToPrevious(same, {same, same}, Variant::Fixed), {0.125, 0.125}));
        QVERIFY(allNan(standardize({0.3, 0.3, 0.3}, Variant::Faithful)));
        QVERIFY(near(standardize({0.3, 0.3, 0.3}, Variant::Fixed), {0.5, 0.5, 0.5}));
        // One degenerate modality is enough for Faithful's NaN.
        const TaskEmbedding flatImg{{1, 0}, kCurrent.inst, kCurrent.ans};
        const std::vector<TaskEmbedding> earlier{{{1, 0}, kEarlier[0].inst, kEarlier[0].ans},
                                                 {{1, 0}, kEarlier[1].inst, kEarlier[1].ans}};
        QVERIFY(allNan(similarityToPrevious(flatImg, earlier, Variant::Faithful)));
        QVERIFY(near(similarityToPrevious(flatImg, earlier, Variant::Fixed),
                     {0.5 * 0.640457 * 0.754155, 0.5 * 0.640457 * 0.309888}));
    }

    void cosineForm()
    {
        // Product of the clamped dots: [1 * .707107 * .6, 0 * .707107 * 0].
        for (const Variant variant : {Variant::Faithful, Variant::Fixed}) {
            QVERIFY(near(similarityToPrevious(kCurrent, kEarlier, variant, Form::Cosine),
                         {0.424264, 0}));
        }
        const Vector matrix =
            similarityMatrix({kCurrent, kEarlier[0], kEarlier[1]}, Variant::Faithful, Form::Cosine);
        QVERIFY(near(matrix[1], 0.424264));
        QVERIFY(near(matrix[2], 0));
        QVERIFY(near(matrix[5], 0)); // (1, 2): img 0
        QVERIFY(std::isnan(matrix[4]));
    }

    void absentModalityIsLeftOut()
    {
        // No task has an image vector: the product runs over instruction and answer only.
        const TaskEmbedding current{{}, kCurrent.inst, kCurrent.ans};
        const std::vector<TaskEmbedding> earlier{{{}, kEarlier[0].inst, kEarlier[0].ans},
                                                 {{}, kEarlier[1].inst, kEarlier[1].ans}};
        const Vector expected = {0.640457 * 0.754155, 0.640457 * 0.309888};
        QVERIFY(near(expected, {0.483004, 0.198470}));
        QVERIFY(near(similarityToPrevious(current, earlier, Variant::Faithful), expected));
        QVERIFY(near(similarityMatrix({current, earlier[0], earlier[1]}, Variant::Fixed)[5],
                     0.239632 * 0.420613));
        // Text-only tasks as the encoder gives them: zero image vectors, equally absent (scored,
        // their dots of 0 would clamp to 0 with two tasks and halve every product with three).
        const TaskEmbedding zeroCurrent{{0, 0}, kCurrent.inst, kCurrent.ans};
        const std::vector<TaskEmbedding> zeroEarlier{{{0, 0}, kEarlier[0].inst, kEarlier[0].ans},
                                                     {{0, 0}, kEarlier[1].inst, kEarlier[1].ans}};
        QVERIFY(near(similarityToPrevious(zeroCurrent, zeroEarlier, Variant::Fixed), expected));
        QVERIFY(near(similarityToPrevious(zeroCurrent, {zeroEarlier[0]}, Variant::Fixed),
                     {kHalfSqrt2 * 0.6}));
    }

    void nearlyEqualPairsCountAsEqual()
    {
        // The same task embedded three times: dots equal up to rounding are a zero std (0.5 per
        // modality), not z-scores of rounding noise.
        const Vector v = {0.6, 0.8};
        const TaskEmbedding a{v, v, v};
        const TaskEmbedding b{{0.6 + 1e-15, 0.8}, v, v};
        QVERIFY(near(similarityToPrevious(a, {b, a}, Variant::Fixed), {0.125, 0.125}));
    }
};

QTEST_APPLESS_MAIN(TestTaskSimilarity)
#include "tst_task_similarity.moc"
