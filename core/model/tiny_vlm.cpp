// SPDX-License-Identifier: MIT
// tiny-vlm: a decoder-only transformer in the LLaVA pattern, shrunk to run on a CPU. An image is
// cut into patches (16 of 7x7 for 28x28), each projected into the model's width by a linear
// projector and given a learned patch position; text is one token per character with learned
// positions counted from the row's first text token. Blocks are pre-norm: x + attn(ln(x)), then
// x + mlp(ln(x)) with a GELU MLP. The output embedding is tied to the token embedding (one matrix
// fewer to store and to keep frozen). Loss: next-token cross-entropy on the answer tokens only.
#include "core/model/tiny_vlm_p.h"

#include "core/model/peft_p.h"

#include <QJsonValue>

#include <cmath>

namespace fcl::detail {
namespace {

/// Per-layer keys and values of the positions seen so far (greedy decoding).
struct LayerCache {
    torch::Tensor keys;
    torch::Tensor values;
};

class AttentionImpl : public torch::nn::Module {
public:
    AttentionImpl(int width, int heads) : m_heads(heads), m_headDim(width / heads)
    {
        q = register_module("q", PeftLinear(width, width));
        k = register_module("k", PeftLinear(width, width));
        v = register_module("v", PeftLinear(width, width));
        o = register_module("o", PeftLinear(width, width));
    }

    /// x [B, Lq, D]; bias [B, 1, Lq, Lk] additive mask; cache (optional) holds earlier positions.
    torch::Tensor forward(const torch::Tensor &x, const torch::Tensor &bias, LayerCache *cache,
                          const std::optional<at::Generator> &gen)
    {
        const auto b = x.size(0);
        const auto len = x.size(1);
        auto split = [&](const torch::Tensor &t) {
            return t.view({b, len, m_heads, m_headDim}).transpose(1, 2);
        };
        torch::Tensor queries = split(q->forward(x, gen));
        torch::Tensor keys = split(k->forward(x, gen));
        torch::Tensor values = split(v->forward(x, gen));
        if (cache != nullptr) {
            if (cache->keys.defined()) {
                keys = torch::cat({cache->keys, keys}, 2);
                values = torch::cat({cache->values, values}, 2);
            }
            cache->keys = keys;
            cache->values = values;
        }
        torch::Tensor scores = torch::matmul(queries, keys.transpose(2, 3)) /
                                   std::sqrt(static_cast<double>(m_headDim)) +
                               bias;
        torch::Tensor mixed = torch::matmul(torch::softmax(scores, -1), values);
        mixed = mixed.transpose(1, 2).reshape({b, len, m_heads * m_headDim});
        return o->forward(mixed, gen);
    }

    PeftLinear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr};

private:
    int m_heads;
    int m_headDim;
};
TORCH_MODULE(Attention);

class FeedForwardImpl : public torch::nn::Module {
public:
    FeedForwardImpl(int width, int hidden)
    {
        up = register_module("up", PeftLinear(width, hidden));
        down = register_module("down", PeftLinear(hidden, width));
    }
    torch::Tensor forward(const torch::Tensor &x, const std::optional<at::Generator> &gen)
    {
        return down->forward(torch::gelu(up->forward(x, gen)), gen);
    }
    PeftLinear up{nullptr}, down{nullptr};
};
TORCH_MODULE(FeedForward);

class BlockImpl : public torch::nn::Module {
public:
    BlockImpl(int width, int heads, int hidden)
    {
        norm1 =
            register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})));
        attn = register_module("attn", Attention(width, heads));
        norm2 =
            register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})));
        mlp = register_module("mlp", FeedForward(width, hidden));
    }
    void addAdapter(int width, const AdapterOptions &options)
    {
        adapter = register_module("adapter", Adapter(width, options));
    }
    torch::Tensor forward(torch::Tensor x, const torch::Tensor &bias, LayerCache *cache,
                          const std::optional<at::Generator> &gen)
    {
        x = x + attn->forward(norm1->forward(x), bias, cache, gen);
        torch::Tensor h = mlp->forward(norm2->forward(x), gen);
        if (!adapter.is_empty()) {
            h = adapter->forward(h); // sequential adapter after the MLP sublayer (Houlsby)
        }
        return x + h;
    }
    torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
    Attention attn{nullptr};
    FeedForward mlp{nullptr};
    Adapter adapter{nullptr};
};
TORCH_MODULE(Block);

