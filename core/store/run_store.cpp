// SPDX-License-Identifier: MIT
#include "core/store/run_store.h"

#include "core/common/stage_json.h"
#include "core/store/run_store_p.h"

#include "core/common/version.h"

#include <QAtomicInteger>
#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QStandardPaths>
#include <QSysInfo>
#include <QUrl>
#include <QVariant>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <functional>
#include <unistd.h>

namespace fcl {

using detail::commitRows;
using detail::corruptRun;
using detail::nowText;
using detail::nullable;

namespace {

constexpr int kSchemaVersion = 2;

const char *const kSchema[] = {
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)",
    "CREATE TABLE IF NOT EXISTS experiments (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
    "config TEXT NOT NULL, created_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, experiment_id INTEGER NOT NULL "
    "REFERENCES experiments(id) ON DELETE CASCADE, name TEXT NOT NULL, status TEXT NOT NULL, "
    "seed INTEGER NOT NULL, version TEXT NOT NULL, threads INTEGER NOT NULL, config TEXT NOT NULL, "
    "task_ids TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT, error TEXT, "
    "host TEXT NOT NULL, pid INTEGER NOT NULL, final_acc REAL, final_forgetting REAL, bwt REAL, "
    "fwt REAL, bytes_up INTEGER DEFAULT 0, bytes_down INTEGER DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS metrics (run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE "
    "CASCADE, stage INTEGER NOT NULL, round INTEGER NOT NULL, kind TEXT NOT NULL, task INTEGER NOT "
    "NULL, client INTEGER NOT NULL, value REAL)",
    "CREATE INDEX IF NOT EXISTS metrics_run ON metrics(run_id, kind)",
    "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES "
    "runs(id) ON DELETE CASCADE, at TEXT NOT NULL, severity TEXT NOT NULL, message TEXT NOT NULL)",
    // Schema 2: method observations and run checkpoints (issue 6).
    "CREATE TABLE IF NOT EXISTS observations (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL "
    "REFERENCES runs(id) ON DELETE CASCADE, stage INTEGER NOT NULL, round INTEGER NOT NULL, "
    "global_round INTEGER NOT NULL, client INTEGER NOT NULL, kind TEXT NOT NULL, title TEXT NOT "
    "NULL, shape TEXT NOT NULL, labels TEXT NOT NULL, column_labels TEXT NOT NULL, data TEXT NOT "
    "NULL)",
    "CREATE INDEX IF NOT EXISTS observations_run ON observations(run_id, kind)",
    "CREATE TABLE IF NOT EXISTS checkpoints (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL "
    "REFERENCES runs(id) ON DELETE CASCADE, stage INTEGER NOT NULL, round INTEGER NOT NULL, "
    "stage_end INTEGER NOT NULL, format INTEGER NOT NULL, created_at TEXT NOT NULL, bytes INTEGER "
    "NOT NULL, data BLOB NOT NULL)",
    "CREATE INDEX IF NOT EXISTS checkpoints_run ON checkpoints(run_id, stage, round)",
};

bool processIsAlive(qint64 pid)
{
    if (pid <= 0) {
        return false;
    }
    return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

/// The task ids of a run; `problem` says why the text is not a non-empty array of ids.
std::vector<QString> parseTaskIds(const QString &json, QString &problem)
{
    std::vector<QString> ids;
    const QJsonDocument doc = QJsonDocument::fromJson(json.toUtf8());
    if (!doc.isArray() || doc.array().isEmpty()) {
        problem = QStringLiteral("task_ids is not a non-empty JSON array of task ids");
        return ids;
    }
    for (const QJsonValue &v : doc.array()) {
        if (!v.isString() || v.toString().isEmpty()) {
            problem = QStringLiteral("task_ids holds something other than task ids");
            return {};
        }
        ids.push_back(v.toString());
    }
    return ids;
}

} // namespace

RunStore::RunStore(QString path, QString connectionName)
    : m_path(std::move(path)), m_connectionName(std::move(connectionName))
{
}

RunStore::~RunStore()
{
    {
        QSqlDatabase db = QSqlDatabase::database(m_connectionName, false);
        if (db.isOpen()) {
            db.close();
        }
    }
    QSqlDatabase::removeDatabase(m_connectionName);
}

bool RunStore::isLockedError(const QString &message)
{
    return message.contains(QLatin1String("database is locked"));
}

QString RunStore::defaultPath()
{
    QString base = qEnvironmentVariable("XDG_DATA_HOME");
    if (base.isEmpty()) {
        base = QDir::homePath() + QStringLiteral("/.local/share");
    }
    return base + QStringLiteral("/fcl-workbench/runs.sqlite");
}

Error RunStore::databaseError(const QString &what, const QString &detail) const
{
    // SQLite says "database or disk is full" for both; a user needs to read which.
    const QString prefix =
        detail.contains(QLatin1String("disk is full")) ? QStringLiteral("disk full: ") : QString();
    return Error{QFileInfo(m_path).fileName(),
                 QStringLiteral("%1 failed: %2%3").arg(what, prefix, detail)};
}

Result<std::unique_ptr<RunStore>> RunStore::open(const QString &path, OpenMode mode)
{
    static QAtomicInteger<int> counter;
    const QString connection = QStringLiteral("fcl-store-%1").arg(counter.fetchAndAddRelaxed(1));
    if (path.isEmpty()) {
        return Error{QStringLiteral("database"), QStringLiteral("the file name is empty")};
    }
    const QFileInfo info(path);
    if (mode != OpenMode::CreateIfMissing && !info.exists()) {
        return Error{path, QStringLiteral("no run database here (fcl run creates one; --db picks "
                                          "another)")};
    }
    if (info.exists() && !info.isFile()) {
        return Error{path, QStringLiteral("is not a database file")};
    }
    if (mode != OpenMode::ReadOnly && !QDir().mkpath(info.absolutePath())) {
        return Error{path,
                     QStringLiteral("cannot create the directory %1").arg(info.absolutePath())};
    }
    std::unique_ptr<RunStore> store(new RunStore(path, connection));
    QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), connection);
    if (!db.isValid()) {
        return Error{path,
                     QStringLiteral("the Qt SQLite driver is missing (install libqt6sql6-sqlite)")};
    }
    const QString busy = QStringLiteral("QSQLITE_BUSY_TIMEOUT=5000");
    if (mode == OpenMode::ReadOnly) {
        store->m_readOnly = true;
        // A -wal file with frames means a writer may be at work (an empty one is left behind by
        // a reader that could not make its -shm file).
        const bool walBefore = QFileInfo(path + QStringLiteral("-wal")).size() > 0;
        db.setDatabaseName(path);
        db.setConnectOptions(busy + QStringLiteral(";QSQLITE_OPEN_READONLY"));
        Result<Unit> initialized =
            db.open() ? store->initializeReadOnly()
                      : Result<Unit>(Error{
                            path, QStringLiteral("cannot open: %1").arg(db.lastError().text())});
        if (!initialized && !walBefore) {
            // A WAL database whose -shm file cannot be made (read-only folder, full disk) opens
            // only as immutable. That is safe: with no WAL frames nothing is being written.
            db.close();
            db.setDatabaseName(
                QStringLiteral("file:") +
                QString::fromUtf8(
                    QUrl::fromLocalFile(info.absoluteFilePath()).toEncoded(QUrl::RemoveScheme)) +
                QStringLiteral("?immutable=1"));
            db.setConnectOptions(busy + QStringLiteral(";QSQLITE_OPEN_READONLY;QSQLITE_OPEN_URI"));
            if (db.open() && store->initializeReadOnly()) {
                initialized = Unit{};
            }
        }
        if (!initialized) {
            return initialized.errors();
        }
        if (!store->m_needsUpgrade) {
            return store;
        }
        // An older schema: upgrade it as any other command would (fails if it cannot write).
        db.close();
        store->m_readOnly = false;
    }
    db.setDatabaseName(path);
    db.setConnectOptions(busy);
    if (!db.open()) {
        return Error{path, QStringLiteral("cannot open: %1").arg(db.lastError().text())};
    }
    auto initialized = store->initialize();
    if (!initialized) {
        return initialized.errors();
    }
    return store;
}

