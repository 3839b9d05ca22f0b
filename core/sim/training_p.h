// SPDX-License-Identifier: MIT
// Private (torch) header of the engine: shared data, local training, evaluation.
#pragma once

#include "core/common/cancellation.h"
#include "core/continual/replay_buffer.h"
#include "core/data/task_catalog.h"
#include "core/model/model_p.h"
#include "core/sim/experiment.h"

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <vector>

namespace fcl::detail {

constexpr int kInstructionDim = 16;
constexpr int kNoiseBankSize = 64;
constexpr double kNoiseStd = 0.35;
constexpr int kClientEvalSamples = 200;

/// One column of the accuracy matrix: a task with its training pool and its held-out test tensors.
struct TaskData {
    const TaskSpec *spec = nullptr;
    std::vector<int> trainIndices;      ///< into FashionMnist::train
    std::vector<int> trainSourceLabels; ///< Fashion-MNIST class of each pool sample
    std::array<int, 10> answerOfLabel{};
    torch::Tensor testImages;  ///< [N, 784] float, transformed
    torch::Tensor testAnswers; ///< [N] int64
    torch::Tensor instruction; ///< [kInstructionDim]
    torch::Tensor ownAnswers;  ///< [outputs] bool mask of the task's answers
};

/// Everything read-only that all clients share: the images once, the tasks as indices.
struct SharedData {
    std::shared_ptr<const FashionMnist> fashionMnist;
    torch::Tensor trainPixels; ///< [60000, 784] uint8 view of fashionMnist->train.pixels
    torch::Tensor noiseBank;   ///< [kNoiseBankSize, 784]
    std::vector<TaskData> tasks;
};

/// Builds the shared data for `columns` (task ids), deterministic in `seed`.
SharedData buildSharedData(std::shared_ptr<const FashionMnist> data,
                           const std::vector<QString> &columns, int testSamplesPerTask,
                           std::uint64_t seed);

/// A batch of samples from possibly several tasks, ready for forward().
struct Batch {
    torch::Tensor images;
    torch::Tensor instructions;
    torch::Tensor answers;
};
Batch makeBatch(const SharedData &data, const std::vector<SampleRef> &refs);

/// A worker's private model replica (and a teacher replica for LwF).
struct Replica {
    std::shared_ptr<Network> network;
    std::vector<torch::Tensor> parameters;
    std::shared_ptr<Network> teacher;
    std::vector<torch::Tensor> teacherParameters;
    int teacherVersion = -1;
};

/// State the server shares read-only with every client during a round.
struct RoundContext {
    const Experiment *experiment = nullptr;
    const SharedData *data = nullptr;
    const std::vector<torch::Tensor> *global = nullptr;
    // Continual state (empty when unused).
    const std::vector<torch::Tensor> *fisher = nullptr;
    const std::vector<torch::Tensor> *anchor = nullptr;
    const std::vector<torch::Tensor> *teacher = nullptr;
    int teacherVersion = -1;
    int stage = 0;
    int round = 0;
    const CancellationToken *cancel = nullptr;
};

struct ClientUpdate {
    std::vector<torch::Tensor> parameters;
    double weight = 0;  ///< the client's sample count (FedAvg weight)
    double lossSum = 0; ///< sum over processed samples of the task loss
    std::int64_t samples = 0;
    double accuracy = 0; ///< local model on its task's test split
    bool cancelled = false;
    QString error; ///< non-empty: the client failed (diverged, torch error)
};

/// Local training of one client on its data for this round (FedAvg/FedProx client update, with
/// the continual method's extra loss or replay).
ClientUpdate trainClient(Replica &replica, const RoundContext &context, int client, int column,
                         const std::vector<int> &indices, ReplayBuffer *buffer);

/// Diagonal empirical Fisher of the global model on up to `samples` of the client's data.
std::vector<torch::Tensor> estimateFisher(Replica &replica, const RoundContext &context, int column,
                                          const std::vector<int> &indices, int samples);

/// Accuracy of the replica's current weights on task `column`: task-incremental (masked to the
/// task's own answers) and class-incremental (masked to `seenAnswers`).
struct TaskAccuracy {
    double taskIncremental = 0;
    double classIncremental = 0;
};
TaskAccuracy evaluateTask(Network &network, const TaskData &task, const torch::Tensor &seenAnswers,
                          int maxSamples = -1);

/// Runs `jobs` jobs on `threads` threads; job j may run on any worker. Returns when all are done.
void runParallel(int jobs, int threads, const std::function<void(int worker, int job)> &work);

/// Makes a network for the experiment's backbone.
std::shared_ptr<Network> makeExperimentNetwork(const Experiment &experiment);

} // namespace fcl::detail
