// SPDX-License-Identifier: MIT
#include "core/sim/timeline.h"

#include "core/common/rng.h"
#include "core/data/partition.h"
#include "core/data/task_catalog.h"
#include "core/data/user_task.h"

#include <algorithm>
#include <map>
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
    if (experiment.isPositional(stage)) { // its clients train the task shards (taskShardRequest)
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

std::vector<QString> positionalTasks(const Experiment &experiment, std::size_t stage,
                                     const std::vector<int> &sampled)
{
    std::vector<QString> tasks;
    if (experiment.isPositional(stage)) {
        const std::vector<QString> &units = experiment.positional[stage];
        for (std::size_t i = 0; i < sampled.size(); ++i) {
            tasks.push_back(units[i % units.size()]);
        }
    }
    return tasks;
}

PartitionRequest taskShardRequest(const Experiment &experiment, std::size_t column,
                                  const std::vector<int> &labels, std::vector<std::size_t> &members)
{
    const QString taskId = experiment.taskColumns()[column];
    bool positional = false;
    for (std::size_t s = 0; s < experiment.stages.size(); ++s) {
        if (experiment.isPositional(s)) {
            const auto &units = experiment.positional[s];
            positional = positional || std::find(units.begin(), units.end(), taskId) != units.end();
        }
    }
    if (!positional) {
        members.clear();
        return {};
    }
    PartitionRequest request = partitionRequest(experiment, labels, members, [](std::size_t) {
        return true;
    });
    request.seed = deriveSeed(experiment.seed, {30, column});
    return request;
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
    for (std::size_t j = 0; j < columns.size(); ++j) {
        std::vector<std::size_t> members;
        if (!pools[j]) {
            continue;
        }
        const PartitionRequest request = taskShardRequest(experiment, j, *pools[j], members);
        if (members.empty()) {
            continue;
        }
        auto parts = partitionSamples(request);
        if (!parts) {
            errors.push_back({QStringLiteral("task \"%1\" (positional stages)").arg(columns[j]),
                              parts.errorString()});
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
