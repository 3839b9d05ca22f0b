// SPDX-License-Identifier: MIT
#pragma once

#include "core/common/error.h"
#include "core/data/partition.h"
#include "core/sim/experiment.h"

#include <QString>
#include <QStringList>

#include <cstdint>
#include <vector>

namespace fcl {

/// A timeline: rows are stages, columns are clients, cells are task ids ("" = idle).
using Timeline = std::vector<std::vector<QString>>;

/// How a stage of a timeline is shown when it is not per client: a mixed stage (one group every
/// client trains) or a positional one (the i-th sampled client trains units[i]). Each unit is a
/// task id or a group's ids joined by " + ". Empty units: a per-client stage.
struct StageForm {
    bool positional = false;
    QStringList units;
};

/// FCIT's homogeneous setting: every client gets the same task in a stage. The stage's task is
/// the one most of its clients already have (ties: the earliest in the catalog); an empty stage
/// takes the class-incremental split of its position (fmnist-split-1, -2, ...). Pure function.
Timeline makeHomogeneous(const Timeline &timeline, int clients);

/// FCIT's heterogeneous setting: clients get different tasks in the same stage. The task pool is
/// every task the timeline uses (or the five class-incremental splits when it uses fewer than
/// two); in each stage the pool is shuffled with `seed` and dealt round-robin over the clients,
/// so neighbouring clients differ whenever the pool has two or more tasks. Pure function.
Timeline makeHeterogeneous(const Timeline &timeline, int clients, std::uint64_t seed);

/// The partition of one task column in one stage, exactly as the engine draws it: which clients
/// (in client order) share the column's pool, with their sizes, Dirichlet alphas, the method's
/// parameters and the seed derived from (experiment seed, stage, column). `labels` is the pool's
/// source-class labels; `members` receives the client indices. Empty request: no client.
PartitionRequest stagePartitionRequest(const Experiment &experiment, std::size_t stage,
                                       std::size_t column, const std::vector<int> &labels,
                                       std::vector<std::size_t> &members);

/// The distinct task groups that mixed and positional stages train, in order of first use.
std::vector<TaskGroup> stageGroups(const Experiment &experiment);

/// A sample of a group's pool: the task (its index in the group) and the position in its pool.
struct GroupSample {
    int task = 0;
    int position = 0;
};

/// The samples a group's split draws from. A one-task group: its whole pool. A larger one: from
/// each task's pool a seeded subset of the clients' samples_per_task summed, so that its tasks
/// weigh alike, as FCIT's concatenated per-task files do. `poolSizes`: each task's pool size; an
/// Error when one is too small.
Result<std::vector<GroupSample>> groupPool(const Experiment &experiment, const TaskGroup &group,
                                           const std::vector<int> &poolSizes);

/// The labels of `pool`'s samples, each task's shifted so that classes of different tasks stay
/// apart (a label-skew split treats them as classes). `labels[k]`: task k's pool labels.
std::vector<int> pooledLabels(const std::vector<GroupSample> &pool,
                              const std::vector<const std::vector<int> *> &labels);

/// The split of one group's pooled samples (`labels` from pooledLabels) over every client, for
/// the mixed and positional stages that train it: a client keeps its shard of the group in every
/// such stage (FCIT's per-task partition; a capability group's files are pooled before the split,
/// as FCIT does). Client c asks for samples_per_task x the group's size. Seed from (experiment
/// seed, 30, column) for a one-task group, (seed, 31, columns...) for a larger one.
PartitionRequest groupShardRequest(const Experiment &experiment, const TaskGroup &group,
                                   const std::vector<int> &labels,
                                   std::vector<std::size_t> &members);

/// One group's pooled samples split over every client (groupPool, pooledLabels,
/// groupShardRequest, then the partition): client members[k] gets the pool positions parts[k].
struct GroupSplit {
    std::vector<GroupSample> pool;
    std::vector<std::size_t> members;
    std::vector<std::vector<int>> parts;
};

/// Splits `group` given each task's pool labels (`labels[k]`: task k's). Errors name the task
/// whose pool is too small, or the task or group whose partition fails.
Result<GroupSplit> splitGroup(const Experiment &experiment, const TaskGroup &group,
                              const std::vector<const std::vector<int> *> &labels);

/// In a mixed or positional stage, the group each of `sampled` (client indices in client order,
/// as a round samples them) trains: the i-th gets units[i % size] (a mixed stage has one unit).
/// Empty for a stage whose cells are per client. Pure function.
std::vector<TaskGroup> positionalUnits(const Experiment &experiment, std::size_t stage,
                                       const std::vector<int> &sampled);

/// A task's training-pool labels as the catalog sizes it (6,000 images per Fashion-MNIST class),
/// for previews and checks that must not load the data.
std::vector<int> nominalPoolLabels(const QString &taskId);

/// Checks every stage's partition against the catalog's training-pool sizes (6,000 images per
/// Fashion-MNIST class) without loading data: errors name the stage and task, as the engine would.
std::vector<Error> checkPartitions(const Experiment &experiment);

} // namespace fcl
