// SPDX-License-Identifier: MIT
// Private header of the store: helpers its translation units share.
#pragma once

#include "core/common/error.h"
#include "core/store/run_store.h"

#include <QSqlDatabase>
#include <QVariant>

#include <functional>
#include <vector>

namespace fcl::detail {

QString nowText();
/// NaN as SQL NULL.
QVariant nullable(double value);
/// Inserts rows in one prepared statement inside the caller's transaction.
bool insertRows(QSqlDatabase &db, qint64 runId, const std::vector<MetricRow> &rows, QString &error);
/// Runs `body` in a transaction: committed when it returns true, rolled back (with its error
/// text passed to makeError) when it returns false or the commit fails.
Result<Unit> inTransaction(QSqlDatabase db, const std::function<bool(QString &error)> &body,
                           const std::function<Error(const QString &)> &makeError);
/// insertRows in a transaction of its own.
Result<Unit> commitRows(QSqlDatabase db, qint64 runId, const std::vector<MetricRow> &rows,
                        const std::function<Error(const QString &)> &makeError);
std::vector<MetricRow> roundRows(const RoundMetrics &round);
/// "run N is corrupt: <what>": a stored value the program did not write that way.
Error corruptRun(qint64 runId, const QString &what);
/// Why an observation's values do not fit its shape and labels (empty when they do).
QString observationProblem(const Observation &o);
std::vector<MetricRow> stageRows(const StageMetrics &stage);

} // namespace fcl::detail
