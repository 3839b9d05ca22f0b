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
    /// Besides every stage's end, also save a checkpoint every this many rounds (0: only at stage
    /// ends). Only the newest mid-stage checkpoint is kept. Does not change results.
    int checkpointEveryRounds = 0;
    /// When another process holds the run database locked (each attempt already waits SQLite's
    /// 5 s busy timeout), a round's commit is tried again with growing pauses for this long before
    /// the run fails; the round's rows stay in memory meanwhile.
    int databaseLockWaitMs = 60000;
};

/// Runs one experiment to the end, synchronously, on the calling thread (plus its worker pool).
/// Loads Fashion-MNIST, partitions each stage's tasks over the clients, trains and evaluates.
/// Every round is committed to `store` (if not null) as it finishes, with a checkpoint of the whole
/// run state at every stage's end (see resumeRun). Honours `cancel` between batches and between
/// clients: a cancelled run returns status Cancelled with every finished round kept. Never throws:
/// torch and std exceptions become status Failed with the message, a NaN loss becomes "diverged
/// at stage S, round R (loss = nan)". Bad input (unreadable data, an impossible partition) is
/// Failed with badInput set.
RunOutcome runExperiment(const Experiment &experiment, RunStore *store, RunObserver &observer,
                         const CancellationToken &cancel, const RunOptions &options = {});

/// Continues stored run `runId` (interrupted, cancelled or failed) from its latest checkpoint:
/// rows after the checkpoint are removed and those rounds run again, so the finished run's
/// metrics equal an uninterrupted run's bit for bit. A run without a checkpoint starts again from
/// its first round. The run keeps its id. A completed or still running run, an unknown id or a
/// stored config this program cannot read is Failed with badInput set and nothing changed.
RunOutcome resumeRun(qint64 runId, RunStore &store, RunObserver &observer,
                     const CancellationToken &cancel, const RunOptions &options = {});

} // namespace fcl
