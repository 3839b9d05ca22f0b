// SPDX-License-Identifier: MIT
// Private (torch) header: the interfaces a method plugs into. A federated or continual method is
// one or two files that implement some of these and one registration line (see
// docs/architecture.md, "Adding a method").
#pragma once

#include "core/common/cancellation.h"
#include "core/common/rng.h"
#include "core/data/shared_data_p.h"
#include "core/metrics/observation.h"
#include "core/model/parameters_p.h"
#include "core/model/tensor_archive_p.h"

#include <QVariantMap>

#include <functional>
#include <memory>
#include <vector>

namespace fcl::detail {

/// The local optimiser settings of an experiment (the federated section's common fields).
struct LocalConfig {
    double learningRate = 0.05;
    int batchSize = 32;
    int localEpochs = 1;
    bool adam = false;
    double momentum = 0;
    std::uint64_t seed = 1;
    /// Multi-head training: each sample's loss only over its task's own answers.
    bool taskHeads = false;
};

/// One client's round as its plugins see it. Built by the engine on the worker thread that trains
/// the client; valid for that call only.
class TaskEncoder; // core/continual/task_similarity_p.h

struct LocalTraining {
    const SharedData *data = nullptr;
    const ModelLayout *layout = nullptr;
    WorkerModel *model = nullptr;
    const Payload *download = nullptr;     ///< what the strategy sent this client
    const TensorList *broadcast = nullptr; ///< the continual server side's shared state (or empty)
    int broadcastVersion = -1;             ///< changes whenever broadcast does
    int client = 0;
    int column = 0; ///< the task column the client trains this stage
    int stage = 0;
    int round = 0;
    const std::vector<int> *indices = nullptr; ///< the client's samples of that task
    /// The task column of each of `indices` when they pool several tasks (a mixed or positional
    /// stage's group); nullptr: every sample is `column`'s.
    const std::vector<int> *columns = nullptr;
    /// [outputs] bool: the answers of every task learned in an earlier stage (none at stage 0).
    const torch::Tensor *oldAnswers = nullptr;
    Rng *rng = nullptr; ///< the client's stream for this round
    const LocalConfig *config = nullptr;
    int stepsTaken = 0; ///< local optimiser steps done so far
    double speed = 1;   ///< fraction of its local steps the client finishes (stragglers < 1)
    QString clientName; ///< for messages
    const CancellationToken *cancel = nullptr;
    /// Task embeddings from the untrained base's input layers (He et al.'s task similarity).
    const TaskEncoder *encoder = nullptr;
};

/// A client's part of a stage's end, on the final global model (e.g. EWC's Fisher estimate).
struct StageEnd {
    const SharedData *data = nullptr;
    WorkerModel *model = nullptr;
    int client = 0;
    int column = 0;
    int stage = 0;
    const std::vector<int> *indices = nullptr;
    const std::vector<int> *columns = nullptr; ///< as LocalTraining::columns
    const CancellationToken *cancel = nullptr;
    const TaskEncoder *encoder = nullptr; ///< as LocalTraining::encoder
};

/// A hook object, one per client, owned by that client's persistent state (so it may keep
/// buffers or control variates between rounds). Hooks run on whichever worker trains the client,
/// one client at a time; they must not touch other clients' state. Avalanche's plugins are the
/// model. Every hook has a no-op default.
class ClientPlugin {
public:
    virtual ~ClientPlugin() = default;
    /// After the model was loaded, before the first step.
    virtual void beforeTraining(LocalTraining &) {}
    /// May append samples to the batch; the first `current` rows are the client's new data.
    virtual void augmentBatch(LocalTraining &, Batch &, int /*current*/) {}
    /// An extra loss term added to the task loss (undefined: none).
    virtual torch::Tensor lossTerm(LocalTraining &, const Batch &, const Outputs & /*outputs*/,
                                   int /*current*/)
    {
        return {};
    }
    /// Gradients are computed; the optimiser steps next (SCAFFOLD corrects them here).
    virtual void beforeStep(LocalTraining &) {}
    /// After the step, with the samples of the client's own data it used.
    virtual void afterStep(LocalTraining &, const std::vector<SampleRef> &) {}
    /// After the last step; may add tensors or metadata to the upload.
    virtual void afterTraining(LocalTraining &, Payload & /*upload*/) {}
    /// After a stage; returns what the client uploads for its server side (empty: nothing) and
    /// sets *weight (its aggregation weight).
    virtual Payload afterStage(StageEnd &, double * /*weight*/) { return {}; }
    virtual void save(TensorArchive &, const std::string & /*prefix*/) const {}
    virtual void load(const TensorArchive &, const std::string & /*prefix*/) {}
};

/// A client's persistent state, owned by the engine (not by a worker thread): its Local
/// parameters and its plugins.
struct ClientState {
    TensorList local;
    std::vector<std::unique_ptr<ClientPlugin>> plugins;
};

/// What a client sends back after a round.
struct ClientResult {
    int client = -1;
    Payload upload;
    double weight = 0;  ///< its sample count (FedAvg's weight)
    double lossSum = 0; ///< sum over processed samples of the task loss
    std::int64_t samples = 0;
    double accuracy = 0; ///< local model on its task's test split
    bool cancelled = false;
    QString error; ///< non-empty: the client failed (diverged, torch error)
};

/// Which clients take part in a round. Lists are sorted by client index.
struct RoundPlan {
    int stage = 0;
    int round = 0;
    int globalRound = 0;
    int clients = 0;            ///< in the experiment
    std::vector<int> active;    ///< clients with a task in this stage
    std::vector<int> sampled;   ///< receive a payload
    std::vector<int> returning; ///< sampled and did not drop out
    const std::vector<QString> *clientNames = nullptr;
};

enum class Topology { Star, PeerToPeer };

/// Bytes a peer-to-peer round moved: every byte one client sent (up) another received (down).
struct Traffic {
    std::int64_t up = 0;
    std::int64_t down = 0;
};

/// What a strategy may read (and run) beyond the uploads: the data, the clients' task columns and
/// samples, and the engine's workers. Given once, after the strategy was initialised; every pointer
/// outlives the strategy. Used by methods whose server side measures models on data (PCFT's trust
/// from validation losses or predictions).
struct StrategyContext {
    const SharedData *data = nullptr;
    const ModelLayout *layout = nullptr;
    /// columnOf[stage][client]: the client's task column (-1: idle in that stage).
    const std::vector<std::vector<int>> *columnOf = nullptr;
    /// indicesOf[stage][client]: the samples the client trains on. A strategy may hold some out
    /// here (a validation split), in attach() only: the runner partitions again, identically, on
    /// resume, and attach() runs again after it.
    std::vector<std::vector<std::vector<int>>> *indicesOf = nullptr;
    const LocalConfig *config = nullptr;
    std::uint64_t seed = 1;
    int roundsPerStage = 1;
    /// Runs `jobs` calls of `job(model, k)` on the engine's workers (any order, any thread; write
    /// results to slot k). `what` names the work in an error message. Throws the engine's failure.
    std::function<void(const QString &what, int jobs,
                       const std::function<void(WorkerModel &model, int k)> &job)>
        run;
};

/// The server side of a federated method (Flower's Strategy is the model): initialise from the
/// model, configure a round (one payload per sampled client), aggregate the results in client
/// order (so results are independent of threads), provide the model that evaluates a client's
/// task, save and load its state. Called on the engine's thread only.
class Strategy {
public:
    virtual ~Strategy() = default;
    /// Star: the runner counts every payload sent and every upload. PeerToPeer: the clients
    /// exchange models among themselves and the strategy counts what travelled (extraTraffic).
    virtual Topology topology() const { return Topology::Star; }
    /// The bytes this round moved besides the payloads the runner counts: models between peers
    /// (PeerToPeer), or a method's own messages (FedHDS's cluster centroids and coreset ids).
    /// Asked once per round, after aggregate() (or after beginRound() when nobody trained).
    virtual Traffic extraTraffic() const { return {}; }
    /// Called once after initialize() (and, on resume, before load()).
    virtual void attach(const StrategyContext & /*context*/) {}
    /// The scope this method gives a trainable parameter (default: every one is Shared).
    virtual ParameterScope scopeOf(const std::string & /*name*/, const Network &) const
    {
        return ParameterScope::Shared;
    }
    virtual void initialize(const TensorList &initialShared, int /*clients*/)
    {
        m_global = cloneList(initialShared);
    }
    /// Called after the round's clients were sampled, before configure(). May measure the
    /// sampled clients (through the context's workers) and drop some from `plan.returning`:
    /// they receive their payload but do not train (FedHDS: no sample of theirs was selected).
    virtual void beginRound(RoundPlan & /*plan*/) {}
    /// The samples `client` trains on this round (nullptr: its whole shard, the default). The
    /// vector must stay valid until aggregate() returns; the client's FedAvg weight is its size.
    virtual const std::vector<int> *samplesFor(const RoundPlan & /*plan*/, int /*client*/) const
    {
        return nullptr;
    }
    /// The payload client `client` receives this round (default: the global shared parameters;
    /// the tensors are shared read-only, not copied).
    virtual Payload configure(const RoundPlan &, int /*client*/) const
    {
        Payload payload;
        payload.tensors = m_global;
        return payload;
    }
    /// Combines the returned clients' results (in client order); never called with none.
    virtual void aggregate(const RoundPlan &plan, std::vector<ClientResult> &results) = 0;
    /// The shared parameters of the model that evaluates `client`'s task `column` (client -1:
    /// the global model).
    virtual const TensorList &modelFor(int /*client*/, int /*column*/) const { return m_global; }
    /// How the global model evaluates each prompt (nullptr: as it is). Read-only while evaluation
    /// runs on the workers.
    virtual const EvaluationRouter *router() const { return nullptr; }
    /// True when every client has a model of its own (evaluation is then per client).
    virtual bool isPersonalised() const { return false; }
    /// Observations after aggregation (e.g. a per-client series); also called, with no
    /// results, when beginRound() left no client to train.
    virtual void observe(const RoundPlan &, const std::vector<ClientResult> &,
                         std::vector<Observation> &)
    {
    }
    virtual void save(TensorArchive &archive) const;
    virtual void load(const TensorArchive &archive);

protected:
    TensorList m_global;
};

/// The server side of a continual method, run at each stage's end (EWC's Fisher average, LwF's
/// teacher). Its broadcast() is read-only state every client's plugins see during training.
class StagePlugin {
public:
    virtual ~StagePlugin() = default;
    /// True when the stage's clients each run ClientPlugin::afterStage on the final model.
    virtual bool collectsFromClients() const { return false; }
    /// `globalModel`: every trainable parameter of the global model (layout order); `uploads`
    /// and `weights`: the stage's clients' afterStage results in client order. Returns the bytes
    /// it sends down.
    virtual std::int64_t afterStage(int stage, const TensorList &globalModel,
                                    std::vector<Payload> &uploads,
                                    const std::vector<double> &weights) = 0;
    const TensorList &broadcast() const { return m_broadcast; }
    int broadcastVersion() const { return m_version; }
    virtual void save(TensorArchive &archive) const;
    virtual void load(const TensorArchive &archive);

protected:
    TensorList m_broadcast;
    int m_version = -1;
};

/// Local training of one client for one round: default is mini-batch SGD or Adam over the
/// client's data with the plugins' hooks. Stateless; called on worker threads concurrently.
class ClientAlgorithm {
public:
    virtual ~ClientAlgorithm() = default;
    virtual ClientResult train(LocalTraining &training, ClientState &state) const = 0;
};

/// What a registered method contributes; any part may be empty.
struct MethodParts {
    std::unique_ptr<Strategy> strategy;
    std::function<std::unique_ptr<ClientPlugin>()> clientPlugin;
    std::unique_ptr<StagePlugin> stagePlugin;
    std::unique_ptr<ClientAlgorithm> algorithm;
    /// Shapes the network before it is built: edits the model section's parameters (FedDAT asks
    /// for adapter trios). Returns an error naming the offending field, or an empty string.
    std::function<QString(QVariantMap &modelParams)> adjustModel;
};

/// Checkpoint helpers: an ordered TensorList under `prefix`.
void saveTensorList(TensorArchive &archive, const std::string &prefix, const TensorList &list);
TensorList loadTensorList(const TensorArchive &archive, const std::string &prefix);

} // namespace fcl::detail