class TinyVlm : public Network {
public:
    explicit TinyVlm(const TinyVlmConfig &config)
        : m_config(config),
          m_tokenizer(config.alphabet.isEmpty() ? CharTokenizer() : CharTokenizer(config.alphabet))
    {
        const int d = config.width;
        const int patchPixels = config.patchSide * config.patchSide;
        m_tokenEmbedding = register_module("token_embedding",
                                           torch::nn::Embedding(m_tokenizer.vocabularySize(), d));
        m_textPos = register_parameter("text_pos", torch::randn({config.maxText, d}) * 0.02);
        m_patchProj = register_module("patch_proj", PeftLinear(patchPixels, d));
        m_patchPos = register_parameter("patch_pos", torch::randn({config.patches(), d}) * 0.02);
        {
            torch::NoGradGuard noGrad;
            m_tokenEmbedding->weight.normal_(0, 0.02);
        }
        for (int l = 0; l < config.layers; ++l) {
            m_blocks.push_back(register_module("block" + std::to_string(l),
                                               Block(d, config.heads, d * config.mlpRatio)));
        }
        m_norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
    }

    torch::Tensor forward(const torch::Tensor &, const torch::Tensor &) override
    {
        throw std::logic_error("tiny-vlm reads token sequences: use predict()");
    }

    Outputs predict(const ModelInput &input) override
    {
        torch::Tensor x = embed(input);
        torch::Tensor valid = input.valid;
        torch::Tensor selected = input.targets.ge(0);
        withSoftPrompt(x, valid, selected);
        const torch::Tensor bias = trainingBias(valid);
        for (auto &block : m_blocks) {
            x = block->forward(x, bias, nullptr, dropoutGenerator());
        }
        const torch::Tensor where = selected.nonzero();
        Outputs out;
        out.rows = where.select(1, 0);
        const torch::Tensor hidden = m_norm->forward(x.index({selected}));
        out.logits = torch::matmul(hidden, m_tokenEmbedding->weight.t());
        out.targets = input.targets.index({input.targets.ge(0)});
        out.answerWords = false;
        return out;
    }

    torch::Tensor hiddenStates(const ModelInput &input, const HiddenQuery &query) override
    {
        torch::NoGradGuard noGrad;
        torch::Tensor x = embed(input);
        torch::Tensor valid = input.valid;
        if (query.textOnly) {
            valid = valid.logical_and(input.imageSlot.lt(0));
        }
        if (query.imageOnly) {
            valid = valid.logical_and(input.imageSlot.ge(0));
        }
        if (query.promptOnly) {
            const torch::Tensor separator =
                input.tokens.eq(CharTokenizer::kSeparator).to(torch::kInt64).argmax(1);
            valid = valid.logical_and(torch::arange(input.tokens.size(1), torch::kInt64)
                                          .unsqueeze(0)
                                          .le(separator.unsqueeze(1)));
        }
        torch::Tensor selected = torch::zeros_like(valid);
        withSoftPrompt(x, valid, selected);
        const auto b = x.size(0);
        const auto d = x.size(2);
        const auto prompt = x.size(1) - input.tokens.size(1); // soft prompt slots in front
        torch::Tensor position;
        if (query.token == HiddenQuery::Token::Last) {
            position = torch::full({b}, x.size(1) - 1, torch::kInt64);
        } else if (query.token == HiddenQuery::Token::Separator) {
            position =
                input.tokens.eq(CharTokenizer::kSeparator).to(torch::kInt64).argmax(1) + prompt;
        }
        const torch::Tensor weights = valid.to(x.scalar_type()).unsqueeze(-1);
        const auto pick = [&](const torch::Tensor &h) {
            if (query.token == HiddenQuery::Token::Mean) {
                return (h * weights).sum(1) / weights.sum(1).clamp_min(1);
            }
            return h.gather(1, position.view({b, 1, 1}).expand({b, 1, d})).squeeze(1);
        };
        const torch::Tensor bias = trainingBias(valid);
        std::vector<torch::Tensor> states{pick(x)};
        for (std::size_t l = 0; l < m_blocks.size(); ++l) {
            x = m_blocks[l]->forward(x, bias, nullptr, std::nullopt);
            states.push_back(pick(l + 1 == m_blocks.size() ? m_norm->forward(x) : x));
        }
        return torch::stack(states, 1);
    }

