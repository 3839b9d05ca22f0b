// SPDX-License-Identifier: MIT
#pragma once

#include "core/common/error.h"
#include "core/metrics/observation.h"
#include "core/metrics/run_metrics.h"

#include <QByteArray>

#include <QDateTime>
#include <QJsonObject>
#include <QString>

#include <memory>
#include <optional>
#include <vector>

namespace fcl {

/// One run as listed by the store.
struct RunRecord {
    qint64 id = 0;
    QString name;
    QString experimentName;
    RunStatus status = RunStatus::Running;
    quint64 seed = 0;
    QString version;
    int threads = 1;
    QDateTime startedAt;
    QDateTime finishedAt;
    QString error;
    QJsonObject config;
    std::vector<QString> taskIds;
    double finalAverageAccuracy = 0;
    double finalAverageForgetting = 0;
    double backwardTransfer = 0;
    double forwardTransfer = 0;
    qint64 bytesUp = 0;
    qint64 bytesDown = 0;
};

/// One stored measurement (long format). `task` and `client` are -1 when they do not apply.
struct MetricRow {
    int stage = 0;
    int round = 0; ///< -1 for stage-level rows (the accuracy-matrix row), -1/-1 for the baseline
    QString kind;  ///< acc, acc_ti, acc_ci, f1 (generative), client_acc, loss, avg_acc,
                   ///< avg_forgetting, bytes_up, bytes_down, wall_ms, matrix, baseline
    int task = -1;
    int client = -1;
    double value = 0;
};

/// Everything one finished round writes, committed in one transaction: its metric rows, the
/// accuracy-matrix row when it ends a stage, the methods' observations and, when not empty, a
/// checkpoint of the run's state (an opaque blob; see docs/architecture.md for its format).
struct RoundCommit {
    const RoundMetrics *round = nullptr;
    const StageMetrics *stage = nullptr;                    ///< null unless the round ends a stage
    const std::vector<Observation> *observations = nullptr; ///< may be null
    QByteArray checkpoint;                                  ///< empty: none this round
    /// Stage-end checkpoints are all kept (a finished run's model at every stage); a mid-stage one
    /// replaces the previous mid-stage one.
    bool checkpointIsStageEnd = false;
};

/// A stored checkpoint: the state after round `round` of stage `stage` (0-based) was committed.
struct CheckpointRecord {
    int stage = 0;
    int round = 0;
    bool stageEnd = false;
    qint64 bytes = 0;
    QByteArray data; ///< empty in listings
};

/// The run database: one SQLite file in WAL mode holding experiments, runs, metric rows and events.
/// Each RunStore owns one named Qt SQL connection and must be used only by the thread that opened
/// it; open a second RunStore for another thread (WAL lets readers and one writer work at once).
/// Every append is its own transaction, so a killed process loses at most the round in progress.
/// Runs left "running" by a process that no longer exists are marked "interrupted" on open.
/// Failures (disk full, read-only file, corrupt database) come back as Errors naming the database.
class RunStore {
public:
    ~RunStore();
    RunStore(const RunStore &) = delete;
    RunStore &operator=(const RunStore &) = delete;

    /// Whether open() may create the database (and its folder): only commands that write a new
    /// run do; reading a database that is not there is an error, with no side effect. ReadOnly
    /// opens an existing database without writing to it (works on a full disk, a read-only file or
    /// folder): runs whose process is gone are reported "interrupted" but not marked so, and an
    /// older schema is upgraded only if the file is writable.
    enum class OpenMode { CreateIfMissing, ExistingOnly, ReadOnly };
    static Result<std::unique_ptr<RunStore>> open(const QString &path,
                                                  OpenMode mode = OpenMode::CreateIfMissing);
    /// The per-user default: $XDG_DATA_HOME/fcl-workbench/runs.sqlite (or ~/.local/share/...).
    static QString defaultPath();

    QString path() const { return m_path; }

