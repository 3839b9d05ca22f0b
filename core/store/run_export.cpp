// SPDX-License-Identifier: MIT
#include "core/store/run_export.h"

#include <QJsonArray>
#include <QJsonDocument>

#include <cmath>

namespace fcl {

namespace {
QString taskName(const RunRecord &run, int task)
{
    return task >= 0 && task < static_cast<int>(run.taskIds.size())
               ? run.taskIds[static_cast<std::size_t>(task)]
               : QString();
}

QJsonObject runObject(const RunExport &run)
{
    QJsonArray metrics;
    for (const MetricRow &row : run.rows) {
        QJsonObject object{{QStringLiteral("stage"), row.stage + 1},
                           {QStringLiteral("round"), row.round + 1},
                           {QStringLiteral("kind"), row.kind},
                           {QStringLiteral("value"), row.value}};
        if (row.task >= 0) {
            object.insert(QStringLiteral("task"), taskName(run.record, row.task));
        }
        if (row.client >= 0) {
            object.insert(QStringLiteral("client"), row.client);
        }
        metrics.append(object);
    }
    QJsonArray tasks;
    for (const QString &task : run.record.taskIds) {
        tasks.append(task);
    }
    QJsonArray observations;
    for (const Observation &o : run.observations) {
        QJsonArray values;
        for (double v : o.values) {
            values.append(std::isfinite(v) ? QJsonValue(v) : QJsonValue());
        }
        observations.append(QJsonObject{
            {QStringLiteral("stage"), o.stage + 1},
            {QStringLiteral("round"), o.round + 1},
            {QStringLiteral("kind"), o.kind},
            {QStringLiteral("title"), o.title},
            {QStringLiteral("shape"), observationShapeName(o.shape)},
            {QStringLiteral("labels"), QJsonArray::fromStringList(o.labels)},
            {QStringLiteral("column_labels"), QJsonArray::fromStringList(o.columnLabels)},
            {QStringLiteral("values"), values}});
    }
    return {{QStringLiteral("run"), run.record.id},
            {QStringLiteral("name"), run.record.name},
            {QStringLiteral("status"), runStatusName(run.record.status)},
            {QStringLiteral("seed"), static_cast<double>(run.record.seed)},
            {QStringLiteral("version"), run.record.version},
            {QStringLiteral("tasks"), tasks},
            {QStringLiteral("config"), run.record.config},
            {QStringLiteral("metrics"), metrics},
            {QStringLiteral("observations"), observations}};
}
} // namespace

QByteArray exportCsv(const std::vector<RunExport> &runs)
{
    QByteArray data = "run,stage,round,kind,task,client,value\n";
    for (const RunExport &run : runs) {
        for (const MetricRow &row : run.rows) {
            data +=
                QStringLiteral("%1,%2,%3,%4,%5,%6,%7\n")
                    .arg(run.record.id)
                    .arg(row.stage + 1)
                    .arg(row.round + 1)
                    .arg(row.kind, taskName(run.record, row.task))
                    .arg(row.client >= 0 ? QString::number(row.client) : QString())
                    .arg(std::isnan(row.value) ? QString() : QString::number(row.value, 'g', 10))
                    .toUtf8();
        }
    }
    return data;
}

QByteArray exportJson(const std::vector<RunExport> &runs)
{
    if (runs.size() == 1) {
        return QJsonDocument(runObject(runs.front())).toJson(QJsonDocument::Indented);
    }
    QJsonArray array;
    for (const RunExport &run : runs) {
        array.append(runObject(run));
    }
    return QJsonDocument(array).toJson(QJsonDocument::Indented);
}

Result<std::vector<RunExport>> loadRunExports(RunStore &store, const std::vector<qint64> &runIds)
{
    std::vector<RunExport> runs;
    for (qint64 id : runIds) {
        auto record = store.run(id);
        if (!record) {
            return record.errors();
        }
        auto rows = store.metrics(id);
        if (!rows) {
            return rows.errors();
        }
        if (auto checked = RunStore::checkRows(record.value(), rows.value()); !checked) {
            return checked.errors();
        }
        auto observations = store.observations(id);
        if (!observations) {
            return observations.errors();
        }
        runs.push_back(
            {std::move(record).value(), std::move(rows).value(), std::move(observations).value()});
    }
    return runs;
}

} // namespace fcl
