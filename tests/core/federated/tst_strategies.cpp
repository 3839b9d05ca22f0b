// SPDX-License-Identifier: MIT
// The server strategies and client plugins behind the plug-in interfaces, driven through the
// registry's factories on tiny tensors, against hand-computed values (issue 6).
#include "core/model/method_api_p.h"
#include "core/sim/registry.h"
#include "tests/support/test_support.h"

#include <QTest>

#include <cmath>

using namespace fcl;
using namespace fcl::detail;

namespace {

std::unique_ptr<MethodParts> create(const char *id, const QVariantMap &overrides = {})
{
    const QString method = QString::fromLatin1(id);
    return findMethod(QStringLiteral("federated"), method)
        ->create(test::methodParams(QStringLiteral("federated"), method, overrides));
}

ClientResult upload(int client, std::vector<float> w, double weight)
{
    ClientResult result;
    result.client = client;
    result.weight = weight;
    result.upload.tensors.push_back({"w", torch::tensor(w)});
    return result;
}

/// One server round: client 0 (1 sample) sends [0, 2], client 1 (3 samples) sends [2, 4]; their
/// weighted mean is [1.5, 3.5].
torch::Tensor serverStep(Strategy &strategy, int rounds = 1)
{
    RoundPlan plan;
    plan.clients = 2;
    plan.active = plan.sampled = plan.returning = {0, 1};
    for (int r = 0; r < rounds; ++r) {
        std::vector<ClientResult> results = {upload(0, {0, 2}, 1), upload(1, {2, 4}, 3)};
        strategy.aggregate(plan, results);
    }
    return strategy.modelFor(-1, -1).front().value;
}

} // namespace

