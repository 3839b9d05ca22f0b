// SPDX-License-Identifier: MIT
#pragma once

#include "core/metrics/accuracy_matrix.h"

#include <QString>

#include <cstdint>
#include <vector>

namespace fcl {

/// What one federated round measured. Accuracy vectors are indexed by task column (the run's
/// tasks in order of first appearance); a task not evaluated this round is NaN.
struct RoundMetrics {
    int stage = 0;                       ///< 0-based
    int round = 0;                       ///< 0-based within the stage
    int globalRound = 0;                 ///< 0-based over the whole run
    bool evaluated = false;              ///< false on rounds skipped by evaluation.every_rounds
    std::vector<double> accuracyPerTask; ///< in the experiment's evaluation mode
    std::vector<double> taskIncrementalAccuracy;  ///< masked to each task's own answers
    std::vector<double> classIncrementalAccuracy; ///< masked to every answer seen so far
    /// Token-level F1 of the decoded answers per task; empty for classifier backbones (their
    /// answer is one word: F1 equals exact match, so nothing is stored twice).
    std::vector<double> tokenF1PerTask;
    /// Generative backbones (empty otherwise), as CoIN separates them: the share of answers in the
    /// form the instruction asks for (a class name, yes/no, a number...), and the share whose
    /// content is right even when the form is not ("sneaker" to "Is it footwear?"). Both >= acc.
    std::vector<double> formatPerTask;
    std::vector<double> knowledgePerTask;
    std::vector<double> clientAccuracy; ///< per client (NaN when it did not train this round)
    double averageAccuracy = 0;         ///< mean over tasks seen so far
    double averageForgetting = 0;       ///< vs the best earlier stage-end score of each older task
    double trainLoss = 0;               ///< sample-weighted mean local training loss
    int clientsSampled = 0;
    int clientsReturned = 0;    ///< sampled minus dropped out
    std::int64_t bytesUp = 0;   ///< client -> server, from the tensors actually sent
    std::int64_t bytesDown = 0; ///< server -> client
    double wallTimeMs = 0;
};

/// One row of the accuracy matrix, after a stage ends.
struct StageMetrics {
    int stage = 0;
    std::vector<double> accuracyPerTask;
    double averageAccuracy = 0;
    double averageForgetting = 0;
};

enum class RunStatus { Running, Completed, Cancelled, Failed, Interrupted };
QString runStatusName(RunStatus status);
RunStatus runStatusFromName(const QString &name);

/// The summary of a finished (or stopped) run.
struct RunSummary {
    AccuracyMatrix matrix;
    std::vector<QString> taskIds;
    double finalAverageAccuracy = 0;
    double averageIncrementalAccuracy = 0;
    double finalAverageForgetting = 0;
    double backwardTransfer = 0;
    double forwardTransfer = 0;
    std::int64_t totalBytesUp = 0;
    std::int64_t totalBytesDown = 0;
    int stagesCompleted = 0;
};

} // namespace fcl
