// SPDX-License-Identifier: MIT
#pragma once

#include <QStringList>

class QTextStream;

namespace fcl::cli {

/// Exit codes: 0 success, 1 a failure during the run (or output that could not be written), 2 bad
/// input (arguments, files, fields, a corrupt database); a run cancelled by a signal exits with
/// 128 + the signal (130 after SIGINT, 143 after SIGTERM).
enum ExitCode { kExitOk = 0, kExitRunFailed = 1, kExitBadInput = 2 };

/// The CLI's output streams and its bad-input exit ("fcl: MESSAGE" on stderr, returns 2).
QTextStream &out();
QTextStream &err();
int badInput(const QString &message);
/// `text` with control characters (escape, NUL, ...; not newline or tab) written as \uXXXX, so a
/// name from a file cannot drive the terminal.
QString printable(const QString &text);

/// Parses `arguments` (argv, program name first) and runs the command.
int dispatch(const QStringList &arguments);

/// Flushes standard output; if anything written to it was lost (a full disk, a closed pipe or
/// descriptor) says so on stderr and turns a success into exit 1. Returns the exit code.
int finishOutput(int exitCode);

} // namespace fcl::cli