Result<Unit> RunStore::execute(const QString &sql)
{
    QSqlQuery query(QSqlDatabase::database(m_connectionName));
    if (!query.exec(sql)) {
        return databaseError(sql.section(QLatin1Char(' '), 0, 2), query.lastError().text());
    }
    return Unit{};
}

Result<int> RunStore::checkedSchemaVersion()
{
    QSqlDatabase db = QSqlDatabase::database(m_connectionName);
    QSqlQuery check(db);
    if (!check.exec(QStringLiteral("PRAGMA quick_check")) || !check.next() ||
        check.value(0).toString() != QLatin1String("ok")) {
        return Error{m_path, QStringLiteral("not a readable run database (%1)")
                                 .arg(check.lastError().isValid() ? check.lastError().text()
                                                                  : check.value(0).toString())};
    }
    QSqlQuery stored(db);
    if (!stored.exec(QStringLiteral("SELECT value FROM meta WHERE key = 'schema_version'")) ||
        !stored.next()) {
        return 0; // no schema yet (an empty file)
    }
    bool number = false;
    const int version = stored.value(0).toString().toInt(&number);
    if (!number || version < 1) {
        return Error{m_path, QStringLiteral("not a run database (its schema version reads \"%1\")")
                                 .arg(stored.value(0).toString().left(40))};
    }
    if (version > kSchemaVersion) {
        return Error{m_path, QStringLiteral("the database's schema version %1 is newer than "
                                            "this program's (%2); update FCL Workbench")
                                 .arg(version)
                                 .arg(kSchemaVersion)};
    }
    return version;
}

