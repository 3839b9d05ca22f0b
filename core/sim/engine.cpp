// SPDX-License-Identifier: MIT
#include "core/sim/engine.h"

#include "core/data/partition.h"
#include "core/federated/aggregator_p.h"
#include "core/sim/timeline.h"
#include "core/sim/training_p.h"
#include "core/store/run_store.h"

#include <QElapsedTimer>

#include <cmath>
#include <limits>
#include <thread>

// OpenBLAS's own thread pool would fight our client workers; pin it to one thread when present.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));

namespace fcl {
namespace {

using namespace fcl::detail;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Thrown inside the engine only, caught at its boundary.
struct EngineFailure {
    QString message;
    bool badInput = false;
};

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

private:
    int m_previous;
};

class Engine {
public:
    Engine(const Experiment &experiment, RunStore *store, RunObserver &observer,
           const CancellationToken &cancel, const RunOptions &options)
        : m_experiment(experiment), m_store(store), m_observer(observer), m_cancel(cancel),
          m_threads(options.threads > 0
                        ? options.threads
                        : std::max(1, static_cast<int>(std::thread::hardware_concurrency())))
    {
    }

    RunOutcome run();

private:
    void prepare();
    void partitionStages();
    void runStage(int stage);
    std::vector<TaskAccuracy> evaluateAll(int stage);
    void consolidate(int stage, RoundMetrics &lastRound);
    void store(const std::function<Result<Unit>()> &write);
    torch::Tensor seenAnswerMask(int stage, int column) const;
    RunSummary summary() const;

    const Experiment &m_experiment;
    RunStore *m_store;
    RunObserver &m_observer;
    const CancellationToken &m_cancel;
    int m_threads;

