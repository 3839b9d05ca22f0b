// SPDX-License-Identifier: MIT
// Private (torch) header: the run loop.
#pragma once

#include "core/metrics/accuracy_matrix.h"
#include "core/model/method_api_p.h"
#include "core/sim/ask.h"
#include "core/sim/client_executor_p.h"
#include "core/sim/engine.h"
#include "core/sim/local_sgd_p.h"
#include "core/sim/memory_estimate.h"

#include <functional>
#include <limits>
#include <memory>
#include <vector>

namespace fcl {
class RunStore;
struct CheckpointRecord;
} // namespace fcl

// OpenBLAS's own thread pool would fight our client workers; pin it to one thread when present.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));

namespace fcl::detail {

/// Sets torch and OpenBLAS to one thread for the run's lifetime; parallelism is across clients.
class SingleThreadedKernels {
public:
    SingleThreadedKernels() : m_previous(at::get_num_threads())
    {
        at::set_num_threads(1);
        if (openblas_set_num_threads != nullptr) {
            openblas_set_num_threads(1);
        }
    }
    ~SingleThreadedKernels() { at::set_num_threads(m_previous); }
    SingleThreadedKernels(const SingleThreadedKernels &) = delete;
    SingleThreadedKernels &operator=(const SingleThreadedKernels &) = delete;

private:
    int m_previous;
};

/// Thrown inside the engine only, caught at its boundary (Runner::execute).
struct EngineFailure {
    QString message;
    bool badInput = false;
};

/// One run, from its first round or from a checkpoint. The round loop is short: sample clients,
/// configure (strategy), execute (ClientExecutor, one ClientAlgorithm call per client), aggregate
/// (strategy), evaluate, commit (metrics, observations and, at checkpoints, the whole state in one
/// transaction). The runner owns only the position in the run, the accuracy matrix and counters;
/// everything a method knows lives in its strategy, its stage plugin and the clients' states.
class Runner {
public:
    Runner(const Experiment &experiment, RunStore *store, RunObserver &observer,
           const CancellationToken &cancel, const RunOptions &options);
    ~Runner();

    /// A new run (stored as a new row when there is a store).
    RunOutcome run();
    /// Continues stored run `runId` from its latest checkpoint (or from the start if it has none).
    RunOutcome resume(qint64 runId);
    /// Answers a question with the models saved at the ends of run `runId`'s stages (see
    /// askRun). Throws EngineFailure.
    AskResult ask(qint64 runId, const AskQuery &query);

private:
    RunOutcome execute(qint64 resumeRunId);
    void prepare();
    void partitionStages();
    void createMethods();
    void restore(qint64 runId);
    /// Loads a checkpoint's state (model, methods, clients, matrix, counters) into the runner.
    void loadState(const CheckpointRecord &record, qint64 runId);
    void runStage(int stage, int firstRound);
    /// Throws EngineFailure when the round's mean loss has exploded (see m_firstLoss).
    void checkDivergence(int stage, int round, double loss);
    RoundPlan planRound(int stage, int round) const;
    /// In a positional stage, gives the i-th sampled client of `plan` the stage's i-th group and
    /// its shard of it (m_columnOf: the group's first task, m_indicesOf, m_sampleColumnsOf);
    /// nothing in other stages.
    void assignPositions(const RoundPlan &plan);
    /// Trains the returning clients; `downloads` holds the payload of each sampled client.
    std::vector<ClientResult> trainClients(const RoundPlan &plan,
                                           const std::vector<Payload> &downloads);
    void finishStage(int stage, RoundMetrics &metrics);
    void evaluate(int stage, RoundMetrics &metrics, std::vector<Observation> &observations);
    /// Accuracy of every task column; class-incremental scores choose among the answers of
    /// `maskStage(column)`'s seen tasks plus the column's own (see seenAnswerMask).
    using MaskStage = std::function<int(int column)>;
    std::vector<TaskAccuracy> evaluateGlobal(const MaskStage &maskStage);
    std::vector<TaskAccuracy> evaluatePersonal(int stage, const MaskStage &maskStage,
                                               std::vector<Observation> &observations);
    std::vector<TaskAccuracy> evaluateTasks(int stage, const MaskStage &maskStage,
                                            std::vector<Observation> &observations);
    TensorList fullModel(const TensorList &shared, const TensorList &local) const;
    torch::Tensor seenAnswerMask(int stage, int column) const;
    void runJobs(const QString &what, int jobs, const std::function<void(int, int)> &job);
    QByteArray checkpoint(int stage, int round) const;
    /// The experiment as the run stores it (with the datasets' SHA-256).
    QJsonObject storedConfig() const;
    RunSummary summary() const;
    /// Runs `write` (a store call) and, while it fails because another process holds the database
    /// locked, again with pauses growing to 4 s, for up to RunOptions::databaseLockWaitMs.
    /// "out of memory (the machine has X): this run needs about Y ..., lower ...".
    QString outOfMemoryMessage() const;
    /// A warning when the run's estimated peak memory exceeds the machine's.
    void warnAboutMemory();
    Result<Unit> writeWithLockRetry(const std::function<Result<Unit>()> &write);
    /// The column of a task of the experiment (its index in m_columns).
    int columnOfTask(const QString &task) const;

