// SPDX-License-Identifier: MIT
// Private (torch) header: named, scoped parameters, payloads and a worker's model replica.
#pragma once

#include "core/model/model_p.h"

#include <QVariantMap>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace fcl::detail {

/// Where a trainable parameter lives: `Frozen` parameters are never trained (a shared base),
/// `Local` ones are trained but never leave their client (a personal head), `Shared` ones are
/// trained and exchanged with the server or peers.
enum class ParameterScope { Frozen, Local, Shared };

struct NamedTensor {
    std::string name;
    torch::Tensor value;
};
/// An ordered list of named tensors (order is part of the meaning: aggregation follows it).
using TensorList = std::vector<NamedTensor>;

std::int64_t byteSize(const TensorList &tensors);
TensorList cloneList(const TensorList &tensors);
std::vector<torch::Tensor> valuesOf(const TensorList &tensors);
/// Pairs `values` with the names of `like` (same length and order).
TensorList withNames(const TensorList &like, std::vector<torch::Tensor> values);

/// What travels between a client and the server (or a peer): named tensors plus small metadata.
/// Communication is counted from bytes() of the payloads actually sent. By convention a model
/// payload starts with the shared parameters in layout order; a method's extra tensors (control
/// variates, Fisher) follow them.
struct Payload {
    TensorList tensors;
    QVariantMap meta;

    std::int64_t bytes() const { return byteSize(tensors); }
};

/// The trainable parameters of the experiment's network, with the scope the methods give them,
/// in the network's order. Built once per run; read-only afterwards.
struct ModelLayout {
    std::vector<std::string> names;
    std::vector<ParameterScope> scopes;
    std::vector<std::size_t> sharedIndices;
    std::vector<std::size_t> localIndices;

    /// Names every trainable parameter of `network`; `scopeOf` may turn some Local.
    static ModelLayout of(const Network &network,
                          const std::function<ParameterScope(const std::string &)> &scopeOf);
    /// The tensors of `parameters` (all trainable, layout order) with the given scope, cloned.
    TensorList select(const std::vector<torch::Tensor> &parameters, ParameterScope scope) const;
};

/// A worker thread's private model replica, reused for every client that worker trains or
/// evaluates. Plugins may keep extra networks of the same architecture on it (LwF's teacher).
class WorkerModel {
public:
    explicit WorkerModel(std::function<std::shared_ptr<Network>()> factory);

    Network &network() { return *m_network; }
    /// Every trainable tensor, layout order (the live parameters of network()).
    std::vector<torch::Tensor> &parameters() { return m_parameters; }

    /// Copies the first |shared| tensors of `shared` (layout's shared order; extras after them
    /// are ignored) and `local` (layout's local order) into the model.
    void load(const ModelLayout &layout, const TensorList &shared, const TensorList &local);

    /// A second network of the same architecture kept under `key`. `version` tells whether its
    /// weights are current: when it differs from the stored one, `fill` is called to load them.
    Network &auxiliary(const std::string &key, int version,
                       const std::function<void(std::vector<torch::Tensor> &)> &fill);

private:
    struct Auxiliary {
        std::shared_ptr<Network> network;
        std::vector<torch::Tensor> parameters;
        int version = -1;
    };
    std::function<std::shared_ptr<Network>()> m_factory;
    std::shared_ptr<Network> m_network;
    std::vector<torch::Tensor> m_parameters;
    std::map<std::string, Auxiliary> m_auxiliaries;
};

} // namespace fcl::detail
