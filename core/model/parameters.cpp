// SPDX-License-Identifier: MIT
#include "core/model/parameters_p.h"

namespace fcl::detail {

std::int64_t byteSize(const TensorList &tensors)
{
    std::int64_t bytes = 0;
    for (const NamedTensor &t : tensors) {
        bytes += t.value.numel() * static_cast<std::int64_t>(t.value.element_size());
    }
    return bytes;
}

TensorList cloneList(const TensorList &tensors)
{
    TensorList copies;
    copies.reserve(tensors.size());
    for (const NamedTensor &t : tensors) {
        copies.push_back({t.name, t.value.detach().clone()});
    }
    return copies;
}

std::vector<torch::Tensor> valuesOf(const TensorList &tensors)
{
    std::vector<torch::Tensor> values;
    values.reserve(tensors.size());
    for (const NamedTensor &t : tensors) {
        values.push_back(t.value);
    }
    return values;
}

TensorList withNames(const TensorList &like, std::vector<torch::Tensor> values)
{
    Q_ASSERT(like.size() == values.size());
    TensorList result;
    result.reserve(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
        result.push_back({like[i].name, std::move(values[i])});
    }
    return result;
}

ModelLayout ModelLayout::of(const Network &network,
                            const std::function<ParameterScope(const std::string &)> &scopeOf)
{
    ModelLayout layout;
    for (const auto &item : network.named_parameters()) {
        if (!item.value().requires_grad()) {
            continue;
        }
        const ParameterScope scope = scopeOf ? scopeOf(item.key()) : ParameterScope::Shared;
        (scope == ParameterScope::Local ? layout.localIndices : layout.sharedIndices)
            .push_back(layout.names.size());
        layout.names.push_back(item.key());
        layout.scopes.push_back(scope);
    }
    return layout;
}

TensorList ModelLayout::select(const std::vector<torch::Tensor> &parameters,
                               ParameterScope scope) const
{
    const auto &indices = scope == ParameterScope::Local ? localIndices : sharedIndices;
    TensorList result;
    result.reserve(indices.size());
    for (std::size_t i : indices) {
        result.push_back({names[i], parameters[i].detach().clone()});
    }
    return result;
}

WorkerModel::WorkerModel(std::function<std::shared_ptr<Network>()> factory)
    : m_factory(std::move(factory)), m_network(m_factory()),
      m_parameters(m_network->trainableParameters())
{
}

void WorkerModel::load(const ModelLayout &layout, const TensorList &shared, const TensorList &local)
{
    Q_ASSERT(shared.size() >= layout.sharedIndices.size());
    Q_ASSERT(local.size() == layout.localIndices.size());
    torch::NoGradGuard noGrad;
    for (std::size_t k = 0; k < layout.sharedIndices.size(); ++k) {
        m_parameters[layout.sharedIndices[k]].copy_(shared[k].value);
    }
    for (std::size_t k = 0; k < local.size(); ++k) {
        m_parameters[layout.localIndices[k]].copy_(local[k].value);
    }
}

Network &WorkerModel::auxiliary(const std::string &key, int version,
                                const std::function<void(std::vector<torch::Tensor> &)> &fill)
{
    Auxiliary &aux = m_auxiliaries[key];
    if (!aux.network) {
        aux.network = m_factory();
        aux.parameters = aux.network->trainableParameters();
        for (auto &p : aux.parameters) {
            p.set_requires_grad(false);
        }
    }
    if (aux.version != version) {
        fill(aux.parameters);
        aux.version = version;
    }
    return *aux.network;
}

} // namespace fcl::detail
