// SPDX-License-Identifier: MIT
// Private (torch) header: include only from core .cpp files.
#pragma once

#include <torch/torch.h>

#include "core/model/peft_p.h"
#include "core/model/tokenizer.h"

#include <QString>
#include <QVariantMap>

#include <memory>
#include <optional>
#include <vector>

namespace fcl::detail {

/// What the networks are built from: the image, a fixed code of the instruction text, and one
/// output score per answer word.
struct NetworkShape {
    int imagePixels = 784;
    int imageSide = 28;
    int instructionDim = 16;
    int outputs = 12;
};

/// What a batch gives a network. Classifier backbones (mlp, cnn) read images, instructions and
/// answers; generative backbones (tiny-vlm) read the token sequences, built by
/// encodeSequences(): left-padded rows of [image patches][instruction][separator][answer].
struct ModelInput {
    torch::Tensor images;       ///< [B, imagePixels] floats in [0, 1] (zeros: no image)
    torch::Tensor instructions; ///< [B, instructionDim]
    torch::Tensor answers;      ///< [B] answer-word index
    torch::Tensor tokens;       ///< [B, L] int64 token ids (0 in image and padding slots)
    torch::Tensor imageSlot;    ///< [B, L] int64 patch index of an image slot, else -1
    torch::Tensor textPos;      ///< [B, L] int64 position of a text slot among the row's text
    torch::Tensor valid;        ///< [B, L] bool: not padding
    torch::Tensor targets;      ///< [B, L] int64 the token a slot predicts next, -1: no loss
};

/// One training prediction per answer: for classifiers one per sample over the answer words, for
/// generative backbones one per answer token over the vocabulary.
struct Outputs {
    torch::Tensor logits;    ///< [M, V]
    torch::Tensor targets;   ///< [M] int64
    torch::Tensor rows;      ///< [M] int64: the batch row each prediction belongs to
    bool answerWords = true; ///< V indexes the answer vocabulary (classifiers)
};

/// A prompt for encodeSequences(): optional image, instruction tokens and (for training) answer
/// tokens without the end token, which encodeSequences() appends as the last target.
struct SequenceSample {
    bool hasImage = false;
    std::vector<int> prompt;
    std::vector<int> answer;
};

/// Lays `samples` out left-padded, with `patches` image slots for samples with an image.
/// `withAnswers`: answers are appended and become targets (training); else the rows end with the
/// separator (prompts for generation). Prompts longer than maxText - answer - 1 keep their last
/// characters.
void encodeSequences(ModelInput &input, const std::vector<SequenceSample> &samples, int patches,
                     int maxText, bool withAnswers);

/// Which position's hidden state Network::hiddenStates() returns for each row.
struct HiddenQuery {
    enum class Token {
        Last,      ///< the row's last position (rows are left-padded: the last column)
        Mean,      ///< the mean over the row's positions (padding left out)
        Separator, ///< the separator between instruction and answer (what a prompt ends with)
    };
    Token token = Token::Last;
    bool textOnly = false;   ///< image slots are left out, as padding is
    bool imageOnly = false;  ///< only the image slots (a row without an image gives zeros)
    bool promptOnly = false; ///< what follows the separator (the answer) is left out
};

/// Parameter-efficient tuning of a backbone: what is trained besides (or instead of) the base.
struct PeftConfig {
    /// MoeLora: CoIN's MoELoRA, LoRA's rank split into moeExperts experts mixed per token by a
    /// dense softmax router (peft_p.h).
    enum class Mode { Full, Lora, Adapter, Prompt, MoeLora };
    Mode mode = Mode::Full;
    int loraRank = 8;
    int moeExperts = 8; ///< MoeLora: experts (loraRank must be a multiple)
    double loraAlpha = 16;
    double loraDropout = 0;
    QString loraTargets; ///< regular expression searched in module paths; empty: backbone default
    /// adapter_width is `bottleneck`. The rest is set by methods that shape the adapters
    /// (MethodParts::adjustModel), not by the user: adapter_branches (1, or 3 for FedDAT's trio),
    /// adapter_route (dat|shared|client: the trio's route for evaluation), adapter_mix (the
    /// client branch's share in the dat route) and adapter_init (zero_up|gaussian).
    AdapterOptions adapter;
    int promptTokens = 8; ///< soft prompt length (tiny-vlm only)

    static PeftConfig fromParams(const QVariantMap &params);
};

/// A model as the engine sees it: a frozen shared base plus trainable parts. For the mlp and cnn
/// backbones with full tuning the base is empty and every parameter is trainable; PEFT backbones
/// (LoRA, adapters) will return only their adapters from trainableParameters(). Federated methods
/// exchange and average exactly trainableParameters(), in this order.
class Network : public torch::nn::Module {
public:
    /// images: [B, imagePixels] floats in [0, 1]; instructions: [B, instructionDim].
    /// Returns logits [B, outputs].
    virtual torch::Tensor forward(const torch::Tensor &images,
                                  const torch::Tensor &instructions) = 0;