    bool generative() const override { return true; }
    const CharTokenizer *tokenizer() const override { return &m_tokenizer; }
    int imagePatches() const override { return m_config.patches(); }
    int maxTextTokens() const override { return m_config.maxText; }

    std::vector<std::vector<int>> generate(const ModelInput &prompts, int maxTokens) override
    {
        torch::NoGradGuard noGrad;
        const auto b = prompts.tokens.size(0);
        std::vector<std::vector<int>> answers(static_cast<std::size_t>(b));
        if (b == 0 || maxTokens <= 0) {
            return answers;
        }
        std::vector<LayerCache> caches(m_blocks.size());
        torch::Tensor keyValid = prompts.valid;
        torch::Tensor x = embed(prompts);
        torch::Tensor noTargets = torch::zeros_like(keyValid);
        withSoftPrompt(x, keyValid, noTargets);
        torch::Tensor bias = trainingBias(keyValid);
        torch::Tensor textPos = prompts.textPos.select(1, -1) + 1;
        std::vector<bool> done(static_cast<std::size_t>(b), false);
        std::int64_t open = b;
        for (int step = 0; step < maxTokens; ++step) {
            for (std::size_t l = 0; l < m_blocks.size(); ++l) {
                x = m_blocks[l]->forward(x, bias, &caches[l], std::nullopt);
            }
            const torch::Tensor last = m_norm->forward(x.select(1, -1));
            const torch::Tensor next =
                torch::matmul(last, m_tokenEmbedding->weight.t()).argmax(1).contiguous();
            const auto *nextTokens = next.data_ptr<std::int64_t>();
            for (std::int64_t r = 0; r < b; ++r) {
                auto &row = answers[static_cast<std::size_t>(r)];
                if (done[static_cast<std::size_t>(r)]) {
                    continue;
                }
                if (nextTokens[r] == CharTokenizer::kEnd) {
                    done[static_cast<std::size_t>(r)] = true;
                    --open;
                } else {
                    row.push_back(static_cast<int>(nextTokens[r]));
                }
            }
            if (open == 0 || step + 1 == maxTokens) {
                break;
            }
            x = m_tokenEmbedding->forward(next.unsqueeze(1)) +
                m_textPos.index_select(0, textPos.clamp(0, m_config.maxText - 1)).unsqueeze(1);
            keyValid = torch::cat({keyValid, torch::ones({b, 1}, torch::kBool)}, 1);
            bias = torch::zeros({b, 1, 1, keyValid.size(1)})
                       .masked_fill(keyValid.logical_not().view({b, 1, 1, -1}), -1e9);
            textPos = textPos + 1;
        }
        return answers;
    }

    void mergeLora() override
    {
        for (auto &item : named_modules("", false)) {
            if (auto *linear = dynamic_cast<PeftLinearImpl *>(item.value().get())) {
                linear->mergeLora();
            }
        }
    }

    std::string headPrefix() const override
    {
        return "block" + std::to_string(m_config.layers - 1) + ".";
    }

    double forwardMacsPerSample() const override
    {
        // Per token: the linear layers of every block; per sample: ~48 tokens (16 image slots,
        // ~20 instruction characters, ~12 answer characters), plus the answer logits.
        const double d = m_config.width;
        const double perToken = m_config.layers * (4 * d * d + 2 * d * d * m_config.mlpRatio);
        const double prompt = m_softPrompt.defined() ? double(m_softPrompt.size(0)) : 0.0;
        return (48 + prompt) * perToken + 12 * d * m_tokenizer.vocabularySize();
    }

    void addAdapters(const AdapterOptions &options)
    {
        for (auto &block : m_blocks) {
            block->addAdapter(m_config.width, options);
        }
    }