    std::vector<QString> m_columns;
    std::vector<int> m_learnedAt;
    SharedData m_data;
    /// m_assignment[stage][client]: the client's task column (-1: idle) and its samples.
    std::vector<std::vector<int>> m_columnOf;
    std::vector<std::vector<std::vector<int>>> m_indicesOf;
    std::vector<ReplayBuffer> m_buffers;
    std::vector<Replica> m_replicas;
    std::vector<torch::Tensor> m_global;
    std::vector<torch::Tensor> m_fisher;
    std::vector<torch::Tensor> m_anchor;
    std::vector<torch::Tensor> m_teacher;
    int m_teacherVersion = -1;
    std::int64_t m_parameterBytes = 0;
    AccuracyMatrix m_matrix;
    int m_stagesCompleted = 0;
    int m_globalRound = 0;
    std::int64_t m_bytesUp = 0;
    std::int64_t m_bytesDown = 0;
    qint64 m_runId = 0;
    bool m_cancelled = false;
};

void Engine::store(const std::function<Result<Unit>()> &write)
{
    if (m_store == nullptr) {
        return;
    }
    auto done = write();
    if (!done) {
        throw EngineFailure{
            QStringLiteral("could not save to the run database: %1").arg(done.errorString())};
    }
}

void Engine::prepare()
{
    m_columns = m_experiment.taskColumns();
    m_learnedAt = m_experiment.learnedAtStage();
    const QString dir = m_experiment.fashionMnistDir.isEmpty() ? defaultFashionMnistDir()
                                                               : m_experiment.fashionMnistDir;
    auto loaded = loadFashionMnist(dir);
    if (!loaded) {
        throw EngineFailure{
            QStringLiteral("cannot load Fashion-MNIST from %1: %2 (install the Debian "
                           "package dataset-fashion-mnist or set data.fashion_mnist_dir)")
                .arg(dir, loaded.errorString()),
            true};
    }
    m_data = buildSharedData(std::make_shared<const FashionMnist>(std::move(loaded).value()),
                             m_columns, m_experiment.testSamplesPerTask(), m_experiment.seed);
    partitionStages();

    torch::manual_seed(m_experiment.seed);
    std::shared_ptr<Network> globalNetwork = makeExperimentNetwork(m_experiment);
    m_global = cloneAll(globalNetwork->trainableParameters());
    m_parameterBytes = byteSize(m_global);
    for (int w = 0; w < m_threads; ++w) {
        Replica replica;
        replica.network = makeExperimentNetwork(m_experiment);
        replica.parameters = replica.network->trainableParameters();
        if (m_experiment.continual.method == QLatin1String("lwf")) {
            replica.teacher = makeExperimentNetwork(m_experiment);
            replica.teacherParameters = replica.teacher->trainableParameters();
            for (auto &p : replica.teacherParameters) {
                p.set_requires_grad(false);
            }
        }
        m_replicas.push_back(std::move(replica));
    }
    const int bufferSize = m_experiment.continual.method == QLatin1String("replay")
                               ? m_experiment.continual.integer(QStringLiteral("buffer_per_client"))
                               : 0;
    m_buffers.assign(m_experiment.clients.size(), ReplayBuffer(bufferSize));
    m_matrix = AccuracyMatrix(static_cast<int>(m_experiment.stages.size()), m_learnedAt);
}

void Engine::partitionStages()
{
    const std::size_t clients = m_experiment.clients.size();
    for (std::size_t s = 0; s < m_experiment.stages.size(); ++s) {
        std::vector<int> columnOf(clients, -1);
        std::vector<std::vector<int>> indicesOf(clients);
        for (std::size_t j = 0; j < m_columns.size(); ++j) {
            const TaskData &task = m_data.tasks[j];
            std::vector<std::size_t> members;
            const PartitionRequest request =
                stagePartitionRequest(m_experiment, s, j, task.trainSourceLabels, members);
            if (members.empty()) {
                continue;
            }
            auto parts = partitionSamples(request);
            if (!parts) {
                throw EngineFailure{QStringLiteral("stages[%1] task \"%2\": %3")
                                        .arg(s)
                                        .arg(m_columns[j], parts.errorString()),
                                    true};
            }
            for (std::size_t k = 0; k < members.size(); ++k) {
                columnOf[members[k]] = static_cast<int>(j);
                auto &mine = indicesOf[members[k]];
                for (int position : parts.value()[k]) {
                    mine.push_back(task.trainIndices[static_cast<std::size_t>(position)]);
                }
            }
        }
        m_columnOf.push_back(std::move(columnOf));
        m_indicesOf.push_back(std::move(indicesOf));
    }
}

torch::Tensor Engine::seenAnswerMask(int stage, int column) const
{
    torch::Tensor mask = m_data.tasks[static_cast<std::size_t>(column)].ownAnswers.clone();
    for (std::size_t j = 0; j < m_columns.size(); ++j) {
        if (m_learnedAt[j] <= stage) {
            mask.logical_or_(m_data.tasks[j].ownAnswers);
        }
    }
    return mask;
}

std::vector<TaskAccuracy> Engine::evaluateAll(int stage)
{
    std::vector<TaskAccuracy> results(m_columns.size());
    std::vector<QString> errors(m_columns.size());
    for (Replica &replica : m_replicas) {
        copyInto(replica.parameters, m_global);
    }
    runParallel(static_cast<int>(m_columns.size()), m_threads, [&](int worker, int j) {
        try {
            results[static_cast<std::size_t>(j)] =
                evaluateTask(*m_replicas[static_cast<std::size_t>(worker)].network,
                             m_data.tasks[static_cast<std::size_t>(j)], seenAnswerMask(stage, j));
        } catch (const std::exception &e) {
            errors[static_cast<std::size_t>(j)] = QString::fromUtf8(e.what());
        }
    });
    for (const QString &error : errors) {
        if (!error.isEmpty()) {
            throw EngineFailure{QStringLiteral("evaluation failed: %1").arg(error)};
        }
    }
    return results;
}

void Engine::consolidate(int stage, RoundMetrics &lastRound)
{
    const QString &method = m_experiment.continual.method;
    if (method == QLatin1String("lwf")) {
        m_teacher = cloneAll(m_global);
        m_teacherVersion = stage;
        return;
    }
    if (method != QLatin1String("ewc")) {
        return;
    }
    // Every client that trained in this stage estimates its Fisher on the final global model;
    // the server averages them by sample count and adds the result to the running sum.
    std::vector<int> members;
    for (std::size_t c = 0; c < m_experiment.clients.size(); ++c) {
        if (m_columnOf[static_cast<std::size_t>(stage)][c] >= 0) {
            members.push_back(static_cast<int>(c));
        }
    }
    RoundContext context;
    context.experiment = &m_experiment;
    context.data = &m_data;
    context.global = &m_global;
    context.cancel = &m_cancel;
    context.stage = stage;
    std::vector<std::vector<torch::Tensor>> fishers(members.size());
    std::vector<double> weights(members.size());
    std::vector<QString> errors(members.size());
    const int samples = m_experiment.continual.integer(QStringLiteral("fisher_samples"));
    runParallel(static_cast<int>(members.size()), m_threads, [&](int worker, int k) {
        const int c = members[static_cast<std::size_t>(k)];
        const auto &indices =
            m_indicesOf[static_cast<std::size_t>(stage)][static_cast<std::size_t>(c)];
        try {
            fishers[static_cast<std::size_t>(k)] = estimateFisher(
                m_replicas[static_cast<std::size_t>(worker)], context,
                m_columnOf[static_cast<std::size_t>(stage)][static_cast<std::size_t>(c)], indices,
                samples);
            weights[static_cast<std::size_t>(k)] = static_cast<double>(
                std::min<std::size_t>(indices.size(), static_cast<std::size_t>(samples)));
        } catch (const std::exception &e) {
            errors[static_cast<std::size_t>(k)] = QString::fromUtf8(e.what());
        }
    });
    for (const QString &error : errors) {
        if (!error.isEmpty()) {
            throw EngineFailure{QStringLiteral("Fisher estimation failed: %1").arg(error)};
        }
    }
    if (m_cancel.isCancelled() || members.empty()) {
        return;
    }
    std::vector<torch::Tensor> stageFisher = federatedAverage(fishers, weights);
    if (m_fisher.empty()) {
        m_fisher = stageFisher;
    } else {
        for (std::size_t i = 0; i < m_fisher.size(); ++i) {
            m_fisher[i].add_(stageFisher[i]);
        }
    }
    m_anchor = cloneAll(m_global);
    // Each client uploads its Fisher; the server sends the summed Fisher and the anchor back.
    const auto clients = static_cast<std::int64_t>(members.size());
    lastRound.bytesUp += clients * m_parameterBytes;
    lastRound.bytesDown += clients * 2 * m_parameterBytes;
}

void Engine::runStage(int stage)
{
    const int rounds = m_experiment.roundsPerStage();
    const auto s = static_cast<std::size_t>(stage);
    std::vector<int> active;
    for (std::size_t c = 0; c < m_experiment.clients.size(); ++c) {
        if (m_columnOf[s][c] >= 0) {
            active.push_back(static_cast<int>(c));
        }
    }
    const double participation = m_experiment.federated.number(QStringLiteral("participation"));
    const int perRound = std::clamp(
        static_cast<int>(std::lround(participation * static_cast<double>(active.size()))), 1,
        static_cast<int>(active.size()));
    for (int round = 0; round < rounds; ++round) {
        QElapsedTimer timer;
        timer.start();
        RoundMetrics metrics;
        metrics.stage = stage;
        metrics.round = round;
        metrics.globalRound = m_globalRound;
        metrics.clientAccuracy.assign(m_experiment.clients.size(), kNaN);

        Rng rng(deriveSeed(m_experiment.seed, {2, s, static_cast<std::uint64_t>(round)}));
        std::vector<int> selected = active;
        shuffleInPlace(selected, rng);
        selected.resize(static_cast<std::size_t>(perRound));
        std::sort(selected.begin(), selected.end());
        std::vector<int> training;
        for (int c : selected) {
            if (uniform01(rng) >= m_experiment.clients[static_cast<std::size_t>(c)].dropout()) {
                training.push_back(c);
            }
        }
        metrics.clientsSampled = static_cast<int>(selected.size());
        metrics.clientsReturned = static_cast<int>(training.size());
        metrics.bytesDown = static_cast<std::int64_t>(selected.size()) * m_parameterBytes;
        metrics.bytesUp = static_cast<std::int64_t>(training.size()) * m_parameterBytes;

        RoundContext context;
        context.experiment = &m_experiment;
        context.data = &m_data;
        context.global = &m_global;
        context.cancel = &m_cancel;
        context.stage = stage;
        context.round = round;
        if (!m_fisher.empty()) {
            context.fisher = &m_fisher;
            context.anchor = &m_anchor;
        }
        if (!m_teacher.empty()) {
            context.teacher = &m_teacher;
            context.teacherVersion = m_teacherVersion;
        }
        std::vector<ClientUpdate> updates(training.size());
        runParallel(static_cast<int>(training.size()), m_threads, [&](int worker, int k) {
            const int c = training[static_cast<std::size_t>(k)];
            const auto cs = static_cast<std::size_t>(c);
            try {
                ReplayBuffer *buffer = m_buffers[cs].capacity() > 0 ? &m_buffers[cs] : nullptr;
                updates[static_cast<std::size_t>(k)] =
                    trainClient(m_replicas[static_cast<std::size_t>(worker)], context, c,
                                m_columnOf[s][cs], m_indicesOf[s][cs], buffer);
            } catch (const std::exception &e) {
                updates[static_cast<std::size_t>(k)].error = QString::fromUtf8(e.what());
            }
        });
        for (const ClientUpdate &update : updates) {
            if (!update.error.isEmpty()) {
                throw EngineFailure{update.error};
            }
            if (update.cancelled) {
                m_cancelled = true;
            }
        }
        if (m_cancelled) {
            return; // the round in progress is dropped; every finished round is stored
        }
        if (training.empty()) {
            m_observer.onMessage(
                Severity::Warning,
                QStringLiteral("stage %1, round %2: every sampled client dropped out; "
                               "the global model is unchanged")
                    .arg(stage + 1)
                    .arg(round + 1));
        } else {
            std::vector<std::vector<torch::Tensor>> parameters;
            std::vector<double> weights;
            double lossSum = 0;
            std::int64_t samples = 0;
            for (std::size_t k = 0; k < updates.size(); ++k) {
                parameters.push_back(std::move(updates[k].parameters));
                weights.push_back(updates[k].weight);
                lossSum += updates[k].lossSum;
                samples += updates[k].samples;
                metrics.clientAccuracy[static_cast<std::size_t>(training[k])] = updates[k].accuracy;
            }
            m_global = federatedAverage(parameters, weights);
            metrics.trainLoss = samples > 0 ? lossSum / static_cast<double>(samples) : 0.0;
        }

        const bool lastRound = round == rounds - 1;
        if (lastRound || (round + 1) % m_experiment.evaluateEveryRounds() == 0) {
            const std::vector<TaskAccuracy> accuracy = evaluateAll(stage);
            metrics.evaluated = true;
            double seenSum = 0;
            double forgetSum = 0;
            int seen = 0;
            int older = 0;
            for (std::size_t j = 0; j < accuracy.size(); ++j) {
                const double primary = m_experiment.isTaskIncremental()
                                           ? accuracy[j].taskIncremental
                                           : accuracy[j].classIncremental;
                metrics.accuracyPerTask.push_back(primary);
                metrics.taskIncrementalAccuracy.push_back(accuracy[j].taskIncremental);
                metrics.classIncrementalAccuracy.push_back(accuracy[j].classIncremental);
                if (m_learnedAt[j] <= stage) {
                    seenSum += primary;
                    ++seen;
                }
                if (m_learnedAt[j] < stage) {
                    double best = -1;
                    for (int l = 0; l < stage; ++l) {
                        best = std::max(best, m_matrix.at(l, static_cast<int>(j)));
                    }
                    forgetSum += best - primary;
                    ++older;
                }
            }
            metrics.averageAccuracy = seen > 0 ? seenSum / seen : 0.0;
            metrics.averageForgetting = older > 0 ? forgetSum / older : 0.0;
        }
        if (lastRound) {
            for (std::size_t j = 0; j < metrics.accuracyPerTask.size(); ++j) {
                m_matrix.set(stage, static_cast<int>(j), metrics.accuracyPerTask[j]);
            }
            consolidate(stage, metrics);
        }
        m_bytesUp += metrics.bytesUp;
        m_bytesDown += metrics.bytesDown;
        metrics.wallTimeMs = static_cast<double>(timer.nsecsElapsed()) / 1e6;
        store([&] {
            return m_store->appendRound(m_runId, metrics);
        });
        m_observer.onRoundFinished(metrics);
        ++m_globalRound;
        if (lastRound) {
            StageMetrics row;
            row.stage = stage;
            row.accuracyPerTask = metrics.accuracyPerTask;
            row.averageAccuracy = m_matrix.averageAccuracy(stage);
            row.averageForgetting = m_matrix.averageForgetting(stage);
            store([&] {
                return m_store->appendStage(m_runId, row);
            });
            m_stagesCompleted = stage + 1;
            m_observer.onStageFinished(row);
        }
        if (m_cancel.isCancelled()) {
            m_cancelled = true;
            return;
        }
    }
}

RunSummary Engine::summary() const
{
    RunSummary summary;
    summary.taskIds = m_columns;
    summary.stagesCompleted = m_stagesCompleted;
    summary.totalBytesUp = m_bytesUp;
    summary.totalBytesDown = m_bytesDown;
    // Metrics over the stages that finished: a cancelled run still gets honest numbers.
    AccuracyMatrix done(m_stagesCompleted, m_learnedAt);
    for (int s = 0; s < m_stagesCompleted; ++s) {
        for (int j = 0; j < m_matrix.tasks(); ++j) {
            done.set(s, j, m_matrix.at(s, j));
        }
    }
    for (int j = 0; j < m_matrix.tasks(); ++j) {
        done.setBaseline(j, m_matrix.baseline(j));
    }
    summary.matrix = m_stagesCompleted == m_matrix.stages() ? m_matrix : done;
    summary.finalAverageAccuracy = done.finalAverageAccuracy();
    summary.averageIncrementalAccuracy = done.averageIncrementalAccuracy();
    summary.finalAverageForgetting = done.finalAverageForgetting();
    summary.backwardTransfer = done.backwardTransfer();
    summary.forwardTransfer = done.forwardTransfer();
    return summary;
}

RunOutcome Engine::run()
{
    RunOutcome outcome;
    SingleThreadedKernels kernels;
    try {
        prepare();
        if (m_store != nullptr) {
            auto created = m_store->createRun(m_experiment.name, m_experiment.toJson(),
                                              m_experiment.seed, m_threads, m_columns);
            if (!created) {
                throw EngineFailure{QStringLiteral("could not save to the run database: %1")
                                        .arg(created.errorString())};
            }
            m_runId = created.value();
        }
        RunInfo info;
        info.runId = m_runId;
        info.taskIds = m_columns;
        for (const ClientSpec &client : m_experiment.clients) {
            info.clientNames.push_back(client.name);
        }
        info.stages = static_cast<int>(m_experiment.stages.size());
        info.roundsPerStage = m_experiment.roundsPerStage();
        info.parameterBytes = m_parameterBytes;
        m_observer.onRunStarted(info);

        // b[j]: the untrained model, each task scored as if it were the first one.
        const std::vector<TaskAccuracy> baseline = evaluateAll(-1);
        std::vector<double> baselineRow;
        for (std::size_t j = 0; j < baseline.size(); ++j) {
            const double value = m_experiment.isTaskIncremental() ? baseline[j].taskIncremental
                                                                  : baseline[j].classIncremental;
            m_matrix.setBaseline(static_cast<int>(j), value);
            baselineRow.push_back(value);
        }
        store([&] {
            return m_store->appendBaseline(m_runId, baselineRow);
        });

        for (int stage = 0; stage < static_cast<int>(m_experiment.stages.size()) && !m_cancelled;
             ++stage) {
            runStage(stage);
        }
        outcome.status = m_cancelled ? RunStatus::Cancelled : RunStatus::Completed;
    } catch (const EngineFailure &failure) {
        outcome.status = RunStatus::Failed;
        outcome.error = failure.message;
        outcome.badInput = failure.badInput;
    } catch (const std::exception &e) {
        outcome.status = RunStatus::Failed;
        outcome.error = QStringLiteral("internal error: %1")
                            .arg(QString::fromUtf8(e.what()).section(QLatin1Char('\n'), 0, 0));
    }
    outcome.runId = m_runId;
    outcome.summary = summary();
    if (m_store != nullptr && m_runId != 0) {
        if (!outcome.error.isEmpty()) {
            m_store->appendEvent(m_runId, QStringLiteral("error"), outcome.error);
        }
        auto finished = m_store->finishRun(m_runId, outcome.status, outcome.error, outcome.summary);
        if (!finished && outcome.error.isEmpty()) {
            outcome.status = RunStatus::Failed;
            outcome.error = QStringLiteral("could not save to the run database: %1")
                                .arg(finished.errorString());
        }
    }
    m_observer.onRunFinished(outcome);
    return outcome;
}

} // namespace

RunOutcome runExperiment(const Experiment &experiment, RunStore *store, RunObserver &observer,
                         const CancellationToken &cancel, const RunOptions &options)
{
    Engine engine(experiment, store, observer, cancel, options);
    return engine.run();
}

} // namespace fcl
