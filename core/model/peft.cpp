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
    namespace F = torch::nn::functional;
    if (!m_loraA.defined() || !m_loraEnabled) {
        return F::linear(x, m_weight, m_bias);
    }
    if (m_router.defined()) {
        torch::Tensor in = x;
        if (m_dropout > 0 && dropoutGenerator && torch::GradMode::is_enabled()) {
            // One mask for every expert (CoIN's code draws one per expert).
            const torch::Tensor keep =
                at::bernoulli(torch::full_like(x, 1.0 - m_dropout), *dropoutGenerator);
            in = x * keep / (1.0 - m_dropout);
        }
        // Each expert's r/E rank rows weighted by its gate: sum_e g_e B_e A_e x.
        const std::int64_t perExpert = m_loraA.size(0) / m_router.size(0);
        const torch::Tensor low =
            F::linear(in, m_loraA) * gates(x).repeat_interleave(perExpert, -1); // [..., r]
        return F::linear(x, m_weight, m_bias) + F::linear(low, m_loraB) * m_scale;
    }
    const bool perSample = m_slotWeights.defined() && m_slotWeights.dim() == 2;
    // B diag(w): the slot weights scale B's columns (undefined: plain LoRA).
    const torch::Tensor b =
        m_slotWeights.defined() && !perSample ? m_loraB * m_slotWeights.unsqueeze(0) : m_loraB;
    if (perSample || (m_dropout > 0 && dropoutGenerator && torch::GradMode::is_enabled())) {
        // The branch on its own: dropout acts on its input only; per-sample slot weights
        // scale each sample's rank-r activations.
        torch::Tensor in = x;
        if (m_dropout > 0 && dropoutGenerator && torch::GradMode::is_enabled()) {
            const torch::Tensor keep =
                at::bernoulli(torch::full_like(x, 1.0 - m_dropout), *dropoutGenerator);
            in = x * keep / (1.0 - m_dropout);
        }
        torch::Tensor low = F::linear(in, m_loraA); // [B, ..., r]
        if (perSample) {
            std::vector<std::int64_t> shape(static_cast<std::size_t>(low.dim()), 1);
            shape.front() = m_slotWeights.size(0);
            shape.back() = m_slotWeights.size(1);
            low = low * m_slotWeights.view(shape);
        }
        return F::linear(x, m_weight, m_bias) + F::linear(low, b) * m_scale;
    }
    // x (W + s B A)^T: the same function as the separate branch x W^T + s (x A^T) B^T, but one
    // full-size product instead of four rank-r ones per token, which BLAS runs at a fraction of
    // its speed (measured on tiny-vlm: the separate branch trained slower than full tuning).
    return F::linear(x, torch::addmm(m_weight, b, m_loraA, 1.0, m_scale), m_bias);
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

void PeftLinearImpl::addMoeLora(int experts, int rank, double alpha, double dropout)
{
    if (experts < 1 || rank % experts != 0) {
        throw std::invalid_argument("MoELoRA: the rank must be a multiple of the experts");
    }
    m_loraA =
        register_parameter("lora_A", torch::randn({rank, m_weight.size(1)}) * 0.01); // CoIN's init
    m_loraB = register_parameter("lora_B", torch::zeros({m_weight.size(0), rank}));
    torch::Tensor router = torch::empty({experts, m_weight.size(1)});
    torch::nn::init::kaiming_uniform_(router, std::sqrt(5.0)); // as nn.Linear(in, E, bias=False)
    m_router = register_parameter("lora_router", router);
    m_scale = alpha / rank;
    m_dropout = dropout;
}

torch::Tensor PeftLinearImpl::gates(const torch::Tensor &x) const
{
    return torch::softmax(torch::nn::functional::linear(x, m_router), -1);
}

void PeftLinearImpl::mergeLora()
{
    if (!m_loraA.defined()) {
        return;
    }
    if (m_router.defined()) {
        throw std::logic_error("MoELoRA layers cannot be merged: their gates depend on the input");
    }
    torch::NoGradGuard noGrad;
    m_weight.add_(torch::matmul(m_loraB, m_loraA) * m_scale);
    m_loraB.zero_();
}

