// SPDX-License-Identifier: MIT
#include "core/sim/engine.h"

#include "core/sim/runner_p.h"
#include "core/store/run_store.h"

#include <QJsonDocument>

namespace fcl {

RunOutcome runExperiment(const Experiment &experiment, RunStore *store, RunObserver &observer,
                         const CancellationToken &cancel, const RunOptions &options)
{
    detail::Runner runner(experiment, store, observer, cancel, options);
    return runner.run();
}

RunOutcome resumeRun(qint64 runId, RunStore &store, RunObserver &observer,
                     const CancellationToken &cancel, const RunOptions &options)
{
    auto refuse = [&](const QString &message) {
        RunOutcome outcome;
        outcome.status = RunStatus::Failed;
        outcome.error = message;
        outcome.badInput = true;
        outcome.runId = runId;
        observer.onRunFinished(outcome);
        return outcome;
    };
    auto record = store.run(runId);
    if (!record) {
        return refuse(record.errorString());
    }
    switch (record->status) {
    case RunStatus::Completed:
        return refuse(QStringLiteral("run %1 is already completed").arg(runId));
    case RunStatus::Running:
        return refuse(QStringLiteral("run %1 is still running").arg(runId));
    default:
        break;
    }
    auto experiment = parseExperiment(QJsonDocument(record->config).toJson(QJsonDocument::Compact));
    if (!experiment) {
        return refuse(QStringLiteral("run %1's stored experiment is not valid for this version: %2")
                          .arg(runId)
                          .arg(experiment.errorString()));
    }
    detail::Runner runner(experiment.value(), &store, observer, cancel, options);
    return runner.resume(runId);
}

} // namespace fcl