Result<Unit> RunStore::initialize()
{
    QSqlDatabase db = QSqlDatabase::database(m_connectionName);
    auto stored = checkedSchemaVersion();
    if (!stored) {
        return stored.errors();
    }
    for (const char *pragma :
         {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON"}) {
        auto done = execute(QString::fromLatin1(pragma));
        if (!done) {
            return done;
        }
    }
    db.transaction();
    for (const char *statement : kSchema) {
        auto done = execute(QString::fromLatin1(statement));
        if (!done) {
            db.rollback();
            return done;
        }
    }
    QSqlQuery version(db);
    version.prepare(
        QStringLiteral("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)"));
    version.addBindValue(kSchemaVersion);
    version.exec();
    if (!db.commit()) {
        return databaseError(QStringLiteral("creating the schema"), db.lastError().text());
    }

    // Runs whose process is gone were interrupted (killed, crashed, power cut).
    auto orphaned = orphanedRuns();
    if (!orphaned) {
        return orphaned.errors();
    }
    for (qint64 id : orphaned.value()) {
        QSqlQuery mark(db);
        mark.prepare(
            QStringLiteral("UPDATE runs SET status = 'interrupted', finished_at = ? WHERE id = ?"));
        mark.addBindValue(nowText());
        mark.addBindValue(id);
        if (!mark.exec()) {
            return databaseError(QStringLiteral("marking run %1 interrupted").arg(id),
                                 mark.lastError().text());
        }
        ++m_interruptedOnOpen;
    }
    return Unit{};
}

Result<Unit> RunStore::initializeReadOnly()
{
    auto version = checkedSchemaVersion();
    if (!version) {
        return version.errors();
    }
    // No schema yet (an empty file) or an older one: the writable path decides.
    m_needsUpgrade = version.value() < kSchemaVersion;
    if (m_needsUpgrade) {
        return Unit{};
    }
    auto orphaned = orphanedRuns();
    if (!orphaned) {
        return orphaned.errors();
    }
    m_orphaned = std::move(orphaned.value());
    m_interruptedOnOpen = static_cast<int>(m_orphaned.size());
    return Unit{};
}

Result<std::vector<qint64>> RunStore::orphanedRuns()
{
    QSqlQuery running(QSqlDatabase::database(m_connectionName));
    running.prepare(QStringLiteral("SELECT id, host, pid FROM runs WHERE status = 'running'"));
    if (!running.exec()) {
        return databaseError(QStringLiteral("reading runs"), running.lastError().text());
    }
    std::vector<qint64> orphaned;
    const QString host = QSysInfo::machineHostName();
    while (running.next()) {
        // A run on another host cannot be probed; only ours are judged.
        if (running.value(1).toString() == host && !processIsAlive(running.value(2).toLongLong())) {
            orphaned.push_back(running.value(0).toLongLong());
        }
    }
    return orphaned;
}

void RunStore::applyOrphaned(RunRecord &record) const
{
    if (record.status == RunStatus::Running &&
        std::find(m_orphaned.begin(), m_orphaned.end(), record.id) != m_orphaned.end()) {
        record.status = RunStatus::Interrupted;
    }
}

Result<qint64> RunStore::createRun(const QString &experimentName, const QJsonObject &config,
                                   quint64 seed, int threads, const std::vector<QString> &taskIds)
{
    QSqlDatabase db = QSqlDatabase::database(m_connectionName);
    const QString configText =
        QString::fromUtf8(QJsonDocument(config).toJson(QJsonDocument::Compact));
    QJsonArray tasks;
    for (const QString &id : taskIds) {
        tasks.append(id);
    }
    db.transaction();
    QSqlQuery experiment(db);
    experiment.prepare(
        QStringLiteral("INSERT INTO experiments(name, config, created_at) VALUES (?, ?, ?)"));
    experiment.addBindValue(experimentName);
    experiment.addBindValue(configText);
    experiment.addBindValue(nowText());
    if (!experiment.exec()) {
        db.rollback();
        return databaseError(QStringLiteral("storing the experiment"),
                             experiment.lastError().text());
    }
    const qint64 experimentId = experiment.lastInsertId().toLongLong();
    QSqlQuery run(db);
    run.prepare(QStringLiteral(
        "INSERT INTO runs(experiment_id, name, status, seed, version, threads, config, task_ids, "
        "started_at, host, pid) VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?)"));
    run.addBindValue(experimentId);
    run.addBindValue(experimentName);
    run.addBindValue(static_cast<qint64>(seed));
    run.addBindValue(versionString());
    run.addBindValue(threads);
    run.addBindValue(configText);
    run.addBindValue(QString::fromUtf8(QJsonDocument(tasks).toJson(QJsonDocument::Compact)));
    run.addBindValue(nowText());
    run.addBindValue(QSysInfo::machineHostName());
    run.addBindValue(static_cast<qint64>(::getpid()));
    if (!run.exec()) {
        db.rollback();
        return databaseError(QStringLiteral("creating the run"), run.lastError().text());
    }
    const qint64 runId = run.lastInsertId().toLongLong();
    if (!db.commit()) {
        return databaseError(QStringLiteral("creating the run"), db.lastError().text());
    }
    return runId;
}

} // namespace fcl