    std::vector<torch::Tensor> trainableParameters() const
    {
        std::vector<torch::Tensor> result;
        for (const auto &p : parameters()) {
            if (p.requires_grad()) {
                result.push_back(p);
            }
        }
        return result;
    }

    /// The batch's predictions and their targets (default: forward() on images and instructions,
    /// one prediction per sample).
    virtual Outputs predict(const ModelInput &input)
    {
        Outputs out;
        out.logits = forward(input.images, input.instructions);
        out.targets = input.answers;
        out.rows = torch::arange(out.logits.size(0), torch::kInt64);
        return out;
    }

    /// True for backbones that generate text answers (evaluated by greedy decoding).
    virtual bool generative() const { return false; }
    /// Generative backbones: the tokenizer, the image slots per image and the text length cap.
    virtual const CharTokenizer *tokenizer() const { return nullptr; }
    virtual int imagePatches() const { return 0; }
    virtual int maxTextTokens() const { return 0; }
    /// Greedy decoding of the prompts (rows built by encodeSequences without answers): at most
    /// maxTokens tokens per row, stopping at the end token (not included).
    virtual std::vector<std::vector<int>> generate(const ModelInput & /*prompts*/,
                                                   int /*maxTokens*/)
    {
        return {};
    }
    /// The hidden state of every layer at the query's position, without gradients:
    /// [B, layers + 1, width]: the embeddings, then each block's output, the last one after the
    /// final norm (as Hugging Face's output_hidden_states gives them). Generative backbones only;
    /// the default throws.
    virtual torch::Tensor hiddenStates(const ModelInput & /*input*/, const HiddenQuery & /*query*/)
    {
        throw std::logic_error("this backbone has no token hidden states (use tiny-vlm)");
    }
    /// LoRA dropout, when configured, draws from this generator while gradients are enabled;
    /// nullptr (the default): no dropout. Set per client by local training.
    void setDropoutGenerator(std::optional<at::Generator> generator)
    {
        m_dropoutGenerator = std::move(generator);
    }
    const std::optional<at::Generator> &dropoutGenerator() const { return m_dropoutGenerator; }
    /// Folds every LoRA update into its frozen weight (outputs unchanged up to rounding).
    virtual void mergeLora() {}
    /// Sliced LoRA on every LoRA layer (PeftLinearImpl::setSlotWeights; undefined: plain LoRA).
    void setLoraSlotWeights(const torch::Tensor &weights)
    {
        for (auto &item : named_modules("", false)) {
            if (auto *linear = dynamic_cast<PeftLinearImpl *>(item.value().get())) {
                linear->setSlotWeights(weights);
            }
        }
    }
    /// false: every LoRA layer computes with its frozen weight only (the base's outputs).
    void setLoraEnabled(bool enabled)
    {
        for (auto &item : named_modules("", false)) {
            if (auto *linear = dynamic_cast<PeftLinearImpl *>(item.value().get())) {
                linear->setLoraEnabled(enabled);
            }
        }
    }

    /// The parameter-name prefix of the output layer (the "head" personalised methods keep).
    virtual std::string headPrefix() const { return "output."; }

    /// Approximate multiply-adds of one forward pass per sample (for FLOP/s reporting).
    virtual double forwardMacsPerSample() const = 0;

private:
    std::optional<at::Generator> m_dropoutGenerator;
};

/// Sets, per prompt, how a model evaluates it: DISCO's subspace selective activation gives each
/// prompt its own LoRA slot weights from the prompt's identity. Evaluation calls route() before
/// each chunk of prompts is generated and clear() after it (worker models are reused).
class EvaluationRouter {
public:
    virtual ~EvaluationRouter() = default;
    virtual void route(Network &network, const ModelInput &prompts) const = 0;
    virtual void clear(Network &network) const = 0;
};

/// Builds a backbone by registry id ("mlp", "cnn", "tiny-vlm") with its registry parameters
/// (including the model section's PEFT fields). The caller seeds torch's generator first:
/// construction draws the initial weights. With PEFT the base is frozen (requires_grad false)
/// and only the LoRA or adapter parameters are trainable.
std::shared_ptr<Network> makeNetwork(const QString &backbone, const QVariantMap &params,
                                     const NetworkShape &shape);

/// Makes `network` read its frozen (non-trainable) parameters and buffers from `base`'s storage
/// (same architecture): the base is held once and shared read-only by every replica.
void shareFrozenBase(Network &network, const Network &base);

/// Bytes that sending these tensors costs (element count x element size).
std::int64_t byteSize(const std::vector<torch::Tensor> &tensors);

} // namespace fcl::detail
