// SPDX-License-Identifier: MIT
#pragma once

#include <QStringList>

class QTextStream;

namespace fcl::cli {

/// Exit codes: 0 success, 1 a failure during the run, 2 bad input (arguments, files, fields).
enum ExitCode { kExitOk = 0, kExitRunFailed = 1, kExitBadInput = 2 };

/// The CLI's output streams and its bad-input exit ("fcl: MESSAGE" on stderr, returns 2).
QTextStream &out();
QTextStream &err();
int badInput(const QString &message);

/// Parses `arguments` (argv, program name first) and runs the command.
int dispatch(const QStringList &arguments);

} // namespace fcl::cli