AdapterImpl::AdapterImpl(std::int64_t width, const AdapterOptions &options) : m_options(options)
{
    if (options.branches != 1 && options.branches != 3) {
        throw std::invalid_argument("an adapter slot holds 1 adapter or a trio of 3");
    }
    const auto linear = [&](const std::string &name, std::int64_t in, std::int64_t out) {
        return register_module(name, torch::nn::Linear(in, out));
    };
    if (options.branches == 1) {
        m_down = linear("down", width, options.bottleneck);
        m_up = linear("up", options.bottleneck, width);
    } else {
        // Registered as client.down, client.up, shared.down, shared.up (FedDAT's A_c and A_s).
        auto client = register_module("client", std::make_shared<torch::nn::Module>());
        auto shared = register_module("shared", std::make_shared<torch::nn::Module>());
        m_clientDown =
            client->register_module("down", torch::nn::Linear(width, options.bottleneck));
        m_clientUp = client->register_module("up", torch::nn::Linear(options.bottleneck, width));
        m_down = shared->register_module("down", torch::nn::Linear(width, options.bottleneck));
        m_up = shared->register_module("up", torch::nn::Linear(options.bottleneck, width));
    }
    torch::NoGradGuard noGrad;
    for (torch::nn::Linear *layer : {&m_down, &m_up, &m_clientDown, &m_clientUp}) {
        if (layer->is_empty()) {
            continue;
        }
        if (options.gaussianInit) {
            (*layer)->weight.normal_(0, 0.02);
            (*layer)->bias.zero_();
        } else if (layer == &m_up || layer == &m_clientUp) {
            (*layer)->weight.zero_();
            (*layer)->bias.zero_();
        }
    }
}

torch::Tensor AdapterImpl::branch(const torch::Tensor &h, const torch::Tensor &downWeight,
                                  const torch::Tensor &downBias, const torch::Tensor &upWeight,
                                  const torch::Tensor &upBias)
{
    namespace F = torch::nn::functional;
    return F::linear(torch::relu(F::linear(h, downWeight, downBias)), upWeight, upBias);
}

torch::Tensor AdapterImpl::forward(const torch::Tensor &h)
{
    if (m_options.branches == 1) {
        return h + m_up->forward(torch::gelu(m_down->forward(h)));
    }
    const auto shared = [&] {
        return branch(h, m_down->weight, m_down->bias, m_up->weight, m_up->bias);
    };
    const auto client = [&] {
        return branch(h, m_clientDown->weight, m_clientDown->bias, m_clientUp->weight,
                      m_clientUp->bias);
    };
    switch (m_options.route) {
    case AdapterRoute::Shared:
        return h + shared();
    case AdapterRoute::Client:
        return h + client();
    case AdapterRoute::Dat:
        break;
    }
    const torch::Tensor frozen =
        m_snapshot.empty() ? shared()
                           : branch(h, m_snapshot[0], m_snapshot[1], m_snapshot[2], m_snapshot[3]);
    return h + m_options.clientShare * client() + (1 - m_options.clientShare) * frozen;
}

void AdapterImpl::setRoute(AdapterRoute route, double clientShare)
{
    m_options.route = route;
    m_options.clientShare = clientShare;
}

void AdapterImpl::snapshotShared()
{
    if (m_options.branches != 3) {
        return;
    }
    torch::NoGradGuard noGrad;
    m_snapshot = {m_down->weight.detach().clone(), m_down->bias.detach().clone(),
                  m_up->weight.detach().clone(), m_up->bias.detach().clone()};
}

void AdapterImpl::clearSnapshot()
{
    m_snapshot.clear();
}

namespace {

template <typename Action> void forEachTrio(torch::nn::Module &module, Action action)
{
    for (auto &item : module.named_modules("", /*include_self=*/true)) {
        auto *adapter = dynamic_cast<AdapterImpl *>(item.value().get());
        if (adapter != nullptr && adapter->branches() == 3) {
            action(*adapter);
        }
    }
}

} // namespace

void setAdapterRoute(torch::nn::Module &module, AdapterRoute route, double clientShare)
{
    forEachTrio(module, [&](AdapterImpl &adapter) {
        adapter.setRoute(route, clientShare);
    });
}

void snapshotSharedAdapters(torch::nn::Module &module)
{
    forEachTrio(module, [](AdapterImpl &adapter) {
        adapter.snapshotShared();
    });
}

void clearAdapterSnapshots(torch::nn::Module &module)
{
    forEachTrio(module, [](AdapterImpl &adapter) {
        adapter.clearSnapshot();
    });
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
                    double dropout, int experts)
{
    const std::regex re(pattern);
    int count = 0;
    for (auto &item : module.named_modules("", /*include_self=*/false)) {
        auto *linear = dynamic_cast<PeftLinearImpl *>(item.value().get());
        if (linear != nullptr && std::regex_search(item.key(), re)) {
            if (experts > 0) {
                linear->addMoeLora(experts, rank, alpha, dropout);
            } else {
                linear->addLora(rank, alpha, dropout);
            }
            ++count;
        }
    }
    return count;
}

} // namespace fcl::detail