namespace fcl::detail {

QString nowText()
{
    return QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs);
}

QVariant nullable(double value)
{
    return std::isnan(value) ? QVariant() : QVariant(value);
}

bool insertRows(QSqlDatabase &db, qint64 runId, const std::vector<MetricRow> &rows, QString &error)
{
    QSqlQuery insert(db);
    insert.prepare(QStringLiteral("INSERT INTO metrics(run_id, stage, round, kind, task, client, "
                                  "value) VALUES (?, ?, ?, ?, ?, ?, ?)"));
    for (const MetricRow &row : rows) {
        insert.bindValue(0, runId);
        insert.bindValue(1, row.stage);
        insert.bindValue(2, row.round);
        insert.bindValue(3, row.kind);
        insert.bindValue(4, row.task);
        insert.bindValue(5, row.client);
        insert.bindValue(6, nullable(row.value));
        if (!insert.exec()) {
            error = insert.lastError().text();
            return false;
        }
    }
    return true;
}

Result<Unit> inTransaction(QSqlDatabase db, const std::function<bool(QString &error)> &body,
                           const std::function<Error(const QString &)> &makeError)
{
    if (!db.transaction()) {
        return makeError(db.lastError().text());
    }
    QString error;
    if (!body(error)) {
        db.rollback();
        return makeError(error);
    }
    if (!db.commit()) {
        const QString why = db.lastError().text();
        db.rollback();
        return makeError(why);
    }
    return Unit{};
}

Result<Unit> commitRows(QSqlDatabase db, qint64 runId, const std::vector<MetricRow> &rows,
                        const std::function<Error(const QString &)> &makeError)
{
    return inTransaction(
        db,
        [&](QString &error) {
            return insertRows(db, runId, rows, error);
        },
        makeError);
}

