// SPDX-License-Identifier: MIT
// The continual baselines as the literature defines them (issue 7), on tiny hand-made inputs:
// LwF distils old answers only, online EWC's running Fisher, replay's once-per-stage reservoir and
// class-balanced buffer, the per-class Dirichlet split.
#include "core/continual/regularizers_p.h"
#include "core/continual/replay_buffer.h"
#include "core/data/partition.h"
#include "core/model/method_api_p.h"
#include "core/sim/registry.h"
#include "core/store/run_store.h"
#include "tests/support/test_support.h"

#include <QTemporaryDir>
#include <QTest>

#include <set>

using namespace fcl;
using namespace fcl::detail;

namespace {

std::unique_ptr<MethodParts> create(const char *id, const QVariantMap &overrides = {})
{
    const QString method = QString::fromLatin1(id);
    return findMethod(QStringLiteral("continual"), method)
        ->create(test::methodParams(QStringLiteral("continual"), method, overrides));
}

/// One task column whose answer is the label itself, over `labels` training images.
SharedData tinyData(const std::vector<std::uint8_t> &labels)
{
    auto images = std::make_shared<FashionMnist>();
    images->train.labels = labels;
    images->train.count = static_cast<int>(labels.size());
    SharedData data;
    data.fashionMnist = images;
    TaskData task;
    for (int l = 0; l < 10; ++l) {
        task.answerOfLabel[static_cast<std::size_t>(l)] = l;
    }
    data.tasks.push_back(task);
    return data;
}

} // namespace

