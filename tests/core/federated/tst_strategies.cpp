// SPDX-License-Identifier: MIT
// The server strategies and client plugins behind the plug-in interfaces, driven through the
// registry's factories on tiny tensors, against hand-computed values (issue 6).
#include "core/federated/feddat_p.h"
#include "core/federated/trust_p.h"
#include "core/model/method_api_p.h"
#include "core/model/peft_p.h"
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

/// A two-matrix "LoRA" model: A and B.
TensorList loraModel(std::vector<float> a, std::vector<float> b, std::int64_t rows = 2)
{
    return {{"lora_a", torch::tensor(a).reshape({rows, -1})},
            {"lora_b", torch::tensor(b).reshape({-1, rows == 1 ? 1 : rows})}};
}

bool rowNear(const torch::Tensor &w, std::int64_t row, std::vector<double> expected,
             double tolerance = 1e-6)
{
    for (std::size_t j = 0; j < expected.size(); ++j) {
        const double got = w[row][static_cast<std::int64_t>(j)].item<double>();
        if (std::abs(got - expected[j]) > tolerance) {
            qWarning("row %lld column %zu: %.9f, expected %.9f", static_cast<long long>(row), j,
                     got, expected[j]);
            return false;
        }
    }
    return true;
}

/// Three clients of PCFT in one stage of `rounds` rounds: 0 and 1 share task 0, 2 has task 1.
struct PcftFixture {
    std::vector<std::vector<int>> columnOf{{0, 0, 1}};
    std::vector<std::vector<std::vector<int>>> indicesOf{{{}, {}, {}}};
    std::vector<QString> names{"a", "b", "c"};
    LocalConfig config;
    std::unique_ptr<MethodParts> parts;

    PcftFixture(const QVariantMap &params, int rounds = 10)
    {
        parts = create("pcft", params);
        StrategyContext context;
        context.columnOf = &columnOf;
        context.indicesOf = &indicesOf;
        context.config = &config;
        context.roundsPerStage = rounds;
        parts->strategy->initialize(loraModel({0, 0, 0, 0}, {0, 0, 0, 0}), 3);
        parts->strategy->attach(context);
    }

    /// One round in which every client returns the given models.
    void round(int r, const std::vector<TensorList> &models)
    {
        RoundPlan plan;
        plan.round = plan.globalRound = r;
        plan.clients = 3;
        plan.active = plan.sampled = plan.returning = {0, 1, 2};
        plan.clientNames = &names;
        std::vector<ClientResult> results;
        for (int c = 0; c < 3; ++c) {
            ClientResult result;
            result.client = c;
            result.weight = 1;
            result.upload.tensors = cloneList(models[static_cast<std::size_t>(c)]);
            results.push_back(std::move(result));
        }
        parts->strategy->aggregate(plan, results);
        observations.clear();
        parts->strategy->observe(plan, results, observations);
    }
    std::vector<Observation> observations;
};

