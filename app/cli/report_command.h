// SPDX-License-Identifier: MIT
#pragma once

#include <QStringList>

namespace fcl::cli {

/// `fcl report RUN... -o OUT.pdf|.html [--db FILE]`: the workbench's report, without a window.
/// Needs a QApplication (created by main() for this command only, on the offscreen platform).
int commandReport(const QStringList &args);

} // namespace fcl::cli
