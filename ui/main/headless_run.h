// SPDX-License-Identifier: MIT
#pragma once

#include "core/sim/run_observer.h"

#include <QString>

namespace fcl::ui {

/// Selects Qt's offscreen platform (unless one is chosen) before the QApplication exists, and gives
/// Qt a private runtime directory when the session has none (avoids a warning on every start).
void prepareOffscreenPlatform();

/// "Run 4 completed: ACC 0.577, forgetting 0.000"; a run that failed or ended before its first
/// stage says it has no final metrics instead of showing zeros.
QString outcomeLine(const RunOutcome &outcome);

/// The workbench without a display: runs the experiment on this thread, prints one line per
/// stage, stores the run and writes the PDF/HTML report. Returns the CLI's exit codes (0, 1, 2).
/// Needs a QApplication on the offscreen platform (for the report's plots).
int runHeadless(const QString &experimentPath, const QString &databasePath,
                const QString &reportPath);

} // namespace fcl::ui
