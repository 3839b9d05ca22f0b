// SPDX-License-Identifier: MIT
#pragma once

#include "core/common/format.h"
#include "core/metrics/accuracy_matrix.h"
#include "core/store/run_store.h"

#include <QString>

#include <vector>

namespace fcl::cli {

/// The accuracy matrix as an aligned text table (rows: after stage i, columns: tasks), with the
/// untrained baseline as the first row.
QString formatMatrix(const AccuracyMatrix &matrix, const std::vector<QString> &taskIds);
/// The final metrics of a run, one per line.
QString formatSummary(const AccuracyMatrix &matrix, qint64 bytesUp, qint64 bytesDown);
using fcl::formatBytes;
/// The help text for every registered method and its parameters.
QString formatRegistry();

} // namespace fcl::cli
