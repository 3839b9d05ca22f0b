// SPDX-License-Identifier: MIT
#include "core/model/method_api_p.h"

namespace fcl::detail {

void saveTensorList(TensorArchive &archive, const std::string &prefix, const TensorList &list)
{
    std::vector<std::pair<std::string, torch::Tensor>> pairs;
    pairs.reserve(list.size());
    for (const NamedTensor &t : list) {
        pairs.emplace_back(t.name, t.value);
    }
    archive.putList(prefix, pairs);
}

TensorList loadTensorList(const TensorArchive &archive, const std::string &prefix)
{
    TensorList list;
    for (auto &[name, value] : archive.getList(prefix)) {
        list.push_back({name, value});
    }
    return list;
}

void Strategy::save(TensorArchive &archive) const
{
    saveTensorList(archive, "strategy/global", m_global);
}

void Strategy::load(const TensorArchive &archive)
{
    m_global = loadTensorList(archive, "strategy/global");
}

void StagePlugin::save(TensorArchive &archive) const
{
    saveTensorList(archive, "stage_plugin/broadcast", m_broadcast);
    archive.put("stage_plugin/version", torch::tensor(static_cast<std::int64_t>(m_version)));
}

void StagePlugin::load(const TensorArchive &archive)
{
    m_broadcast = loadTensorList(archive, "stage_plugin/broadcast");
    const torch::Tensor version = archive.get("stage_plugin/version");
    m_version = version.defined() ? static_cast<int>(version.item<std::int64_t>()) : -1;
}

} // namespace fcl::detail
