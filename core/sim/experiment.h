// SPDX-License-Identifier: MIT
#pragma once

#include "core/common/error.h"
#include "core/data/user_task.h"

#include <QJsonObject>
#include <QString>
#include <QVariantMap>

#include <cstdint>
#include <vector>

namespace fcl {

/// A chosen method and its parameters, defaults filled in (keys as in the registry).
struct MethodChoice {
    QString method;
    QVariantMap params;

    double number(const QString &key) const { return params.value(key).toDouble(); }
    int integer(const QString &key) const { return params.value(key).toInt(); }
    QString text(const QString &key) const { return params.value(key).toString(); }
};

/// What one client trains in a mixed or positional stage: one task, or several whose training
/// samples are pooled before the split (FCIT's capability groups).
using TaskGroup = std::vector<QString>;

/// The form of a stage whose cells are not per client.
struct StageUnits {
    enum class Kind {
        PerClient,  ///< stages[s][c] says what client c trains
        Mixed,      ///< `{"mix": [tasks]}`: every client trains the one group, units[0]
        Positional, ///< `{"positional": [task or [tasks], ...]}`: the i-th sampled client of a
                    ///< round trains units[i % size] (FCIT's heterogeneous setting)
    };
    Kind kind = Kind::PerClient;
    std::vector<TaskGroup> units;
};

struct ClientSpec {
    QString name;
    QVariantMap params; ///< samples_per_task, dirichlet_alpha (optional), speed, dropout

    int samplesPerTask() const { return params.value(QStringLiteral("samples_per_task")).toInt(); }
    double speed() const { return params.value(QStringLiteral("speed")).toDouble(); }
    double dropout() const { return params.value(QStringLiteral("dropout")).toDouble(); }
    bool hasOwnAlpha() const { return params.contains(QStringLiteral("dirichlet_alpha")); }
    double dirichletAlpha() const
    {
        return params.value(QStringLiteral("dirichlet_alpha")).toDouble();
    }
};

/// One experiment file, validated: every method exists, every value is in range, every client has
/// at least one task. Plain value type; any thread.
struct Experiment {
    QString name;
    QString description;
    std::uint64_t seed = 1;
    MethodChoice model;     ///< method = backbone id
    MethodChoice federated; ///< method + rounds_per_stage, lr, ...
    MethodChoice continual;
    MethodChoice partition;
    std::vector<ClientSpec> clients;
    /// stages[s][c]: the task id client c trains in stage s, or empty for none.
    std::vector<std::vector<QString>> stages;
    /// stageUnits[s], parallel to stages (or empty when every stage is per client). In a mixed or
    /// positional stage every client takes part, and each group's samples (its tasks' pools,
    /// concatenated) are split once over all clients, so a group that recurs keeps a client's
    /// shard. stages[s][c] then holds the first task of units[c % size], what a static view of
    /// the timeline shows.
    std::vector<StageUnits> stageUnits;
    QVariantMap evaluation;  ///< every_rounds, test_samples_per_task, mode
    QString fashionMnistDir; ///< empty: defaultFashionMnistDir()
    /// Tasks made from the user's files ("datasets"), usable in stages by their id.
    std::vector<UserTaskSource> datasets;

    int roundsPerStage() const { return federated.integer(QStringLiteral("rounds_per_stage")); }
    int evaluateEveryRounds() const
    {
        return evaluation.value(QStringLiteral("every_rounds")).toInt();
    }
    int testSamplesPerTask() const
    {
        return evaluation.value(QStringLiteral("test_samples_per_task")).toInt();
    }
    bool isTaskIncremental() const
    {
        return evaluation.value(QStringLiteral("mode")).toString() ==
               QLatin1String("task_incremental");
    }
    /// Multi-head training (loss over each task's own answers): evaluation.train_heads
    /// "per_task", or "auto" in task-incremental mode.
    bool trainsTaskHeads() const
    {
        const QString heads = evaluation.value(QStringLiteral("train_heads")).toString();
        return heads == QLatin1String("per_task") ||
               (heads == QLatin1String("auto") && isTaskIncremental());
    }
    StageUnits::Kind stageKind(std::size_t s) const
    {
        return s < stageUnits.size() ? stageUnits[s].kind : StageUnits::Kind::PerClient;
    }
    bool isPositional(std::size_t s) const { return stageKind(s) == StageUnits::Kind::Positional; }
    /// True for mixed and positional stages (their clients train groups, see stageUnits).
    bool hasUnits(std::size_t s) const { return stageKind(s) != StageUnits::Kind::PerClient; }
    /// The task ids stage `s` trains, in order: its groups' tasks, or its cells ("" for idle).
    std::vector<QString> stageTasks(std::size_t s) const;
    /// Distinct task ids in order of first appearance: the accuracy matrix's columns.
    std::vector<QString> taskColumns() const;
    /// For each column, the first stage that trains it.
    std::vector<int> learnedAtStage() const;

    /// The dataset named `id`, or nullptr.
    const UserTaskSource *dataset(const QString &id) const;
    /// True when `id` is a built-in task or one of the datasets.
    bool hasTask(const QString &id) const;

    /// The full document with every default written out (what a run stores as its config).
    QJsonObject toJson() const;
};

/// The method chosen in `section` ("model", "federated", ...) of a config document (an
/// Experiment::toJson(), e.g. a stored run's), read through the section's selector key.
QString sectionMethod(const QJsonObject &config, const QString &section);

/// Parses and validates an experiment document. Collects every error, each naming its field
/// ("federated.lr", "clients[2].dirichlet_alpha", "stages[1].clinic-z") and why.
/// Relative dataset paths are resolved against `baseDir` (empty: the current directory); every
/// dataset file is read and checked (cached, see loadUserTask).
Result<Experiment> parseExperiment(const QByteArray &json, const QString &baseDir = {});
/// Reads the file, then parseExperiment(); I/O errors name the path.
Result<Experiment> loadExperimentFile(const QString &path);

} // namespace fcl
