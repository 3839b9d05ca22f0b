// SPDX-License-Identifier: MIT
// tiny-vlm, tokenizer, PEFT and the base on disk (issue 8): LoRA math, the causal mask, greedy
// decoding with its key/value cache against decoding from scratch, safetensors round trips and
// their errors, the manifest's checks, pretraining determinism, and instruction tuning that
// learns.
#include "core/model/base_model_p.h"
#include "core/model/peft_p.h"
#include "core/model/safetensors_p.h"
#include "core/model/tiny_vlm_p.h"
#include "core/sim/engine.h"
#include "core/sim/local_sgd_p.h"
#include "core/sim/pretrain.h"
#include "core/store/run_store_p.h"
#include "tests/support/test_support.h"

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

using namespace fcl;
using namespace fcl::detail;

namespace {

TinyVlmConfig smallConfig()
{
    TinyVlmConfig config;
    config.width = 32;
    config.layers = 2;
    config.heads = 4;
    config.maxText = 40;
    return config;
}

ModelInput trainingInput(const Network &network, const std::vector<SequenceSample> &samples)
{
    ModelInput input;
    input.images = torch::rand({static_cast<std::int64_t>(samples.size()), 784});
    encodeSequences(input, samples, network.imagePatches(), network.maxTextTokens(), true);
    return input;
}

std::vector<SequenceSample> someSamples(const CharTokenizer &tokenizer)
{
    return {{true, tokenizer.encode(QStringLiteral("What item is this?")),
             tokenizer.encode(QStringLiteral("sneaker"))},
            {false, tokenizer.encode(QStringLiteral("Reverse: abc")),
             tokenizer.encode(QStringLiteral("cba"))},
            {true, tokenizer.encode(QStringLiteral("Is it dark?")),
             tokenizer.encode(QStringLiteral("no"))}};
}

/// Decoding without a cache: re-run the whole sequence for every new token.
std::vector<int> naiveGreedy(Network &network, const SequenceSample &prompt,
                             const torch::Tensor &image, int maxTokens)
{
    std::vector<int> answer;
    for (int step = 0; step < maxTokens; ++step) {
        SequenceSample sample = prompt;
        sample.answer = answer;
        ModelInput input;
        input.images = image;
        encodeSequences(input, {sample}, network.imagePatches(), network.maxTextTokens(), true);
        const Outputs out = network.predict(input);
        const int next = static_cast<int>(out.logits[step].argmax().item<std::int64_t>());
        if (next == CharTokenizer::kEnd) {
            break;
        }
        answer.push_back(next);
    }
    return answer;
}

std::int64_t countTrainable(const Network &network)
{
    std::int64_t n = 0;
    for (const auto &p : network.parameters()) {
        n += p.requires_grad() ? p.numel() : 0;
    }
    return n;
}

} // namespace