std::vector<MetricRow> roundRows(const RoundMetrics &round)
{
    std::vector<MetricRow> rows;
    const int s = round.stage;
    const int r = round.round;
    auto perTask = [&](const char *kind, const std::vector<double> &values) {
        for (std::size_t j = 0; j < values.size(); ++j) {
            if (!std::isnan(values[j])) {
                rows.push_back(
                    {s, r, QString::fromLatin1(kind), static_cast<int>(j), -1, values[j]});
            }
        }
    };
    if (round.evaluated) {
        perTask("acc", round.accuracyPerTask);
        perTask("acc_ti", round.taskIncrementalAccuracy);
        perTask("acc_ci", round.classIncrementalAccuracy);
        perTask("f1", round.tokenF1PerTask);
        perTask("format", round.formatPerTask);
        perTask("knowledge", round.knowledgePerTask);
        rows.push_back({s, r, QStringLiteral("avg_acc"), -1, -1, round.averageAccuracy});
        rows.push_back({s, r, QStringLiteral("avg_forgetting"), -1, -1, round.averageForgetting});
    }
    for (std::size_t c = 0; c < round.clientAccuracy.size(); ++c) {
        if (!std::isnan(round.clientAccuracy[c])) {
            rows.push_back({s, r, QStringLiteral("client_acc"), -1, static_cast<int>(c),
                            round.clientAccuracy[c]});
        }
    }
    rows.push_back({s, r, QStringLiteral("loss"), -1, -1, round.trainLoss});
    rows.push_back({s, r, QStringLiteral("bytes_up"), -1, -1, static_cast<double>(round.bytesUp)});
    rows.push_back(
        {s, r, QStringLiteral("bytes_down"), -1, -1, static_cast<double>(round.bytesDown)});
    rows.push_back({s, r, QStringLiteral("wall_ms"), -1, -1, round.wallTimeMs});
    rows.push_back({s, r, QStringLiteral("clients_returned"), -1, -1,
                    static_cast<double>(round.clientsReturned)});
    return rows;
}

Error corruptRun(qint64 runId, const QString &what)
{
    return Error{QString(), QStringLiteral("run %1 is corrupt: %2").arg(runId).arg(what)};
}

QString observationProblem(const Observation &o)
{
    const auto n = static_cast<qsizetype>(o.values.size());
    const qsizetype labels = o.labels.size();
    const qsizetype columns = o.columnLabels.size();
    auto index = [](double v, qsizetype size) {
        return std::isfinite(v) && v >= 0 && v < static_cast<double>(size) && v == std::floor(v);
    };
    switch (o.shape) {
    case ObservationShape::Series:
        return n == labels ? QString()
                           : QStringLiteral("%1 values for %2 labels").arg(n).arg(labels);
    case ObservationShape::Matrix:
        return n == labels * columns ? QString()
                                     : QStringLiteral("%1 values for a %2 x %3 matrix")
                                           .arg(n)
                                           .arg(labels)
                                           .arg(columns);
    case ObservationShape::Assignment:
        if (n != labels) {
            return QStringLiteral("%1 values for %2 items").arg(n).arg(labels);
        }
        for (double v : o.values) {
            if (!index(v, columns)) {
                return QStringLiteral("group %1 outside %2 groups").arg(v).arg(columns);
            }
        }
        return {};
    case ObservationShape::Points:
    case ObservationShape::Graph:
        if (n % 3 != 0) {
            return QStringLiteral("%1 values are not triples").arg(n);
        }
        for (qsizetype i = 0; i < n; i += 3) {
            const auto at = static_cast<std::size_t>(i);
            const bool ok = o.shape == ObservationShape::Points
                                ? index(o.values[at + 2], labels)
                                : index(o.values[at], labels) && index(o.values[at + 1], labels);
            if (!ok) {
                return QStringLiteral("triple %1 names an index outside %2 labels")
                    .arg(i / 3 + 1)
                    .arg(labels);
            }
        }
        return {};
    }
    return {};
}

std::vector<MetricRow> stageRows(const StageMetrics &stage)
{
    std::vector<MetricRow> rows;
    for (std::size_t j = 0; j < stage.accuracyPerTask.size(); ++j) {
        rows.push_back({stage.stage, -1, QStringLiteral("matrix"), static_cast<int>(j), -1,
                        stage.accuracyPerTask[j]});
    }
    return rows;
}

} // namespace fcl::detail

