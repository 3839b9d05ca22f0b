// SPDX-License-Identifier: MIT
// The run store's round commits, observations and checkpoints (schema 2).
#include "core/store/run_store.h"
#include "core/store/run_store_p.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QSqlError>
#include <QSqlQuery>
#include <QSysInfo>

#include <cmath>
#include <unistd.h>

namespace fcl {

using detail::corruptRun;
using detail::observationProblem;
namespace {

QString jsonText(const QJsonArray &array)
{
    return QString::fromUtf8(QJsonDocument(array).toJson(QJsonDocument::Compact));
}

QJsonArray labelArray(const QStringList &labels)
{
    QJsonArray array;
    for (const QString &label : labels) {
        array.append(label);
    }
    return array;
}

QStringList labelsFrom(const QString &text)
{
    QStringList labels;
    for (const QJsonValue &v : QJsonDocument::fromJson(text.toUtf8()).array()) {
        labels << v.toString();
    }
    return labels;
}

bool insertObservations(QSqlDatabase &db, qint64 runId, const std::vector<Observation> &list,
                        QString &error)
{
    QSqlQuery insert(db);
    insert.prepare(QStringLiteral(
        "INSERT INTO observations(run_id, stage, round, global_round, client, kind, title, shape, "
        "labels, column_labels, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    for (const Observation &o : list) {
        QJsonArray values;
        for (double v : o.values) {
            values.append(std::isfinite(v) ? QJsonValue(v) : QJsonValue()); // NaN: null
        }
        insert.bindValue(0, runId);
        insert.bindValue(1, o.stage);
        insert.bindValue(2, o.round);
        insert.bindValue(3, o.globalRound);
        insert.bindValue(4, o.client);
        insert.bindValue(5, o.kind);
        insert.bindValue(6, o.title);
        insert.bindValue(7, observationShapeName(o.shape));
        insert.bindValue(8, jsonText(labelArray(o.labels)));
        insert.bindValue(9, jsonText(labelArray(o.columnLabels)));
        insert.bindValue(10, jsonText(values));
        if (!insert.exec()) {
            error = insert.lastError().text();
            return false;
        }
    }
    return true;
}

bool exec(QSqlQuery &query, const QVariantList &values, QString &error)
{
    for (int i = 0; i < values.size(); ++i) {
        query.bindValue(i, values[i]);
    }
    if (!query.exec()) {
        error = query.lastError().text();
        return false;
    }
    return true;
}

/// A checkpoint row from columns stage, round, stage_end, bytes (and data when `withData`).
CheckpointRecord checkpointFrom(const QSqlQuery &query, bool withData)
{
    CheckpointRecord record;
    record.stage = query.value(0).toInt();
    record.round = query.value(1).toInt();
    record.stageEnd = query.value(2).toInt() != 0;
    record.bytes = query.value(3).toLongLong();
    if (withData) {
        record.data = query.value(4).toByteArray();
    }
    return record;
}

} // namespace

QString observationShapeName(ObservationShape shape)
{
    switch (shape) {
    case ObservationShape::Series:
        return QStringLiteral("series");
    case ObservationShape::Matrix:
        return QStringLiteral("matrix");
    case ObservationShape::Points:
        return QStringLiteral("points");
    case ObservationShape::Assignment:
        return QStringLiteral("assignment");
    case ObservationShape::Graph:
        return QStringLiteral("graph");
    }
    return QStringLiteral("series");
}

ObservationShape observationShapeFromName(const QString &name, bool *ok)
{
    for (ObservationShape shape :
         {ObservationShape::Series, ObservationShape::Matrix, ObservationShape::Points,
          ObservationShape::Assignment, ObservationShape::Graph}) {
        if (observationShapeName(shape) == name) {
            if (ok != nullptr) {
                *ok = true;
            }
            return shape;
        }
    }
    if (ok != nullptr) {
        *ok = false;
    }
    return ObservationShape::Series;
}

Result<Unit> RunStore::commitRound(qint64 runId, const RoundCommit &commit)
{
    Q_ASSERT(commit.round != nullptr);
    QSqlDatabase db = QSqlDatabase::database(m_connectionName);
    const QString what = QStringLiteral("saving stage %1 round %2")
                             .arg(commit.round->stage + 1)
                             .arg(commit.round->round + 1);
    return detail::inTransaction(
        db,
        [&](QString &error) {
            if (!detail::insertRows(db, runId, detail::roundRows(*commit.round), error)) {
                return false;
            }
            if (commit.stage != nullptr &&
                !detail::insertRows(db, runId, detail::stageRows(*commit.stage), error)) {
                return false;
            }
            if (commit.observations != nullptr &&
                !insertObservations(db, runId, *commit.observations, error)) {
                return false;
            }
            if (commit.checkpoint.isEmpty()) {
                return true;
            }
            QSqlQuery drop(db);
            drop.prepare(
                QStringLiteral("DELETE FROM checkpoints WHERE run_id = ? AND stage_end = 0"));
            QSqlQuery insert(db);
            insert.prepare(QStringLiteral(
                "INSERT INTO checkpoints(run_id, stage, round, stage_end, format, created_at, "
                "bytes, data) VALUES (?, ?, ?, ?, 1, ?, ?, ?)"));
            return exec(drop, {runId}, error) &&
                   exec(insert,
                        {runId, commit.round->stage, commit.round->round,
                         commit.checkpointIsStageEnd ? 1 : 0, detail::nowText(),
                         static_cast<qint64>(commit.checkpoint.size()), commit.checkpoint},
                        error);
        },
        [&](const QString &why) {
            return databaseError(what, why);
        });
}

Result<std::vector<Observation>> RunStore::observations(qint64 runId)
{
    QSqlQuery query(QSqlDatabase::database(m_connectionName));
    query.prepare(QStringLiteral(
        "SELECT stage, round, global_round, client, kind, title, shape, labels, column_labels, "
        "data FROM observations WHERE run_id = ? ORDER BY id"));
    query.addBindValue(runId);
    if (!query.exec()) {
        return databaseError(QStringLiteral("reading observations of run %1").arg(runId),
                             query.lastError().text());
    }
    std::vector<Observation> list;
    while (query.next()) {
        Observation o;
        o.stage = query.value(0).toInt();
        o.round = query.value(1).toInt();
        o.globalRound = query.value(2).toInt();
        o.client = query.value(3).toInt();
        o.kind = query.value(4).toString();
        o.title = query.value(5).toString();
        bool known = false;
        o.shape = observationShapeFromName(query.value(6).toString(), &known);
        if (!known) {
            continue; // written by a newer program: skip what we cannot draw
        }
        o.labels = labelsFrom(query.value(7).toString());
        o.columnLabels = labelsFrom(query.value(8).toString());
        for (const QJsonValue &v :
             QJsonDocument::fromJson(query.value(9).toString().toUtf8()).array()) {
            o.values.push_back(v.isDouble() ? v.toDouble() : std::nan(""));
        }
        if (const QString problem = observationProblem(o); !problem.isEmpty()) {
            return corruptRun(runId, QStringLiteral("observation %1 (%2): %3")
                                         .arg(list.size() + 1)
                                         .arg(o.kind, problem));
        }
        list.push_back(std::move(o));
    }
    return list;
}

Result<std::optional<CheckpointRecord>> RunStore::latestCheckpoint(qint64 runId)
{
    QSqlQuery query(QSqlDatabase::database(m_connectionName));
    query.prepare(QStringLiteral("SELECT stage, round, stage_end, bytes, data FROM checkpoints "
                                 "WHERE run_id = ? ORDER BY stage DESC, round DESC LIMIT 1"));
    query.addBindValue(runId);
    if (!query.exec()) {
        return databaseError(QStringLiteral("reading the checkpoint of run %1").arg(runId),
                             query.lastError().text());
    }
    if (!query.next()) {
        return std::optional<CheckpointRecord>();
    }
    return std::optional<CheckpointRecord>(checkpointFrom(query, true));
}

Result<std::optional<CheckpointRecord>> RunStore::stageCheckpoint(qint64 runId, int stage)
{
    QSqlQuery query(QSqlDatabase::database(m_connectionName));
    query.prepare(QStringLiteral("SELECT stage, round, stage_end, bytes, data FROM checkpoints "
                                 "WHERE run_id = ? AND stage = ? AND stage_end = 1 "
                                 "ORDER BY round DESC LIMIT 1"));
    query.addBindValue(runId);
    query.addBindValue(stage);
    if (!query.exec()) {
        return databaseError(
            QStringLiteral("reading the checkpoint of run %1, stage %2").arg(runId).arg(stage + 1),
            query.lastError().text());
    }
    if (!query.next()) {
        return std::optional<CheckpointRecord>();
    }
    return std::optional<CheckpointRecord>(checkpointFrom(query, true));
}

Result<std::vector<CheckpointRecord>> RunStore::checkpoints(qint64 runId)
{
    QSqlQuery query(QSqlDatabase::database(m_connectionName));
    query.prepare(QStringLiteral("SELECT stage, round, stage_end, bytes FROM checkpoints WHERE "
                                 "run_id = ? ORDER BY stage, round"));
    query.addBindValue(runId);
    if (!query.exec()) {
        return databaseError(QStringLiteral("listing the checkpoints of run %1").arg(runId),
                             query.lastError().text());
    }
    std::vector<CheckpointRecord> list;
    while (query.next()) {
        list.push_back(checkpointFrom(query, false));
    }
    return list;
}

Result<Unit> RunStore::reopenRun(qint64 runId, int stage, int round)
{
    QSqlDatabase db = QSqlDatabase::database(m_connectionName);
    // Rows of rounds after (stage, round); stage-level rows (round -1) of later stages; with
    // stage -1, everything including the baseline (stage -1, round -1).
    const QString after = stage < 0 ? QStringLiteral("run_id = ?")
                                    : QStringLiteral("run_id = ? AND (stage > ? OR (stage = ? AND "
                                                     "round > ?))");
    const QVariantList bind =
        stage < 0 ? QVariantList{runId} : QVariantList{runId, stage, stage, round};
    auto reopened = detail::inTransaction(
        db,
        [&](QString &error) {
            for (const char *table : {"metrics", "observations", "checkpoints"}) {
                QSqlQuery drop(db);
                drop.prepare(
                    QStringLiteral("DELETE FROM %1 WHERE %2").arg(QLatin1String(table), after));
                if (!exec(drop, bind, error)) {
                    return false;
                }
            }
            QSqlQuery update(db);
            update.prepare(QStringLiteral(
                "UPDATE runs SET status = 'running', finished_at = NULL, error = NULL, host = ?, "
                "pid = ? WHERE id = ?"));
            return exec(update,
                        {QSysInfo::machineHostName(), static_cast<qint64>(::getpid()), runId},
                        error);
        },
        [&](const QString &why) {
            return databaseError(QStringLiteral("reopening run %1").arg(runId), why);
        });
    if (!reopened) {
        return reopened;
    }
    return appendEvent(
        runId, QStringLiteral("info"),
        stage < 0
            ? QStringLiteral("resumed from the start")
            : QStringLiteral("resumed after stage %1, round %2").arg(stage + 1).arg(round + 1));
}

} // namespace fcl
