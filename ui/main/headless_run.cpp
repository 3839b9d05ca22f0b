// SPDX-License-Identifier: MIT
#include "ui/main/headless_run.h"

#include "core/sim/engine.h"
#include "core/store/run_store.h"
#include "ui/report/report_writer.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

#include <QTextStream>
#include <unistd.h>

namespace fcl::ui {

namespace {
class StagePrinter : public RunObserver {
public:
    void onRunStarted(const RunInfo &info) override
    {
        m_stages = info.stages;
        QTextStream(stdout) << "run " << info.runId << ": " << info.clientNames.size()
                            << " clients, " << info.stages << " stages x " << info.roundsPerStage
                            << " rounds" << Qt::endl;
    }
    void onStageFinished(const StageMetrics &stage) override
    {
        QTextStream(stdout) << QStringLiteral("stage %1/%2: average accuracy %3, forgetting %4")
                                   .arg(stage.stage + 1)
                                   .arg(m_stages)
                                   .arg(stage.averageAccuracy, 0, 'f', 3)
                                   .arg(stage.averageForgetting, 0, 'f', 3)
                            << Qt::endl;
    }

private:
    int m_stages = 0;
};
} // namespace

void prepareOffscreenPlatform()
{
    if (!qEnvironmentVariableIsSet("QT_QPA_PLATFORM")) {
        qputenv("QT_QPA_PLATFORM", "offscreen");
    }
    if (!qEnvironmentVariableIsSet("XDG_RUNTIME_DIR")) {
        const QString dir = QDir::tempPath() + QStringLiteral("/fcl-runtime-%1").arg(::getuid());
        QDir().mkpath(dir);
        QFile::setPermissions(dir, QFileDevice::ReadOwner | QFileDevice::WriteOwner |
                                       QFileDevice::ExeOwner);
        qputenv("XDG_RUNTIME_DIR", QFile::encodeName(dir));
    }
}

int runHeadless(const QString &experimentPath, const QString &databasePath,
                const QString &reportPath)
{
    QTextStream err(stderr);
    // Every argument is checked before the run: a bad report path must not cost a whole run.
    if (const QString problem = exportPathProblem(reportPath); !problem.isEmpty()) {
        err << "fcl-workbench: --report " << problem << Qt::endl;
        return 2;
    }
    auto experiment = loadExperimentFile(experimentPath);
    if (!experiment) {
        err << "fcl-workbench: invalid experiment:\n" << experiment.errorString() << Qt::endl;
        return 2;
    }
    auto store = RunStore::open(databasePath);
    if (!store) {
        err << "fcl-workbench: " << store.errorString() << Qt::endl;
        return 2;
    }
    QTextStream(stdout) << "No display: running \"" << experiment->name << "\" headless."
                        << Qt::endl;
    StagePrinter printer;
    CancellationToken cancel;
    const RunOutcome outcome =
        runExperiment(experiment.value(), store.value().get(), printer, cancel);
    if (outcome.status == RunStatus::Failed) {
        err << "fcl-workbench: run failed: " << outcome.error << Qt::endl;
        if (outcome.runId == 0) {
            return outcome.badInput ? 2 : 1;
        }
    }
    QString error;
    if (!exportRuns(*store.value(), {outcome.runId}, reportPath, &error)) {
        err << "fcl-workbench: cannot write the report: " << error << Qt::endl;
        return 1;
    }
    QTextStream(stdout) << QStringLiteral("%1. Report: %2 (database: %3)")
                               .arg(outcomeLine(outcome), QFileInfo(reportPath).absoluteFilePath(),
                                    databasePath)
                        << Qt::endl;
    return outcome.status == RunStatus::Failed ? 1 : 0;
}

QString outcomeLine(const RunOutcome &outcome)
{
    const QString run =
        QStringLiteral("Run %1 %2").arg(outcome.runId).arg(runStatusName(outcome.status));
    if (outcome.status == RunStatus::Failed) {
        return QObject::tr("%1: no final metrics (its finished stages are kept)").arg(run);
    }
    if (outcome.summary.stagesCompleted == 0) {
        return QObject::tr("%1 before its first stage ended: no final metrics").arg(run);
    }
    return QObject::tr("%1: ACC %2, forgetting %3")
        .arg(run)
        .arg(outcome.summary.finalAverageAccuracy, 0, 'f', 3)
        .arg(outcome.summary.finalAverageForgetting, 0, 'f', 3);
}

} // namespace fcl::ui