namespace fcl {

Result<Unit> RunStore::appendRound(qint64 runId, const RoundMetrics &round)
{
    return commitRows(QSqlDatabase::database(m_connectionName), runId, detail::roundRows(round),
                      [&](const QString &why) {
                          return databaseError(QStringLiteral("saving stage %1 round %2")
                                                   .arg(round.stage + 1)
                                                   .arg(round.round + 1),
                                               why);
                      });
}

Result<Unit> RunStore::appendStage(qint64 runId, const StageMetrics &stage)
{
    return commitRows(
        QSqlDatabase::database(m_connectionName), runId, detail::stageRows(stage),
        [&](const QString &why) {
            return databaseError(
                QStringLiteral("saving the accuracy row of stage %1").arg(stage.stage + 1), why);
        });
}

Result<Unit> RunStore::appendBaseline(qint64 runId, const std::vector<double> &baseline)
{
    std::vector<MetricRow> rows;
    for (std::size_t j = 0; j < baseline.size(); ++j) {
        rows.push_back({-1, -1, QStringLiteral("baseline"), static_cast<int>(j), -1, baseline[j]});
    }
    return commitRows(
        QSqlDatabase::database(m_connectionName), runId, rows, [&](const QString &why) {
            return databaseError(QStringLiteral("saving the untrained baseline"), why);
        });
}

Result<Unit> RunStore::appendEvent(qint64 runId, const QString &severity, const QString &message)
{
    QSqlQuery insert(QSqlDatabase::database(m_connectionName));
    insert.prepare(
        QStringLiteral("INSERT INTO events(run_id, at, severity, message) VALUES (?, ?, ?, ?)"));
    insert.addBindValue(runId);
    insert.addBindValue(nowText());
    insert.addBindValue(severity);
    insert.addBindValue(message);
    if (!insert.exec()) {
        return databaseError(QStringLiteral("saving an event"), insert.lastError().text());
    }
    return Unit{};
}

Result<Unit> RunStore::finishRun(qint64 runId, RunStatus status, const QString &error,
                                 const RunSummary &summary)
{
    QSqlQuery update(QSqlDatabase::database(m_connectionName));
    update.prepare(QStringLiteral("UPDATE runs SET status = ?, finished_at = ?, error = ?, "
                                  "final_acc = ?, final_forgetting = ?, "
                                  "bwt = ?, fwt = ?, bytes_up = ?, bytes_down = ? WHERE id = ?"));
    update.addBindValue(runStatusName(status));
    update.addBindValue(nowText());
    update.addBindValue(error.isEmpty() ? QVariant() : QVariant(error));
    // Summary metrics cover the stages that finished: all of them, or those before a cancel. A
    // failed run (diverged, out of memory) has none: its first stages' numbers would make the
    // broken run the best-looking row of a list. Its stage rows are kept.
    const bool complete = summary.stagesCompleted > 0 && status != RunStatus::Failed;
    update.addBindValue(complete ? nullable(summary.finalAverageAccuracy) : QVariant());
    update.addBindValue(complete ? nullable(summary.finalAverageForgetting) : QVariant());
    update.addBindValue(complete ? nullable(summary.backwardTransfer) : QVariant());
    update.addBindValue(complete ? nullable(summary.forwardTransfer) : QVariant());
    update.addBindValue(static_cast<qint64>(summary.totalBytesUp));
    update.addBindValue(static_cast<qint64>(summary.totalBytesDown));
    update.addBindValue(runId);
    if (!update.exec()) {
        return databaseError(QStringLiteral("finishing run %1").arg(runId),
                             update.lastError().text());
    }
    return Unit{};
}

Result<Unit> RunStore::renameRun(qint64 runId, const QString &name)
{
    QSqlQuery update(QSqlDatabase::database(m_connectionName));
    update.prepare(QStringLiteral("UPDATE runs SET name = ? WHERE id = ?"));
    update.addBindValue(name);
    update.addBindValue(runId);
    if (!update.exec()) {
        return databaseError(QStringLiteral("renaming run %1").arg(runId),
                             update.lastError().text());
    }
    return Unit{};
}

Result<Unit> RunStore::deleteRun(qint64 runId)
{
    QSqlQuery remove(QSqlDatabase::database(m_connectionName));
    remove.prepare(QStringLiteral("DELETE FROM runs WHERE id = ?"));
    remove.addBindValue(runId);
    if (!remove.exec()) {
        return databaseError(QStringLiteral("deleting run %1").arg(runId),
                             remove.lastError().text());
    }
    return Unit{};
}

namespace {
const char *const kRunColumns =
    "SELECT r.id, r.name, e.name, r.status, r.seed, r.version, r.threads, r.started_at, "
    "r.finished_at, r.error, r.config, r.task_ids, r.final_acc, r.final_forgetting, r.bwt, r.fwt, "
    "r.bytes_up, r.bytes_down FROM runs r JOIN experiments e ON e.id = r.experiment_id";

/// A run row as stored. `problem` (if given) is set when the row cannot be read safely: config
/// not a JSON object with stages and clients, task ids not a list of ids.
RunRecord readRun(const QSqlQuery &q, QString *problem = nullptr)
{
    QString why;
    RunRecord r;
    r.id = q.value(0).toLongLong();
    r.name = q.value(1).toString();
    r.experimentName = q.value(2).toString();
    r.status = runStatusFromName(q.value(3).toString());
    r.seed = q.value(4).toULongLong();
    r.version = q.value(5).toString();
    r.threads = q.value(6).toInt();
    r.startedAt = QDateTime::fromString(q.value(7).toString(), Qt::ISODateWithMs);
    r.finishedAt = QDateTime::fromString(q.value(8).toString(), Qt::ISODateWithMs);
    r.error = q.value(9).toString();
    const QJsonDocument config = QJsonDocument::fromJson(q.value(10).toString().toUtf8());
    r.config = config.object();
    r.taskIds = parseTaskIds(q.value(11).toString(), why);
    if (!config.isObject()) {
        why = QStringLiteral("config is not a JSON object");
    } else if (!r.config.value(QStringLiteral("stages")).isArray() ||
               r.config.value(QStringLiteral("stages")).toArray().isEmpty()) {
        why = QStringLiteral("config has no stages");
    } else if (!r.config.value(QStringLiteral("clients")).isArray()) {
        why = QStringLiteral("config has no clients");
    }
    if (problem != nullptr) {
        *problem = why;
    }
    const double nan = std::nan("");
    r.finalAverageAccuracy = q.value(12).isNull() ? nan : q.value(12).toDouble();
    r.finalAverageForgetting = q.value(13).isNull() ? nan : q.value(13).toDouble();
    r.backwardTransfer = q.value(14).isNull() ? nan : q.value(14).toDouble();
    r.forwardTransfer = q.value(15).isNull() ? nan : q.value(15).toDouble();
    r.bytesUp = q.value(16).toLongLong();
    r.bytesDown = q.value(17).toLongLong();
    return r;
}
} // namespace

Result<std::vector<RunRecord>> RunStore::listRuns()
{
    QSqlQuery query(QSqlDatabase::database(m_connectionName));
    if (!query.exec(QString::fromLatin1(kRunColumns) + QStringLiteral(" ORDER BY r.id"))) {
        return databaseError(QStringLiteral("listing runs"), query.lastError().text());
    }
    std::vector<RunRecord> runs;
    while (query.next()) {
        runs.push_back(readRun(query));
        applyOrphaned(runs.back());
    }
    return runs;
}

Result<RunRecord> RunStore::run(qint64 runId)
{
    QSqlQuery query(QSqlDatabase::database(m_connectionName));
    query.prepare(QString::fromLatin1(kRunColumns) + QStringLiteral(" WHERE r.id = ?"));
    query.addBindValue(runId);
    if (!query.exec()) {
        return databaseError(QStringLiteral("reading run %1").arg(runId), query.lastError().text());
    }
    if (!query.next()) {
        return Error{QStringLiteral("run %1").arg(runId),
                     QStringLiteral("no such run in %1").arg(m_path)};
    }
    QString problem;
    RunRecord record = readRun(query, &problem);
    applyOrphaned(record);
    if (!problem.isEmpty()) {
        return corruptRun(runId, problem);
    }
    return record;
}

Result<Unit> RunStore::checkRows(const RunRecord &run, const std::vector<MetricRow> &rows)
{
    const auto tasks = static_cast<int>(run.taskIds.size());
    const int stages = run.config.value(QStringLiteral("stages")).toArray().size();
    const int clients = run.config.value(QStringLiteral("clients")).toArray().size();
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const MetricRow &row = rows[i];
        const bool baseline = row.kind == QLatin1String("baseline");
        const bool stageOk = baseline ? row.stage == -1 : row.stage >= 0 && row.stage < stages;
        const bool roundOk =
            baseline || row.kind == QLatin1String("matrix") ? row.round == -1 : row.round >= 0;
        const bool needsTask = baseline || row.kind == QLatin1String("matrix");
        const bool taskOk =
            needsTask ? row.task >= 0 && row.task < tasks : row.task >= -1 && row.task < tasks;
        const bool clientOk = row.client >= -1 && row.client < clients;
        if (!stageOk || !roundOk || !taskOk || !clientOk) {
            return corruptRun(
                run.id, QStringLiteral("metric row %1 (%2, stage %3, round %4, task %5, client %6) "
                                       "lies outside its %7 stages, %8 tasks and %9 clients")
                            .arg(i + 1)
                            .arg(row.kind)
                            .arg(row.stage)
                            .arg(row.round)
                            .arg(row.task)
                            .arg(row.client)
                            .arg(stages)
                            .arg(tasks)
                            .arg(clients));
        }
    }
    return Unit{};
}

