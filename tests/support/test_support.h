// SPDX-License-Identifier: MIT
#pragma once

#include "core/sim/engine.h"
#include "core/sim/run_observer.h"
#include "core/store/run_store.h"

#include <QByteArray>
#include <QString>

#include <cstdint>
#include <vector>

namespace fcl::test {

/// |actual - expected| <= relTol * max(1, |expected|) (LabPlot's FuzzyCompare).
bool fuzzyCompare(double actual, double expected, double relTol = 1e-9);

/// Writes an IDX image file (magic 0x803) and label file (0x801); gzip when the name ends in .gz.
void writeIdxFile(const QString &imagesPath, const QString &labelsPath, int count, int rows,
                  int cols, const std::vector<std::uint8_t> &labels);

/// A small, fast experiment (an empty continualJson means fine-tuning) on the real Fashion-MNIST:
/// `clients` clients, the first `stages` class-incremental splits, `rounds` rounds a stage,
/// `samples` samples per client and task.
QByteArray
tinyExperimentJson(const QString &continualJson = QStringLiteral(R"({"method": "finetune"})"),
                   int clients = 3, int stages = 2, int rounds = 2, int samples = 200,
                   const QString &partitionJson = QStringLiteral(R"({"method": "iid"})"));
Experiment
tinyExperiment(const QString &continualJson = QStringLiteral(R"({"method": "finetune"})"),
               int clients = 3, int stages = 2, int rounds = 2, int samples = 200);

/// Metric rows as text, one "stage round kind task client value" line each, values with 17
/// significant digits (exact for doubles); wall-time rows are left out. For bit-identity checks.
QByteArray metricRowsText(const std::vector<MetricRow> &rows);

/// The parameters of registered method `id` with their defaults, then `overrides`.
QVariantMap methodParams(const QString &category, const QString &id,
                         const QVariantMap &overrides = {});

/// Runs `experiment` unstored on two threads; a run that does not complete is a fatal test error.
RunOutcome runToCompletion(const Experiment &experiment, RunObserver &observer);

/// Records every event; optionally cancels the run after `cancelAfterRounds` rounds.
class RecordingObserver : public RunObserver {
public:
    void onRunStarted(const RunInfo &info) override;
    void onObservation(const Observation &observation) override;
    void onRoundFinished(const RoundMetrics &round) override;
    void onStageFinished(const StageMetrics &stage) override;
    void onMessage(Severity severity, const QString &message) override;
    void onRunFinished(const RunOutcome &outcome) override;

    CancellationToken *cancelToken = nullptr;
    int cancelAfterRounds = -1;
    int runStartedCount = 0;
    int runFinishedCount = 0;
    RunInfo info;
    std::vector<RoundMetrics> rounds;
    std::vector<StageMetrics> stages;
    std::vector<Observation> observations;
    std::vector<QString> messages;
    QStringList order; ///< event names in arrival order
};

} // namespace fcl::test
