// SPDX-License-Identifier: MIT
#include "core/sim/runner_p.h"

#include "core/common/format.h"
#include "core/common/method_descriptor.h"
#include "core/continual/task_similarity_p.h"
#include "core/data/partition.h"
#include "core/model/base_model_p.h"
#include "core/sim/memory_estimate.h"
#include "core/sim/registry.h"
#include "core/sim/timeline.h"
#include "core/store/run_store.h"

#include <QCryptographicHash>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <thread>

namespace fcl::detail {
namespace {

/// evaluation.task_similarity: "on", "off", or "auto" (on for generative backbones, whose tasks
/// differ in instruction and answer text; a classifier's embeddings are codes and one-hot words).
bool wantsTaskSimilarity(const Experiment &experiment, const Network &base)
{
    const QString mode = experiment.evaluation.value(QStringLiteral("task_similarity")).toString();
    return mode == QLatin1String("on") || (mode != QLatin1String("off") && base.generative());
}

std::vector<Observation> taskSimilarity(const TaskEncoder &encoder, const SharedData &data,
                                        const std::vector<QString> &columns)
{
    std::vector<tasksim::TaskEmbedding> tasks;
    QStringList labels;
    for (std::size_t j = 0; j < columns.size(); ++j) {
        tasks.push_back(encoder.embed(data, static_cast<int>(j)));
        labels << columns[j];
    }
    return taskSimilarityObservations(tasks, labels);
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::shared_ptr<Network> makeExperimentNetwork(const Experiment &experiment,
                                               const QVariantMap &modelParams, int outputs)
{
    NetworkShape shape;
    shape.instructionDim = kInstructionDim;
    shape.outputs = outputs;
    return makeNetwork(experiment.model.method, modelParams, shape);
}

std::unique_ptr<MethodParts> createMethod(const QString &category, const MethodChoice &choice)
{
    const MethodDescriptor *descriptor = findMethod(category, choice.method);
    if (descriptor == nullptr || !descriptor->create) {
        throw EngineFailure{
            QStringLiteral("%1.method: no implementation of \"%2\"").arg(category, choice.method),
            true};
    }
    return descriptor->create(choice.params);
}

QString configHash(const Experiment &experiment)
{
    QJsonObject config = experiment.toJson();
    // A dataset's recorded hash is added when the run is stored: not part of the identity.
    QJsonArray datasets = config.value(QStringLiteral("datasets")).toArray();
    for (int i = 0; i < datasets.size(); ++i) {
        QJsonObject entry = datasets.at(i).toObject();
        entry.remove(QStringLiteral("sha256"));
        datasets[i] = entry;
    }
    if (!datasets.isEmpty()) {
        config.insert(QStringLiteral("datasets"), datasets);
    }
    return QString::fromLatin1(
        QCryptographicHash::hash(QJsonDocument(config).toJson(QJsonDocument::Compact),
                                 QCryptographicHash::Sha256)
            .toHex()
            .left(16));
}

std::string clientPrefix(std::size_t client)
{
    return "client/" + std::to_string(client) + "/";
}

} // namespace

Runner::Runner(const Experiment &experiment, RunStore *store, RunObserver &observer,
               const CancellationToken &cancel, const RunOptions &options)
    : m_experiment(experiment), m_store(store), m_observer(observer), m_cancel(cancel),
      m_options(options),
      m_executor(std::make_unique<ThreadPoolExecutor>(
          options.threads > 0 ? options.threads
                              : std::max(1, static_cast<int>(std::thread::hardware_concurrency()))))
{
}

Runner::~Runner() = default;

void Runner::runJobs(const QString &what, int jobs, const std::function<void(int, int)> &job)
{
    for (const QString &error : m_executor->run(jobs, job)) {
        if (error == kOutOfMemory) {
            throw EngineFailure{outOfMemoryMessage()};
        }
        if (!error.isEmpty()) {
            throw EngineFailure{QStringLiteral("%1 failed: %2").arg(what, error)};
        }
    }
}

void Runner::prepare()
{
    m_columns = m_experiment.taskColumns();
    m_learnedAt = m_experiment.learnedAtStage();
    for (const ClientSpec &client : m_experiment.clients) {
        m_clientNames.push_back(client.name);
    }
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
    for (std::size_t i = 0; i < m_experiment.datasets.size(); ++i) {
        auto user = loadUserTask(m_experiment.datasets[i], m_experiment.seed);
        if (!user) {
            throw EngineFailure{QStringLiteral("datasets[%1]: %2").arg(i).arg(user.errorString()),
                                true};
        }
        m_userTasks.push_back(user.value());
    }
    m_data =
        buildSharedData(std::make_shared<const FashionMnist>(std::move(loaded).value()), m_columns,
                        m_experiment.testSamplesPerTask(), m_experiment.seed, m_userTasks);
    for (std::size_t j = 0; j < m_columns.size(); ++j) {
        if (m_data.tasks[j].testPrompts.empty()) {
            // Its accuracy would read 0 for every round: refuse rather than mislead.
            throw EngineFailure{QStringLiteral("task %1 has no test samples in %2 (its classes are "
                                               "missing from the test set), so its accuracy "
                                               "cannot be measured")
                                    .arg(m_columns[j], dir),
                                true};
        }
    }
    partitionStages();
    for (int stage = 0; stage < static_cast<int>(m_experiment.stages.size()); ++stage) {
        torch::Tensor old = torch::zeros({m_data.answerCount}, torch::kBool);
        for (std::size_t j = 0; j < m_columns.size(); ++j) {
            if (m_learnedAt[j] < stage) {
                old.logical_or_(m_data.tasks[j].ownAnswers);
            }
        }
        m_oldAnswers.push_back(old);
    }

    const MethodChoice &federated = m_experiment.federated;
    m_localConfig.learningRate = federated.number(QStringLiteral("lr"));
    m_localConfig.batchSize = federated.integer(QStringLiteral("batch_size"));
    m_localConfig.localEpochs = federated.integer(QStringLiteral("local_epochs"));
    m_localConfig.adam = federated.text(QStringLiteral("optimizer")) == QLatin1String("adam");
    m_localConfig.momentum = federated.number(QStringLiteral("momentum"));
    m_localConfig.seed = m_experiment.seed;
    m_localConfig.taskHeads = m_experiment.trainsTaskHeads();
    createMethods();
    m_matrix = AccuracyMatrix(static_cast<int>(m_experiment.stages.size()), m_learnedAt);
}

void Runner::createMethods()
{
    m_federated = createMethod(QStringLiteral("federated"), m_experiment.federated);
    m_continual = createMethod(QStringLiteral("continual"), m_experiment.continual);
    m_strategy = m_federated->strategy.get();
    Q_ASSERT(m_strategy != nullptr);
    m_stagePlugin =
        m_continual->stagePlugin ? m_continual->stagePlugin.get() : m_federated->stagePlugin.get();
    if (m_federated->algorithm) {
        m_algorithm = std::move(m_federated->algorithm);
    } else if (m_continual->algorithm) {
        m_algorithm = std::move(m_continual->algorithm);
    } else {
        m_algorithm = std::make_unique<LocalSgd>();
    }
    m_modelParams = m_experiment.model.params;
    for (const MethodParts *parts : {m_federated.get(), m_continual.get()}) {
        if (parts->adjustModel) {
            if (const QString problem = parts->adjustModel(m_modelParams); !problem.isEmpty()) {
                throw EngineFailure{problem, true};
            }
        }
    }

    torch::manual_seed(m_experiment.seed);
    const std::shared_ptr<Network> network =
        makeExperimentNetwork(m_experiment, m_modelParams, m_data.answerCount);
    const QString base = m_experiment.model.text(QStringLiteral("base"));
    if (network->generative() && !base.isEmpty() && base != QLatin1String("none")) {
        if (auto loaded = loadBase(*network, baseDirFor(base)); !loaded) {
            throw EngineFailure{QStringLiteral("model.base: %1").arg(loaded.errorString()), true};
        }
    }
    if (network->generative()) {
        m_data.format = {network->tokenizer(), network->imagePatches(), network->maxTextTokens()};
    }
    m_base = network;
    m_encoder = std::make_shared<const TaskEncoder>(*network);
    m_layout = ModelLayout::of(*network, [&](const std::string &name) {
        return m_strategy->scopeOf(name, *network);
    });
    const std::vector<torch::Tensor> initial = network->trainableParameters();
    const TensorList shared = m_layout.select(initial, ParameterScope::Shared);
    m_initialLocal = m_layout.select(initial, ParameterScope::Local);
    if ((!m_initialLocal.empty() || m_strategy->isPersonalised()) && m_stagePlugin != nullptr) {
        // A stage plugin keeps one global copy of the model (EWC's anchor, LwF's teacher); it
        // has no copy of each client's Local parameters, so it would anchor them to their
        // untrained values.
        throw EngineFailure{QStringLiteral("continual.method: \"%1\" keeps one global copy of "
                                           "the model and cannot be combined with "
                                           "federated.method \"%2\", whose clients keep "
                                           "parameters of their own; use finetune or replay")
                                .arg(m_experiment.continual.method, m_experiment.federated.method),
                            true};
    }
    m_parameterBytes = byteSize(shared);
    const int clients = static_cast<int>(m_experiment.clients.size());
    m_strategy->initialize(shared, clients);

    for (int w = 0; w < m_executor->workers(); ++w) {
        m_workers.push_back(std::make_unique<WorkerModel>([this] {
            auto replica = makeExperimentNetwork(m_experiment, m_modelParams, m_data.answerCount);
            shareFrozenBase(*replica, *m_base);
            return replica;
        }));
    }
    m_clients.resize(static_cast<std::size_t>(clients));
    for (ClientState &state : m_clients) {
        state.local = cloneList(m_initialLocal);
        for (const MethodParts *parts : {m_federated.get(), m_continual.get()}) {
            if (parts->clientPlugin) {
                state.plugins.push_back(parts->clientPlugin());
            }
        }
    }
    StrategyContext context;
    context.data = &m_data;
    context.layout = &m_layout;
    context.columnOf = &m_columnOf;
    context.indicesOf = &m_indicesOf;
    context.config = &m_localConfig;
    context.seed = m_experiment.seed;
    context.roundsPerStage = m_experiment.roundsPerStage();
    context.run = [this](const QString &what, int jobs,
                         const std::function<void(WorkerModel &, int)> &job) {
        runJobs(what, jobs, [&](int worker, int k) {
            job(*m_workers[static_cast<std::size_t>(worker)], k);
        });
    };
    m_strategy->attach(context);
}

int Runner::columnOfTask(const QString &task) const
{
    return static_cast<int>(std::find(m_columns.begin(), m_columns.end(), task) -
                            m_columns.begin());
}

void Runner::partitionStages()
{
    const std::size_t clients = m_experiment.clients.size();
    // Mixed and positional stages: each group's pooled samples, split once over every client.
    m_groups = stageGroups(m_experiment);
    m_groupShards.assign(m_groups.size(), {});
    for (std::size_t g = 0; g < m_groups.size(); ++g) {
        std::vector<const std::vector<int> *> labels;
        std::vector<int> columns;
        for (const QString &task : m_groups[g]) {
            columns.push_back(columnOfTask(task));
            labels.push_back(
                &m_data.tasks[static_cast<std::size_t>(columns.back())].trainSourceLabels);
        }
        const auto split = splitGroup(m_experiment, m_groups[g], labels);
        if (!split) {
            throw EngineFailure{split.errorString(), true};
        }
        const std::vector<std::size_t> &members = split.value().members;
        GroupShards &shards = m_groupShards[g];
        shards.indices.resize(clients);
        shards.columns.resize(clients);
        for (std::size_t k = 0; k < members.size(); ++k) {
            for (int position : split.value().parts[k]) {
                const GroupSample &sample = split.value().pool[static_cast<std::size_t>(position)];
                const int column = columns[static_cast<std::size_t>(sample.task)];
                shards.indices[members[k]].push_back(
                    m_data.tasks[static_cast<std::size_t>(column)]
                        .trainIndices[static_cast<std::size_t>(sample.position)]);
                if (m_groups[g].size() > 1) {
                    shards.columns[members[k]].push_back(column);
                }
            }
        }
    }
    for (std::size_t s = 0; s < m_experiment.stages.size(); ++s) {
        std::vector<int> columnOf(clients, -1);
        std::vector<std::vector<int>> indicesOf(clients);
        m_sampleColumnsOf.emplace_back(clients);
        if (m_experiment.hasUnits(s)) {
            // Until a round assigns positions: the static view (client c, unit c mod n).
            const std::vector<TaskGroup> &units = m_experiment.stageUnits[s].units;
            for (std::size_t c = 0; c < clients; ++c) {
                const TaskGroup &group = units[c % units.size()];
                const auto g = static_cast<std::size_t>(
                    std::find(m_groups.begin(), m_groups.end(), group) - m_groups.begin());
                columnOf[c] = columnOfTask(group.front());
                indicesOf[c] = m_groupShards[g].indices[c];
                m_sampleColumnsOf.back()[c] = m_groupShards[g].columns[c];
            }
            m_columnOf.push_back(std::move(columnOf));
            m_indicesOf.push_back(std::move(indicesOf));
            continue;
        }
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

torch::Tensor Runner::seenAnswerMask(int stage, int column) const
{
    torch::Tensor mask = m_data.tasks[static_cast<std::size_t>(column)].ownAnswers.clone();
    for (std::size_t j = 0; j < m_columns.size(); ++j) {
        if (m_learnedAt[j] <= stage) {
            mask.logical_or_(m_data.tasks[j].ownAnswers);
        }
    }
    return mask;
}

TensorList Runner::fullModel(const TensorList &shared, const TensorList &local) const
{
    TensorList full(m_layout.names.size());
    for (std::size_t k = 0; k < shared.size(); ++k) {
        full[m_layout.sharedIndices[k]] = shared[k];
    }
    for (std::size_t k = 0; k < local.size(); ++k) {
        full[m_layout.localIndices[k]] = local[k];
    }
    return full;
}

std::vector<TaskAccuracy> Runner::evaluateTasks(int stage, const MaskStage &maskStage,
                                                std::vector<Observation> &observations)
{
    return m_strategy->isPersonalised() ? evaluatePersonal(stage, maskStage, observations)
                                        : evaluateGlobal(maskStage);
}

std::vector<TaskAccuracy> Runner::evaluateGlobal(const MaskStage &maskStage)
{
    std::vector<TaskAccuracy> results(m_columns.size());
    runJobs(QStringLiteral("evaluation"), static_cast<int>(m_columns.size()),
            [&](int worker, int j) {
                WorkerModel &model = *m_workers[static_cast<std::size_t>(worker)];
                model.load(m_layout, m_strategy->modelFor(-1, j), m_initialLocal);
                results[static_cast<std::size_t>(j)] =
                    evaluateTask(model.network(), m_data, m_data.tasks[static_cast<std::size_t>(j)],
                                 seenAnswerMask(maskStage(j), j), -1, m_strategy->router());
            });
    return results;
}

std::vector<TaskAccuracy> Runner::evaluatePersonal(int stage, const MaskStage &maskStage,
                                                   std::vector<Observation> &observations)
{
    const std::size_t clients = m_clients.size();
    const std::size_t tasks = m_columns.size();
    std::vector<TaskAccuracy> perClient(clients * tasks);
    runJobs(
        QStringLiteral("evaluation"), static_cast<int>(clients * tasks), [&](int worker, int job) {
            const auto c = static_cast<std::size_t>(job) / tasks;
            const auto j = static_cast<int>(static_cast<std::size_t>(job) % tasks);
            WorkerModel &model = *m_workers[static_cast<std::size_t>(worker)];
            model.load(m_layout, m_strategy->modelFor(static_cast<int>(c), j), m_clients[c].local);
            perClient[static_cast<std::size_t>(job)] =
                evaluateTask(model.network(), m_data, m_data.tasks[static_cast<std::size_t>(j)],
                             seenAnswerMask(maskStage(j), j));
        });
    // Personalised accuracy, the headline of personalised methods: each client's model on the
    // task it trains this stage, with the mean and the worst over those clients.
    Observation own;
    own.kind = QStringLiteral("personal.own_task");
    own.title = QStringLiteral("Each client's model on its own task (mean, worst, clients)");
    own.labels << QStringLiteral("mean") << QStringLiteral("worst");
    double ownSum = 0;
    double worst = kNaN;
    int ownClients = 0;
    std::vector<double> ownValues;
    for (std::size_t c = 0; c < clients; ++c) {
        own.labels << m_clientNames[c];
        // (stage -1: the untrained baseline, scored on the tasks of the first stage)
        const int column = m_columnOf[static_cast<std::size_t>(std::max(stage, 0))][c];
        double value = kNaN;
        if (column >= 0) {
            const TaskAccuracy &a = perClient[c * tasks + static_cast<std::size_t>(column)];
            value = m_experiment.isTaskIncremental() ? a.taskIncremental : a.classIncremental;
            ownSum += value;
            worst = ownClients == 0 ? value : std::min(worst, value);
            ++ownClients;
        }
        ownValues.push_back(value);
    }
    own.values.push_back(ownClients > 0 ? ownSum / ownClients : kNaN);
    own.values.push_back(worst);
    own.values.insert(own.values.end(), ownValues.begin(), ownValues.end());
    observations.push_back(std::move(own));

    // A task's score is the mean over the clients that have learned it so far (all clients that
    // will learn it, before anyone has), each on its own model.
    std::vector<TaskAccuracy> results(tasks);
    Observation matrix;
    matrix.kind = QStringLiteral("personal.accuracy");
    matrix.title = QStringLiteral("Per-client accuracy (each client's own model)");
    matrix.shape = ObservationShape::Matrix;
    for (const QString &name : m_clientNames) {
        matrix.labels << name;
    }
    for (const QString &column : m_columns) {
        matrix.columnLabels << column;
    }
    for (std::size_t c = 0; c < clients; ++c) {
        for (std::size_t j = 0; j < tasks; ++j) {
            const TaskAccuracy &a = perClient[c * tasks + j];
            matrix.values.push_back(m_experiment.isTaskIncremental() ? a.taskIncremental
                                                                     : a.classIncremental);
        }
    }
    observations.push_back(std::move(matrix));
    for (std::size_t j = 0; j < tasks; ++j) {
        for (int pass = 0; pass < 2; ++pass) {
            const int lastStage = pass == 0 ? stage : static_cast<int>(m_columnOf.size()) - 1;
            int owners = 0;
            TaskAccuracy sum;
            for (std::size_t c = 0; c < clients; ++c) {
                bool owns = false;
                for (int s = 0; s <= lastStage; ++s) {
                    owns =
                        owns || m_columnOf[static_cast<std::size_t>(s)][c] == static_cast<int>(j);
                }
                if (owns) {
                    ++owners;
                    sum.taskIncremental += perClient[c * tasks + j].taskIncremental;
                    sum.classIncremental += perClient[c * tasks + j].classIncremental;
                    sum.f1 += perClient[c * tasks + j].f1;
                    sum.format += perClient[c * tasks + j].format;
                    sum.knowledge += perClient[c * tasks + j].knowledge;
                }
            }
            if (owners > 0) {
                results[j] = {sum.taskIncremental / owners, sum.classIncremental / owners,
                              sum.f1 / owners, sum.format / owners, sum.knowledge / owners};
                break;
            }
        }
    }
    return results;
}

void Runner::evaluate(int stage, RoundMetrics &metrics, std::vector<Observation> &observations)
{
    const std::vector<TaskAccuracy> accuracy = evaluateTasks(
        stage,
        [stage](int) {
            return stage;
        },
        observations);
    metrics.evaluated = true;
    AccuracyMatrix withThisRound = m_matrix;
    for (std::size_t j = 0; j < accuracy.size(); ++j) {
        const double primary = m_experiment.isTaskIncremental() ? accuracy[j].taskIncremental
                                                                : accuracy[j].classIncremental;
        metrics.accuracyPerTask.push_back(primary);
        metrics.taskIncrementalAccuracy.push_back(accuracy[j].taskIncremental);
        metrics.classIncrementalAccuracy.push_back(accuracy[j].classIncremental);
        if (m_base->generative()) {
            metrics.tokenF1PerTask.push_back(accuracy[j].f1);
            metrics.formatPerTask.push_back(accuracy[j].format);
            metrics.knowledgePerTask.push_back(accuracy[j].knowledge);
        }
        withThisRound.set(stage, static_cast<int>(j), primary);
    }
    metrics.averageAccuracy = withThisRound.averageAccuracy(stage);
    metrics.averageForgetting = withThisRound.averageForgetting(stage);
}

void Runner::checkDivergence(int stage, int round, double loss)
{
    // A finite loss can diverge too (lr 10 reached 3.5e23 and was stored as completed). Against
    // the first loss this process saw, floored at 1 so a run resumed at a small loss still
    // tolerates a new stage's jump (a new task's cross-entropy starts near log(answers)).
    if (std::isnan(loss)) {
        return;
    }
    if (std::isnan(m_firstLoss)) {
        m_firstLoss = loss;
    }
    const double limit = kDivergenceFactor * std::max(m_firstLoss, 1.0);
    if (loss > limit) {
        throw EngineFailure{QStringLiteral("diverged at stage %1, round %2: the mean training loss "
                                           "rose to %3, over %4 x its first value %5; lower "
                                           "federated.lr")
                                .arg(stage + 1)
                                .arg(round + 1)
                                .arg(loss, 0, 'g', 3)
                                .arg(kDivergenceFactor, 0, 'f', 0)
                                .arg(m_firstLoss, 0, 'g', 3)};
    }
}

RoundPlan Runner::planRound(int stage, int round) const
{
    const auto s = static_cast<std::size_t>(stage);
    RoundPlan plan;
    plan.stage = stage;
    plan.round = round;
    plan.globalRound = m_globalRound;
    plan.clients = static_cast<int>(m_experiment.clients.size());
    plan.clientNames = &m_clientNames;
    for (std::size_t c = 0; c < m_experiment.clients.size(); ++c) {
        if (m_columnOf[s][c] >= 0) {
            plan.active.push_back(static_cast<int>(c));
        }
    }
    if (plan.active.empty()) {
        return plan; // every client idles in this stage
    }
    const double participation = m_experiment.federated.number(QStringLiteral("participation"));
    const int perRound = std::clamp(
        static_cast<int>(std::lround(participation * static_cast<double>(plan.active.size()))), 1,
        static_cast<int>(plan.active.size()));
    Rng rng(deriveSeed(m_experiment.seed, {2, s, static_cast<std::uint64_t>(round)}));
    plan.sampled = plan.active;
    shuffleInPlace(plan.sampled, rng);
    plan.sampled.resize(static_cast<std::size_t>(perRound));
    std::sort(plan.sampled.begin(), plan.sampled.end());
    for (int c : plan.sampled) {
        if (uniform01(rng) >= m_experiment.clients[static_cast<std::size_t>(c)].dropout()) {
            plan.returning.push_back(c);
        }
    }
    return plan;
}

void Runner::assignPositions(const RoundPlan &plan)
{
    const auto s = static_cast<std::size_t>(plan.stage);
    if (!m_experiment.isPositional(s)) {
        return;
    }
    const std::vector<TaskGroup> units = positionalUnits(m_experiment, s, plan.sampled);
    for (std::size_t i = 0; i < plan.sampled.size(); ++i) {
        const auto c = static_cast<std::size_t>(plan.sampled[i]);
        const auto g = static_cast<std::size_t>(
            std::find(m_groups.begin(), m_groups.end(), units[i]) - m_groups.begin());
        m_columnOf[s][c] = columnOfTask(units[i].front());
        m_indicesOf[s][c] = m_groupShards[g].indices[c];
        m_sampleColumnsOf[s][c] = m_groupShards[g].columns[c];
    }
}

std::vector<ClientResult> Runner::trainClients(const RoundPlan &plan,
                                               const std::vector<Payload> &downloads)
{
    const auto s = static_cast<std::size_t>(plan.stage);
    const TensorList noBroadcast;
    std::vector<ClientResult> results(plan.returning.size());
    std::vector<const std::vector<int> *> samples; // asked here: the strategy is not thread-safe
    std::vector<const std::vector<int> *> columns;
    for (int c : plan.returning) {
        const std::vector<int> *chosen = m_strategy->samplesFor(plan, c);
        const std::vector<int> &pooled = m_sampleColumnsOf[s][static_cast<std::size_t>(c)];
        samples.push_back(chosen != nullptr ? chosen
                                            : &m_indicesOf[s][static_cast<std::size_t>(c)]);
        // A strategy's own pick is of the client's primary column (validation keeps such
        // methods out of stages that pool several tasks).
        columns.push_back(chosen == nullptr && !pooled.empty() ? &pooled : nullptr);
    }
    const std::vector<QString> errors =
        m_executor->run(static_cast<int>(plan.returning.size()), [&](int worker, int k) {
            const int c = plan.returning[static_cast<std::size_t>(k)];
            const auto cs = static_cast<std::size_t>(c);
            Rng rng(deriveSeed(m_experiment.seed, {1, s, static_cast<std::uint64_t>(plan.round),
                                                   static_cast<std::uint64_t>(c)}));
            LocalTraining training;
            training.data = &m_data;
            training.layout = &m_layout;
            training.model = m_workers[static_cast<std::size_t>(worker)].get();
            const auto sampledAt = static_cast<std::size_t>(
                std::find(plan.sampled.begin(), plan.sampled.end(), c) - plan.sampled.begin());
            training.download = &downloads[sampledAt];
            training.broadcast = m_stagePlugin ? &m_stagePlugin->broadcast() : &noBroadcast;
            training.broadcastVersion = m_stagePlugin ? m_stagePlugin->broadcastVersion() : -1;
            training.client = c;
            training.column = m_columnOf[s][cs];
            training.stage = plan.stage;
            training.round = plan.round;
            training.indices = samples[static_cast<std::size_t>(k)];
            training.columns = columns[static_cast<std::size_t>(k)];
            training.oldAnswers = &m_oldAnswers[s];
            training.rng = &rng;
            training.config = &m_localConfig;
            training.speed = m_experiment.clients[cs].speed();
            training.clientName = m_clientNames[cs];
            training.cancel = &m_cancel;
            training.encoder = m_encoder.get();
            results[static_cast<std::size_t>(k)] = m_algorithm->train(training, m_clients[cs]);
        });
    for (std::size_t k = 0; k < results.size(); ++k) {
        if (!errors[k].isEmpty()) {
            results[k].error = errors[k];
        }
    }
    return results;
}

void Runner::finishStage(int stage, RoundMetrics &metrics)
{
    // Stage-end work prepares the next stage (EWC's Fisher, LwF's teacher): none after the last.
    if (m_stagePlugin == nullptr || stage + 1 >= static_cast<int>(m_experiment.stages.size())) {
        return;
    }
    const auto s = static_cast<std::size_t>(stage);
    std::vector<Payload> uploads;
    std::vector<double> weights;
    if (m_stagePlugin->collectsFromClients()) {
        std::vector<int> members;
        if (m_experiment.isPositional(s)) {
            // The clients of the stage's last round, on the tasks they trained there.
            const RoundPlan last = planRound(stage, m_experiment.roundsPerStage() - 1);
            assignPositions(last);
            members = last.returning;
        } else {
            for (std::size_t c = 0; c < m_clients.size(); ++c) {
                if (m_columnOf[s][c] >= 0) {
                    members.push_back(static_cast<int>(c));
                }
            }
        }
        uploads.resize(members.size());
        weights.resize(members.size());
        runJobs(
            QStringLiteral("the end of stage %1").arg(stage + 1), static_cast<int>(members.size()),
            [&](int worker, int k) {
                const auto c = static_cast<std::size_t>(members[static_cast<std::size_t>(k)]);
                WorkerModel &model = *m_workers[static_cast<std::size_t>(worker)];
                model.load(m_layout, m_strategy->modelFor(static_cast<int>(c), m_columnOf[s][c]),
                           m_clients[c].local);
                StageEnd end;
                end.data = &m_data;
                end.model = &model;
                end.client = static_cast<int>(c);
                end.column = m_columnOf[s][c];
                end.stage = stage;
                end.indices = &m_indicesOf[s][c];
                end.columns = m_sampleColumnsOf[s][c].empty() ? nullptr : &m_sampleColumnsOf[s][c];
                end.cancel = &m_cancel;
                end.encoder = m_encoder.get();
                for (auto &plugin : m_clients[c].plugins) {
                    Payload upload = plugin->afterStage(end, &weights[static_cast<std::size_t>(k)]);
                    auto &mine = uploads[static_cast<std::size_t>(k)].tensors;
                    mine.insert(mine.end(), upload.tensors.begin(), upload.tensors.end());
                }
            });
        if (m_cancel.isCancelled()) {
            m_cancelled = true; // the stage's last round is dropped and will be run again
            return;
        }
        for (const Payload &upload : uploads) {
            metrics.bytesUp += upload.bytes();
        }
    }
    metrics.bytesDown += m_stagePlugin->afterStage(
        stage, fullModel(m_strategy->modelFor(-1, -1), m_initialLocal), uploads, weights);
}

QJsonObject Runner::storedConfig() const
{
    QJsonObject config = m_experiment.toJson();
    if (!m_userTasks.empty()) {
        // The run records which bytes it trained on: resuming or asking later checks them.
        QJsonArray datasets = config.value(QStringLiteral("datasets")).toArray();
        for (int i = 0; i < datasets.size(); ++i) {
            QJsonObject entry = datasets.at(i).toObject();
            entry.insert(QStringLiteral("sha256"),
                         m_userTasks[static_cast<std::size_t>(i)]->sha256);
            datasets[i] = entry;
        }
        config.insert(QStringLiteral("datasets"), datasets);
    }
    return config;
}

QByteArray Runner::checkpoint(int stage, int round) const
{
    TensorArchive archive;
    QJsonObject &header = archive.header();
    header.insert(QStringLiteral("kind"), QStringLiteral("fcl-run-state"));
    header.insert(QStringLiteral("config_hash"), configHash(m_experiment));
    header.insert(QStringLiteral("stage"), stage);
    header.insert(QStringLiteral("round"), round);
    header.insert(QStringLiteral("global_round"), m_globalRound);
    header.insert(QStringLiteral("stages_completed"), m_stagesCompleted);
    header.insert(QStringLiteral("bytes_up"), QString::number(m_bytesUp));
    header.insert(QStringLiteral("bytes_down"), QString::number(m_bytesDown));
    header.insert(QStringLiteral("clients"), static_cast<int>(m_clients.size()));
    torch::Tensor matrix =
        torch::full({m_matrix.stages(), m_matrix.tasks()}, kNaN, torch::kFloat64);
    torch::Tensor baseline = torch::full({m_matrix.tasks()}, kNaN, torch::kFloat64);
    for (int j = 0; j < m_matrix.tasks(); ++j) {
        baseline[j] = m_matrix.baseline(j);
        for (int i = 0; i < m_matrix.stages(); ++i) {
            matrix[i][j] = m_matrix.at(i, j);
        }
    }
    archive.put("runner/matrix", matrix);
    archive.put("runner/baseline", baseline);
    m_strategy->save(archive);
    if (m_stagePlugin != nullptr) {
        m_stagePlugin->save(archive);
    }
    for (std::size_t c = 0; c < m_clients.size(); ++c) {
        const std::string prefix = clientPrefix(c);
        saveTensorList(archive, prefix + "local", m_clients[c].local);
        for (std::size_t k = 0; k < m_clients[c].plugins.size(); ++k) {
            m_clients[c].plugins[k]->save(archive, prefix + "plugin/" + std::to_string(k) + "/");
        }
    }
    return archive.serialize();
}

void Runner::restore(qint64 runId)
{
    auto latest = m_store->latestCheckpoint(runId);
    if (!latest) {
        throw EngineFailure{latest.errorString()};
    }
    m_runId = runId;
    if (!latest.value().has_value()) {
        // Nothing was saved yet: start again from the beginning, baseline included.
        auto reopened = m_store->reopenRun(runId, -1, -1);
        if (!reopened) {
            throw EngineFailure{reopened.errorString()};
        }
        return;
    }
    const CheckpointRecord &record = *latest.value();
    loadState(record, runId);
    auto reopened = m_store->reopenRun(runId, record.stage, record.round);
    if (!reopened) {
        throw EngineFailure{reopened.errorString()};
    }
}

void Runner::loadState(const CheckpointRecord &record, qint64 runId)
{
    auto parsed =
        TensorArchive::deserialize(record.data, QStringLiteral("checkpoint of run %1").arg(runId));
    if (!parsed) {
        throw EngineFailure{parsed.errorString(), true};
    }
    const TensorArchive &archive = parsed.value();
    const QJsonObject &header = archive.header();
    if (header.value(QStringLiteral("kind")).toString() != QLatin1String("fcl-run-state") ||
        header.value(QStringLiteral("config_hash")).toString() != configHash(m_experiment) ||
        header.value(QStringLiteral("clients")).toInt() != static_cast<int>(m_clients.size())) {
        throw EngineFailure{
            QStringLiteral("checkpoint of run %1 does not belong to this run's experiment")
                .arg(runId),
            true};
    }
    const torch::Tensor matrix = archive.get("runner/matrix");
    const torch::Tensor baseline = archive.get("runner/baseline");
    if (!matrix.defined() || !baseline.defined() || matrix.dim() != 2 ||
        matrix.size(0) != m_matrix.stages() || matrix.size(1) != m_matrix.tasks() ||
        baseline.numel() != m_matrix.tasks()) {
        throw EngineFailure{
            QStringLiteral("checkpoint of run %1 has no valid accuracy matrix").arg(runId), true};
    }
    for (int j = 0; j < m_matrix.tasks(); ++j) {
        m_matrix.setBaseline(j, baseline[j].item<double>());
        for (int i = 0; i < m_matrix.stages(); ++i) {
            m_matrix.set(i, j, matrix[i][j].item<double>());
        }
    }
    const TensorList fresh = cloneList(m_strategy->modelFor(-1, -1));
    m_strategy->load(archive);
    const TensorList &restored = m_strategy->modelFor(-1, -1);
    bool matches = restored.size() == fresh.size();
    for (std::size_t i = 0; matches && i < fresh.size(); ++i) {
        matches = restored[i].name == fresh[i].name &&
                  restored[i].value.sizes() == fresh[i].value.sizes() &&
                  restored[i].value.scalar_type() == fresh[i].value.scalar_type();
    }
    if (!matches) {
        throw EngineFailure{
            QStringLiteral("checkpoint of run %1 does not hold this experiment's model").arg(runId),
            true};
    }
    if (m_stagePlugin != nullptr) {
        m_stagePlugin->load(archive);
    }
    for (std::size_t c = 0; c < m_clients.size(); ++c) {
        const std::string prefix = clientPrefix(c);
        m_clients[c].local = loadTensorList(archive, prefix + "local");
        for (std::size_t k = 0; k < m_clients[c].plugins.size(); ++k) {
            m_clients[c].plugins[k]->load(archive, prefix + "plugin/" + std::to_string(k) + "/");
        }
    }
    m_globalRound = header.value(QStringLiteral("global_round")).toInt() + 1;
    m_stagesCompleted = header.value(QStringLiteral("stages_completed")).toInt();
    m_bytesUp = header.value(QStringLiteral("bytes_up")).toString().toLongLong();
    m_bytesDown = header.value(QStringLiteral("bytes_down")).toString().toLongLong();
}

void Runner::runStage(int stage, int firstRound)
{
    const int rounds = m_experiment.roundsPerStage();
    for (int round = firstRound; round < rounds; ++round) {
        // The tasks' similarity (He et al.), once per run from the untrained base: stored with
        // the first round's observations (a resumed run has them already); outside the round's
        // wall time.
        std::vector<Observation> similarity;
        if (m_globalRound == 0 && wantsTaskSimilarity(m_experiment, *m_base)) {
            similarity = taskSimilarity(*m_encoder, m_data, m_columns);
        }
        QElapsedTimer timer;
        timer.start();
        RoundPlan plan = planRound(stage, round);
        assignPositions(plan);
        const bool anyReturned = !plan.returning.empty();
        const auto returned = static_cast<int>(plan.returning.size()); // before the strategy's pick
        m_strategy->beginRound(plan);
        RoundMetrics metrics;
        metrics.stage = stage;
        metrics.round = round;
        metrics.globalRound = m_globalRound;
        metrics.clientAccuracy.assign(m_experiment.clients.size(), kNaN);
        metrics.clientsSampled = static_cast<int>(plan.sampled.size());
        metrics.clientsReturned = returned;
        std::vector<Payload> downloads;
        const bool star = m_strategy->topology() == Topology::Star;
        for (int c : plan.sampled) {
            downloads.push_back(m_strategy->configure(plan, c));
            if (star) {
                metrics.bytesDown += downloads.back().bytes();
            }
        }

        std::vector<ClientResult> results = trainClients(plan, downloads);
        for (const ClientResult &result : results) {
            if (!result.error.isEmpty()) {
                throw EngineFailure{result.error == kOutOfMemory ? outOfMemoryMessage()
                                                                 : result.error};
            }
            m_cancelled = m_cancelled || result.cancelled;
        }
        if (m_cancelled) {
            return; // the round in progress is dropped; every finished round is stored
        }
        std::vector<Observation> observations = std::move(similarity);
        if (results.empty()) {
            m_observer.onMessage(
                Severity::Warning,
                QStringLiteral("stage %1, round %2: %3; the global model is unchanged")
                    .arg(stage + 1)
                    .arg(round + 1)
                    .arg(anyReturned ? QStringLiteral("the method selected no client to train")
                                     : QStringLiteral("every sampled client dropped out")));
            metrics.trainLoss = std::nan(""); // no loss was measured: stored as no value
            if (anyReturned) {
                m_strategy->observe(plan, results, observations); // what made it select nobody
            }
        } else {
            double lossSum = 0;
            std::int64_t samples = 0;
            for (const ClientResult &result : results) {
                lossSum += result.lossSum;
                samples += result.samples;
                if (star) {
                    metrics.bytesUp += result.upload.bytes();
                }
                metrics.clientAccuracy[static_cast<std::size_t>(result.client)] = result.accuracy;
            }
            m_strategy->aggregate(plan, results);
            m_strategy->observe(plan, results, observations);
            metrics.trainLoss = samples > 0 ? lossSum / static_cast<double>(samples) : std::nan("");
            checkDivergence(stage, round, metrics.trainLoss);
        }

        const Traffic extra = m_strategy->extraTraffic();
        metrics.bytesUp += extra.up;
        metrics.bytesDown += extra.down;

        const bool lastRound = round == rounds - 1;
        if (lastRound || (round + 1) % m_experiment.evaluateEveryRounds() == 0) {
            evaluate(stage, metrics, observations);
        }
        StageMetrics row;
        if (lastRound) {
            for (std::size_t j = 0; j < metrics.accuracyPerTask.size(); ++j) {
                m_matrix.set(stage, static_cast<int>(j), metrics.accuracyPerTask[j]);
            }
            finishStage(stage, metrics);
            if (m_cancelled) {
                return;
            }
            row.stage = stage;
            row.accuracyPerTask = metrics.accuracyPerTask;
            row.averageAccuracy = m_matrix.averageAccuracy(stage);
            row.averageForgetting = m_matrix.averageForgetting(stage);
            m_stagesCompleted = stage + 1;
        }
        m_bytesUp += metrics.bytesUp;
        m_bytesDown += metrics.bytesDown;
        for (Observation &observation : observations) {
            observation.stage = stage;
            observation.round = round;
            observation.globalRound = m_globalRound;
        }
        metrics.wallTimeMs = static_cast<double>(timer.nsecsElapsed()) / 1e6;
        if (m_store != nullptr) {
            RoundCommit commit;
            commit.round = &metrics;
            commit.stage = lastRound ? &row : nullptr;
            commit.observations = &observations;
            const int every = m_options.checkpointEveryRounds;
            if (lastRound || (every > 0 && (m_globalRound + 1) % every == 0)) {
                commit.checkpoint = checkpoint(stage, round);
                commit.checkpointIsStageEnd = lastRound;
            }
            auto committed = writeWithLockRetry([&] {
                return m_store->commitRound(m_runId, commit);
            });
            if (!committed) {
                throw EngineFailure{QStringLiteral("could not save to the run database: %1")
                                        .arg(committed.errorString())};
            }
        }
        for (const Observation &observation : observations) {
            m_observer.onObservation(observation);
        }
        m_observer.onRoundFinished(metrics);
        ++m_globalRound;
        if (lastRound) {
            m_observer.onStageFinished(row);
        }
        if (m_cancel.isCancelled()) {
            m_cancelled = true;
            return;
        }
    }
}

QString Runner::outOfMemoryMessage() const
{
    const std::int64_t machine = machineMemoryBytes();
    return QStringLiteral("out of memory%1: this run needs %2")
        .arg(machine > 0 ? QStringLiteral(" (it may use %1)").arg(formatBytes(double(machine)))
                         : QString(),
             m_memory.explanation());
}

void Runner::warnAboutMemory()
{
    const std::int64_t machine = machineMemoryBytes();
    if (machine > 0 && m_memory.peakBytes > machine) {
        m_observer.onMessage(Severity::Warning,
                             QStringLiteral("this run may need more memory than it may use "
                                            "(%1): %2")
                                 .arg(formatBytes(double(machine)), m_memory.explanation()));
    }
}

Result<Unit> Runner::writeWithLockRetry(const std::function<Result<Unit>()> &write)
{
    QElapsedTimer waited;
    waited.start();
    int pauseMs = 250;
    bool told = false;
    for (;;) {
        Result<Unit> written = write();
        if (written || !RunStore::isLockedError(written.errorString()) ||
            waited.elapsed() + pauseMs > m_options.databaseLockWaitMs) {
            if (told && written) {
                m_observer.onMessage(Severity::Info, QStringLiteral("the run database is free "
                                                                    "again; the round is saved"));
            }
            return written;
        }
        if (!told) {
            m_observer.onMessage(
                Severity::Warning,
                QStringLiteral("another process holds the run database locked; trying again for "
                               "up to %1 s")
                    .arg(m_options.databaseLockWaitMs / 1000));
            told = true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(pauseMs));
        pauseMs = std::min(pauseMs * 2, 4000);
    }
}

RunSummary Runner::summary() const
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

RunOutcome Runner::run()
{
    return execute(0);
}

RunOutcome Runner::resume(qint64 runId)
{
    return execute(runId);
}

RunOutcome Runner::execute(qint64 resumeRunId)
{
    RunOutcome outcome;
    SingleThreadedKernels kernels;
    try {
        m_memory = estimateMemory(m_experiment); // before anything large is allocated
        prepare();
        if (resumeRunId != 0) {
            restore(resumeRunId);
        } else if (m_store != nullptr) {
            auto created = m_store->createRun(m_experiment.name, storedConfig(), m_experiment.seed,
                                              m_executor->workers(), m_columns);
            if (!created) {
                throw EngineFailure{QStringLiteral("could not save to the run database: %1")
                                        .arg(created.errorString())};
            }
            m_runId = created.value();
        }
        RunInfo info;
        info.runId = m_runId;
        info.taskIds = m_columns;
        info.clientNames = m_clientNames;
        info.stages = static_cast<int>(m_experiment.stages.size());
        info.roundsPerStage = m_experiment.roundsPerStage();
        info.parameterBytes = m_parameterBytes;
        info.resumedAtRound = m_globalRound;
        m_observer.onRunStarted(info);
        warnAboutMemory();

        if (m_globalRound == 0) {
            // b[j]: the untrained model on task j, scored under the mask R[L(j)-1][j] is scored
            // under (the answers seen before task j plus its own), so that FWT compares like
            // with like in class-incremental mode too.
            std::vector<Observation> unused;
            const std::vector<TaskAccuracy> baseline = evaluateTasks(
                -1,
                [this](int column) {
                    return m_learnedAt[static_cast<std::size_t>(column)] - 1;
                },
                unused);
            std::vector<double> baselineRow;
            for (std::size_t j = 0; j < baseline.size(); ++j) {
                const double value = m_experiment.isTaskIncremental()
                                         ? baseline[j].taskIncremental
                                         : baseline[j].classIncremental;
                m_matrix.setBaseline(static_cast<int>(j), value);
                baselineRow.push_back(value);
            }
            if (m_store != nullptr) {
                auto stored = m_store->appendBaseline(m_runId, baselineRow);
                if (!stored) {
                    throw EngineFailure{QStringLiteral("could not save to the run database: %1")
                                            .arg(stored.errorString())};
                }
            }
        }
        const int rounds = m_experiment.roundsPerStage();
        for (int stage = m_globalRound / rounds;
             stage < static_cast<int>(m_experiment.stages.size()) && !m_cancelled; ++stage) {
            runStage(stage, stage == m_globalRound / rounds ? m_globalRound % rounds : 0);
        }
        outcome.status = m_cancelled ? RunStatus::Cancelled : RunStatus::Completed;
    } catch (const EngineFailure &failure) {
        outcome.status = RunStatus::Failed;
        outcome.error = failure.message;
        outcome.badInput = failure.badInput;
    } catch (const std::exception &e) {
        outcome.status = RunStatus::Failed;
        const QString error = jobErrorText(e);
        outcome.error = error == kOutOfMemory ? outOfMemoryMessage()
                                              : QStringLiteral("internal error: %1").arg(error);
    }
    outcome.runId = m_runId;
    outcome.summary = summary();
    if (m_store != nullptr && m_runId != 0) {
        if (!outcome.error.isEmpty()) {
            m_store->appendEvent(m_runId, QStringLiteral("error"), outcome.error);
        }
        auto finished = writeWithLockRetry([&] {
            return m_store->finishRun(m_runId, outcome.status, outcome.error, outcome.summary);
        });
        if (!finished && outcome.error.isEmpty()) {
            outcome.status = RunStatus::Failed;
            outcome.error = QStringLiteral("could not save to the run database: %1")
                                .arg(finished.errorString());
        }
    }
    m_observer.onRunFinished(outcome);
    return outcome;
}

} // namespace fcl::detail
