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
    bool hasLora() const { return m_loraA.defined(); }
    /// W += (alpha / r) B A, then the LoRA parameters are zero (B) so outputs are unchanged.
    void mergeLora();
    std::int64_t inFeatures() const { return m_weight.size(1); }
    std::int64_t outFeatures() const { return m_weight.size(0); }
    const torch::Tensor &weight() const { return m_weight; }

private:
    torch::Tensor m_weight;
    torch::Tensor m_bias;
    torch::Tensor m_loraA;
    torch::Tensor m_loraB;
    double m_scale = 0;
    double m_dropout = 0;
};
TORCH_MODULE(PeftLinear);

/// A bottleneck adapter (Houlsby et al. 2019): h + up(gelu(down(h))), `up` zero-initialised so a
/// fresh adapter is the identity.
class AdapterImpl : public torch::nn::Module {
public:
    AdapterImpl(std::int64_t width, std::int64_t bottleneck);
    torch::Tensor forward(const torch::Tensor &h);

private:
    torch::nn::Linear m_down{nullptr};
    torch::nn::Linear m_up{nullptr};
};
TORCH_MODULE(Adapter);

/// True for the parameters parameter-efficient tuning adds (names containing "lora_", "adapter"
/// or "soft_prompt"); everything else belongs to the base.
bool isPeftParameter(const std::string &name);

/// For the PEFT modes: freezes every parameter of `module` except the PEFT ones.
void freezeBase(torch::nn::Module &module);

/// Adds LoRA to every PeftLinear of `module` whose path matches `pattern` (a regular expression
/// searched in the path, e.g. "attn\\.(q|v)|mlp\\."). Returns how many layers it adapted.
int addLoraMatching(torch::nn::Module &module, const std::string &pattern, int rank, double alpha,
                    double dropout);

} // namespace fcl::detail