Result<std::vector<MetricRow>> RunStore::metrics(qint64 runId)
{
    QSqlQuery query(QSqlDatabase::database(m_connectionName));
    query.setForwardOnly(true);
    query.prepare(QStringLiteral("SELECT stage, round, kind, task, client, value FROM metrics "
                                 "WHERE run_id = ? ORDER BY rowid"));
    query.addBindValue(runId);
    if (!query.exec()) {
        return databaseError(QStringLiteral("reading metrics of run %1").arg(runId),
                             query.lastError().text());
    }
    std::vector<MetricRow> rows;
    while (query.next()) {
        rows.push_back({query.value(0).toInt(), query.value(1).toInt(), query.value(2).toString(),
                        query.value(3).toInt(), query.value(4).toInt(),
                        query.value(5).isNull() ? std::nan("") : query.value(5).toDouble()});
    }
    return rows;
}

Result<AccuracyMatrix> RunStore::accuracyMatrix(qint64 runId)
{
    auto record = run(runId);
    if (!record) {
        return record.errors();
    }
    auto rows = metrics(runId);
    if (!rows) {
        return rows.errors();
    }
    if (auto checked = checkRows(record.value(), rows.value()); !checked) {
        return checked.errors();
    }
    return matrixFromRows(record.value(), rows.value());
}