class TestStrategies : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void fedAvgIsTheWeightedMean()
    {
        auto parts = create("fedavg");
        parts->strategy->initialize({{"w", torch::tensor({1.0f, 2.0f})}}, 2);
        const torch::Tensor x = serverStep(*parts->strategy);
        QCOMPARE(x[0].item<float>(), 1.5f);
        QCOMPARE(x[1].item<float>(), 3.5f);
    }

    void fedAdamTakesOneAdamStepOnThePseudoGradient()
    {
        // x = [1, 2], mean = [1.5, 3.5], delta = [0.5, 1.5]; m = 0.1 delta; v = 0.99 tau^2 +
        // 0.01 delta^2 (v starts at tau^2 = 1e-6); x += 0.01 m / (sqrt(v) + tau):
        // x0 = 1 + 0.01 * 0.05 / (sqrt(0.00250099) + 0.001) = 1.0098020190,
        // x1 = 2 + 0.01 * 0.15 / (sqrt(0.02250099) + 0.001) = 2.0099335577.
        auto parts = create("fedadam");
        parts->strategy->initialize({{"w", torch::tensor({1.0f, 2.0f})}}, 2);
        const torch::Tensor x = serverStep(*parts->strategy);
        QVERIFY(test::fuzzyCompare(x[0].item<double>(), 1.0098020190, 1e-6));
        QVERIFY(test::fuzzyCompare(x[1].item<double>(), 2.0099335577, 1e-6));
    }

    void fedYogiUsesTheAdditiveSecondMoment()
    {
        // v = tau^2 - 0.01 delta^2 sign(tau^2 - delta^2) = 1e-6 + 0.0025 = 0.002501 (and 0.022501).
        auto parts = create("fedyogi");
        parts->strategy->initialize({{"w", torch::tensor({1.0f, 2.0f})}}, 2);
        const torch::Tensor x = serverStep(*parts->strategy);
        QVERIFY(test::fuzzyCompare(x[0].item<double>(), 1.0098019998, 1e-6));
        QVERIFY(test::fuzzyCompare(x[1].item<double>(), 2.0099335556, 1e-6));
    }

    void fedAvgMCarriesMomentumIntoTheNextRound()
    {
        // Round 1: v = x - mean = [-0.5, -1.5], x = x - v = [1.5, 3.5] (FedAvg's result).
        // Round 2: the mean is x itself, so v = 0.5 v = [-0.25, -0.75], x = [1.75, 4.25].
        auto parts = create("fedavgm", {{QStringLiteral("server_momentum"), 0.5}});
        parts->strategy->initialize({{"w", torch::tensor({1.0f, 2.0f})}}, 2);
        const torch::Tensor x = serverStep(*parts->strategy, 2);
        QVERIFY(test::fuzzyCompare(x[0].item<double>(), 1.75, 1e-6));
        QVERIFY(test::fuzzyCompare(x[1].item<double>(), 4.25, 1e-6));
    }

    void strategyStateSurvivesACheckpoint()
    {
        // FedAdam's moments are part of its state: save after one step, load into a fresh
        // strategy, and the second step must equal the uninterrupted one's.
        auto a = create("fedadam");
        a->strategy->initialize({{"w", torch::tensor({1.0f, 2.0f})}}, 2);
        serverStep(*a->strategy);
        TensorArchive archive;
        a->strategy->save(archive);
        auto restored = TensorArchive::deserialize(archive.serialize(), QStringLiteral("test"));
        QVERIFY(restored);
        auto b = create("fedadam");
        b->strategy->initialize({{"w", torch::tensor({0.0f, 0.0f})}}, 2);
        b->strategy->load(restored.value());
        QVERIFY(torch::equal(serverStep(*a->strategy), serverStep(*b->strategy)));
    }

    void scaffoldUpdatesControlVariatesByOptionTwo()
    {
        // A 2-2-2 MLP without instruction input. Only the first bias is made interesting:
        // x = [1, 1], c = [0.1, -0.2], after K = 4 steps of lr 0.5 the client holds y = [0, 2].
        // Correction added to each gradient: c - c_i = c (c_i starts at 0).
        // c_i+ = c_i - c + (x - y) / (K lr) = [-0.1, 0.2] + [0.5, -0.5] = [0.4, -0.3].
        NetworkShape shape;
        shape.imagePixels = 2;
        shape.instructionDim = 0;
        shape.outputs = 2;
        const QVariantMap params{{QStringLiteral("hidden"), 2}, {QStringLiteral("layers"), 1}};
        WorkerModel model([&] {
            return makeNetwork(QStringLiteral("mlp"), params, shape);
        });
        const ModelLayout layout = ModelLayout::of(model.network(), {});
        QCOMPARE(layout.names[1], std::string("hidden0.bias"));
        TensorList x;
        TensorList c;
        for (std::size_t i = 0; i < layout.names.size(); ++i) {
            const torch::Tensor &p = model.parameters()[i];
            x.push_back(
                {layout.names[i], i == 1 ? torch::tensor({1.0f, 1.0f}) : torch::zeros_like(p)});
            c.push_back({"control/" + layout.names[i],
                         i == 1 ? torch::tensor({0.1f, -0.2f}) : torch::zeros_like(p)});
        }
        auto parts = create("scaffold");
        std::unique_ptr<ClientPlugin> plugin = parts->clientPlugin();
        Payload download;
        download.tensors = x;
        download.tensors.insert(download.tensors.end(), c.begin(), c.end());
        LocalConfig config;
        config.learningRate = 0.5;
        LocalTraining training;
        training.layout = &layout;
        training.model = &model;
        training.download = &download;
        training.config = &config;
        model.load(layout, x, {});
        plugin->beforeTraining(training);

        torch::Tensor bias = model.parameters()[1];
        bias.mutable_grad() = torch::tensor({1.0f, 1.0f});
        plugin->beforeStep(training);
        QVERIFY(torch::allclose(bias.grad(), torch::tensor({1.1f, 0.8f})));

        {
            torch::NoGradGuard noGrad;
            bias.copy_(torch::tensor({0.0f, 2.0f}));
        }
        training.stepsTaken = 4;
        Payload up;
        up.tensors = layout.select(model.parameters(), ParameterScope::Shared);
        plugin->afterTraining(training, up);
        QCOMPARE(up.tensors.size(), 2 * layout.names.size()); // y and c_i+ - c_i: twice the model
        QCOMPARE(up.tensors[layout.names.size() + 1].name,
                 std::string("control_delta/hidden0.bias"));
        QVERIFY(torch::allclose(up.tensors[layout.names.size() + 1].value,
                                torch::tensor({0.4f, -0.3f})));

        // Server, 4 clients in the stage, this one the only one back: x += mean(y - x) = y;
        // c += (1/4) * delta = [0.1, -0.2] + [0.1, -0.075] = [0.2, -0.275] (c starts at 0 on a
        // fresh server, so c = [0.1, -0.075]).
        parts->strategy->initialize(x, 4);
        RoundPlan plan;
        plan.clients = 4;
        plan.active = {0, 1, 2, 3};
        plan.sampled = plan.returning = {2};
        std::vector<ClientResult> results(1);
        results[0].client = 2;
        results[0].weight = 10;
        results[0].upload = up;
        results[0].upload.meta.insert(QStringLiteral("control_variate_norm"), 0.5);
        parts->strategy->aggregate(plan, results);
        QVERIFY(torch::allclose(parts->strategy->modelFor(-1, -1)[1].value,
                                torch::tensor({0.0f, 2.0f})));
        const Payload next = parts->strategy->configure(plan, 0);
        QCOMPARE(next.bytes(), 2 * byteSize(x)); // x and c go down
        QVERIFY(torch::allclose(next.tensors[layout.names.size() + 1].value,
                                torch::tensor({0.1f, -0.075f})));
    }

    void fedPerKeepsTheOutputLayerLocal()
    {
        NetworkShape shape;
        shape.imagePixels = 4;
        shape.instructionDim = 2;
        shape.outputs = 3;
        const auto network =
            makeNetwork(QStringLiteral("mlp"),
                        {{QStringLiteral("hidden"), 5}, {QStringLiteral("layers"), 1}}, shape);
        auto parts = create("fedper");
        const ModelLayout layout = ModelLayout::of(*network, [&](const std::string &name) {
            return parts->strategy->scopeOf(name, *network);
        });
        QCOMPARE(layout.sharedIndices.size(), std::size_t(2)); // hidden0.weight, hidden0.bias
        QCOMPARE(layout.localIndices.size(), std::size_t(2));  // output.weight, output.bias
        QCOMPARE(layout.names[layout.localIndices[0]], std::string("output.weight"));
        QVERIFY(parts->strategy->isPersonalised());
    }

    void checkpointArchiveRoundTripsAndRejectsDamage()
    {
        TensorArchive archive;
        archive.header().insert(QStringLiteral("stage"), 3);
        archive.put("a/float", torch::tensor({1.5f, -2.0f}));
        archive.put("a/long", torch::tensor({std::int64_t(7)}));
        archive.put("b/matrix", torch::full({2, 3}, std::nan(""), torch::kFloat64));
        const QByteArray bytes = archive.serialize();
        QCOMPARE(archive.serialize(), bytes); // deterministic
        auto back = TensorArchive::deserialize(bytes, QStringLiteral("checkpoint of run 4"));
        QVERIFY2(back, qPrintable(back.errorString()));
        QCOMPARE(back->header().value(QStringLiteral("stage")).toInt(), 3);
        QVERIFY(torch::equal(back->get("a/float"), torch::tensor({1.5f, -2.0f})));
        QCOMPARE(back->get("a/long").item<std::int64_t>(), std::int64_t(7));
        QVERIFY(torch::isnan(back->get("b/matrix")).all().item<bool>());
        QCOMPARE(back->names("a/").size(), std::size_t(2));

        QByteArray flipped = bytes;
        flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x40);
        auto corrupt = TensorArchive::deserialize(flipped, QStringLiteral("checkpoint of run 4"));
        QVERIFY(!corrupt);
        QCOMPARE(corrupt.errorString(), QStringLiteral("checkpoint of run 4: checksum mismatch: "
                                                       "the checkpoint is truncated or corrupt"));
        QVERIFY(!TensorArchive::deserialize(bytes.left(bytes.size() - 9), QStringLiteral("x")));
        auto foreign =
            TensorArchive::deserialize(QByteArray("PK\x03\x04 a zip file"), QStringLiteral("x"));
        QVERIFY(foreign.errorString().contains(QStringLiteral("unknown file signature")));
        QByteArray newer = bytes;
        newer[8] = 9; // format version 9
        auto future = TensorArchive::deserialize(newer, QStringLiteral("x"));
        QVERIFY(future.errorString().contains(QStringLiteral("format 9 is newer")));
        QVERIFY(!TensorArchive::deserialize(QByteArray(), QStringLiteral("x")));
    }
};

QTEST_GUILESS_MAIN(TestStrategies)
#include "tst_strategies.moc"
