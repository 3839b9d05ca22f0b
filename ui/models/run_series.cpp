// SPDX-License-Identifier: MIT
#include "ui/models/run_series.h"

#include <QJsonArray>

#include <cmath>
#include <map>

namespace fcl::ui {

void RunSeries::reset(const QString &runName, const std::vector<QString> &tasks,
                      const std::vector<QString> &clients, const std::vector<int> &firstStage,
                      int stageCount, int roundsEachStage)
{
    *this = RunSeries();
    name = runName;
    taskIds = tasks;
    clientNames = clients;
    learnedAt = firstStage;
    stages = stageCount;
    roundsPerStage = roundsEachStage;
    taskAccuracy.resize(tasks.size());
    clientRounds.resize(clients.size());
    clientAccuracy.resize(clients.size());
    matrix = AccuracyMatrix(stageCount, firstStage);
}

void RunSeries::addRound(const RoundMetrics &round)
{
    const double x = round.stage * roundsPerStage + round.round + 1;
    rounds.append(x);
    const double previousUp = cumulativeUpMB.isEmpty() ? 0.0 : cumulativeUpMB.last();
    const double previousDown = cumulativeDownMB.isEmpty() ? 0.0 : cumulativeDownMB.last();
    cumulativeUpMB.append(previousUp + static_cast<double>(round.bytesUp) / 1e6);
    cumulativeDownMB.append(previousDown + static_cast<double>(round.bytesDown) / 1e6);
    loss.append(round.trainLoss);
    if (round.evaluated) {
        evaluatedRounds.append(x);
        for (std::size_t j = 0; j < taskAccuracy.size(); ++j) {
            // A task is drawn from the stage it is first trained in.
            const bool seen = j < learnedAt.size() && learnedAt[j] <= round.stage;
            const double value =
                j < round.accuracyPerTask.size() ? round.accuracyPerTask[j] : std::nan("");
            taskAccuracy[j].append(seen ? value : std::nan(""));
        }
        // Generative runs score every evaluated round; these curves start with the first.
        const auto appendPerTask = [&](std::vector<QVector<double>> &curves,
                                       const std::vector<double> &values) {
            if (values.empty()) {
                return;
            }
            curves.resize(taskAccuracy.size());
            for (std::size_t j = 0; j < curves.size(); ++j) {
                const bool seen = j < learnedAt.size() && learnedAt[j] <= round.stage;
                const double value = j < values.size() ? values[j] : std::nan("");
                curves[j].resize(evaluatedRounds.size() - 1, std::nan(""));
                curves[j].append(seen ? value : std::nan(""));
            }
        };
        appendPerTask(taskF1, round.tokenF1PerTask);
        appendPerTask(taskFormat, round.formatPerTask);
        appendPerTask(taskKnowledge, round.knowledgePerTask);
        averageAccuracy.append(round.averageAccuracy);
        averageForgetting.append(round.averageForgetting);
    }
    for (std::size_t c = 0; c < round.clientAccuracy.size() && c < clientAccuracy.size(); ++c) {
        if (!std::isnan(round.clientAccuracy[c])) {
            clientRounds[c].append(x);
            clientAccuracy[c].append(round.clientAccuracy[c]);
        }
    }
}

void RunSeries::addStage(const StageMetrics &stage)
{
    for (std::size_t j = 0; j < stage.accuracyPerTask.size(); ++j) {
        matrix.set(stage.stage, static_cast<int>(j), stage.accuracyPerTask[j]);
    }
    stageEnds.append((stage.stage + 1) * roundsPerStage);
    stagesFinished = stage.stage + 1;
}

QStringList RunSeries::observationKinds() const
{
    QStringList kinds;
    for (const Observation &o : observations) {
        if (!kinds.contains(o.kind)) {
            kinds << o.kind;
        }
    }
    return kinds;
}

std::vector<const Observation *> RunSeries::observationsOf(const QString &kind) const
{
    std::vector<const Observation *> list;
    for (const Observation &o : observations) {
        if (o.kind == kind) {
            list.push_back(&o);
        }
    }
    return list;
}

RunSeries RunSeries::fromStore(const RunRecord &run, const std::vector<MetricRow> &rows,
                               const AccuracyMatrix &matrix,
                               const std::vector<Observation> &observations)
{
    RunSeries series;
    std::vector<QString> clients;
    for (const QJsonValue &client : run.config.value(QStringLiteral("clients")).toArray()) {
        clients.push_back(client.toObject().value(QStringLiteral("name")).toString());
    }
    std::vector<int> learnedAt;
    for (int j = 0; j < matrix.tasks(); ++j) {
        learnedAt.push_back(matrix.learnedAt(j));
    }
    const int roundsPerStage = run.config.value(QStringLiteral("federated"))
                                   .toObject()
                                   .value(QStringLiteral("rounds_per_stage"))
                                   .toInt(1);
    series.reset(run.name, run.taskIds, clients, learnedAt, matrix.stages(), roundsPerStage);
    series.matrix = matrix;

    // Group the long-format rows back into rounds, in stored order.
    std::map<std::pair<int, int>, RoundMetrics> byRound;
    std::vector<std::pair<int, int>> order;
    for (const MetricRow &row : rows) {
        if (row.round < 0) {
            continue;
        }
        const auto key = std::make_pair(row.stage, row.round);
        auto found = byRound.find(key);
        if (found == byRound.end()) {
            RoundMetrics fresh;
            fresh.stage = row.stage;
            fresh.round = row.round;
            fresh.accuracyPerTask.assign(run.taskIds.size(), std::nan(""));
            fresh.clientAccuracy.assign(clients.size(), std::nan(""));
            found = byRound.emplace(key, fresh).first;
            order.push_back(key);
        }
        RoundMetrics &m = found->second;
        if (row.kind == QLatin1String("acc") && row.task >= 0 &&
            row.task < static_cast<int>(m.accuracyPerTask.size())) {
            m.accuracyPerTask[static_cast<std::size_t>(row.task)] = row.value;
            m.evaluated = true;
        } else if ((row.kind == QLatin1String("f1") || row.kind == QLatin1String("format") ||
                    row.kind == QLatin1String("knowledge")) &&
                   row.task >= 0 && row.task < static_cast<int>(m.accuracyPerTask.size())) {
            std::vector<double> &values = row.kind == QLatin1String("f1") ? m.tokenF1PerTask
                                          : row.kind == QLatin1String("format")
                                              ? m.formatPerTask
                                              : m.knowledgePerTask;
            values.resize(m.accuracyPerTask.size(), std::nan(""));
            values[static_cast<std::size_t>(row.task)] = row.value;
        } else if (row.kind == QLatin1String("avg_acc")) {
            m.averageAccuracy = row.value;
            m.evaluated = true;
        } else if (row.kind == QLatin1String("avg_forgetting")) {
            m.averageForgetting = row.value;
        } else if (row.kind == QLatin1String("client_acc") && row.client >= 0 &&
                   row.client < static_cast<int>(m.clientAccuracy.size())) {
            m.clientAccuracy[static_cast<std::size_t>(row.client)] = row.value;
        } else if (row.kind == QLatin1String("loss")) {
            m.trainLoss = row.value;
        } else if (row.kind == QLatin1String("bytes_up")) {
            m.bytesUp = static_cast<std::int64_t>(row.value);
        } else if (row.kind == QLatin1String("bytes_down")) {
            m.bytesDown = static_cast<std::int64_t>(row.value);
        }
    }
    for (const auto &key : order) {
        series.addRound(byRound[key]);
    }
    for (int s = 0; s < matrix.stages(); ++s) {
        if (!std::isnan(matrix.at(s, 0))) {
            series.stageEnds.append((s + 1) * roundsPerStage);
            series.stagesFinished = s + 1;
        }
    }
    series.observations = observations;
    return series;
}

} // namespace fcl::ui