AccuracyMatrix RunStore::matrixFromRows(const RunRecord &run, const std::vector<MetricRow> &rows,
                                        const QString &kind)
{
    const QJsonArray stages = run.config.value(QStringLiteral("stages")).toArray();
    // learnedAt: first stage that names the task: a task id, a {client: task} object, or a
    // {"mix": [tasks]} / {"positional": [task or [tasks], ...]} stage.
    std::vector<int> learnedAt(run.taskIds.size(), -1);
    const auto mark = [&](const QString &task, int s) {
        for (std::size_t j = 0; j < run.taskIds.size(); ++j) {
            if (run.taskIds[j] == task && learnedAt[j] < 0) {
                learnedAt[j] = s;
            }
        }
    };
    for (int s = 0; s < stages.size(); ++s) {
        for (const QString &task : readStageJson(stages.at(s)).tasks) {
            mark(task, s);
        }
    }
    // A task no stage names (a config this build cannot read): learned at the first stage, so
    // that no metric indexes before the matrix.
    for (int &at : learnedAt) {
        at = std::max(at, 0);
    }
    AccuracyMatrix matrix(static_cast<int>(stages.size()), learnedAt);
    const auto tasks = static_cast<int>(run.taskIds.size());
    if (kind != QLatin1String("matrix")) {
        std::vector<int> lastRound(static_cast<std::size_t>(stages.size()), -1);
        std::vector<bool> finished(static_cast<std::size_t>(stages.size()), false);
        for (const MetricRow &row : rows) {
            if (row.stage < 0 || row.stage >= stages.size()) {
                continue;
            }
            const auto s = static_cast<std::size_t>(row.stage);
            if (row.kind == QLatin1String("matrix")) {
                finished[s] = true;
            } else if (row.kind == kind) {
                lastRound[s] = std::max(lastRound[s], row.round);
            }
        }
        for (const MetricRow &row : rows) {
            if (row.kind == kind && row.task >= 0 && row.task < tasks && row.stage >= 0 &&
                row.stage < stages.size() && finished[static_cast<std::size_t>(row.stage)] &&
                row.round == lastRound[static_cast<std::size_t>(row.stage)]) {
                matrix.set(row.stage, row.task, row.value);
            }
        }
        return matrix;
    }
    for (const MetricRow &row : rows) {
        // checkRows() reports such rows; a caller that skipped it still must not index outside.
        if (row.task < 0 || row.task >= tasks) {
            continue;
        }
        if (row.kind == QLatin1String("matrix") && row.stage >= 0 && row.stage < stages.size()) {
            matrix.set(row.stage, row.task, row.value);
        } else if (row.kind == QLatin1String("baseline")) {
            matrix.setBaseline(row.task, row.value);
        }
    }
    return matrix;
}

} // namespace fcl
