// SPDX-License-Identifier: MIT
#pragma once

#include "core/sim/experiment.h"

#include <QString>

#include <cstdint>

namespace fcl {

/// What a run will roughly need in memory at its peak, from the experiment alone (the model is
/// built once to count its parameters; no data is loaded).
///
/// The dominant term at scale is the uploads: every returning client's trained copy of the shared
/// parameters is held until the round is aggregated, so a round costs clients per round x
/// parameter bytes (x2 for SCAFFOLD's control variates). Idle clients cost ~2 KiB each plus their
/// sample indices.
struct MemoryEstimate {
    std::int64_t peakBytes = 0;
    std::int64_t fixedBytes = 0;     ///< process, libraries, Fashion-MNIST, test sets, workers
    std::int64_t uploadBytes = 0;    ///< the largest round's uploads
    std::int64_t clientBytes = 0;    ///< every client's own state
    std::int64_t parameterBytes = 0; ///< one copy of the shared trainable parameters
    int clientsPerRound = 0;
    /// "about 3.2 GB: 3000 clients a round x 1.1 MB of shared parameters ..." with the settings
    /// that lower it.
    QString explanation() const;
};

/// Throws nothing; an experiment whose model cannot be built gets an estimate without it.
MemoryEstimate estimateMemory(const Experiment &experiment);

/// The memory this process may use: the machine's (MemTotal) or the process's address-space limit
/// (ulimit -v), whichever is smaller; 0 when unknown.
std::int64_t machineMemoryBytes();

} // namespace fcl
