// SPDX-License-Identifier: MIT
#pragma once

#include "core/common/error.h"

#include <QString>

#include <cstdint>
#include <vector>

namespace fcl {

class RunStore;

/// A question put to a stored run's models ("ask the model"). Plain value type.
struct AskQuery {
    /// The instruction as typed. May be empty when `sampleTask` is set: the sample's own prompt.
    QString instruction;
    /// The image: "test:N" or "train:N" (Fashion-MNIST, untransformed), a path to a 28x28
    /// grayscale PNG, or empty for none (text-only). Ignored when `sampleTask` is set.
    QString image;
    /// A test sample of one of the run's tasks (its image as the task shows it, transformed or
    /// composed, and its prompt), with its expected answer; empty for none.
    QString sampleTask;
    int sampleIndex = 0;
    /// Stages (0-based) whose end-of-stage model answers; empty: every stage that has one.
    std::vector<int> stages;
    /// The client whose model answers (personalised methods keep parameters per client); -1: the
    /// global model.
    int client = -1;
    /// Also ask the model before any training (the base, or the untrained network).
    bool includeUntrained = true;
};

/// One model's answer: `stage` -1 is the untrained model.
struct AskAnswer {
    int stage = -1;
    QString answer;
    /// Classifier backbones: the probability of the chosen answer word; generative: -1.
    double probability = -1;
};

struct AskResult {
    QString instruction;             ///< the instruction asked (the sample's prompt if not typed)
    QString expected;                ///< the sample's expected answer, or empty
    std::vector<std::uint8_t> image; ///< the 784 gray pixels shown to the model, or empty
    QString backbone;
    /// stageTasks[s]: the distinct tasks stage s trained, joined by ", " (for labelling answers).
    std::vector<QString> stageTasks;
    std::vector<AskAnswer> answers; ///< in stage order, the untrained model first
};

/// Loads run `runId`'s experiment and its end-of-stage checkpoints from `store` and asks each
/// chosen stage's model the query: generative backbones decode greedily (as evaluation does);
/// classifiers answer their top answer word. Single-threaded; nothing is written to the store.
/// Errors (unknown run or client, a stage without a checkpoint, an unreadable image, an
/// instruction on a classifier it was never taught) name what is wrong.
Result<AskResult> askRun(qint64 runId, RunStore &store, const AskQuery &query);

} // namespace fcl
