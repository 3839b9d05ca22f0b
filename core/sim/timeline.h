// SPDX-License-Identifier: MIT
#pragma once

#include "core/common/error.h"
#include "core/data/partition.h"
#include "core/sim/experiment.h"

#include <QString>

#include <cstdint>
#include <vector>

namespace fcl {

/// A timeline: rows are stages, columns are clients, cells are task ids ("" = idle).
using Timeline = std::vector<std::vector<QString>>;

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

/// The split of one task column over every client, for the positional stages that train it: a
/// client keeps its shard of the task in every such stage (FCIT's per-task partition). Seed from
/// (experiment seed, 30, column). Empty request (no member): no positional stage trains it.
PartitionRequest taskShardRequest(const Experiment &experiment, std::size_t column,
                                  const std::vector<int> &labels,
                                  std::vector<std::size_t> &members);

/// In positional stage `stage`, the task each of `sampled` (client indices in client order, as a
/// round samples them) trains: the i-th gets positional[stage][i % size]. Empty for a stage whose
/// cells are per client. Pure function.
std::vector<QString> positionalTasks(const Experiment &experiment, std::size_t stage,
                                     const std::vector<int> &sampled);

/// A task's training-pool labels as the catalog sizes it (6,000 images per Fashion-MNIST class),
/// for previews and checks that must not load the data.
std::vector<int> nominalPoolLabels(const QString &taskId);

/// Checks every stage's partition against the catalog's training-pool sizes (6,000 images per
/// Fashion-MNIST class) without loading data: errors name the stage and task, as the engine would.
std::vector<Error> checkPartitions(const Experiment &experiment);

} // namespace fcl
