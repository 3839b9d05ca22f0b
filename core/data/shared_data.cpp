// SPDX-License-Identifier: MIT
#include "core/data/shared_data_p.h"

#include <cmath>
#include <map>

namespace fcl::detail {
namespace {

torch::Tensor applyTransform(torch::Tensor images, ImageTransform transform,
                             const torch::Tensor &noise)
{
    switch (transform) {
    case ImageTransform::None:
        return images;
    case ImageTransform::Rotate90:
        return images.view({-1, 28, 28}).rot90(1, {1, 2}).reshape({-1, 784});
    case ImageTransform::Invert:
        return 1.0 - images;
    case ImageTransform::Noise:
        return (images + noise).clamp(0.0, 1.0);
    }
    return images;
}

torch::Tensor gatherImages(const SharedData &data, const TaskData &task, const torch::Tensor &index)
{
    torch::Tensor images = data.trainPixels.index_select(0, index).to(torch::kFloat32).div_(255.0);
    torch::Tensor noise;
    if (task.spec->transform == ImageTransform::Noise) {
        noise = data.noiseBank.index_select(0, index.remainder(kNoiseBankSize));
    }
    return applyTransform(images, task.spec->transform, noise);
}

} // namespace

SharedData buildSharedData(std::shared_ptr<const FashionMnist> fashionMnist,
                           const std::vector<QString> &columns, int testSamplesPerTask,
                           std::uint64_t seed)
{
    SharedData data;
    data.fashionMnist = fashionMnist;
    const ImageSet &train = fashionMnist->train;
    // A view, not a copy: every client indexes the same 47 MB.
    data.trainPixels = torch::from_blob(const_cast<std::uint8_t *>(train.pixels.data()),
                                        {train.count, train.pixelsPerImage()}, torch::kUInt8);
    {
        Rng rng(deriveSeed(seed, {7}));
        std::vector<float> noise(static_cast<std::size_t>(kNoiseBankSize) * 784);
        for (float &value : noise) {
            // Sum of 4 uniforms, scaled to the target deviation: close to Gaussian, portable.
            double sum = 0;
            for (int k = 0; k < 4; ++k) {
                sum += uniform01(rng) - 0.5;
            }
            value = static_cast<float>(sum * std::sqrt(3.0) * kNoiseStd);
        }
        data.noiseBank =
            torch::from_blob(noise.data(), {kNoiseBankSize, 784}, torch::kFloat32).clone();
    }
    const ImageSet &test = fashionMnist->test;
    const torch::Tensor testPixels =
        torch::from_blob(const_cast<std::uint8_t *>(test.pixels.data()),
                         {test.count, test.pixelsPerImage()}, torch::kUInt8);
    for (std::size_t j = 0; j < columns.size(); ++j) {
        TaskData task;
        task.spec = findTask(columns[j]);
        Q_ASSERT(task.spec != nullptr);
        for (int label = 0; label < 10; ++label) {
            task.answerOfLabel[static_cast<std::size_t>(label)] = task.spec->answerFor(label);
        }
        const TaskSamples trainSamples = selectTaskSamples(*task.spec, train);
        task.trainIndices = trainSamples.indices;
        for (int index : task.trainIndices) {
            task.trainSourceLabels.push_back(train.labels[static_cast<std::size_t>(index)]);
        }
        TaskSamples testSamples = selectTaskSamples(*task.spec, test);
        // A seeded subset, so that small test sets still cover every class.
        std::vector<std::size_t> order(testSamples.indices.size());
        for (std::size_t i = 0; i < order.size(); ++i) {
            order[i] = i;
        }
        Rng rng(deriveSeed(seed, {8, j}));
        shuffleInPlace(order, rng);
        order.resize(
            std::min<std::size_t>(order.size(), static_cast<std::size_t>(testSamplesPerTask)));
        std::vector<std::int64_t> indices;
        std::vector<std::int64_t> answers;
        for (std::size_t i : order) {
            indices.push_back(testSamples.indices[i]);
            answers.push_back(testSamples.answers[i]);
        }
        const torch::Tensor index = torch::tensor(indices, torch::kInt64);
        torch::Tensor images = testPixels.index_select(0, index).to(torch::kFloat32).div_(255.0);
        torch::Tensor noise;
        if (task.spec->transform == ImageTransform::Noise) {
            noise = data.noiseBank.index_select(0, index.remainder(kNoiseBankSize));
        }
        task.testImages = applyTransform(images, task.spec->transform, noise).contiguous();
        task.testAnswers = torch::tensor(answers, torch::kInt64);
        std::vector<float> code(kInstructionDim);
        Rng codeRng(stableHash(task.spec->instruction));
        for (float &value : code) {
            value = static_cast<float>(2.0 * uniform01(codeRng) - 1.0);
        }
        task.instruction = torch::tensor(code);
        task.ownAnswers = torch::zeros({kAnswerCount}, torch::kBool);
        for (int answer : task.spec->answerSet()) {
            task.ownAnswers[answer] = true;
        }
        data.tasks.push_back(std::move(task));
    }
    return data;
}

Batch makeBatch(const SharedData &data, const std::vector<SampleRef> &refs)
{
    // Group by task column (ascending), keeping order within a column.
    std::map<int, std::vector<std::int64_t>> byColumn;
    for (const SampleRef &ref : refs) {
        byColumn[ref.column].push_back(ref.index);
    }
    std::vector<torch::Tensor> images;
    std::vector<torch::Tensor> instructions;
    std::vector<torch::Tensor> answers;
    std::vector<torch::Tensor> masks;
    for (const auto &[column, indices] : byColumn) {
        const TaskData &task = data.tasks[static_cast<std::size_t>(column)];
        const torch::Tensor index = torch::tensor(indices, torch::kInt64);
        images.push_back(gatherImages(data, task, index));
        instructions.push_back(task.instruction.unsqueeze(0).expand(
            {static_cast<std::int64_t>(indices.size()), kInstructionDim}));
        std::vector<std::int64_t> taskAnswers;
        taskAnswers.reserve(indices.size());
        const auto &labels = data.fashionMnist->train.labels;
        for (std::int64_t i : indices) {
            taskAnswers.push_back(task.answerOfLabel[labels[static_cast<std::size_t>(i)]]);
        }
        answers.push_back(torch::tensor(taskAnswers, torch::kInt64));
        masks.push_back(task.ownAnswers.unsqueeze(0).expand(
            {static_cast<std::int64_t>(indices.size()), task.ownAnswers.size(0)}));
    }
    if (images.size() == 1) {
        return {images[0], instructions[0], answers[0], masks[0]};
    }
    return {torch::cat(images), torch::cat(instructions), torch::cat(answers), torch::cat(masks)};
}

} // namespace fcl::detail