    const Experiment &m_experiment;
    RunStore *m_store;
    RunObserver &m_observer;
    const CancellationToken &m_cancel;
    RunOptions m_options;
    std::unique_ptr<ClientExecutor> m_executor;

    std::vector<QString> m_columns;
    std::vector<int> m_learnedAt;
    std::vector<QString> m_clientNames;
    /// m_oldAnswers[stage]: the answers of the tasks learned before that stage.
    std::vector<torch::Tensor> m_oldAnswers;
    std::vector<std::shared_ptr<const UserTaskData>> m_userTasks;
    SharedData m_data;
    std::shared_ptr<Network> m_base; ///< the frozen base every replica shares (read-only)
    /// The untrained base's input layers, copied before any training (task similarity).
    std::shared_ptr<const TaskEncoder> m_encoder;
    QVariantMap m_modelParams; ///< the model section's parameters as the methods adjusted them
    /// m_columnOf[stage][client]: the client's task column (-1: idle); m_indicesOf: its samples.
    std::vector<std::vector<int>> m_columnOf;
    std::vector<std::vector<std::vector<int>>> m_indicesOf;
    /// m_sampleColumnsOf[stage][client]: the column of each of m_indicesOf's samples when they
    /// pool several tasks (a group); empty: all are m_columnOf's.
    std::vector<std::vector<std::vector<int>>> m_sampleColumnsOf;
    /// Per client, its shard of a group: sample indices and (groups of several tasks) columns.
    struct GroupShards {
        std::vector<std::vector<int>> indices;
        std::vector<std::vector<int>> columns;
    };
    /// The groups mixed and positional stages train (stageGroups) and their splits over every
    /// client, made once.
    std::vector<TaskGroup> m_groups;
    std::vector<GroupShards> m_groupShards;

    LocalConfig m_localConfig;
    ModelLayout m_layout;
    std::unique_ptr<MethodParts> m_federated;
    std::unique_ptr<MethodParts> m_continual;
    Strategy *m_strategy = nullptr;
    StagePlugin *m_stagePlugin = nullptr;
    std::unique_ptr<ClientAlgorithm> m_algorithm;
    std::vector<std::unique_ptr<WorkerModel>> m_workers;
    std::vector<ClientState> m_clients;
    TensorList m_initialLocal;

    AccuracyMatrix m_matrix;
    int m_stagesCompleted = 0;
    int m_globalRound = 0;
    /// The first mean training loss this process saw (NaN before): divergence is a loss above
    /// kDivergenceFactor x max(it, 1).
    double m_firstLoss = std::numeric_limits<double>::quiet_NaN();
    MemoryEstimate m_memory; ///< made before the run allocates anything large
    std::int64_t m_bytesUp = 0;
    std::int64_t m_bytesDown = 0;
    std::int64_t m_parameterBytes = 0;
    qint64 m_runId = 0;
    bool m_cancelled = false;
};

} // namespace fcl::detail