    /// Prompt tuning (Lester et al. 2021): `tokens` learned vectors before every sequence, with
    /// no position embedding of their own; initialised like the token embeddings, N(0, 0.02).
    void addSoftPrompt(int tokens)
    {
        m_softPrompt =
            register_parameter("soft_prompt", torch::randn({tokens, m_config.width}) * 0.02);
    }

private:
    /// [B, 1, L, L]: causal, padding keys masked, every position sees itself.
    torch::Tensor trainingBias(const torch::Tensor &valid) const
    {
        const auto b = valid.size(0);
        const auto len = valid.size(1);
        const torch::Tensor causal = torch::ones({len, len}, torch::kBool).tril();
        torch::Tensor allowed = causal.unsqueeze(0).logical_and(valid.unsqueeze(1));
        allowed = allowed.logical_or(torch::eye(len, torch::kBool).unsqueeze(0));
        return torch::zeros({b, 1, len, len}).masked_fill(allowed.logical_not().unsqueeze(1), -1e9);
    }

    /// Prompt tuning: puts the soft prompt before every row of x [B, L, d] and extends the row
    /// masks (valid: true, selected: false) to match. Nothing without a soft prompt.
    void withSoftPrompt(torch::Tensor &x, torch::Tensor &valid, torch::Tensor &selected) const
    {
        if (!m_softPrompt.defined()) {
            return;
        }
        const auto b = x.size(0);
        const auto tokens = m_softPrompt.size(0);
        x = torch::cat({m_softPrompt.unsqueeze(0).expand({b, tokens, m_config.width}), x}, 1);
        valid = torch::cat({torch::ones({b, tokens}, torch::kBool), valid}, 1);
        selected = torch::cat({torch::zeros({b, tokens}, torch::kBool), selected}, 1);
    }

    torch::Tensor embed(const ModelInput &input)
    {
        const auto b = input.tokens.size(0);
        const auto len = input.tokens.size(1);
        const int d = m_config.width;
        torch::Tensor x = m_tokenEmbedding->forward(input.tokens) +
                          torch::embedding(m_textPos, input.textPos.clamp(0, m_config.maxText - 1));
        const torch::Tensor isImage = input.imageSlot.ge(0);
        if (isImage.any().item<bool>()) {
            const int grid = m_config.imageSide / m_config.patchSide;
            const int ps = m_config.patchSide;
            const torch::Tensor patches = input.images.view({b, grid, ps, grid, ps})
                                              .permute({0, 1, 3, 2, 4})
                                              .reshape({b, grid * grid, ps * ps});
            const torch::Tensor features =
                m_patchProj->forward(patches, dropoutGenerator()) + m_patchPos;
            const torch::Tensor gathered =
                features.gather(1, input.imageSlot.clamp_min(0).unsqueeze(-1).expand({b, len, d}));
            x = torch::where(isImage.unsqueeze(-1), gathered, x);
        }
        return x;
    }

    TinyVlmConfig m_config;
    CharTokenizer m_tokenizer;
    torch::nn::Embedding m_tokenEmbedding{nullptr};
    torch::Tensor m_textPos;
    PeftLinear m_patchProj{nullptr};
    torch::Tensor m_patchPos;
    torch::Tensor m_softPrompt; ///< [tokens, width] with prompt tuning, else undefined
    std::vector<Block> m_blocks;
    torch::nn::LayerNorm m_norm{nullptr};
};

} // namespace

QJsonObject TinyVlmConfig::toJson() const
{
    return QJsonObject{{QStringLiteral("model_type"), QStringLiteral("fcl-tiny-vlm")},
                       {QStringLiteral("width"), width},
                       {QStringLiteral("layers"), layers},
                       {QStringLiteral("heads"), heads},
                       {QStringLiteral("mlp_ratio"), mlpRatio},
                       {QStringLiteral("image_side"), imageSide},
                       {QStringLiteral("patch_side"), patchSide},
                       {QStringLiteral("max_text"), maxText},
                       {QStringLiteral("alphabet"),
                        alphabet.isEmpty() ? CharTokenizer::defaultAlphabet() : alphabet},
                       {QStringLiteral("tie_output_embedding"), true}};
}

