// SPDX-License-Identifier: MIT
#pragma once

#include "core/metrics/observation.h"
#include "core/metrics/run_metrics.h"

#include <QString>

#include <cstdint>
#include <vector>

namespace fcl {

/// What a run is about to do, sent once before the first round.
struct RunInfo {
    qint64 runId = 0; ///< 0 when the run is not stored
    std::vector<QString> taskIds;
    std::vector<QString> clientNames;
    int stages = 0;
    int roundsPerStage = 0;
    std::int64_t parameterBytes = 0; ///< size of one copy of the shared trainable parameters
    int resumedAtRound = 0;          ///< global round it starts at (> 0 when resumed)
};

enum class Severity { Info, Warning, Error };

/// How a run ended. `badInput` marks errors in the experiment or its data (the CLI's exit code 2),
/// as opposed to failures during training (exit code 1).
struct RunOutcome {
    RunStatus status = RunStatus::Failed;
    QString error;
    bool badInput = false;
    qint64 runId = 0;
    RunSummary summary;
};

/// The engine's only way to talk to a front end. Called on the engine's thread, in order.
/// Implementations must be cheap and must not throw; the GUI's adapter queues the events to its
/// own thread.
class RunObserver {
public:
    virtual ~RunObserver() = default;
    virtual void onRunStarted(const RunInfo &) {}
    /// A method's observation; arrives before the onRoundFinished of its round.
    virtual void onObservation(const Observation &) {}
    virtual void onRoundFinished(const RoundMetrics &) {}
    virtual void onStageFinished(const StageMetrics &) {}
    virtual void onMessage(Severity, const QString &) {}
    virtual void onRunFinished(const RunOutcome &) {}
};

} // namespace fcl
