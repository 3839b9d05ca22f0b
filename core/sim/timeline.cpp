// SPDX-License-Identifier: MIT
#include "core/sim/timeline.h"

#include "core/common/rng.h"
#include "core/data/partition.h"
#include "core/data/task_catalog.h"
#include "core/data/user_task.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <optional>

namespace fcl {
namespace {

int catalogPosition(const QString &id)
{
    const auto &tasks = builtinTasks();
    for (std::size_t i = 0; i < tasks.size(); ++i) {
        if (tasks[i].id == id) {
            return static_cast<int>(i);
        }
    }
    return static_cast<int>(tasks.size());
}

QString splitTask(int stage)
{
    return QStringLiteral("fmnist-split-%1").arg(stage % 5 + 1);
}

} // namespace

Timeline makeHomogeneous(const Timeline &timeline, int clients)
{
    Timeline result;
    for (std::size_t s = 0; s < timeline.size(); ++s) {
        std::map<QString, int> votes;
        for (const QString &task : timeline[s]) {
            if (!task.isEmpty()) {
                ++votes[task];
            }
        }
        QString chosen = splitTask(static_cast<int>(s));
        int best = 0;
        for (const auto &[task, count] : votes) {
            if (count > best ||
                (count == best && catalogPosition(task) < catalogPosition(chosen))) {
                best = count;
                chosen = task;
            }
        }
        result.push_back(std::vector<QString>(static_cast<std::size_t>(clients), chosen));
    }
    return result;
}

Timeline makeHeterogeneous(const Timeline &timeline, int clients, std::uint64_t seed)
{
    std::vector<QString> pool;
    for (const auto &stage : timeline) {
        for (const QString &task : stage) {
            if (!task.isEmpty() && std::find(pool.begin(), pool.end(), task) == pool.end()) {
                pool.push_back(task);
            }
        }
    }
    if (pool.size() < 2) {
        pool.clear();
        for (int k = 0; k < 5; ++k) {
            pool.push_back(splitTask(k));
        }
    }
    std::sort(pool.begin(), pool.end(), [](const QString &a, const QString &b) {
        return catalogPosition(a) < catalogPosition(b);
    });
    Timeline result;
    for (std::size_t s = 0; s < timeline.size(); ++s) {
        std::vector<QString> order = pool;
        Rng rng(deriveSeed(seed, {11, s}));
        shuffleInPlace(order, rng);
        std::vector<QString> row;
        for (int c = 0; c < clients; ++c) {
            row.push_back(order[static_cast<std::size_t>(c) % order.size()]);
        }
        result.push_back(std::move(row));
    }
    return result;
}

namespace {

/// The request for the clients `member(c)` selects, with the partition section's parameters.
template <typename Member>
PartitionRequest partitionRequest(const Experiment &experiment, const std::vector<int> &labels,
                                  std::vector<std::size_t> &members, Member member)
{
    const MethodChoice &partition = experiment.partition;
    PartitionRequest request;
    request.method = partition.method == QLatin1String("dirichlet") ? PartitionMethod::Dirichlet
                     : partition.method == QLatin1String("dirichlet_client_mix")
                         ? PartitionMethod::DirichletClientMix
                     : partition.method == QLatin1String("quantity") ? PartitionMethod::Quantity
                                                                     : PartitionMethod::Iid;
    members.clear();
    for (std::size_t c = 0; c < experiment.clients.size(); ++c) {
        if (!member(c)) {
            continue;
        }
        const ClientSpec &client = experiment.clients[c];
        members.push_back(c);
        request.requested.push_back(client.samplesPerTask());
        request.alpha.push_back(
            client.hasOwnAlpha() ? client.dirichletAlpha()
                                 : partition.params.value(QStringLiteral("alpha"), 1.0).toDouble());
    }
    request.labels = labels;
    request.classAlpha = partition.params.value(QStringLiteral("alpha"), 0.5).toDouble();
    request.quantityBeta = partition.params.value(QStringLiteral("beta"), 1.0).toDouble();
    request.minPerClient =
        partition.params.value(QStringLiteral("min_samples_per_client"), 1).toInt();
    request.maxQuantityDraws =
        partition.params.value(QStringLiteral("max_draws"), request.maxQuantityDraws).toInt();
    request.rounding =
        partition.params.value(QStringLiteral("rounding")).toString() == QLatin1String("floor")
            ? QuantityRounding::Floor
            : QuantityRounding::Apportion;
    return request;
}

} // namespace

PartitionRequest stagePartitionRequest(const Experiment &experiment, std::size_t stage,
                                       std::size_t column, const std::vector<int> &labels,
                                       std::vector<std::size_t> &members)
{
    if (experiment.hasUnits(stage)) { // its clients train group shards (groupShardRequest)
        members.clear();
        return {};
    }
    const QString taskId = experiment.taskColumns()[column];
    PartitionRequest request = partitionRequest(experiment, labels, members, [&](std::size_t c) {
        return experiment.stages[stage][c] == taskId;
    });
    request.seed = deriveSeed(experiment.seed, {3, stage, column});
    return request;
}

std::vector<TaskGroup> positionalUnits(const Experiment &experiment, std::size_t stage,
                                       const std::vector<int> &sampled)
{
    std::vector<TaskGroup> groups;
    if (experiment.hasUnits(stage)) {
        const std::vector<TaskGroup> &units = experiment.stageUnits[stage].units;
        for (std::size_t i = 0; i < sampled.size(); ++i) {
            groups.push_back(units[i % units.size()]);
        }
    }
    return groups;
}

std::vector<TaskGroup> stageGroups(const Experiment &experiment)
{
    std::vector<TaskGroup> groups;
    for (std::size_t s = 0; s < experiment.stages.size(); ++s) {
        if (!experiment.hasUnits(s)) {
            continue;
        }
        for (const TaskGroup &group : experiment.stageUnits[s].units) {
            if (std::find(groups.begin(), groups.end(), group) == groups.end()) {
                groups.push_back(group);
            }
        }
    }
    return groups;
}

Result<std::vector<GroupSample>> groupPool(const Experiment &experiment, const TaskGroup &group,
                                           const std::vector<int> &poolSizes)
{
    std::vector<GroupSample> pool;
    if (group.size() == 1) {
        for (int p = 0; p < poolSizes.front(); ++p) {
            pool.push_back({0, p});
        }
        return pool;
    }
    int perTask = 0;
    for (const ClientSpec &client : experiment.clients) {
        perTask += client.samplesPerTask();
    }
    const std::vector<QString> columns = experiment.taskColumns();
    for (std::size_t k = 0; k < group.size(); ++k) {
        if (poolSizes[k] < perTask) {
            return Error{QStringLiteral("task \"%1\"").arg(group[k]),
                         QStringLiteral("the group needs %1 of its samples (samples_per_task "
                                        "summed over the clients) but it has %2")
                             .arg(perTask)
                             .arg(poolSizes[k])};
        }
        std::vector<int> order(static_cast<std::size_t>(poolSizes[k]));
        std::iota(order.begin(), order.end(), 0);
        const auto column = static_cast<std::uint64_t>(
            std::find(columns.begin(), columns.end(), group[k]) - columns.begin());
        Rng rng(deriveSeed(experiment.seed, {32, column}));
        shuffleInPlace(order, rng);
        for (int i = 0; i < perTask; ++i) {
            pool.push_back({static_cast<int>(k), order[static_cast<std::size_t>(i)]});
        }
    }
    return pool;
}

std::vector<int> pooledLabels(const std::vector<GroupSample> &pool,
                              const std::vector<const std::vector<int> *> &labels)
{
    constexpr int kTaskOffset = 1000000; // keeps the classes of different tasks apart
    std::vector<int> pooled;
    pooled.reserve(pool.size());
    for (const GroupSample &sample : pool) {
        pooled.push_back((*labels[static_cast<std::size_t>(sample.task)])[static_cast<std::size_t>(
                             sample.position)] +
                         sample.task * kTaskOffset);
    }
    return pooled;
}

PartitionRequest groupShardRequest(const Experiment &experiment, const TaskGroup &group,
                                   const std::vector<int> &labels,
                                   std::vector<std::size_t> &members)
{
    const std::vector<QString> columns = experiment.taskColumns();
    PartitionRequest request = partitionRequest(experiment, labels, members, [](std::size_t) {
        return true;
    });
    for (std::size_t k = 0; k < members.size(); ++k) {
        request.requested[k] *= static_cast<int>(group.size()); // samples_per_task per task
    }
    for (std::size_t k = 0; k < group.size(); ++k) {
        const auto column = static_cast<std::uint64_t>(
            std::find(columns.begin(), columns.end(), group[k]) - columns.begin());
        request.seed = group.size() == 1 ? deriveSeed(experiment.seed, {30, column})
                       : k == 0          ? deriveSeed(experiment.seed, {31, column})
                                         : deriveSeed(request.seed, {column});
    }
    return request;
}

Result<GroupSplit> splitGroup(const Experiment &experiment, const TaskGroup &group,
                              const std::vector<const std::vector<int> *> &labels)
{
    std::vector<int> sizes;
    for (const std::vector<int> *taskLabels : labels) {
        sizes.push_back(static_cast<int>(taskLabels->size()));
    }
    auto pool = groupPool(experiment, group, sizes);
    if (!pool) {
        return pool.errors();
    }
    GroupSplit split;
    split.pool = std::move(pool).value();
    auto parts = partitionSamples(
        groupShardRequest(experiment, group, pooledLabels(split.pool, labels), split.members));
    if (!parts) {
        return Error{QStringLiteral("%1 \"%2\" (mixed or positional stages)")
                         .arg(group.size() == 1 ? QStringLiteral("task") : QStringLiteral("group"),
                              QStringList(group.begin(), group.end()).join(QStringLiteral(" + "))),
                     parts.errorString()};
    }
    split.parts = std::move(parts).value();
    return split;
}

std::vector<int> nominalPoolLabels(const QString &taskId)
{
    constexpr int kImagesPerClass = 6000;
    std::vector<int> labels;
    if (const TaskSpec *task = findTask(taskId)) {
        for (int label : task->sourceClasses) {
            labels.insert(labels.end(), kImagesPerClass, label);
        }
    }
    return labels;
}

std::vector<Error> checkPartitions(const Experiment &experiment)
{
    std::vector<Error> errors;
    const std::vector<QString> columns = experiment.taskColumns();
    // A user task's pool is its training part, labelled by answer as the engine partitions it; an
    // unreadable file is reported by the experiment's own checks, not again here.
    std::vector<std::optional<std::vector<int>>> pools;
    for (const QString &column : columns) {
        if (const UserTaskSource *source = experiment.dataset(column)) {
            auto loaded = loadUserTask(*source, experiment.seed);
            if (!loaded) {
                pools.emplace_back();
                continue;
            }
            std::vector<int> labels;
            for (const UserSample &sample : loaded.value()->train) {
                labels.push_back(sample.answerIndex);
            }
            pools.emplace_back(std::move(labels));
        } else {
            pools.emplace_back(nominalPoolLabels(column));
        }
    }
    for (const TaskGroup &group : stageGroups(experiment)) {
        std::vector<const std::vector<int> *> labels;
        for (const QString &task : group) {
            const auto j = static_cast<std::size_t>(
                std::find(columns.begin(), columns.end(), task) - columns.begin());
            if (pools[j]) {
                labels.push_back(&*pools[j]);
            }
        }
        if (labels.size() != group.size()) {
            continue; // an unreadable file, reported elsewhere
        }
        const auto split = splitGroup(experiment, group, labels);
        if (!split) {
            errors.push_back(split.errors().front());
        }
    }
    for (std::size_t s = 0; s < experiment.stages.size(); ++s) {
        for (std::size_t j = 0; j < columns.size(); ++j) {
            if (!pools[j]) {
                continue;
            }
            std::vector<std::size_t> members;
            const PartitionRequest request =
                stagePartitionRequest(experiment, s, j, *pools[j], members);
            if (members.empty()) {
                continue;
            }
            auto parts = partitionSamples(request);
            if (!parts) {
                errors.push_back({QStringLiteral("stages[%1] task \"%2\"").arg(s).arg(columns[j]),
                                  parts.errorString()});
            }
        }
    }
    return errors;
}

} // namespace fcl