class TestVlm : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void tokenF1ByHand()
    {
        // SQuAD-style: words as bags. "a dark sneaker" vs "a sneaker": 2 common, precision 2/3,
        // recall 2/2, F1 = 2 * (2/3) / (2/3 + 1) = 0.8.
        QCOMPARE(tokenF1(QStringLiteral("a dark sneaker"), QStringLiteral("a sneaker")), 0.8);
        QCOMPARE(tokenF1(QStringLiteral("sneaker"), QStringLiteral("sneaker")), 1.0);
        QCOMPARE(tokenF1(QStringLiteral("boot"), QStringLiteral("sneaker")), 0.0);
        QCOMPARE(tokenF1(QString(), QStringLiteral("sneaker")), 0.0);
        QCOMPARE(tokenF1(QString(), QString()), 1.0);
        // Repeated words count once each: "a a" vs "a b": 1 common, P = R = 1/2.
        QCOMPARE(tokenF1(QStringLiteral("a a"), QStringLiteral("a b")), 0.5);
        // Extra spaces do not make words.
        QCOMPARE(tokenF1(QStringLiteral(" a  b "), QStringLiteral("b a")), 1.0);
    }

    void tokenizerRoundTrip()
    {
        const CharTokenizer tokenizer;
        QCOMPARE(tokenizer.vocabularySize(), 99);
        const QString text = QStringLiteral("What item is this? a dark sneaker, 23+45=68 ~!");
        const std::vector<int> tokens = tokenizer.encode(text);
        QCOMPARE(tokens.size(), static_cast<std::size_t>(text.size()));
        QCOMPARE(tokenizer.decode(tokens), text);
        // Unknown characters map to one token and decode as U+FFFD; decoding stops at the end.
        std::vector<int> odd = tokenizer.encode(QStringLiteral("caf\u00e9\tx"));
        QCOMPARE(odd[3], CharTokenizer::kUnknown);
        QCOMPARE(odd[4], CharTokenizer::kUnknown);
        odd.push_back(CharTokenizer::kEnd);
        odd.push_back(tokenizer.encode(QStringLiteral("z"))[0]);
        QCOMPARE(tokenizer.decode(odd), QStringLiteral("caf\ufffd\ufffdx"));
    }

    void sequenceLayout()
    {
        const CharTokenizer tokenizer;
        ModelInput input;
        input.images = torch::zeros({2, 784});
        encodeSequences(
            input,
            {{true, tokenizer.encode(QStringLiteral("ab")), tokenizer.encode(QStringLiteral("c"))},
             {false, tokenizer.encode(QStringLiteral("abcd")),
              tokenizer.encode(QStringLiteral("xy"))}},
            16, 40, true);
        // Row 0: 16 image slots + "ab" + separator + "c" = 20; row 1: "abcd" + sep + "xy" = 7,
        // left-padded to 20.
        QCOMPARE(input.tokens.size(1), 20);
        QCOMPARE(input.valid[1].sum().item<std::int64_t>(), 7);
        QCOMPARE(input.imageSlot[0][15].item<std::int64_t>(), 15);
        QCOMPARE(input.imageSlot[1][15].item<std::int64_t>(), -1);
        // Targets: the separator predicts the first answer token, the last predicts the end.
        QCOMPARE(input.targets[0][18].item<std::int64_t>(),
                 tokenizer.encode(QStringLiteral("c"))[0]);
        QCOMPARE(input.targets[0][19].item<std::int64_t>(), CharTokenizer::kEnd);
        QCOMPARE(input.targets.ge(0).sum().item<std::int64_t>(), 2 + 3);
        QCOMPARE(input.textPos[1][13].item<std::int64_t>(), 0);
    }

    void causalMask()
    {
        torch::manual_seed(1);
        auto network = makeTinyVlm(smallConfig());
        const CharTokenizer &tokenizer = *network->tokenizer();
        SequenceSample a{true, tokenizer.encode(QStringLiteral("Name it.")),
                         tokenizer.encode(QStringLiteral("coat"))};
        SequenceSample b = a;
        b.answer = tokenizer.encode(QStringLiteral("cozy")); // differs from the 3rd token on
        const torch::Tensor image = torch::rand({1, 784});
        ModelInput ia;
        ia.images = image;
        encodeSequences(ia, {a}, network->imagePatches(), network->maxTextTokens(), true);
        ModelInput ib;
        ib.images = image;
        encodeSequences(ib, {b}, network->imagePatches(), network->maxTextTokens(), true);
        torch::NoGradGuard noGrad;
        const torch::Tensor la = network->predict(ia).logits;
        const torch::Tensor lb = network->predict(ib).logits;
        // Predictions at the separator, 'c' and 'o' see only identical prefixes.
        QVERIFY(torch::equal(la.narrow(0, 0, 3), lb.narrow(0, 0, 3)));
        QVERIFY(!torch::allclose(la.narrow(0, 3, 2), lb.narrow(0, 3, 2)));
    }

    /// hiddenStates (FedHDS's features, DISCO's identity): one state per layer plus the
    /// embeddings; left padding, later answer tokens and a batch's other rows change nothing.
    void hiddenStatesPerLayer()
    {
        torch::manual_seed(3);
        auto network = makeTinyVlm(smallConfig());
        const CharTokenizer &tokenizer = *network->tokenizer();
        const SequenceSample shortOne{true, tokenizer.encode(QStringLiteral("Dark?")),
                                      tokenizer.encode(QStringLiteral("no"))};
        const SequenceSample longOne{true, tokenizer.encode(QStringLiteral("What item is this?")),
                                     tokenizer.encode(QStringLiteral("ankle boot"))};
        const torch::Tensor images = torch::rand({2, 784});
        ModelInput alone;
        alone.images = images.narrow(0, 0, 1);
        encodeSequences(alone, {shortOne}, network->imagePatches(), network->maxTextTokens(), true);
        ModelInput both;
        both.images = images;
        encodeSequences(both, {shortOne, longOne}, network->imagePatches(),
                        network->maxTextTokens(), true);
        QVERIFY(both.tokens.size(1) > alone.tokens.size(1)); // row 0 is left-padded in `both`
        for (auto token :
             {HiddenQuery::Token::Last, HiddenQuery::Token::Separator, HiddenQuery::Token::Mean}) {
            HiddenQuery query;
            query.token = token;
            const torch::Tensor a = network->hiddenStates(alone, query);
            const torch::Tensor b = network->hiddenStates(both, query);
            QCOMPARE(a.sizes().vec(), (std::vector<std::int64_t>{1, 3, 32})); // 2 blocks + 1
            QCOMPARE(b.size(0), std::int64_t(2));
            QVERIFY(torch::allclose(a[0], b[0], 1e-5, 1e-5));
            QVERIFY(!torch::allclose(b[0], b[1], 1e-3, 1e-3));
        }
        // Layer 0 at the last token is its embedding: token + text position.
        HiddenQuery last;
        const torch::Tensor states = network->hiddenStates(alone, last);
        auto params = network->named_parameters();
        const auto lastToken = alone.tokens[0][-1].item<std::int64_t>();
        const auto lastPos = alone.textPos[0][-1].item<std::int64_t>();
        const torch::Tensor embedding =
            params["token_embedding.weight"][lastToken] + params["text_pos"][lastPos];
        QVERIFY(torch::allclose(states[0][0], embedding, 1e-6, 1e-6));
        // The separator's state does not see the answer (causal): another answer, same state.
        SequenceSample otherAnswer = shortOne;
        otherAnswer.answer = tokenizer.encode(QStringLiteral("yes"));
        ModelInput other;
        other.images = alone.images;
        encodeSequences(other, {otherAnswer}, network->imagePatches(), network->maxTextTokens(),
                        true);
        HiddenQuery separator;
        separator.token = HiddenQuery::Token::Separator;
        QVERIFY(torch::allclose(network->hiddenStates(alone, separator),
                                network->hiddenStates(other, separator), 1e-6, 1e-6));
        QVERIFY(!torch::allclose(network->hiddenStates(alone, last),
                                 network->hiddenStates(other, last), 1e-3, 1e-3));
        // textOnly: the image no longer reaches the separator's state.
        separator.textOnly = true;
        ModelInput otherImage = alone;
        otherImage.images = torch::rand({1, 784});
        QVERIFY(torch::allclose(network->hiddenStates(alone, separator),
                                network->hiddenStates(otherImage, separator), 1e-6, 1e-6));
        // Classifiers have no token states.
        NetworkShape shape;
        auto mlp = makeNetwork(QStringLiteral("mlp"), {}, shape);
        QVERIFY_THROWS_EXCEPTION(std::logic_error, mlp->hiddenStates(alone, last));
    }

    void greedyDecodingMatchesDecodingFromScratch()
    {
        torch::manual_seed(2);
        auto network = makeTinyVlm(smallConfig());
        const CharTokenizer &tokenizer = *network->tokenizer();
        {
            // Make the untrained model end answers sometimes: favour the end token a little.
            torch::NoGradGuard noGrad;
            network->named_parameters()["token_embedding.weight"][CharTokenizer::kEnd].mul_(3);
        }
        const std::vector<SequenceSample> prompts = {
            {true, tokenizer.encode(QStringLiteral("What item is this?")), {}},
            {false, tokenizer.encode(QStringLiteral("Reverse: abcdef")), {}},
            {true, tokenizer.encode(QStringLiteral("Hi")), {}}};
        const torch::Tensor images = torch::rand({3, 784});
        ModelInput input;
        input.images = images;
        encodeSequences(input, prompts, network->imagePatches(), network->maxTextTokens(), false);
        const auto batched = network->generate(input, 6);
        QCOMPARE(batched.size(), std::size_t(3));
        for (std::size_t i = 0; i < prompts.size(); ++i) {
            QVERIFY(batched[i].size() <= 6);
            const auto alone = naiveGreedy(*network, prompts[i],
                                           images.narrow(0, static_cast<std::int64_t>(i), 1), 6);
            QCOMPARE(batched[i], alone);
        }
        // A hand-set model that always prefers the end token answers with nothing.
        {
            torch::NoGradGuard noGrad;
            auto params = network->named_parameters();
            params["norm.weight"].zero_();
            params["norm.bias"].zero_();
            params["norm.bias"][0] = 1; // every hidden state becomes e_0
            params["token_embedding.weight"].zero_();
            params["token_embedding.weight"][CharTokenizer::kEnd][0] = 5;
        }
        for (const auto &answer : network->generate(input, 6)) {
            QVERIFY(answer.empty());
        }
    }

    /// Sliced LoRA (DISCO, issue 9): r 2 in two slots of rank 1, A = I, B = (1, 1), W = 0,
    /// x = (1, 2): slot weights pick slices; a zero weight freezes its slice exactly, through an
    /// optimiser step; per-sample weights (SSA) equal one weight vector per sample.
    void slicedLora()
    {
        PeftLinear layer(2, 1);
        layer->addLora(2, 2.0, 0); // scale alpha / r = 1
        {
            torch::NoGradGuard noGrad;
            auto params = layer->named_parameters();
            params["weight"].zero_();
            params["bias"].zero_();
            params["weight"].set_requires_grad(false);
            params["bias"].set_requires_grad(false);
            params["lora_A"].copy_(torch::eye(2));
            params["lora_B"].fill_(1);
        }
        const torch::Tensor x = torch::tensor({{1.0f, 2.0f}});
        const auto at = [&](std::vector<float> w) {
            layer->setSlotWeights(torch::tensor(w));
            return layer->forward(x).item<float>();
        };
        QCOMPARE(at({1, 0}), 1.0f);
        QCOMPARE(at({0, 1}), 2.0f);
        QCOMPARE(at({1, 1}), 3.0f);
        layer->setSlotWeights(torch::tensor({{1.0f, 0.0f}, {0.0f, 1.0f}}));
        const torch::Tensor rows = layer->forward(torch::tensor({{1.0f, 2.0f}, {1.0f, 2.0f}}));
        QVERIFY(torch::equal(rows, torch::tensor({{1.0f}, {2.0f}})));
        layer->setSlotWeights({});
        QCOMPARE(layer->forward(x).item<float>(), 3.0f); // plain LoRA
        layer->setLoraEnabled(false);
        QCOMPARE(layer->forward(x).item<float>(), 0.0f); // the frozen weight only
        layer->setLoraEnabled(true);

        // Training slot 0 only: slot 1's row of A and column of B get exactly zero gradient, and
        // an Adam step leaves them bit-identical.
        auto params = layer->named_parameters();
        const torch::Tensor aBefore = params["lora_A"].detach().clone();
        const torch::Tensor bBefore = params["lora_B"].detach().clone();
        torch::optim::Adam adam({params["lora_A"], params["lora_B"]},
                                torch::optim::AdamOptions(0.1));
        layer->setSlotWeights(torch::tensor({1.0f, 0.0f}));
        adam.zero_grad();
        (layer->forward(x) - 5).pow(2).sum().backward();
        QVERIFY(torch::equal(params["lora_A"].grad()[1], torch::zeros({2})));
        QVERIFY(torch::equal(params["lora_B"].grad().select(1, 1), torch::zeros({1})));
        QVERIFY(!torch::equal(params["lora_A"].grad()[0], torch::zeros({2})));
        adam.step();
        QVERIFY(torch::equal(params["lora_A"][1], aBefore[1]));
        QVERIFY(torch::equal(params["lora_B"].select(1, 1), bBefore.select(1, 1)));
        QVERIFY(!torch::equal(params["lora_A"][0], aBefore[0]));

        // The merged path ([r] weights) and the per-sample branch agree on a batch of sequences.
        torch::NoGradGuard noGrad;
        const torch::Tensor batch = torch::randn({3, 4, 2});
        layer->setSlotWeights(torch::tensor({0.3f, 0.7f}));
        const torch::Tensor merged = layer->forward(batch);
        layer->setSlotWeights(torch::tensor({0.3f, 0.7f}).repeat({3, 1}));
        QVERIFY(torch::allclose(merged, layer->forward(batch), 1e-6, 1e-6));
    }

    void loraMath()
    {
        TinyVlmConfig config; // the default size: width 128, 4 layers, 4 heads
        torch::manual_seed(3);
        auto full = makeTinyVlm(config);
        const std::int64_t fullCount = countTrainable(*full);
        // Embeddings 99x128 + 96x128 text positions, projector 49x128+128, 16x128 patch
        // positions, 4 blocks of (4 attention 128x128+128, 128x512+512, 512x128+128, 2 norms),
        // the final norm.
        const std::int64_t expectedFull =
            99 * 128 + 96 * 128 + (49 * 128 + 128) + 16 * 128 +
            4 * (4 * (128 * 128 + 128) + (128 * 512 + 512) + (512 * 128 + 128) + 4 * 128) + 2 * 128;
        QCOMPARE(fullCount, expectedFull);

        torch::manual_seed(3);
        auto lora = makeTinyVlm(config);
        PeftConfig peft;
        peft.mode = PeftConfig::Mode::Lora;
        applyTinyVlmPeft(*lora, peft);
        // r = 8 on attn.q, attn.v (128 -> 128), mlp.up (128 -> 512), mlp.down (512 -> 128).
        const std::int64_t expectedLora =
            4 * (2 * 8 * (128 + 128) + 8 * (128 + 512) + 8 * (512 + 128));
        QCOMPARE(countTrainable(*lora), expectedLora);
        qDebug("trainable: full %lld, LoRA r=8 %lld (%.2f%%)", static_cast<long long>(fullCount),
               static_cast<long long>(expectedLora), 100.0 * expectedLora / fullCount);

        // B = 0: the LoRA model computes exactly what the base computes.
        const CharTokenizer &tokenizer = *full->tokenizer();
        const ModelInput input = trainingInput(*full, someSamples(tokenizer));
        torch::NoGradGuard noGrad;
        const torch::Tensor base = full->predict(input).logits;
        QVERIFY(torch::equal(base, lora->predict(input).logits));

        // Random B: merged weights give the unmerged outputs within float rounding.
        for (auto &item : lora->named_parameters()) {
            if (item.key().find("lora_B") != std::string::npos) {
                item.value().normal_(0, 0.05);
            }
        }
        const torch::Tensor unmerged = lora->predict(input).logits;
        QVERIFY(!torch::allclose(unmerged, base, 1e-3, 1e-3));
        // The forward pass folds s B A into W on the fly; the textbook branch W x + s B (A x)
        // gives the same outputs within float rounding.
        {
            PeftLinear layer(128, 512);
            layer->addLora(8, 16, 0);
            for (auto &item : layer->named_parameters()) {
                if (item.key() == "lora_B") {
                    item.value().normal_(0, 0.05);
                }
            }
            auto p = layer->named_parameters();
            const torch::Tensor x = torch::randn({7, 128});
            const torch::Tensor branch =
                torch::nn::functional::linear(x, p["weight"], p["bias"]) +
                torch::nn::functional::linear(torch::nn::functional::linear(x, p["lora_A"]),
                                              p["lora_B"]) *
                    (16.0 / 8);
            QVERIFY(
                !torch::allclose(branch, torch::nn::functional::linear(x, p["weight"], p["bias"])));
            QVERIFY(torch::allclose(layer->forward(x), branch, 1e-5, 1e-5));
        }
        lora->mergeLora();
        const torch::Tensor merged = lora->predict(input).logits;
        const double gap = (merged - unmerged).abs().max().item<double>();
        qDebug("merge: max |merged - unmerged| = %.3g (tolerance 1e-4)", gap);
        QVERIFY(gap < 1e-4);
    }

    void moeLoraMath()
    {
        // Hand-computed MoELoRA on x = [1, 2], W = I, b = 0.
        const auto layerWith = [](int experts, int rank, double alpha, const torch::Tensor &a,
                                  const torch::Tensor &b, const torch::Tensor &router) {
            PeftLinear layer(2, 2);
            if (experts == 0) {
                layer->addLora(rank, alpha, 0);
            } else {
                layer->addMoeLora(experts, rank, alpha, 0);
            }
            torch::NoGradGuard noGrad;
            auto p = layer->named_parameters();
            p["weight"].copy_(torch::eye(2));
            p["bias"].zero_();
            p["lora_A"].copy_(a);
            p["lora_B"].copy_(b);
            if (experts > 0) {
                p["lora_router"].copy_(router);
            }
            return layer;
        };
        const torch::Tensor x = torch::tensor({1.0f, 2.0f});
        // LoRA r 1, alpha 2: x + 2 B A x = [1, 2] + 2 [3, 0] = [7, 2]; one expert whatever the
        // router is the same, and the router gets no gradient (its softmax over one expert is 1).
        const torch::Tensor a1 = torch::tensor({{1.0f, 1.0f}});
        const torch::Tensor b1 = torch::tensor({{1.0f}, {0.0f}});
        auto lora = layerWith(0, 1, 2, a1, b1, {});
        QVERIFY(torch::allclose(lora->forward(x), torch::tensor({7.0f, 2.0f})));
        auto one = layerWith(1, 1, 2, a1, b1, torch::tensor({{5.0f, -3.0f}}));
        const torch::Tensor y = one->forward(x);
        QVERIFY(torch::allclose(y, torch::tensor({7.0f, 2.0f})));
        y.sum().backward();
        QVERIFY(torch::equal(one->named_parameters()["lora_router"].grad(), torch::zeros({1, 2})));
        // Two experts of rank 1, alpha 4 (scale 2), A = [[1, 1], [1, -1]], B = I, router I:
        // g = softmax([1, 2]) = [.2689414, .7310586], A x = [3, -1], x + 2 g * A x.
        const torch::Tensor a2 = torch::tensor({{1.0f, 1.0f}, {1.0f, -1.0f}});
        auto two = layerWith(2, 2, 4, a2, torch::eye(2), torch::eye(2));
        QVERIFY(torch::allclose(two->gates(x), torch::tensor({.2689414f, .7310586f}), 1e-6, 1e-6));
        QVERIFY(
            torch::allclose(two->forward(x), torch::tensor({2.6136485f, 0.5378828f}), 1e-6, 1e-6));
        auto even = layerWith(2, 2, 4, a2, torch::eye(2), torch::zeros({2, 2}));
        QVERIFY(torch::allclose(even->forward(x), torch::tensor({4.0f, 1.0f})));
        QVERIFY_THROWS_EXCEPTION(std::logic_error, two->mergeLora());
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, PeftLinear(4, 4)->addMoeLora(3, 8, 16, 0));

        // One expert on tiny-vlm with LoRA's A and B computes LoRA's logits (up to the order
        // of float sums: the LoRA layer folds s B A into W).
        {
            torch::manual_seed(6);
            auto plain = makeTinyVlm(TinyVlmConfig{});
            torch::manual_seed(6);
            auto moe = makeTinyVlm(TinyVlmConfig{});
            PeftConfig peft;
            peft.mode = PeftConfig::Mode::Lora;
            applyTinyVlmPeft(*plain, peft);
            peft.mode = PeftConfig::Mode::MoeLora;
            peft.moeExperts = 1;
            applyTinyVlmPeft(*moe, peft);
            torch::NoGradGuard noGrad;
            auto mine = moe->named_parameters();
            for (auto &item : plain->named_parameters()) {
                if (item.key().find("lora_B") != std::string::npos) {
                    item.value().normal_(0, 0.05);
                }
                mine[item.key()].copy_(item.value());
            }
            const ModelInput input = trainingInput(*plain, someSamples(*plain->tokenizer()));
            const torch::Tensor expected = plain->predict(input).logits;
            QVERIFY(torch::allclose(moe->predict(input).logits, expected, 1e-5, 1e-5));
        }

        // On tiny-vlm: gates sum to 1 for every token; r 16 with 8 experts adds routers of
        // 8 x 896 inputs per block (q, v and up read 128 numbers, down 512).
        TinyVlmConfig config;
        for (int experts : {1, 2, 8}) {
            torch::manual_seed(4);
            auto vlm = makeTinyVlm(config);
            PeftConfig peft;
            peft.mode = PeftConfig::Mode::MoeLora;
            peft.loraRank = 16;
            peft.moeExperts = experts;
            applyTinyVlmPeft(*vlm, peft);
            QCOMPARE(countTrainable(*vlm),
                     std::int64_t(4 * (2 * 16 * (128 + 128) + 16 * (128 + 512) + 16 * (512 + 128)) +
                                  4 * experts * (128 + 128 + 128 + 512)));
            for (auto &item : vlm->named_modules("", false)) {
                if (auto *linear = dynamic_cast<PeftLinearImpl *>(item.value().get());
                    linear != nullptr && linear->experts() > 0) {
                    QCOMPARE(linear->experts(), experts);
                    const torch::Tensor g =
                        linear->gates(torch::randn({3, 5, linear->inFeatures()}));
                    QVERIFY(torch::allclose(g.sum(-1), torch::ones({3, 5}), 1e-6, 1e-6));
                }
            }
        }
    }

    void promptTuning()
    {
        torch::manual_seed(8);
        auto network = makeTinyVlm(smallConfig());
        PeftConfig peft;
        peft.mode = PeftConfig::Mode::Prompt;
        peft.promptTokens = 4;
        applyTinyVlmPeft(*network, peft);
        // Only the soft prompt trains: 4 vectors of width 32.
        QCOMPARE(countTrainable(*network), std::int64_t(4 * 32));
        QVERIFY(network->named_parameters()["soft_prompt"].requires_grad());
        {
            torch::NoGradGuard noGrad; // large enough to change what the model says
            network->named_parameters()["soft_prompt"].normal_(0, 1);
        }
        // The prompt comes first, so the causal mask still holds for the answer positions...
        const CharTokenizer &tokenizer = *network->tokenizer();
        const ModelInput input = trainingInput(*network, someSamples(tokenizer));
        torch::NoGradGuard noGrad;
        const Outputs out = network->predict(input);
        QCOMPARE(out.targets.size(0), out.logits.size(0));
        QCOMPARE(out.targets.size(0), input.targets.ge(0).sum().item<std::int64_t>());
        // ...and the prompt changes the outputs (every position attends to it).
        auto plain = makeTinyVlm(smallConfig());
        for (auto &item : plain->named_parameters()) {
            item.value().copy_(network->named_parameters()[item.key()]);
        }
        QVERIFY(!torch::allclose(out.logits, plain->predict(input).logits, 1e-3, 1e-3));
        // Batched decoding with its key/value cache equals decoding from scratch, prompt included.
        const std::vector<SequenceSample> prompts = {
            {true, tokenizer.encode(QStringLiteral("What item is this?")), {}},
            {false, tokenizer.encode(QStringLiteral("Reverse: abcdef")), {}}};
        const torch::Tensor images = torch::rand({2, 784});
        ModelInput batch;
        batch.images = images;
        encodeSequences(batch, prompts, network->imagePatches(), network->maxTextTokens(), false);
        const auto batched = network->generate(batch, 5);
        for (std::size_t i = 0; i < prompts.size(); ++i) {
            QCOMPARE(batched[i], naiveGreedy(*network, prompts[i],
                                             images.narrow(0, static_cast<std::int64_t>(i), 1), 5));
        }
    }

    void promptTuningLearnsAndIsRefusedOnClassifiers()
    {
        auto refused = parseExperiment(test::tinyExperimentJson().replace(
            R"("backbone": "mlp",)", R"("backbone": "mlp", "tuning": "prompt",)"));
        QVERIFY(!refused);
        QVERIFY2(refused.errorString().contains(QStringLiteral("model.tuning: prompt tuning needs "
                                                               "model.backbone \"tiny-vlm\"")),
                 qPrintable(refused.errorString()));

        auto experiment = parseExperiment(R"({
            "name": "prompt learns", "seed": 5,
            "model": {"backbone": "tiny-vlm", "tuning": "prompt", "prompt_tokens": 8},
            "federated": {"method": "fedavg", "rounds_per_stage": 4, "lr": 0.03,
                          "optimizer": "adam", "batch_size": 32},
            "clients": [{"name": "a", "samples_per_task": 600}, {"name": "b", "samples_per_task": 600}],
            "stages": ["vl-feet"],
            "evaluation": {"every_rounds": 4, "test_samples_per_task": 200}})");
        QVERIFY2(experiment, qPrintable(experiment.errorString()));
        test::RecordingObserver observer;
        const RunOutcome outcome = test::runToCompletion(experiment.value(), observer);
        QCOMPARE(outcome.status, RunStatus::Completed);
        const double after = outcome.summary.matrix.at(0, 0);
        qDebug("vl-feet exact match: base %.3f, after prompt tuning %.3f (seeds 6, 7: 0.950, "
               "0.825)",
               outcome.summary.matrix.baseline(0), after);
        QVERIFY(after > 0.7);
        // 8 vectors of width 128 travel: 2 clients x 8 x 128 floats each round.
        QCOMPARE(observer.rounds.front().bytesUp, std::int64_t(2 * 8 * 128 * 4));
    }

    void peftOnClassifiers()
    {
        NetworkShape shape;
        for (const char *backbone : {"mlp", "cnn"}) {
            torch::manual_seed(4);
            auto plain = makeNetwork(QString::fromLatin1(backbone), {}, shape);
            torch::manual_seed(4);
            auto lora = makeNetwork(QString::fromLatin1(backbone),
                                    {{QStringLiteral("tuning"), QStringLiteral("lora")},
                                     {QStringLiteral("lora_rank"), 4}},
                                    shape);
            torch::manual_seed(4);
            auto adapter =
                makeNetwork(QString::fromLatin1(backbone),
                            {{QStringLiteral("tuning"), QStringLiteral("adapter")}}, shape);
            const torch::Tensor images = torch::rand({5, 784});
            const torch::Tensor instructions = torch::rand({5, 16});
            torch::NoGradGuard noGrad;
            const torch::Tensor reference = plain->forward(images, instructions);
            QVERIFY(torch::equal(reference, lora->forward(images, instructions)));
            QVERIFY(torch::equal(reference, adapter->forward(images, instructions)));
            QVERIFY(countTrainable(*lora) < countTrainable(*plain) / 5);
            for (const auto &item : adapter->named_parameters()) {
                const bool trainable = item.key().find("adapter") != std::string::npos ||
                                       item.key().rfind("output.", 0) == 0;
                QCOMPARE(item.value().requires_grad(), trainable);
            }
        }
    }

    void safetensorsRoundTripAndErrors()
    {
        QTemporaryDir dir;
        const TensorList tensors = {{"a.weight", torch::rand({3, 4})},
                                    {"b", torch::rand({7})},
                                    {"empty", torch::zeros({0, 2})}};
        const QString path = dir.filePath(QStringLiteral("x.safetensors"));
        QVERIFY(writeSafetensorsFile(path, tensors));
        auto read = readSafetensorsFile(path);
        QVERIFY2(read, qPrintable(read.errorString()));
        QCOMPARE(read->size(), std::size_t(3));
        for (const NamedTensor &t : read.value()) {
            const auto original =
                std::find_if(tensors.begin(), tensors.end(), [&](const NamedTensor &o) {
                    return o.name == t.name;
                });
            QVERIFY(torch::equal(original->value, t.value));
        }
        // The header is 8-byte aligned JSON and the data follow: 12 + 7 floats.
        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QByteArray bytes = file.readAll();
        const auto headerLength = static_cast<qsizetype>(static_cast<quint8>(bytes[0]) |
                                                         (static_cast<quint8>(bytes[1]) << 8));
        QCOMPARE(headerLength % 8, 0);
        QCOMPARE(bytes.size(), 8 + headerLength + (12 + 7) * 4);

        auto truncated = decodeSafetensors(bytes.left(bytes.size() - 5), QStringLiteral("t"));
        QVERIFY(!truncated);
        QVERIFY2(truncated.errorString().contains(QStringLiteral("truncated")),
                 qPrintable(truncated.errorString()));
        auto foreign = decodeSafetensors(QByteArray("\x89PNG\r\n\x1a\n0000000000000000", 24),
                                         QStringLiteral("picture.png"));
        QVERIFY(!foreign);
        QVERIFY2(foreign.errorString().contains(QStringLiteral("picture.png: not a safetensors")),
                 qPrintable(foreign.errorString()));
        QByteArray half = bytes;
        half.replace("\"F32\"", "\"F16\"");
        auto wrongType = decodeSafetensors(half, QStringLiteral("h"));
        QVERIFY(!wrongType);
        QVERIFY2(wrongType.errorString().contains(QStringLiteral("dtype \"F16\" is not supported")),
                 qPrintable(wrongType.errorString()));
    }

    void baseManifestChecks()
    {
        QTemporaryDir dir;
        const QString base = dir.filePath(QStringLiteral("base"));
        torch::manual_seed(5);
        auto network = makeTinyVlm(smallConfig());
        QVERIFY(saveBase(*network, smallConfig(), base, 5, {}));
        torch::manual_seed(6);
        auto other = makeTinyVlm(smallConfig());
        auto loaded = loadBase(*other, base);
        QVERIFY2(loaded, qPrintable(loaded.errorString()));
        QVERIFY(torch::equal(other->named_parameters()["block1.mlp.up.weight"],
                             network->named_parameters()["block1.mlp.up.weight"]));

        // A model of another size: the shapes are named.
        TinyVlmConfig wider = smallConfig();
        wider.width = 64;
        auto wide = makeTinyVlm(wider);
        auto mismatch = loadBase(*wide, base);
        QVERIFY(!mismatch);
        QVERIFY2(mismatch.errorString().contains(QStringLiteral(
                     "tensor \"text_pos\" has shape [40, 32], the model needs [40, 64]")),
                 qPrintable(mismatch.errorString()));

        // config.json edited by hand: the field and both values are named.
        QFile config(base + QStringLiteral("/config.json"));
        QVERIFY(config.open(QIODevice::ReadOnly));
        QByteArray text = config.readAll();
        config.close();
        text.replace("\"layers\": 2", "\"layers\": 3");
        QVERIFY(config.open(QIODevice::WriteOnly | QIODevice::Truncate));
        config.write(text);
        config.close();
        auto edited = readBaseConfig(base);
        QVERIFY(!edited);
        QVERIFY2(edited.errorString().contains(
                     QStringLiteral("config.json: layers: is 3 but the manifest says 2")),
                 qPrintable(edited.errorString()));
        QVERIFY2(edited.errorString().contains(QStringLiteral("config.json: SHA-256")),
                 qPrintable(edited.errorString()));
    }

    void pretrainIsDeterministic()
    {
        QTemporaryDir dir;
        PretrainOptions options;
        options.steps = 3;
        options.batchSize = 8;
        options.width = 32;
        options.layers = 1;
        options.heads = 2;
        options.seed = 11;
        QString hashes[3];
        for (int k = 0; k < 3; ++k) {
            options.outputDir = dir.filePath(QStringLiteral("b%1").arg(k));
            options.seed = k < 2 ? 11 : 12;
            CancellationToken cancel;
            auto report = pretrainBase(options, {}, cancel);
            QVERIFY2(report, qPrintable(report.errorString()));
            hashes[k] = report->weightsSha256;
            QCOMPARE(hashes[k],
                     fileSha256(options.outputDir + QStringLiteral("/model.safetensors")));
            QVERIFY(readBaseConfig(options.outputDir));
        }
        QCOMPARE(hashes[0], hashes[1]);
        QVERIFY(hashes[0] != hashes[2]);
    }

    void instructionTuningLearns()
    {
        // LoRA on the shipped base: exact match on a yes/no instruction task rises well above
        // the base's (which has never seen the question).
        auto experiment = parseExperiment(R"({
            "name": "lora learns", "seed": 5,
            "model": {"backbone": "tiny-vlm", "tuning": "lora"},
            "federated": {"method": "fedavg", "rounds_per_stage": 2, "lr": 0.003,
                          "optimizer": "adam", "batch_size": 32},
            "clients": [{"name": "a", "samples_per_task": 600}, {"name": "b", "samples_per_task": 600}],
            "stages": ["vl-feet"],
            "evaluation": {"every_rounds": 2, "test_samples_per_task": 200}})");
        QVERIFY2(experiment, qPrintable(experiment.errorString()));
        test::RecordingObserver observer;
        const RunOutcome outcome = test::runToCompletion(experiment.value(), observer);
        QCOMPARE(outcome.status, RunStatus::Completed);
        const double before = outcome.summary.matrix.baseline(0);
        const double after = outcome.summary.matrix.at(0, 0);
        qDebug("vl-feet exact match: base %.3f, after LoRA %.3f", before, after);
        QVERIFY(after > before + 0.4);
        QVERIFY(after > 0.75);
        // Generative runs store token F1 per task each evaluated round; an exact match scores
        // F1 = 1, so F1 is never below exact match.
        int scored = 0;
        for (const RoundMetrics &round : observer.rounds) {
            if (!round.evaluated) {
                QVERIFY(round.tokenF1PerTask.empty());
                continue;
            }
            QCOMPARE(round.tokenF1PerTask.size(), round.accuracyPerTask.size());
            QVERIFY(round.tokenF1PerTask[0] >= round.accuracyPerTask[0]);
            QVERIFY(round.tokenF1PerTask[0] <= 1.0);
            ++scored;
        }
        QCOMPARE(scored, 1);
        const RoundMetrics &last = observer.rounds.back();
        QCOMPARE(last.formatPerTask.size(), std::size_t(1));
        QCOMPARE(last.knowledgePerTask.size(), std::size_t(1));
        // An exact answer is well formed and carries the right content.
        QVERIFY(last.formatPerTask[0] >= last.accuracyPerTask[0]);
        QVERIFY(last.knowledgePerTask[0] >= last.accuracyPerTask[0]);
        // Only the LoRA parameters travel: 2 clients x 2 rounds x the LoRA bytes, each way.
        const std::int64_t loraBytes =
            4 * (2 * 8 * (128 + 128) + 8 * (128 + 512) + 8 * (512 + 128)) * 4;
        QCOMPARE(observer.rounds.front().bytesUp, 2 * loraBytes);
    }

    void forgettingIsMostlyFormat()
    {
        // CoIN's claim in miniature: after fine-tuning on a category question, the model no
        // longer answers the earlier yes/no question with yes or no: its format accuracy
        // collapses (measured 1.000 -> 0.000; exact 0.975 -> 0). The similarity of the two tasks
        // is recorded once, with the first round.
        auto experiment = parseExperiment(R"({
            "name": "format forgetting", "seed": 5,
            "model": {"backbone": "tiny-vlm", "tuning": "lora"},
            "federated": {"method": "fedavg", "rounds_per_stage": 2, "lr": 0.003,
                          "optimizer": "adam", "batch_size": 32},
            "clients": [{"name": "lab", "samples_per_task": 600}],
            "stages": ["vl-feet", "vl-category"],
            "evaluation": {"every_rounds": 2, "test_samples_per_task": 200}})");
        QVERIFY2(experiment, qPrintable(experiment.errorString()));
        test::RecordingObserver observer;
        const RunOutcome outcome = test::runToCompletion(experiment.value(), observer);
        QCOMPARE(outcome.status, RunStatus::Completed);
        std::vector<const RoundMetrics *> stageEnds;
        for (const RoundMetrics &round : observer.rounds) {
            if (round.evaluated) {
                stageEnds.push_back(&round);
            }
        }
        QCOMPARE(stageEnds.size(), std::size_t(2));
        const double formatBefore = stageEnds[0]->formatPerTask[0];
        const double formatAfter = stageEnds[1]->formatPerTask[0];
        qDebug("vl-feet format %.3f -> %.3f, exact %.3f -> %.3f, knowledge after %.3f",
               formatBefore, formatAfter, stageEnds[0]->accuracyPerTask[0],
               stageEnds[1]->accuracyPerTask[0], stageEnds[1]->knowledgePerTask[0]);
        QVERIFY(formatBefore > 0.9);
        QVERIFY(formatAfter < 0.2);
        qDebug("vl-category format %.3f, exact %.3f", stageEnds[1]->formatPerTask[1],
               stageEnds[1]->accuracyPerTask[1]);
        QVERIFY(stageEnds[1]->formatPerTask[1] > 0.5); // measured 0.785: it answers in categories
        for (const RoundMetrics *round : stageEnds) {
            for (std::size_t j = 0; j < round->accuracyPerTask.size(); ++j) {
                QVERIFY(round->knowledgePerTask[j] >= round->accuracyPerTask[j]);
                QVERIFY(round->formatPerTask[j] >= round->accuracyPerTask[j]);
            }
        }
        int products = 0;
        for (const Observation &o : observer.observations) {
            if (o.kind == QLatin1String("task_similarity.product") ||
                o.kind == QLatin1String("task_similarity.cosine")) {
                products += o.kind == QLatin1String("task_similarity.product") ? 1 : 0;
                QCOMPARE(o.globalRound, 0);
                QCOMPARE(o.labels, QStringList({"vl-feet", "vl-category"}));
                QCOMPARE(o.values.size(), std::size_t(4));
                QVERIFY(std::isnan(o.values[0]) && std::isnan(o.values[3]));
                QCOMPARE(o.values[1], o.values[2]);
                QVERIFY(o.values[1] >= 0 && o.values[1] <= 1);
                QCOMPARE(fcl::detail::observationProblem(o), QString());
            }
        }
        QCOMPARE(products, 1);
    }

    void taskSimilarityOnlyWhereAsked()
    {
        // auto: on for generative backbones only; "on" records it for a classifier too, from
        // pixel means, instruction codes and answer words.
        for (const char *mode : {"auto", "on"}) {
            QJsonObject json = QJsonDocument::fromJson(
                                   test::tinyExperimentJson(
                                       QStringLiteral(R"({"method": "finetune"})"), 1, 2, 1, 100))
                                   .object();
            QJsonObject evaluation = json.value(QStringLiteral("evaluation")).toObject();
            evaluation.insert(QStringLiteral("task_similarity"), QString::fromLatin1(mode));
            json.insert(QStringLiteral("evaluation"), evaluation);
            auto experiment = parseExperiment(QJsonDocument(json).toJson());
            QVERIFY2(experiment, qPrintable(experiment.errorString()));
            test::RecordingObserver observer;
            QCOMPARE(test::runToCompletion(experiment.value(), observer).status,
                     RunStatus::Completed);
            const auto count =
                std::count_if(observer.observations.begin(), observer.observations.end(),
                              [](const Observation &o) {
                                  return o.kind.startsWith(QLatin1String("task_similarity."));
                              });
            QCOMPARE(count, qint64(QLatin1String(mode) == QLatin1String("on") ? 2 : 0));
        }
        auto refused = parseExperiment(test::tinyExperimentJson().replace(
            R"("test_samples_per_task")",
            R"("task_similarity": "sometimes", "test_samples_per_task")"));
        QVERIFY(!refused);
        QVERIFY2(refused.errorString().contains(QLatin1String("task_similarity")),
                 qPrintable(refused.errorString()));
    }
};

QTEST_GUILESS_MAIN(TestVlm)
#include "tst_vlm.moc"
