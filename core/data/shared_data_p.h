// SPDX-License-Identifier: MIT
// Private (torch) header: the data every client shares during a run, and batches built from it.
#pragma once

#include "core/continual/replay_buffer.h"
#include "core/data/task_catalog.h"
#include "core/data/user_task.h"
#include "core/model/model_p.h"

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
    std::shared_ptr<const TaskSpec> ownedSpec; ///< user tasks: the spec `spec` points at
    std::shared_ptr<const UserTaskData> user;  ///< user tasks: their samples
    std::vector<int> userAnswerWord;     ///< user tasks: the answer word of each of user->answers
    std::vector<int> trainIndices;       ///< into FashionMnist::train (user tasks: user->train)
    std::vector<int> trainSourceLabels;  ///< Fashion-MNIST class of each pool sample (user
                                         ///< tasks: the index of its answer in user->answers)
    std::array<int, 10> answerOfLabel{}; ///< for tasks whose answer is the class's (else -1)
    torch::Tensor testImages;            ///< [N, 784] float, transformed (zeros for text tasks)
    torch::Tensor testAnswers;           ///< [N] int64 answer-word index (0 for text tasks)
    torch::Tensor instruction;           ///< [kInstructionDim]
    torch::Tensor ownAnswers;            ///< [outputs] bool mask of the task's answers
    std::vector<QString> testPrompts;    ///< the phrasing (or full text prompt) of each test sample
    std::vector<QString> testAnswerTexts;   ///< the expected answer text of each test sample
    std::vector<std::uint8_t> testHasImage; ///< whether each test sample shows its image
    int longestAnswer = 1;                  ///< characters of the longest test answer
};

/// How samples become token sequences for a generative backbone.
struct SequenceFormat {
    const CharTokenizer *tokenizer = nullptr;
    int patches = 0;
    int maxText = 0;
};

/// Everything read-only that all clients share: the images once, the tasks as indices.
struct SharedData {
    std::shared_ptr<const FashionMnist> fashionMnist;
    torch::Tensor trainPixels; ///< [60000, 784] uint8 view of fashionMnist->train.pixels
    torch::Tensor noiseBank;   ///< [kNoiseBankSize, 784]
    std::vector<TaskData> tasks;
    std::uint64_t seed = 1;
    /// Outputs of a classifier head: one past the highest answer word the tasks use.
    int answerCount = kAnswerCount;
    /// The answer words: answerVocabulary(), then the user tasks' answers it lacks.
    std::vector<QString> answerWords;
    std::vector<float> trainBrightness;       ///< mean intensity of every training image
    std::array<float, 10> brightnessMedian{}; ///< per class, over the training images
    SequenceFormat format; ///< set for generative backbones: batches then carry tokens
};

/// Builds the shared data for `columns` (task ids: built-in, or the id of one of `userTasks`),
/// deterministic in `seed`.
SharedData buildSharedData(std::shared_ptr<const FashionMnist> data,
                           const std::vector<QString> &columns, int testSamplesPerTask,
                           std::uint64_t seed,
                           const std::vector<std::shared_ptr<const UserTaskData>> &userTasks = {});
/// The fixed code a classifier receives for an instruction text.
torch::Tensor instructionCode(const QString &instruction);
/// Pixels (0-255) as one [1, 784] float row in [0, 1].
torch::Tensor imageRow(const std::vector<std::uint8_t> &pixels);

/// A batch of samples from possibly several tasks, ready for Network::predict(). With a
/// sequence format the token fields are filled too.
struct Batch : ModelInput {
    torch::Tensor answerMask;              ///< [B, outputs] bool: each sample's task's own answers
    std::vector<SequenceSample> sequences; ///< the rows' texts (generative backbones)
};
Batch makeBatch(const SharedData &data, const std::vector<SampleRef> &refs);
/// Appends `more`'s rows after `batch`'s.
void appendBatch(const SharedData &data, Batch &batch, const Batch &more);

/// Test prompts of rows [start, start + count) of `task`, laid out for generation.
ModelInput testPrompts(const SharedData &data, const TaskData &task, std::int64_t start,
                       std::int64_t count);

/// Shrinks two images to 14x14 each and places them side by side, vertically centred.
torch::Tensor composePair(const torch::Tensor &left, const torch::Tensor &right);

} // namespace fcl::detail