    Result<qint64> createRun(const QString &experimentName, const QJsonObject &config, quint64 seed,
                             int threads, const std::vector<QString> &taskIds);
    Result<Unit> appendRound(qint64 runId, const RoundMetrics &round);
    Result<Unit> appendStage(qint64 runId, const StageMetrics &stage);
    Result<Unit> appendBaseline(qint64 runId, const std::vector<double> &baseline);
    Result<Unit> commitRound(qint64 runId, const RoundCommit &commit);
    Result<Unit> appendEvent(qint64 runId, const QString &severity, const QString &message);
    Result<Unit> finishRun(qint64 runId, RunStatus status, const QString &error,
                           const RunSummary &summary);
    Result<Unit> renameRun(qint64 runId, const QString &name);
    Result<Unit> deleteRun(qint64 runId);

    Result<std::vector<RunRecord>> listRuns();
    /// One run; a row that cannot be read safely (config or task ids not what the program wrote)
    /// is an error "run N is corrupt: <what>".
    Result<RunRecord> run(qint64 runId);
    Result<std::vector<MetricRow>> metrics(qint64 runId);
    /// The stored accuracy matrix (stage rows + baseline) of a run.
    Result<AccuracyMatrix> accuracyMatrix(qint64 runId);
    /// The same from a run and its rows already read (no database access); rows outside the run's
    /// shape are ignored (checkRows() reports them).
    /// With `kind` a per-task round metric ("f1", "format", "knowledge"): the matrix of that
    /// metric at the last round of every finished stage (a stage with stage-end "matrix" rows).
    static AccuracyMatrix matrixFromRows(const RunRecord &run, const std::vector<MetricRow> &rows,
                                         const QString &kind = QStringLiteral("matrix"));
    /// Every metric row within the run's stages, tasks and clients, or "run N is corrupt: ...".
    static Result<Unit> checkRows(const RunRecord &run, const std::vector<MetricRow> &rows);
    Result<std::vector<Observation>> observations(qint64 runId);
    /// The newest checkpoint of a run with its data, or none.
    Result<std::optional<CheckpointRecord>> latestCheckpoint(qint64 runId);
    /// Every checkpoint of a run, oldest first, without data.
    Result<std::vector<CheckpointRecord>> checkpoints(qint64 runId);
    /// The checkpoint saved at the end of stage `stage` (0-based) with its data, or none.
    Result<std::optional<CheckpointRecord>> stageCheckpoint(qint64 runId, int stage);
    /// Prepares a stopped run to continue after (stage, round): deletes its metric rows,
    /// observations and checkpoints from later rounds, and marks it running in this process. With
    /// stage -1 every row goes (the run starts again). One transaction.
    Result<Unit> reopenRun(qint64 runId, int stage, int round);
    /// Whether an error from this class says another connection held the database locked past
    /// the busy timeout (SQLite's "database is locked"), so that trying again later may succeed.
    static bool isLockedError(const QString &message);
    /// How many runs open() marked interrupted (or, read-only, found interrupted).
    int interruptedOnOpen() const { return m_interruptedOnOpen; }
    bool isReadOnly() const { return m_readOnly; }

private:
    RunStore(QString path, QString connectionName);
    Result<Unit> execute(const QString &sql);
    Result<Unit> initialize();
    Result<Unit> initializeReadOnly();
    /// PRAGMA quick_check, then the stored schema version (0: none yet), refusing a newer one.
    Result<int> checkedSchemaVersion();
    /// Running runs of this host whose process is gone.
    Result<std::vector<qint64>> orphanedRuns();
    /// A run read as "running" whose process is gone reads "interrupted" (read-only stores).
    void applyOrphaned(RunRecord &record) const;
    Error databaseError(const QString &what, const QString &detail) const;

    QString m_path;
    QString m_connectionName;
    int m_interruptedOnOpen = 0;
    bool m_readOnly = false;
    bool m_needsUpgrade = false;
    std::vector<qint64> m_orphaned; ///< read-only stores only
};

} // namespace fcl
