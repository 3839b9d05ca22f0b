// SPDX-License-Identifier: MIT
#pragma once

#include <QStringList>

namespace fcl::cli {

/// `fcl import FILE [options]`: reads and checks a user data file as an experiment would, prints
/// what it holds and the "datasets" entry to use; every broken line on stderr, exit 2.
int commandImport(const QStringList &args);
/// `fcl ask RUN "INSTRUCTION" [options]`: the run's model after each stage answers.
int commandAsk(const QStringList &args);

} // namespace fcl::cli