class TestContinual : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void lwfDistilsOnlyTheOldAnswers()
    {
        // A 4-4-4 MLP; answers 0 and 1 are old, 2 and 3 new. The KD term's gradient with
        // respect to the new answers' logits must be zero (issue 7: it fought the new task).
        NetworkShape shape;
        shape.imagePixels = 4;
        shape.instructionDim = 0;
        shape.outputs = 4;
        const QVariantMap params{{QStringLiteral("hidden"), 4}, {QStringLiteral("layers"), 1}};
        torch::manual_seed(3);
        WorkerModel model([&] {
            return makeNetwork(QStringLiteral("mlp"), params, shape);
        });
        const ModelLayout layout = ModelLayout::of(model.network(), {});
        TensorList teacher = layout.select(model.parameters(), ParameterScope::Shared);
        for (NamedTensor &t : teacher) {
            t.value = t.value + 0.3 * torch::randn_like(t.value); // a different teacher
        }
        const torch::Tensor old = torch::tensor({true, true, false, false});
        Batch batch;
        batch.images = torch::rand({5, 4});
        batch.instructions = torch::zeros({5, 0});
        for (const char *mode : {"old_answers", "all_outputs"}) {
            auto parts = create("lwf", {{QStringLiteral("distill"), QString::fromLatin1(mode)}});
            std::unique_ptr<ClientPlugin> plugin = parts->clientPlugin();
            LocalTraining training;
            training.model = &model;
            training.broadcast = &teacher;
            training.broadcastVersion = 0;
            training.oldAnswers = &old;
            torch::Tensor logits =
                model.network().forward(batch.images, batch.instructions).detach();
            logits.set_requires_grad(true);
            Outputs outputs;
            outputs.logits = logits;
            const torch::Tensor term = plugin->lossTerm(training, batch, outputs, 5);
            QVERIFY(term.defined());
            const torch::Tensor grad = torch::autograd::grad({term}, {logits})[0];
            const double oldGrad = grad.narrow(1, 0, 2).abs().sum().item<double>();
            const double newGrad = grad.narrow(1, 2, 2).abs().sum().item<double>();
            qDebug("%s: |dKD/dz| old answers %.3g, new answers %.3g", mode, oldGrad, newGrad);
            QVERIFY(oldGrad > 1e-6);
            if (QByteArray(mode) == "old_answers") {
                QCOMPARE(newGrad, 0.0);
            } else {
                QVERIFY(newGrad > 1e-6);
            }
        }
    }

    void onlineEwcDecaysTheRunningFisherAndCountsOnlyIt()
    {
        auto parts =
            create("ewc", {{QStringLiteral("gamma"), 0.5},
                           {QStringLiteral("fisher_normalization"), QStringLiteral("none")}});
        StagePlugin &server = *parts->stagePlugin;
        const TensorList model{{"w", torch::tensor({1.0f, 2.0f})}};
        std::vector<Payload> uploads(2);
        uploads[0].tensors = {{"fisher/0", torch::tensor({2.0f, 4.0f})}};
        uploads[1].tensors = {{"fisher/0", torch::tensor({4.0f, 0.0f})}};
        // Stage 1: weights 1 and 3 -> F = 0.25 [2, 4] + 0.75 [4, 0] = [3.5, 1].
        const std::int64_t down = server.afterStage(0, model, uploads, {1, 3});
        QCOMPARE(down, std::int64_t(2 * 2 * 4)); // two clients get the Fisher; not the anchor
        QVERIFY(torch::allclose(server.broadcast()[0].value, torch::tensor({3.5f, 1.0f})));
        QVERIFY(torch::equal(server.broadcast()[1].value, model[0].value)); // the anchor
        // Stage 2: F = 0.5 [3.5, 1] + [1, 1] = [2.75, 1.5].
        std::vector<Payload> second(1);
        second[0].tensors = {{"fisher/0", torch::tensor({1.0f, 1.0f})}};
        server.afterStage(1, model, second, {1});
        QVERIFY(torch::allclose(server.broadcast()[0].value, torch::tensor({2.75f, 1.5f})));
        QCOMPARE(server.broadcastVersion(), 1);

        auto normalized =
            create("ewc", {{QStringLiteral("fisher_normalization"), QStringLiteral("max")}});
        std::vector<Payload> one(1);
        one[0].tensors = {{"fisher/0", torch::tensor({2.0f, 8.0f})}};
        normalized->stagePlugin->afterStage(0, model, one, {1});
        QVERIFY(torch::allclose(normalized->stagePlugin->broadcast()[0].value,
                                torch::tensor({0.25f, 1.0f})));
    }

    void masImportanceByHand()
    {
        // A 2-layer ReLU network without biases, f = W2 relu(W1 x), on x = [1, 0] (f = [1, 0])
        // and x = [2, 1] (f = [1, -2]). MAS is |d sum f^2 / dW| per sample:
        //   W1: [[2, 0], [0, 0]] and [[-4, -2], [8, 4]];  W2: [[2, 2], [0, 0]] and [[2, 6], [-4,
        //   -12]]
        // and its mean over the samples W1 [[3, 1], [4, 2]], W2 [[2, 4], [2, 6]] (sum 24).
        const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
        const torch::Tensor w1 = torch::tensor({{1.0, -1.0}, {1.0, 1.0}}, f64).requires_grad_(true);
        const torch::Tensor w2 = torch::tensor({{1.0, 0.0}, {1.0, -1.0}}, f64).requires_grad_(true);
        std::vector<torch::Tensor> mean{torch::zeros({2, 2}, torch::kFloat64),
                                        torch::zeros({2, 2}, torch::kFloat64)};
        const std::vector<std::vector<double>> inputs{{1, 0}, {2, 1}};
        for (const auto &x : inputs) {
            const torch::Tensor f =
                torch::matmul(w2, torch::relu(torch::matmul(w1, torch::tensor(x, f64))));
            const std::vector<torch::Tensor> sample = masSampleImportance(f, {w1, w2});
            mean[0] += sample[0] / 2;
            mean[1] += sample[1] / 2;
        }
        QVERIFY(torch::equal(mean[0], torch::tensor({{3.0, 1.0}, {4.0, 2.0}}, f64)));
        QVERIFY(torch::equal(mean[1], torch::tensor({{2.0, 4.0}, {2.0, 6.0}}, f64)));
        normalizeImportance(mean, ImportanceNormalization::Sum);
        QVERIFY(torch::allclose(mean[0], torch::tensor({{3.0, 1.0}, {4.0, 2.0}}, f64) / 24));
        // A parameter the output does not depend on has zero importance.
        const torch::Tensor unused = torch::ones({3}, torch::kFloat64).requires_grad_(true);
        const torch::Tensor f = torch::matmul(w2, torch::tensor({1.0, 2.0}, f64));
        const std::vector<torch::Tensor> sample = masSampleImportance(f, {w2, unused});
        QVERIFY(torch::equal(sample[1], torch::zeros({3}, torch::kFloat64)));
    }

    void tirKeepsTheMaximumAndItsOwner()
    {
        // Importance [4, 2, 1, 1] normalised by its sum: [.5, .25, .125, .125], all owned by
        // task 0. Then [.1, .2, .3, .4]: the max-merge is [.5, .25, .3, .4], owners [0, 0, 1, 1].
        auto parts =
            create("tir", {{QStringLiteral("importance_normalization"), QStringLiteral("sum")}});
        StagePlugin &server = *parts->stagePlugin;
        const TensorList model{{"w", torch::tensor({1.0f, 2.0f, 3.0f, 4.0f})}};
        const auto upload = [](torch::Tensor importance, std::vector<double> img) {
            Payload p;
            p.tensors = {{"importance/0", std::move(importance)},
                         {"task/img", torch::tensor(img, torch::kFloat64)},
                         {"task/inst", torch::tensor({1.0, 0.0}, torch::kFloat64)},
                         {"task/ans", torch::tensor({0.0, 1.0}, torch::kFloat64)}};
            return p;
        };
        std::vector<Payload> first{upload(torch::tensor({4.0f, 2.0f, 1.0f, 1.0f}), {3, 4})};
        const std::int64_t down = server.afterStage(0, model, first, {1});
        const TensorList &b = server.broadcast();
        QCOMPARE(b.size(), std::size_t(3 + 3)); // importance, owner, anchor; one task's 3 vectors
        QVERIFY(torch::allclose(b[0].value, torch::tensor({.5f, .25f, .125f, .125f})));
        QVERIFY(torch::equal(b[1].value, torch::zeros({4}, torch::kInt32)));
        QVERIFY(torch::equal(b[2].value, model[0].value)); // the anchor
        QVERIFY(torch::allclose(b[3].value, torch::tensor({.6, .8}, torch::kFloat64)));
        // Down: importance (4 floats) + owners (4 int32) + 3 embeddings of 2 doubles; no anchor.
        QCOMPARE(down, std::int64_t(4 * 4 + 4 * 4 + 3 * 2 * 8));
        std::vector<Payload> second{upload(torch::tensor({.1f, .2f, .3f, .4f}), {0, 1})};
        server.afterStage(1, model, second, {1});
        const TensorList &c = server.broadcast();
        QCOMPARE(c.size(), std::size_t(3 + 6));
        QVERIFY(torch::allclose(c[0].value, torch::tensor({.5f, .25f, .3f, .4f})));
        QVERIFY(torch::equal(c[1].value, torch::tensor({0, 0, 1, 1}, torch::kInt32)));
        QVERIFY(torch::allclose(c[3].value, torch::tensor({.6, .8}, torch::kFloat64)));
        QVERIFY(torch::allclose(c[6].value, torch::tensor({0.0, 1.0}, torch::kFloat64)));
    }

    void replayOffersEachSampleOncePerStage()
    {
        // 300 distinct samples trained for 3 epochs: the old code offered 900 and kept repeats.
        std::vector<std::uint8_t> labels(300);
        for (int i = 0; i < 300; ++i) {
            labels[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i % 2);
        }
        const SharedData data = tinyData(labels);
        auto parts = create("replay", {{QStringLiteral("buffer_per_client"), 100}});
        std::unique_ptr<ClientPlugin> plugin = parts->clientPlugin();
        Rng rng(5);
        LocalTraining training;
        training.data = &data;
        training.rng = &rng;
        training.stage = 0;
        for (int epoch = 0; epoch < 3; ++epoch) {
            for (int start = 0; start < 300; start += 30) {
                std::vector<SampleRef> refs;
                for (int i = start; i < start + 30; ++i) {
                    refs.push_back({0, i});
                }
                plugin->afterStep(training, refs);
            }
        }
        TensorArchive archive;
        plugin->save(archive, "r/");
        QCOMPARE(archive.get("r/seen").item<std::int64_t>(), std::int64_t(300));
        const torch::Tensor buffer = archive.get("r/buffer");
        QCOMPARE(buffer.size(0), std::int64_t(100));
        std::set<int> unique;
        for (std::int64_t i = 0; i < buffer.size(0); ++i) {
            unique.insert(buffer[i][1].item<int>());
        }
        QCOMPARE(unique.size(), std::size_t(100)); // no duplicate
        // A new stage offers the same samples again (they are new to that stage's stream).
        training.stage = 1;
        plugin->afterStep(training, {{0, 0}, {0, 1}});
        TensorArchive after;
        plugin->save(after, "r/");
        QCOMPARE(after.get("r/seen").item<std::int64_t>(), std::int64_t(302));
    }

    void classBalancedBufferKeepsTheClassesEven()
    {
        // 90 samples of class 0, then 10 of class 1, into 10 slots: a plain reservoir keeps about
        // one of class 1; CBRS keeps five of each.
        auto classOf = [](const SampleRef &ref) {
            return ref.index < 90 ? 0 : 1;
        };
        ReplayBuffer balanced(10);
        ReplayBuffer plain(10);
        Rng a(1);
        Rng b(1);
        for (int i = 0; i < 100; ++i) {
            balanced.offerBalanced({0, i}, classOf({0, i}), classOf, a);
            plain.offer({0, i}, b);
        }
        int ones = 0;
        for (const SampleRef &ref : balanced.items()) {
            ones += classOf(ref);
        }
        QCOMPARE(ones, 5);
        QCOMPARE(balanced.seenPerClass().at(1), std::int64_t(10));
    }

    void perClassDirichletKeepsEveryClassTotalAndSkews()
    {
        for (double alpha : {0.1, 100.0}) {
            PartitionRequest request;
            request.method = PartitionMethod::Dirichlet;
            for (int label : {3, 7}) {
                request.labels.insert(request.labels.end(), 1000, label);
            }
            request.requested.assign(10, 100);
            request.classAlpha = alpha;
            request.seed = 42;
            auto parts = partitionSamples(request);
            QVERIFY2(parts, qPrintable(parts.errorString()));
            std::set<int> seen;
            int threes = 0;
            int sevens = 0;
            double maxShareSum = 0;
            for (const auto &client : parts.value()) {
                QVERIFY(client.size() >= 10); // the redraw minimum
                int mine = 0;
                for (int position : client) {
                    QVERIFY(seen.insert(position).second); // disjoint
                    mine += request.labels[static_cast<std::size_t>(position)] == 3 ? 1 : 0;
                }
                threes += mine;
                sevens += static_cast<int>(client.size()) - mine;
                const double share = double(mine) / double(client.size());
                maxShareSum += std::max(share, 1 - share);
            }
            // The pooled data stay balanced: exactly 500 of each class (total 1,000).
            QCOMPARE(threes, 500);
            QCOMPARE(sevens, 500);
            const double dominant = maxShareSum / 10;
            qDebug("alpha %g: mean share of a client's main class %.3f", alpha, dominant);
            QVERIFY(alpha < 1 ? dominant > 0.85 : dominant < 0.6);
        }
    }

    void multiHeadTrainingLeavesOtherAnswersUntouched()
    {
        // One task with answers 0 and 1 ("T-shirt", "Trouser"). Multi-head training masks the
        // loss to those answers, so the output rows of the ten other answers keep their initial
        // weights; with one shared head the softmax pushes them down.
        NetworkShape shape;
        shape.instructionDim = kInstructionDim;
        shape.outputs = kAnswerCount;
        const QVariantMap mlp{{QStringLiteral("hidden"), 64}, {QStringLiteral("layers"), 1}};
        torch::manual_seed(11); // the tiny experiment's seed: the engine's initial weights
        const torch::Tensor initial =
            makeNetwork(QStringLiteral("mlp"), mlp, shape)->named_parameters()["output.weight"];
        for (const char *heads : {"per_task", "shared"}) {
            QByteArray json = test::tinyExperimentJson({}, 2, 1, 2, 100);
            json.replace(R"("evaluation": {)",
                         QByteArray(R"("evaluation": {"mode": "task_incremental", )") +
                             R"("train_heads": ")" + heads + R"(", )");
            auto experiment = parseExperiment(json);
            QVERIFY2(experiment, qPrintable(experiment.errorString()));
            QTemporaryDir dir;
            auto store = RunStore::open(dir.filePath(QStringLiteral("runs.sqlite")));
            QVERIFY(store);
            test::RecordingObserver observer;
            CancellationToken cancel;
            const RunOutcome outcome =
                runExperiment(experiment.value(), store.value().get(), observer, cancel);
            QCOMPARE(outcome.status, RunStatus::Completed);
            auto checkpoint = store.value()->latestCheckpoint(outcome.runId);
            QVERIFY(checkpoint && checkpoint.value().has_value());
            auto archive =
                TensorArchive::deserialize(checkpoint.value()->data, QStringLiteral("test"));
            QVERIFY(archive);
            torch::Tensor trained;
            for (const auto &[name, value] : archive->getList("strategy/global")) {
                if (name == "output.weight") {
                    trained = value;
                }
            }
            QVERIFY(trained.defined());
            const bool othersUntouched =
                torch::equal(trained.narrow(0, 2, 10), initial.narrow(0, 2, 10));
            const bool ownTrained = !torch::equal(trained.narrow(0, 0, 2), initial.narrow(0, 0, 2));
            qDebug("%s heads: other answers' rows untouched: %d", heads, othersUntouched);
            QVERIFY(ownTrained);
            QCOMPARE(othersUntouched, QByteArray(heads) == "per_task");
        }
    }
};

QTEST_GUILESS_MAIN(TestContinual)
#include "tst_continual.moc"
