// SPDX-License-Identifier: MIT
#include "core/model/peft_p.h"

#include <cmath>
#include <regex>

namespace fcl::detail {

PeftLinearImpl::PeftLinearImpl(std::int64_t in, std::int64_t out, bool bias)
{
    // Drawn exactly as torch::nn::Linear draws them, so swapping layers keeps seeded results.
    torch::nn::Linear init(torch::nn::LinearOptions(in, out).bias(bias));
    m_weight = register_parameter("weight", init->weight.detach());
    if (bias) {
        m_bias = register_parameter("bias", init->bias.detach());
    }
}

torch::Tensor PeftLinearImpl::forward(const torch::Tensor &x,
                                      const std::optional<at::Generator> &dropoutGenerator)
{
    if (!m_loraA.defined()) {
        return torch::nn::functional::linear(x, m_weight, m_bias);
    }
    if (m_dropout > 0 && dropoutGenerator && torch::GradMode::is_enabled()) {
        // Dropout acts on the LoRA branch's input only: the branch is computed on its own.
        const torch::Tensor keep =
            at::bernoulli(torch::full_like(x, 1.0 - m_dropout), *dropoutGenerator);
        const torch::Tensor in = x * keep / (1.0 - m_dropout);
        return torch::nn::functional::linear(x, m_weight, m_bias) +
               torch::nn::functional::linear(torch::nn::functional::linear(in, m_loraA), m_loraB) *
                   m_scale;
    }
    // x (W + s B A)^T: the same function as the separate branch x W^T + s (x A^T) B^T, but one
    // full-size product instead of four rank-r ones per token, which BLAS runs at a fraction of
    // its speed (measured on tiny-vlm: the separate branch trained slower than full tuning).
    return torch::nn::functional::linear(x, torch::addmm(m_weight, m_loraB, m_loraA, 1.0, m_scale),
                                         m_bias);
}

void PeftLinearImpl::addLora(int rank, double alpha, double dropout)
{
    torch::Tensor a = torch::empty({rank, m_weight.size(1)});
    torch::nn::init::kaiming_uniform_(a, std::sqrt(5.0));
    m_loraA = register_parameter("lora_A", a);
    m_loraB = register_parameter("lora_B", torch::zeros({m_weight.size(0), rank}));
    m_scale = alpha / rank;
    m_dropout = dropout;
}

void PeftLinearImpl::mergeLora()
{
    if (!m_loraA.defined()) {
        return;
    }
    torch::NoGradGuard noGrad;
    m_weight.add_(torch::matmul(m_loraB, m_loraA) * m_scale);
    m_loraB.zero_();
}

AdapterImpl::AdapterImpl(std::int64_t width, std::int64_t bottleneck)
{
    m_down = register_module("down", torch::nn::Linear(width, bottleneck));
    m_up = register_module("up", torch::nn::Linear(bottleneck, width));
    torch::NoGradGuard noGrad;
    m_up->weight.zero_();
    m_up->bias.zero_();
}

torch::Tensor AdapterImpl::forward(const torch::Tensor &h)
{
    return h + m_up->forward(torch::gelu(m_down->forward(h)));
}

bool isPeftParameter(const std::string &name)
{
    return name.find("lora_") != std::string::npos || name.find("adapter") != std::string::npos ||
           name.find("soft_prompt") != std::string::npos;
}

void freezeBase(torch::nn::Module &module)
{
    for (auto &item : module.named_parameters()) {
        item.value().set_requires_grad(isPeftParameter(item.key()));
    }
}

int addLoraMatching(torch::nn::Module &module, const std::string &pattern, int rank, double alpha,
                    double dropout)
{
    const std::regex re(pattern);
    int count = 0;
    for (auto &item : module.named_modules("", /*include_self=*/false)) {
        auto *linear = dynamic_cast<PeftLinearImpl *>(item.value().get());
        if (linear != nullptr && std::regex_search(item.key(), re)) {
            linear->addLora(rank, alpha, dropout);
            ++count;
        }
    }
    return count;
}

} // namespace fcl::detail
