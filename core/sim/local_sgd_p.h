// SPDX-License-Identifier: MIT
// Private (torch) header: the default client algorithm and task evaluation.
#pragma once

#include "core/model/method_api_p.h"

namespace fcl::detail {

/// A loss above kDivergenceFactor x max(its starting value, 1) is divergence, finite or not: lr
/// 10 on the mlp reaches losses of 1e5 to 1e23 inside the first round and recovers to nonsense.
constexpr double kDivergenceFactor = 1000;

constexpr int kClientEvalSamples = 200;
constexpr int kClientEvalSamplesGenerative = 48; ///< decoding costs more: a smaller check

/// Local mini-batch SGD (or Adam) over the client's samples for local_epochs, with the plugins'
/// hooks; a straggler (speed < 1) stops after that fraction of its steps. FedAvg's ClientUpdate.
class LocalSgd : public ClientAlgorithm {
public:
    ClientResult train(LocalTraining &training, ClientState &state) const override;

protected:
    /// After the model was loaded and the plugins' beforeTraining, before the first batch.
    virtual void beforeBatches(LocalTraining &) const {}
    /// One batch (after the plugins' augmentBatch; `current` rows are the client's own): zero
    /// the gradients, add the plugins' loss terms to the task loss, backpropagate, call the
    /// plugins' beforeStep, step. Each loss goes to `healthy` before its backward; when that
    /// returns false (divergence) stop at once. Returns the task loss (batch mean).
    virtual double trainBatch(LocalTraining &training, ClientState &state,
                              torch::optim::Optimizer &optimizer, const Batch &batch, int current,
                              const std::function<bool(double)> &healthy) const;
    /// The end of every optimiser step: adds the plugins' loss terms on `outputs` to `loss`,
    /// checks it with `healthy` (false: nothing else happens), backpropagates, calls the
    /// plugins' beforeStep and steps. Returns what `healthy` returned.
    bool finishStep(LocalTraining &training, ClientState &state, torch::optim::Optimizer &optimizer,
                    const Batch &batch, int current, const Outputs &outputs, torch::Tensor loss,
                    const std::function<bool(double)> &healthy) const;
};

/// `logits` of a batch's outputs restricted to each sample's task's own answers when training is
/// multi-head (LocalConfig::taskHeads, classifier outputs); otherwise `logits` unchanged.
torch::Tensor ownAnswerLogits(const LocalConfig &config, const Batch &batch, const Outputs &outputs,
                              const torch::Tensor &logits);

/// The task loss of a batch's outputs: cross-entropy, over the task's own answers only with
/// multi-head training (LocalConfig::taskHeads).
torch::Tensor taskLossOf(const LocalConfig &config, const Batch &batch, const Outputs &outputs);

/// Accuracy of a network's current weights on task `task`: task-incremental (masked to the
/// task's own answers) and class-incremental (masked to `seenAnswers`).
struct TaskAccuracy {
    double taskIncremental = 0;
    double classIncremental = 0;
    double f1 = 0;
    double format = 0;    ///< generative: share of answers well formed for the instruction
    double knowledge = 0; ///< generative: share of answers with the right content (>= exact)
};
/// Generative backbones are scored by exact match of the greedily decoded answer (both fields
/// equal; there is no answer mask in generation) and report token-level F1 in `f1`, and CoIN's
/// split of an answer into format and knowledge (AnswerChecker) in `format` and `knowledge`.
/// `router` (generative backbones): routes each chunk of prompts before it is generated.
TaskAccuracy evaluateTask(Network &network, const SharedData &data, const TaskData &task,
                          const torch::Tensor &seenAnswers, int maxSamples = -1,
                          const EvaluationRouter *router = nullptr);

/// SQuAD-style token F1 of two answers (whitespace-separated words, as bags).
double tokenF1(const QString &predicted, const QString &expected);

} // namespace fcl::detail
