// SPDX-License-Identifier: MIT
// Private (torch) header: the layers parameter-efficient tuning plugs into. Every backbone builds
// its linear layers as PeftLinear, so LoRA can target any of them by module path, and calls
// Adapter where its design places bottleneck adapters.
#pragma once

#include <torch/torch.h>

#include <optional>

namespace fcl::detail {

/// A linear layer (same parameters, initialisation and names as torch::nn::Linear) that can carry
/// a LoRA update: y = W x + b + (alpha / r) B A dropout(x), with A [r, in] initialised like a
/// linear layer's weight (Kaiming-uniform, as Hugging Face PEFT does) and B [out, r] zero, so a
/// fresh LoRA changes nothing. Its trainable parameters are then lora_A and lora_B.
class PeftLinearImpl : public torch::nn::Module {
public:
    PeftLinearImpl(std::int64_t in, std::int64_t out, bool bias = true);

    torch::Tensor forward(const torch::Tensor &x,
                          const std::optional<at::Generator> &dropoutGenerator = std::nullopt);

    void addLora(int rank, double alpha, double dropout);
    /// MoELoRA (CoIN, Chen et al. 2024): the rank r is split into `experts` experts of r/E rows
    /// of A (and columns of B); a router W_g [E, in] (no bias, initialised as a linear layer)
    /// mixes them per token: y = W x + b + (alpha / r) sum_e g_e B_e A_e dropout(x), g =
    /// softmax(W_g x). Dense: every expert, no top-k, no balancing loss. A ~ N(0, 0.01^2) as
    /// CoIN's code, B = 0. With one expert g = 1 and it is LoRA (A's initialisation aside).
    void addMoeLora(int experts, int rank, double alpha, double dropout);
    bool hasLora() const { return m_loraA.defined(); }
    int experts() const { return m_router.defined() ? static_cast<int>(m_router.size(0)) : 0; }
    /// MoELoRA: the router's gates for input `x` ([..., E], summing to 1 over E).
    torch::Tensor gates(const torch::Tensor &x) const;
    /// Sliced LoRA (DISCO): a weight per rank row, W + s B diag(w) A. `weights` [r] applies to
    /// every input; [B, r] gives each sample of an input [B, ..., in] its own (inference: SSA);
    /// undefined: plain LoRA. A zero weight gives that row of A and column of B exactly zero
    /// gradient.
    void setSlotWeights(torch::Tensor weights) { m_slotWeights = std::move(weights); }
    /// false: the layer computes with its frozen weight only (the base's output).
    void setLoraEnabled(bool enabled) { m_loraEnabled = enabled; }
    /// W += (alpha / r) B A, then the LoRA parameters are zero (B) so outputs are unchanged.
    /// MoELoRA cannot merge (its gates depend on the input): throws std::logic_error.
    void mergeLora();
    std::int64_t inFeatures() const { return m_weight.size(1); }
    std::int64_t outFeatures() const { return m_weight.size(0); }
    const torch::Tensor &weight() const { return m_weight; }

private:
    torch::Tensor m_weight;
    torch::Tensor m_bias;
    torch::Tensor m_loraA;
    torch::Tensor m_loraB;
    torch::Tensor m_router;      ///< MoELoRA [E, in]; undefined: plain LoRA
    torch::Tensor m_slotWeights; ///< [r] or [B, r]; undefined: plain LoRA
    double m_scale = 0;
    double m_dropout = 0;
    bool m_loraEnabled = true;
};
TORCH_MODULE(PeftLinear);

/// Which of a FedDAT adapter trio's branches the layer applies (see AdapterOptions).
enum class AdapterRoute { Dat, Shared, Client };

/// The shape of the adapter in each adapter slot of a backbone.
struct AdapterOptions {
    std::int64_t bottleneck = 16;
    /// 1: one Houlsby adapter, h + up(gelu(down(h))). 3: FedDAT's trio (Chen et al. 2024), whose
    /// branches are ReLU bottlenecks A(h) = up(relu(down(h))): the client's own adapter
    /// ("client", A_c), the shared one ("shared", A_s) and a frozen snapshot of the shared one
    /// (Ā_s, not a parameter: see snapshotSharedAdapters). The route picks the output:
    /// Dat h + m A_c(h) + (1 - m) Ā_s(h) (the dual-adapter teacher; without a snapshot Ā_s is
    /// A_s), Shared h + A_s(h), Client h + A_c(h).
    int branches = 1;
    AdapterRoute route = AdapterRoute::Dat; ///< the trio's route until setAdapterRoute
    double clientShare = 0.5;               ///< m above
    /// false: `up` starts at zero, so a fresh adapter is the identity; true: every weight is
    /// drawn from N(0, 0.02^2) and biases are zero (the FedDAT code's initialisation).
    bool gaussianInit = false;
};

/// An adapter slot: one bottleneck adapter or FedDAT's trio (AdapterOptions::branches).
class AdapterImpl : public torch::nn::Module {
public:
    AdapterImpl(std::int64_t width, const AdapterOptions &options);
    torch::Tensor forward(const torch::Tensor &h);

    int branches() const { return m_options.branches; }
    void setRoute(AdapterRoute route, double clientShare);
    /// The trio: Ā_s := a detached copy of A_s (the start of FedDAT's round); clearSnapshot()
    /// makes Ā_s follow A_s again.
    void snapshotShared();
    void clearSnapshot();
    bool hasSnapshot() const { return !m_snapshot.empty(); }

private:
    static torch::Tensor branch(const torch::Tensor &h, const torch::Tensor &downWeight,
                                const torch::Tensor &downBias, const torch::Tensor &upWeight,
                                const torch::Tensor &upBias);
    AdapterOptions m_options;
    torch::nn::Linear m_down{nullptr}; ///< single adapter, or A_s
    torch::nn::Linear m_up{nullptr};
    torch::nn::Linear m_clientDown{nullptr}; ///< A_c
    torch::nn::Linear m_clientUp{nullptr};
    std::vector<torch::Tensor> m_snapshot; ///< Ā_s: down weight, down bias, up weight, up bias
};
TORCH_MODULE(Adapter);

/// Applies to every adapter trio inside `module` (single adapters are left alone).
void setAdapterRoute(torch::nn::Module &module, AdapterRoute route, double clientShare);
void snapshotSharedAdapters(torch::nn::Module &module);
void clearAdapterSnapshots(torch::nn::Module &module);

/// True for the parameters parameter-efficient tuning adds (names containing "lora_", "adapter"
/// or "soft_prompt"); everything else belongs to the base.
bool isPeftParameter(const std::string &name);

/// For the PEFT modes: freezes every parameter of `module` except the PEFT ones.
void freezeBase(torch::nn::Module &module);

/// Adds LoRA to every PeftLinear of `module` whose path matches `pattern` (a regular expression
/// searched in the path, e.g. "attn\\.(q|v)|mlp\\."). Returns how many layers it adapted.
/// `experts` > 0: MoELoRA with that many experts instead (addMoeLora).
int addLoraMatching(torch::nn::Module &module, const std::string &pattern, int rank, double alpha,
                    double dropout, int experts = 0);

} // namespace fcl::detail