/// The identical pair (A = B = I) and a third model whose A swaps columns and whose B flips one:
/// S = [[1, 1, 0], [1, 1, 0], [0, 0, 1]].
std::vector<TensorList> weightTrustModels()
{
    return {loraModel({1, 0, 0, 1}, {1, 0, 0, 1}), loraModel({1, 0, 0, 1}, {1, 0, 0, 1}),
            loraModel({0, 1, 1, 0}, {1, 0, 0, -1})};
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

    // FedDAT (issue 10): the trio's routes and the two distillation losses, by hand.
    void datTrioMixesTheFrozenSnapshotNotTheLiveSharedAdapter()
    {
        AdapterOptions options;
        options.bottleneck = 1;
        options.branches = 3;
        Adapter trio(2, options);
        const auto set = [&](const std::string &prefix, std::vector<float> down,
                             std::vector<float> up) {
            torch::NoGradGuard noGrad;
            auto parameters = trio->named_parameters();
            parameters[prefix + ".down.weight"].copy_(torch::tensor(down).reshape({1, 2}));
            parameters[prefix + ".up.weight"].copy_(torch::tensor(up).reshape({2, 1}));
            parameters[prefix + ".down.bias"].zero_();
            parameters[prefix + ".up.bias"].zero_();
        };
        const torch::Tensor h = torch::tensor({1.0f, 2.0f}).reshape({1, 2});
        const auto out = [&](AdapterRoute route, double share) {
            trio->setRoute(route, share);
            torch::NoGradGuard noGrad;
            const torch::Tensor y = trio->forward(h);
            return std::vector<double>{y[0][0].item<double>(), y[0][1].item<double>()};
        };
        set("client", {1, 0}, {1, 0}); // A_c(h) = [1, 0]
        set("shared", {1, 1}, {1, 1}); // A_s(h) = [3, 3], frozen as the snapshot
        trio->snapshotShared();
        set("shared", {0, 1}, {0, 1}); // live A_s(h) = [0, 2]
        QCOMPARE(out(AdapterRoute::Dat, 0.5), (std::vector<double>{3.0, 3.5}));
        QCOMPARE(out(AdapterRoute::Dat, 0.25), (std::vector<double>{3.5, 4.25}));
        QCOMPARE(out(AdapterRoute::Shared, 0.5), (std::vector<double>{1.0, 4.0}));
        QCOMPARE(out(AdapterRoute::Client, 0.5), (std::vector<double>{2.0, 2.0}));
        trio->clearSnapshot(); // evaluation: the DAT mixes the live (global) A_s
        QCOMPARE(out(AdapterRoute::Dat, 0.5), (std::vector<double>{1.5, 3.0}));
        // ReLU, as the FedDAT code (GELU would leak -0.158655).
        torch::NoGradGuard noGrad;
        trio->setRoute(AdapterRoute::Client, 0.5);
        const torch::Tensor negative = torch::tensor({-1.0f, -2.0f}).reshape({1, 2});
        QVERIFY(torch::equal(trio->forward(negative), negative));
        // A_c and A_s (down and up, weight and bias); the snapshot is not a parameter, so it
        // neither travels nor lands in a checkpoint.
        QCOMPARE(trio->named_parameters().size(), std::size_t(8));
    }

    void mutualKdLossesMatchHandComputedValues()
    {
        namespace F = torch::nn::functional;
        const auto ce = [](const torch::Tensor &logits, std::vector<std::int64_t> y) {
            return F::cross_entropy(logits, torch::tensor(y));
        };
        // Step 1: teacher [3, 0], student [0, 0], label 0, tau 3, weights 1/2.
        const torch::Tensor teacher = torch::tensor({{3.0, 0.0}}, torch::kDouble);
        const torch::Tensor student = torch::zeros({1, 2}, torch::kDouble);
        const torch::Tensor ls = mutualKdLoss(ce(student, {0}), student, teacher, 0.5, 3);
        QVERIFY(std::abs(ls.item<double>() - 0.8458219) < 1e-6);
        // A second row where teacher and student agree (label 1): KL is averaged over rows.
        const torch::Tensor teacher2 = torch::tensor({{3.0, 0.0}, {0.0, 0.0}}, torch::kDouble);
        const torch::Tensor student2 = torch::zeros({2, 2}, torch::kDouble);
        const torch::Tensor ls2 = mutualKdLoss(ce(student2, {0, 1}), student2, teacher2, 0.5, 3);
        QVERIFY(std::abs(ls2.item<double>() - 0.5961978) < 1e-6);
        // Step 2: the DAT [0, 3] learns from step 1's (detached) student [0, 0], label 0.
        const torch::Tensor shared = torch::zeros({1, 2}, torch::kDouble).requires_grad_(true);
        const torch::Tensor dat = torch::tensor({{0.0, 3.0}}, torch::kDouble).requires_grad_(true);
        const torch::Tensor lc = mutualKdLoss(ce(dat, {0}), dat, shared.detach(), 0.5, 3);
        QVERIFY(std::abs(lc.item<double>() - 2.0648090) < 1e-6);
        lc.backward();
        QVERIFY(dat.grad().defined());
        QVERIFY(!shared.grad().defined()); // the student is a teacher here, not trained
    }

    void fedDatKeepsTheClientAdapterAndHeadLocalAndAveragesTheSharedOneEqually()
    {
        NetworkShape shape;
        shape.imagePixels = 4;
        shape.instructionDim = 2;
        shape.outputs = 3;
        const QVariantMap model = {{QStringLiteral("hidden"), 5},
                                   {QStringLiteral("layers"), 1},
                                   {QStringLiteral("tuning"), QStringLiteral("adapter")},
                                   {QStringLiteral("adapter_width"), 2}};
        auto parts = create("feddat");
        QVariantMap adjusted = model;
        QVERIFY(parts->adjustModel(adjusted).isEmpty());
        QCOMPARE(adjusted.value(QStringLiteral("adapter_branches")).toInt(), 3);
        QVariantMap lora = model;
        lora.insert(QStringLiteral("tuning"), QStringLiteral("lora"));
        QVERIFY(parts->adjustModel(lora).contains(QStringLiteral("model.tuning")));
        const auto network = makeNetwork(QStringLiteral("mlp"), adjusted, shape);
        const ModelLayout layout = ModelLayout::of(*network, [&](const std::string &name) {
            return parts->strategy->scopeOf(name, *network);
        });
        std::vector<std::string> local;
        for (std::size_t i : layout.localIndices) {
            local.push_back(layout.names[i]);
        }
        std::vector<std::string> shared;
        for (std::size_t i : layout.sharedIndices) {
            shared.push_back(layout.names[i]);
        }
        QCOMPARE(local, (std::vector<std::string>{
                            "output.weight", "output.bias", "adapter0.client.down.weight",
                            "adapter0.client.down.bias", "adapter0.client.up.weight",
                            "adapter0.client.up.bias"}));
        QCOMPARE(shared, (std::vector<std::string>{
                             "adapter0.shared.down.weight", "adapter0.shared.down.bias",
                             "adapter0.shared.up.weight", "adapter0.shared.up.bias"}));
        QVERIFY(parts->strategy->isPersonalised());
        // Uniform averaging, as the original code (nums = [1] * N): weights 1 and 3 give 1.
        parts->strategy->initialize({{"w", torch::zeros({2})}}, 2);
        QVERIFY(torch::allclose(serverStep(*parts->strategy), torch::tensor({1.0f, 3.0f})));
        auto bySamples =
            create("feddat", {{QStringLiteral("weighting"), QStringLiteral("samples")}});
        bySamples->strategy->initialize({{"w", torch::zeros({2})}}, 2);
        QVERIFY(torch::allclose(serverStep(*bySamples->strategy), torch::tensor({1.5f, 3.5f})));
    }

    // PCFT's trust matrices (issue 10) against hand-computed values.
    void weightTrustIsTheSoftmaxOfColumnCosines()
    {
        const torch::Tensor s = weightSimilarity(weightTrustModels());
        QVERIFY(rowNear(s, 0, {1, 1, 0}, 1e-12));
        QVERIFY(rowNear(s, 2, {0, 0, 1}, 1e-12));
        const torch::Tensor w = trustFromScores(s, TrustVariant::Softmax, 3, 0);
        QVERIFY(rowNear(w, 0, {0.4223188, 0.4223188, 0.1553624}));
        QVERIFY(rowNear(w, 1, {0.4223188, 0.4223188, 0.1553624}));
        QVERIFY(rowNear(w, 2, {0.2119416, 0.2119416, 0.5761169}));
        // Our LoRA stores A as [r, in] and B as [out, r], the original as [in, r] and [r, out]:
        // the cosine runs over our columns. Row-wise it would be 0.9902903 here.
        const TensorList x = {{"a", torch::tensor({1.0f, 1.0f}).reshape({1, 2})},
                              {"b", torch::tensor({1.0f}).reshape({1, 1})}};
        const TensorList y = {{"a", torch::tensor({2.0f, 3.0f}).reshape({1, 2})},
                              {"b", torch::tensor({2.0f}).reshape({1, 1})}};
        QVERIFY(rowNear(weightSimilarity({x, y}), 0, {1.0, 1.0}, 1e-12));
        // A zero column has cosine 0 with anything.
        const TensorList zero = {{"a", torch::zeros({1, 2})}, {"b", torch::zeros({1, 1})}};
        QVERIFY(rowNear(weightSimilarity({x, zero}), 0, {1.0, 0.0}, 1e-12));
    }

    void validationTrustIsTheSoftmaxOfMinusPerplexity()
    {
        const torch::Tensor losses =
            torch::tensor({2.0, 4.0, 4.0, 4.0, 2.0, 4.0, 8.0, 8.0, 2.0}, torch::kFloat64)
                .reshape({3, 3})
                .log();
        const torch::Tensor w =
            trustFromScores(validationScores(losses), TrustVariant::Softmax, 3, 0);
        QVERIFY(rowNear(w, 0, {0.7869860, 0.1065070, 0.1065070}));
        QVERIFY(rowNear(w, 2, {0.0024665, 0.0024665, 0.9950670}));
    }

    void predictionTrustComparesTopLogits()
    {
        const auto row = [](std::vector<double> v) {
            return torch::tensor(v, torch::kFloat64).reshape({1, 3});
        };
        // z2's 0.5 falls out of the top 2, so z1 and z2 predict alike.
        const torch::Tensor z2 = keepTopLogits(row({3, 1, 0.5}), 2);
        QVERIFY(rowNear(z2, 0, {3, 1, 0}, 0));
        QVERIFY(rowNear(keepTopLogits(row({2, 2, 2}), 2), 0, {2, 2, 2}, 0)); // ties are kept
        const torch::Tensor s =
            predictionScores({row({3, 1, 0}), row({3, 1, 0.5}), row({0, 1, 3})}, 2);
        const torch::Tensor w = trustFromScores(s, TrustVariant::Softmax, 3, 0);
        QVERIFY(rowNear(w, 0, {0.4999887, 0.4999887, 2.26994e-5}));
        QVERIFY(rowNear(w, 2, {0.0066484, 0.0066484, 0.9867033}));
        const torch::Tensor same =
            trustFromScores(predictionScores({row({1, 2, 3}), row({1, 2, 3}), row({1, 2, 3})}, 2),
                            TrustVariant::Softmax, 3, 0);
        QVERIFY(rowNear(same, 1, {1.0 / 3, 1.0 / 3, 1.0 / 3}, 1e-12));
    }

    void topKAndThresholdSelectPeers()
    {
        const auto row = [](std::vector<double> v) {
            return torch::tensor(v, torch::kFloat64).reshape({1, -1});
        };
        const torch::Tensor top = trustFromScores(row({1, 1, 0, 0.5}), TrustVariant::TopK, 3, 0);
        QVERIFY(rowNear(top, 0, {0.3836517, 0.3836517, 0, 0.2326965}));
        QCOMPARE(top[0][2].item<double>(), 0.0); // exactly 0: an edge not used
        QVERIFY(rowNear(trustFromScores(row({1, 0.2, 0.3, 0.6}), TrustVariant::Threshold, 3, 0.5),
                        0, {0.5986877, 0, 0, 0.4013123}));
        // The two best are always kept, even under the threshold.
        QVERIFY(rowNear(trustFromScores(row({1, 0.2, 0.3, 0.1}), TrustVariant::Threshold, 3, 0.5),
                        0, {0.6681878, 0, 0.3318122, 0}));
        // Ties go to the lower index.
        QVERIFY(rowNear(trustFromScores(row({0, 1, 1}), TrustVariant::TopK, 2, 0), 0, {0, 0.5, 0.5},
                        1e-12));
        QVERIFY(rowNear(trustFromScores(row({1, 1, 1}), TrustVariant::TopK, 2, 0), 0, {0.5, 0.5, 0},
                        1e-12));
    }

    void trustMixesEveryModelAtOnce()
    {
        const torch::Tensor w =
            trustFromScores(weightSimilarity(weightTrustModels()), TrustVariant::Softmax, 3, 0);
        const std::vector<TensorList> theta = {{{"w", torch::tensor({1.0f})}},
                                               {{"w", torch::tensor({2.0f})}},
                                               {{"w", torch::tensor({4.0f})}}};
        const std::vector<TensorList> mixed = mixModels(w, theta);
        QVERIFY(std::abs(mixed[0][0].value.item<float>() - 1.888406f) < 1e-5f);
        QVERIFY(std::abs(mixed[1][0].value.item<float>() - 1.888406f) < 1e-5f);
        QVERIFY(std::abs(mixed[2][0].value.item<float>() - 2.940292f) < 1e-5f);
        QCOMPARE(theta[0][0].value.item<float>(), 1.0f); // the inputs are untouched
    }

    void pcftMixesPeersAndCountsEveryUsedEdge()
    {
        const std::vector<TensorList> models = weightTrustModels();
        const std::int64_t b = byteSize(models[0]); // one client's LoRA
        const auto traffic = [&](const QVariantMap &params, int round = 0) {
            PcftFixture pcft(params);
            pcft.round(round, models);
            return pcft.parts->strategy->extraTraffic();
        };
        const QVariantMap noSignal = {{"count_trust_signal", false}, {"warmup_fraction", 0.0}};
        QVariantMap naive = noSignal;
        naive["trust"] = "naive";
        QCOMPARE(traffic(naive).up, 6 * b);
        QCOMPARE(traffic(naive).down, 6 * b);
        QVariantMap top2 = noSignal;
        top2["selection"] = "top_k";
        top2["top_k"] = 2;
        // Self and one peer per row: rows 0 and 1 pick each other, row 2's tie goes to client 0.
        QCOMPARE(traffic(top2).up, 3 * b);
        QVariantMap none = noSignal;
        none["trust"] = "none";
        QCOMPARE(traffic(none).up, std::int64_t(0));
        QVariantMap warm = noSignal;
        warm["warmup_fraction"] = 0.5; // rounds 0-4 of 10 local, the first mix in round 5
        QCOMPARE(traffic(warm, 4).up, std::int64_t(0));
        QCOMPARE(traffic(warm, 5).up, 6 * b);
        warm["variant"] = "faithful"; // the original mixes one round early
        QCOMPARE(traffic(warm, 4).up, 6 * b);
        QCOMPARE(traffic(warm, 3).up, std::int64_t(0));
        warm["trust_every"] = 2; // rounds 0, 2, 4, ... of those
        QCOMPARE(traffic(warm, 5).up, std::int64_t(0));
        QVariantMap signal = top2;
        signal["count_trust_signal"] = true; // weight trust needs every peer's model anyway
        QCOMPARE(traffic(signal).up, 6 * b);

        // The mix replaces each client's model and the observations describe the same matrix.
        PcftFixture pcft({{"warmup_fraction", 0.0}});
        pcft.round(0, models);
        const TensorList &a = pcft.parts->strategy->modelFor(0, 0);
        const float expected = 0.4223188f * 1 + 0.4223188f * 1 + 0.1553624f * 0;
        QVERIFY(std::abs(a[0].value[0][0].item<float>() - expected) < 1e-5f);
        QVERIFY(torch::equal(a[0].value, pcft.parts->strategy->modelFor(1, 0)[0].value));
        QCOMPARE(pcft.observations.size(), std::size_t(3));
        const Observation &matrix = pcft.observations[0];
        QCOMPARE(matrix.kind, QStringLiteral("pcft.trust"));
        for (int i = 0; i < 3; ++i) {
            double sum = 0;
            for (int j = 0; j < 3; ++j) {
                sum += matrix.values[static_cast<std::size_t>(i * 3 + j)];
            }
            QVERIFY(std::abs(sum - 1) < 1e-12);
        }
        const Observation &graph = pcft.observations[1];
        QCOMPARE(graph.values.size(), std::size_t(6 * 3)); // every i != j edge, as (from, to, w)
        QCOMPARE(graph.values[0], 1.0);                    // b -> a first
        QCOMPARE(graph.values[1], 0.0);
        const Observation &group = pcft.observations[2];
        // a and b: 0.4223188 / (0.4223188 + 0.1553624) of their peer trust is in their group.
        const double share = 0.4223188 / (0.4223188 + 0.1553624);
        QVERIFY(std::abs(group.values[2] - share) < 1e-6);
        QCOMPARE(group.values[4], 0.0); // c has no peer with its task
        QVERIFY(std::abs(group.values[1] - (0.5 + 0.5 + 0) / 3) < 1e-12); // chance
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
