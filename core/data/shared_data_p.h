// SPDX-License-Identifier: MIT
// Private (torch) header: the data every client shares during a run, and batches built from it.
#pragma once

#include "core/continual/replay_buffer.h"
#include "core/data/task_catalog.h"

#include <torch/torch.h>

#include <array>
#include <memory>
#include <vector>

namespace fcl::detail {

constexpr int kInstructionDim = 16;
constexpr int kNoiseBankSize = 64;
constexpr double kNoiseStd = 0.35;

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

/// A batch of samples from possibly several tasks, ready for Network::forward().
struct Batch {
    torch::Tensor images;
    torch::Tensor instructions;
    torch::Tensor answers;
    torch::Tensor answerMask; ///< [B, outputs] bool: each sample's task's own answers
};
Batch makeBatch(const SharedData &data, const std::vector<SampleRef> &refs);

} // namespace fcl::detail
