// SPDX-License-Identifier: MIT
#pragma once

#include "core/store/run_store.h"

#include <QByteArray>

#include <vector>

namespace fcl {

/// A run with its metric rows, as exported.
struct RunExport {
    RunRecord record;
    std::vector<MetricRow> rows;
    std::vector<Observation> observations;
};

/// CSV, one metric row per line: run,stage,round,kind,task,client,value. Stages and rounds are
/// 1-based; stage 0 is the untrained baseline and round 0 a stage-level (accuracy-matrix) row.
QByteArray exportCsv(const std::vector<RunExport> &runs);
/// JSON: an object per run (id, name, status, seed, version, tasks, config, metrics,
/// observations); one run is written as that object, several as an array.
QByteArray exportJson(const std::vector<RunExport> &runs);
/// Loads what exportCsv/exportJson need; errors name the run.
Result<std::vector<RunExport>> loadRunExports(RunStore &store, const std::vector<qint64> &runIds);

} // namespace fcl