Result<TinyVlmConfig> TinyVlmConfig::fromJson(const QJsonObject &json)
{
    std::vector<Error> errors;
    TinyVlmConfig config;
    if (json.value(QStringLiteral("model_type")).toString() != QLatin1String("fcl-tiny-vlm")) {
        errors.push_back({QStringLiteral("model_type"),
                          QStringLiteral("is \"%1\", expected \"fcl-tiny-vlm\"")
                              .arg(json.value(QStringLiteral("model_type")).toString())});
    }
    auto integer = [&](const char *key, int low, int high, int &target) {
        const QJsonValue value = json.value(QLatin1String(key));
        if (!value.isDouble() || value.toDouble() != std::floor(value.toDouble()) ||
            value.toInt() < low || value.toInt() > high) {
            errors.push_back(
                {QLatin1String(key),
                 QStringLiteral("must be an integer from %1 to %2").arg(low).arg(high)});
            return;
        }
        target = value.toInt();
    };
    integer("width", 8, 4096, config.width);
    integer("layers", 1, 64, config.layers);
    integer("heads", 1, 64, config.heads);
    integer("mlp_ratio", 1, 16, config.mlpRatio);
    integer("image_side", 28, 28, config.imageSide);
    integer("patch_side", 1, 28, config.patchSide);
    integer("max_text", 8, 4096, config.maxText);
    config.alphabet = json.value(QStringLiteral("alphabet")).toString();
    if (config.alphabet.isEmpty()) {
        errors.push_back({QStringLiteral("alphabet"), QStringLiteral("is missing or empty")});
    }
    if (errors.empty() && config.width % config.heads != 0) {
        errors.push_back(
            {QStringLiteral("heads"),
             QStringLiteral("%1 does not divide width %2").arg(config.heads).arg(config.width)});
    }
    if (errors.empty() && config.imageSide % config.patchSide != 0) {
        errors.push_back(
            {QStringLiteral("patch_side"), QStringLiteral("%1 does not divide image_side %2")
                                               .arg(config.patchSide)
                                               .arg(config.imageSide)});
    }
    if (!errors.empty()) {
        return errors;
    }
    return config;
}

TinyVlmConfig TinyVlmConfig::fromParams(const QVariantMap &params)
{
    TinyVlmConfig config;
    config.width = params.value(QStringLiteral("width"), config.width).toInt();
    config.layers = params.value(QStringLiteral("layers"), config.layers).toInt();
    config.heads = params.value(QStringLiteral("heads"), config.heads).toInt();
    config.maxText = params.value(QStringLiteral("max_text"), config.maxText).toInt();
    return config;
}

bool TinyVlmConfig::sameShape(const TinyVlmConfig &other) const
{
    const QString mine = alphabet.isEmpty() ? CharTokenizer::defaultAlphabet() : alphabet;
    const QString theirs =
        other.alphabet.isEmpty() ? CharTokenizer::defaultAlphabet() : other.alphabet;
    return width == other.width && layers == other.layers && heads == other.heads &&
           mlpRatio == other.mlpRatio && imageSide == other.imageSide &&
           patchSide == other.patchSide && maxText == other.maxText && mine == theirs;
}

std::shared_ptr<Network> makeTinyVlm(const TinyVlmConfig &config)
{
    return std::make_shared<TinyVlm>(config);
}

void applyTinyVlmPeft(Network &network, const PeftConfig &peft)
{
    auto &vlm = dynamic_cast<TinyVlm &>(network);
    switch (peft.mode) {
    case PeftConfig::Mode::Full:
        return;
    case PeftConfig::Mode::Lora:
    case PeftConfig::Mode::MoeLora:
        addLoraMatching(vlm,
                        peft.loraTargets.isEmpty() ? std::string("attn\\.(q|v)$|mlp\\.")
                                                   : peft.loraTargets.toStdString(),
                        peft.loraRank, peft.loraAlpha, peft.loraDropout,
                        peft.mode == PeftConfig::Mode::MoeLora ? peft.moeExperts : 0);
        break;
    case PeftConfig::Mode::Adapter:
        vlm.addAdapters(peft.adapter);
        break;
    case PeftConfig::Mode::Prompt:
        vlm.addSoftPrompt(peft.promptTokens);
        break;
    }
    freezeBase(vlm);
}

} // namespace fcl::detail
