// SPDX-License-Identifier: MIT
#include "core/model/model_p.h"

#include "core/model/peft_p.h"
#include "core/model/tiny_vlm_p.h"

namespace fcl::detail {
namespace {

class MlpNetwork : public Network {
public:
    MlpNetwork(int hidden, int layers, const NetworkShape &shape)
    {
        int width = shape.imagePixels + shape.instructionDim;
        m_macs = 0;
        for (int l = 0; l < layers; ++l) {
            m_hidden.push_back(
                register_module("hidden" + std::to_string(l), PeftLinear(width, hidden)));
            m_macs += double(width) * hidden;
            width = hidden;
        }
        m_output = register_module("output", PeftLinear(width, shape.outputs));
        m_macs += double(width) * shape.outputs;
        m_useInstructions = shape.instructionDim > 0;
    }

    /// A bottleneck adapter after every hidden layer.
    void addAdapters(const AdapterOptions &options)
    {
        for (std::size_t l = 0; l < m_hidden.size(); ++l) {
            m_adapters.push_back(register_module("adapter" + std::to_string(l),
                                                 Adapter(m_hidden[l]->outFeatures(), options)));
        }
    }

    torch::Tensor forward(const torch::Tensor &images, const torch::Tensor &instructions) override
    {
        torch::Tensor x = m_useInstructions ? torch::cat({images, instructions}, 1) : images;
        for (std::size_t l = 0; l < m_hidden.size(); ++l) {
            x = torch::relu(m_hidden[l]->forward(x, dropoutGenerator()));
            if (!m_adapters.empty()) {
                x = m_adapters[l]->forward(x);
            }
        }
        return m_output->forward(x, dropoutGenerator());
    }

    double forwardMacsPerSample() const override { return m_macs; }

private:
    std::vector<PeftLinear> m_hidden;
    std::vector<Adapter> m_adapters;
    PeftLinear m_output{nullptr};
    double m_macs = 0;
    bool m_useInstructions = true;
};

class CnnNetwork : public Network {
public:
    CnnNetwork(int channels, int hidden, const NetworkShape &shape) : m_side(shape.imageSide)
    {
        using torch::nn::Conv2dOptions;
        m_conv1 = register_module(
            "conv1", torch::nn::Conv2d(Conv2dOptions(1, channels, /*kernel_size=*/5).padding(2)));
        m_conv2 = register_module(
            "conv2",
            torch::nn::Conv2d(Conv2dOptions(channels, 2 * channels, /*kernel_size=*/5).padding(2)));
        const int pooled = (m_side / 2) / 2;
        const int features = 2 * channels * pooled * pooled;
        m_fc = register_module("fc", PeftLinear(features + shape.instructionDim, hidden));
        m_output = register_module("output", PeftLinear(hidden, shape.outputs));
        const double side2 = double(m_side) * m_side;
        m_macs = side2 * channels * 25 + side2 / 4 * channels * 2 * channels * 25 +
                 double(features + shape.instructionDim) * hidden + double(hidden) * shape.outputs;
    }

    torch::Tensor forward(const torch::Tensor &images, const torch::Tensor &instructions) override
    {
        torch::Tensor x = images.view({-1, 1, m_side, m_side});
        x = torch::max_pool2d(torch::relu(m_conv1->forward(x)), 2);
        x = torch::max_pool2d(torch::relu(m_conv2->forward(x)), 2);
        x = torch::cat({x.flatten(1), instructions}, 1);
        x = torch::relu(m_fc->forward(x, dropoutGenerator()));
        if (!m_adapter.is_empty()) {
            x = m_adapter->forward(x);
        }
        return m_output->forward(x, dropoutGenerator());
    }

    /// A bottleneck adapter after the classifier's hidden layer.
    void addAdapters(const AdapterOptions &options)
    {
        m_adapter = register_module("adapter", Adapter(m_fc->outFeatures(), options));
    }

