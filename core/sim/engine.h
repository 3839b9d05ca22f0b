// SPDX-License-Identifier: MIT
#pragma once

#include "core/common/cancellation.h"
#include "core/sim/experiment.h"
#include "core/sim/run_observer.h"

namespace fcl {

class RunStore;

struct RunOptions {
    /// Worker threads training clients in parallel; 0 = one per core. The results do not depend
    /// on it: each client has its own RNG stream and the server aggregates in client order.
    int threads = 0;
};

/// Runs one experiment to the end, synchronously, on the calling thread (plus its worker pool).
/// Loads Fashion-MNIST, partitions each stage's tasks over the clients, trains and evaluates.
/// Every round is committed to `store` (if not null) as it finishes. Honours `cancel` between
/// batches and between clients: a cancelled run returns status Cancelled with every finished
/// round kept. Never throws: torch and std exceptions become status Failed with the message, a NaN
/// loss becomes "diverged at stage S, round R (loss = nan)". Bad input (unreadable data, an
/// impossible partition) is Failed with badInput set.
RunOutcome runExperiment(const Experiment &experiment, RunStore *store, RunObserver &observer,
                         const CancellationToken &cancel, const RunOptions &options = {});

} // namespace fcl
