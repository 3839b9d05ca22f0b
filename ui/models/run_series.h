// SPDX-License-Identifier: MIT
#pragma once

#include "core/metrics/accuracy_matrix.h"
#include "core/metrics/observation.h"
#include "core/metrics/run_metrics.h"
#include "core/store/run_store.h"

#include <QString>
#include <QStringList>
#include <QVector>

#include <vector>

namespace fcl::ui {

/// The curves of one run, in the shape the plots draw them: built live from the engine's events
/// or after the fact from stored metric rows (both go through addRound/addStage). GUI thread.
struct RunSeries {
    QString name;
    std::vector<QString> taskIds;
    std::vector<QString> clientNames;
    std::vector<int> learnedAt;
    int stages = 0;
    int roundsPerStage = 0;

    QVector<double> evaluatedRounds; ///< x (1-based global round) of evaluated rounds
    std::vector<QVector<double>>
        taskAccuracy; ///< [task] y aligned with evaluatedRounds (NaN = not yet seen)
    /// [task] token F1 aligned with evaluatedRounds; empty for classifier runs (no F1 stored)
    std::vector<QVector<double>> taskF1;
    /// [task] format and knowledge accuracy (CoIN's split), aligned as taskF1; generative runs
    std::vector<QVector<double>> taskFormat;
    std::vector<QVector<double>> taskKnowledge;
    QVector<double> averageAccuracy;
    QVector<double> averageForgetting;
    std::vector<QVector<double>> clientRounds;   ///< [client] x
    std::vector<QVector<double>> clientAccuracy; ///< [client] y
    QVector<double> rounds;                      ///< x of every round
    QVector<double> cumulativeUpMB;
    QVector<double> cumulativeDownMB;
    QVector<double> loss;
    QVector<double> stageEnds; ///< x of the last round of each finished stage
    AccuracyMatrix matrix;
    int stagesFinished = 0;
    /// Methods' observations in arrival order; observationKinds() in order of first appearance.
    std::vector<Observation> observations;
    QStringList observationKinds() const;
    /// The observations of one kind, in order.
    std::vector<const Observation *> observationsOf(const QString &kind) const;

    void reset(const QString &runName, const std::vector<QString> &tasks,
               const std::vector<QString> &clients, const std::vector<int> &firstStage,
               int stageCount, int roundsEachStage);
    void addRound(const RoundMetrics &round);
    void addStage(const StageMetrics &stage);
    void addObservation(const Observation &observation) { observations.push_back(observation); }
    int pointCount() const { return static_cast<int>(rounds.size()); }

    /// Rebuilds a stored run (for history, comparison and reports).
    static RunSeries fromStore(const RunRecord &run, const std::vector<MetricRow> &rows,
                               const AccuracyMatrix &matrix,
                               const std::vector<Observation> &observations = {});
};

} // namespace fcl::ui