    double forwardMacsPerSample() const override { return m_macs; }

private:
    int m_side;
    torch::nn::Conv2d m_conv1{nullptr};
    torch::nn::Conv2d m_conv2{nullptr};
    PeftLinear m_fc{nullptr};
    Adapter m_adapter{nullptr};
    PeftLinear m_output{nullptr};
    double m_macs = 0;
};

} // namespace

PeftConfig PeftConfig::fromParams(const QVariantMap &params)
{
    PeftConfig peft;
    const QString tuning = params.value(QStringLiteral("tuning")).toString();
    peft.mode = tuning == QLatin1String("lora")      ? Mode::Lora
                : tuning == QLatin1String("moelora") ? Mode::MoeLora
                : tuning == QLatin1String("adapter") ? Mode::Adapter
                : tuning == QLatin1String("prompt")  ? Mode::Prompt
                                                     : Mode::Full;
    peft.loraRank = params.value(QStringLiteral("lora_rank"), peft.loraRank).toInt();
    peft.loraAlpha = params.value(QStringLiteral("lora_alpha"), peft.loraAlpha).toDouble();
    peft.loraDropout = params.value(QStringLiteral("lora_dropout"), peft.loraDropout).toDouble();
    peft.moeExperts = params.value(QStringLiteral("moe_experts"), peft.moeExperts).toInt();
    peft.loraTargets = params.value(QStringLiteral("lora_targets")).toString();
    peft.promptTokens = params.value(QStringLiteral("prompt_tokens"), peft.promptTokens).toInt();
    AdapterOptions &adapter = peft.adapter;
    adapter.bottleneck =
        params.value(QStringLiteral("adapter_width"), QVariant::fromValue(adapter.bottleneck))
            .toLongLong();
    adapter.branches = params.value(QStringLiteral("adapter_branches"), adapter.branches).toInt();
    const QString route = params.value(QStringLiteral("adapter_route")).toString();
    adapter.route = route == QLatin1String("shared")   ? AdapterRoute::Shared
                    : route == QLatin1String("client") ? AdapterRoute::Client
                                                       : AdapterRoute::Dat;
    adapter.clientShare =
        params.value(QStringLiteral("adapter_mix"), adapter.clientShare).toDouble();
    adapter.gaussianInit =
        params.value(QStringLiteral("adapter_init")).toString() == QLatin1String("gaussian");
    return peft;
}

namespace {

/// PEFT on a classifier: LoRA on its linear layers (default: every one; convolutions stay
/// frozen), or adapters after its hidden layers. The output layer (the answer head, new for every
/// answer set) stays trainable in adapter mode, as in Houlsby et al.
template <typename Classifier> void applyClassifierPeft(Classifier &network, const PeftConfig &peft)
{
    switch (peft.mode) {
    case PeftConfig::Mode::Full:
        return;
    case PeftConfig::Mode::Lora:
    case PeftConfig::Mode::MoeLora:
        addLoraMatching(
            network, peft.loraTargets.isEmpty() ? std::string(".") : peft.loraTargets.toStdString(),
            peft.loraRank, peft.loraAlpha, peft.loraDropout,
            peft.mode == PeftConfig::Mode::MoeLora ? peft.moeExperts : 0);
        freezeBase(network);
        return;
    case PeftConfig::Mode::Adapter:
        network.addAdapters(peft.adapter);
        freezeBase(network);
        for (auto &item : network.named_parameters()) {
            if (item.key().rfind("output.", 0) == 0) {
                item.value().set_requires_grad(true);
            }
        }
        return;
    case PeftConfig::Mode::Prompt: // refused by the experiment's validation
        throw std::invalid_argument("prompt tuning needs a token sequence: tiny-vlm only");
    }
}

} // namespace

std::shared_ptr<Network> makeNetwork(const QString &backbone, const QVariantMap &params,
                                     const NetworkShape &shape)
{
    const PeftConfig peft = PeftConfig::fromParams(params);
    if (backbone == QLatin1String("tiny-vlm")) {
        auto network = makeTinyVlm(TinyVlmConfig::fromParams(params));
        applyTinyVlmPeft(*network, peft);
        return network;
    }
    if (backbone == QLatin1String("cnn")) {
        auto network = std::make_shared<CnnNetwork>(
            params.value(QStringLiteral("channels"), 16).toInt(),
            params.value(QStringLiteral("hidden"), 128).toInt(), shape);
        applyClassifierPeft(*network, peft);
        return network;
    }
    Q_ASSERT(backbone == QLatin1String("mlp"));
    auto network =
        std::make_shared<MlpNetwork>(params.value(QStringLiteral("hidden"), 256).toInt(),
                                     params.value(QStringLiteral("layers"), 2).toInt(), shape);
    applyClassifierPeft(*network, peft);
    return network;
}

void shareFrozenBase(Network &network, const Network &base)
{
    const auto mine = network.named_parameters();
    const auto theirs = base.named_parameters();
    torch::NoGradGuard noGrad;
    for (const auto &item : mine) {
        if (!item.value().requires_grad()) {
            item.value().set_data(theirs[item.key()]);
        }
    }
    const auto baseBuffers = base.named_buffers();
    for (auto &item : network.named_buffers()) {
        item.value().set_data(baseBuffers[item.key()]);
    }
}

void encodeSequences(ModelInput &input, const std::vector<SequenceSample> &samples, int patches,
                     int maxText, bool withAnswers)
{
    const auto b = static_cast<std::int64_t>(samples.size());
    std::vector<std::int64_t> lengths;
    std::vector<std::int64_t> promptKept;
    std::int64_t longest = 1;
    for (const SequenceSample &sample : samples) {
        const auto answer = withAnswers ? static_cast<std::int64_t>(sample.answer.size()) : 0;
        // The text (prompt, separator, answer, end) must fit maxText positions.
        const std::int64_t room = std::max<std::int64_t>(0, maxText - answer - 2);
        const std::int64_t kept = std::min<std::int64_t>(room, sample.prompt.size());
        promptKept.push_back(kept);
        const std::int64_t length = (sample.hasImage ? patches : 0) + kept + 1 + answer;
        lengths.push_back(length);
        longest = std::max(longest, length);
    }
    std::vector<std::int64_t> tokens(static_cast<std::size_t>(b * longest), 0);
    std::vector<std::int64_t> imageSlot(tokens.size(), -1);
    std::vector<std::int64_t> textPos(tokens.size(), 0);
    std::vector<std::uint8_t> valid(tokens.size(), 0);
    std::vector<std::int64_t> targets(tokens.size(), -1);
    for (std::int64_t r = 0; r < b; ++r) {
        const SequenceSample &sample = samples[static_cast<std::size_t>(r)];
        std::int64_t at = r * longest + (longest - lengths[static_cast<std::size_t>(r)]);
        if (sample.hasImage) {
            for (int p = 0; p < patches; ++p, ++at) {
                imageSlot[static_cast<std::size_t>(at)] = p;
                valid[static_cast<std::size_t>(at)] = 1;
            }
        }
        std::int64_t position = 0;
        auto put = [&](int token) {
            tokens[static_cast<std::size_t>(at)] = token;
            textPos[static_cast<std::size_t>(at)] = position++;
            valid[static_cast<std::size_t>(at)] = 1;
            ++at;
        };
        const auto kept = promptKept[static_cast<std::size_t>(r)];
        for (auto i = static_cast<std::int64_t>(sample.prompt.size()) - kept;
             i < static_cast<std::int64_t>(sample.prompt.size()); ++i) {
            put(sample.prompt[static_cast<std::size_t>(i)]);
        }
        put(CharTokenizer::kSeparator);
        if (withAnswers) {
            for (int token : sample.answer) {
                targets[static_cast<std::size_t>(at - 1)] = token;
                put(token);
            }
            targets[static_cast<std::size_t>(at - 1)] = CharTokenizer::kEnd;
        }
    }
    auto tensor = [&](const std::vector<std::int64_t> &values) {
        return torch::tensor(values, torch::kInt64).view({b, longest});
    };
    input.tokens = tensor(tokens);
    input.imageSlot = tensor(imageSlot);
    input.textPos = tensor(textPos);
    input.targets = tensor(targets);
    input.valid =
        torch::tensor(std::vector<std::int64_t>(valid.begin(), valid.end()), torch::kInt64)
            .view({b, longest})
            .to(torch::kBool);
}

std::int64_t byteSize(const std::vector<torch::Tensor> &tensors)
{
    std::int64_t bytes = 0;
    for (const auto &t : tensors) {
        bytes += t.numel() * static_cast<std::int64_t>(t.element_size());
    }
    return bytes;
}

} // namespace fcl::detail
