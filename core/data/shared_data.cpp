// SPDX-License-Identifier: MIT
#include "core/data/shared_data_p.h"

#include <QHash>

#include <algorithm>
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

constexpr std::uint64_t kPartnerSalt = 0x632be59bd9b4e019ull;

/// The right-hand item shown with `index` by a pair task: drawn from the same pool.
int partnerOf(const std::vector<int> &pool, std::int64_t index)
{
    return pool[static_cast<std::size_t>(mixIndex(index, kPartnerSalt) % pool.size())];
}

torch::Tensor gatherImages(const SharedData &data, const TaskData &task, const torch::Tensor &index)
{
    torch::Tensor images = data.trainPixels.index_select(0, index).to(torch::kFloat32).div_(255.0);
    if (task.spec->isPair()) {
        std::vector<std::int64_t> partners;
        const auto *raw = index.data_ptr<std::int64_t>();
        for (std::int64_t i = 0; i < index.numel(); ++i) {
            partners.push_back(partnerOf(task.trainIndices, raw[i]));
        }
        const torch::Tensor right = data.trainPixels.index_select(0, torch::tensor(partners))
                                        .to(torch::kFloat32)
                                        .div_(255.0);
        return composePair(images, right);
    }
    torch::Tensor noise;
    if (task.spec->transform == ImageTransform::Noise) {
        noise = data.noiseBank.index_select(0, index.remainder(kNoiseBankSize));
    }
    return applyTransform(images, task.spec->transform, noise);
}

std::vector<float> meanIntensities(const ImageSet &set)
{
    std::vector<float> means(static_cast<std::size_t>(set.count));
    const int pixels = set.pixelsPerImage();
    for (int i = 0; i < set.count; ++i) {
        std::int64_t sum = 0;
        const std::uint8_t *image = set.pixels.data() + static_cast<std::size_t>(i) * pixels;
        for (int p = 0; p < pixels; ++p) {
            sum += image[p];
        }
        means[static_cast<std::size_t>(i)] = static_cast<float>(sum) / (255.0f * pixels);
    }
    return means;
}

/// A test or training sample's answer for tasks that need image statistics.
int answerOfSample(const SharedData &data, const TaskSpec &spec, int label, float brightness,
                   int rightLabel, float rightBrightness)
{
    const bool light = brightness > data.brightnessMedian[static_cast<std::size_t>(label)];
    const bool rightLight =
        rightLabel >= 0 &&
        rightBrightness > data.brightnessMedian[static_cast<std::size_t>(rightLabel)];
    return spec.answerForImages(label, light, rightLabel, rightLight, brightness > rightBrightness);
}

} // namespace

torch::Tensor composePair(const torch::Tensor &left, const torch::Tensor &right)
{
    const auto n = left.size(0);
    torch::Tensor canvas = torch::zeros({n, 28, 28});
    const torch::Tensor small =
        torch::avg_pool2d(torch::stack({left, right}, 1).view({n, 2, 28, 28}), 2);
    canvas.narrow(1, 7, 14).narrow(2, 0, 14).copy_(small.select(1, 0));
    canvas.narrow(1, 7, 14).narrow(2, 14, 14).copy_(small.select(1, 1));
    return canvas.view({n, 784});
}

torch::Tensor instructionCode(const QString &instruction)
{
    std::vector<float> code(kInstructionDim);
    Rng codeRng(stableHash(instruction));
    for (float &value : code) {
        value = static_cast<float>(2.0 * uniform01(codeRng) - 1.0);
    }
    return torch::tensor(code);
}

torch::Tensor imageRow(const std::vector<std::uint8_t> &pixels)
{
    if (pixels.empty()) {
        return torch::zeros({1, 784});
    }
    return torch::from_blob(const_cast<std::uint8_t *>(pixels.data()), {1, 784}, torch::kUInt8)
        .to(torch::kFloat32)
        .div_(255.0);
}

namespace {

/// The word index of `answer`, appended to the experiment's words when new; `index` maps every
/// word of data.answerWords to its position.
int answerWord(SharedData &data, QHash<QString, int> &index, const QString &answer)
{
    const auto found = index.constFind(answer);
    if (found != index.constEnd()) {
        return found.value();
    }
    data.answerWords.push_back(answer);
    const int word = static_cast<int>(data.answerWords.size()) - 1;
    index.insert(answer, word);
    return word;
}

torch::Tensor userImages(const std::vector<UserSample> &samples, const std::vector<int> &indices)
{
    torch::Tensor images = torch::zeros({static_cast<std::int64_t>(indices.size()), 784});
    for (std::size_t i = 0; i < indices.size(); ++i) {
        const UserSample &sample = samples[static_cast<std::size_t>(indices[i])];
        if (sample.hasImage()) {
            images[static_cast<std::int64_t>(i)].copy_(imageRow(sample.image)[0]);
        }
    }
    return images;
}

/// A user task's column: its train pool, its (capped) test split and its answer words.
void buildUserTask(SharedData &data, QHash<QString, int> &wordIndex, TaskData &task,
                   std::shared_ptr<const UserTaskData> user, int testSamplesPerTask,
                   std::vector<int> &answers)
{
    auto spec = std::make_shared<TaskSpec>();
    spec->id = user->id;
    spec->title = QStringLiteral("%1 (user data, %2 samples)").arg(user->id).arg(user->size());
    spec->instruction = user->instruction;
    spec->family = TaskFamily::User;
    task.ownedSpec = spec;
    task.spec = spec.get();
    task.user = user;
    task.answerOfLabel.fill(-1);
    for (const QString &answer : user->answers) {
        task.userAnswerWord.push_back(answerWord(data, wordIndex, answer));
    }
    answers = task.userAnswerWord;
    for (std::size_t i = 0; i < user->train.size(); ++i) {
        task.trainIndices.push_back(static_cast<int>(i));
        task.trainSourceLabels.push_back(user->train[i].answerIndex);
    }
    const auto count = std::min<std::size_t>(
        user->test.size(), static_cast<std::size_t>(std::max(1, testSamplesPerTask)));
    std::vector<int> rows;
    std::vector<std::int64_t> words;
    for (std::size_t i = 0; i < count; ++i) {
        const UserSample &sample = user->test[i];
        rows.push_back(static_cast<int>(i));
        words.push_back(task.userAnswerWord[static_cast<std::size_t>(sample.answerIndex)]);
        task.testPrompts.push_back(sample.prompt);
        task.testAnswerTexts.push_back(sample.answer);
        task.testHasImage.push_back(sample.hasImage() ? 1 : 0);
    }
    task.testImages = userImages(user->test, rows);
    task.testAnswers = torch::tensor(words, torch::kInt64);
}

} // namespace

SharedData buildSharedData(std::shared_ptr<const FashionMnist> fashionMnist,
                           const std::vector<QString> &columns, int testSamplesPerTask,
                           std::uint64_t seed,
                           const std::vector<std::shared_ptr<const UserTaskData>> &userTasks)
{
    SharedData data;
    data.answerWords = answerVocabulary();
    QHash<QString, int> wordIndex;
    for (std::size_t w = 0; w < data.answerWords.size(); ++w) {
        if (!wordIndex.contains(data.answerWords[w])) {
            wordIndex.insert(data.answerWords[w], static_cast<int>(w)); // the first, as a search
        }
    }
    data.fashionMnist = fashionMnist;
    data.seed = seed;
    const ImageSet &train = fashionMnist->train;
    data.trainBrightness = meanIntensities(train);
    for (int label = 0; label < 10; ++label) {
        std::vector<float> values;
        for (int i = 0; i < train.count; ++i) {
            if (train.labels[static_cast<std::size_t>(i)] == label) {
                values.push_back(data.trainBrightness[static_cast<std::size_t>(i)]);
            }
        }
        if (!values.empty()) {
            std::nth_element(values.begin(), values.begin() + values.size() / 2, values.end());
            data.brightnessMedian[static_cast<std::size_t>(label)] = values[values.size() / 2];
        }
    }
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
    const std::vector<float> testBrightness = meanIntensities(test);
    std::vector<std::vector<int>> answersOf(columns.size());
    for (std::size_t j = 0; j < columns.size(); ++j) {
        TaskData task;
        const auto user = std::find_if(userTasks.begin(), userTasks.end(), [&](const auto &u) {
            return u->id == columns[j];
        });
        if (user != userTasks.end()) {
            buildUserTask(data, wordIndex, task, *user, testSamplesPerTask, answersOf[j]);
            task.instruction = instructionCode(task.spec->instruction);
            for (const QString &answer : task.testAnswerTexts) {
                task.longestAnswer = std::max(task.longestAnswer, static_cast<int>(answer.size()));
            }
            data.tasks.push_back(std::move(task));
            continue;
        }
        task.spec = findTask(columns[j]);
        Q_ASSERT(task.spec != nullptr);
        const TaskSpec &spec = *task.spec;
        for (int label = 0; label < 10; ++label) {
            task.answerOfLabel[static_cast<std::size_t>(label)] =
                spec.needsImageStatistics() ? -1 : spec.answerFor(label);
        }
        task.instruction = instructionCode(spec.instruction);
        answersOf[j] = spec.answerSet();
        if (spec.isText()) {
            // Generated samples: the pool is indices, label skew splits them into ten groups.
            constexpr int kTextPool = 60000; // as many as an image task with all ten classes
            constexpr std::int64_t kTestOffset = 1000000;
            for (int i = 0; i < kTextPool; ++i) {
                task.trainIndices.push_back(i);
                task.trainSourceLabels.push_back(i % 10);
            }
            const auto count = static_cast<std::int64_t>(std::max(1, testSamplesPerTask));
            task.testImages = torch::zeros({count, 784});
            task.testAnswers = torch::zeros({count}, torch::kInt64);
            for (std::int64_t i = 0; i < count; ++i) {
                const TextSample sample = textSample(spec, seed, kTestOffset + i);
                task.testPrompts.push_back(sample.prompt);
                task.testAnswerTexts.push_back(sample.answer);
                task.testHasImage.push_back(0);
            }
        } else {
            const TaskSamples trainSamples = selectTaskSamples(spec, train);
            task.trainIndices = trainSamples.indices;
            for (int index : task.trainIndices) {
                task.trainSourceLabels.push_back(train.labels[static_cast<std::size_t>(index)]);
            }
            TaskSamples testSamples = selectTaskSamples(spec, test);
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
            std::vector<std::int64_t> partners;
            std::vector<std::int64_t> answers;
            for (std::size_t i : order) {
                const int index = testSamples.indices[i];
                indices.push_back(index);
                int answer = testSamples.answers[i];
                if (spec.needsImageStatistics()) {
                    const int label = test.labels[static_cast<std::size_t>(index)];
                    int rightLabel = -1;
                    float rightBrightness = 0;
                    if (spec.isPair()) {
                        const int partner = partnerOf(testSamples.indices, index);
                        partners.push_back(partner);
                        rightLabel = test.labels[static_cast<std::size_t>(partner)];
                        rightBrightness = testBrightness[static_cast<std::size_t>(partner)];
                    }
                    answer = answerOfSample(data, spec, label,
                                            testBrightness[static_cast<std::size_t>(index)],
                                            rightLabel, rightBrightness);
                }
                answers.push_back(answer);
                task.testPrompts.push_back(spec.phrasingFor(index));
                task.testHasImage.push_back(1);
                task.testAnswerTexts.push_back(
                    answerVocabulary()[static_cast<std::size_t>(answer)]);
            }
            const torch::Tensor index = torch::tensor(indices, torch::kInt64);
            torch::Tensor images =
                testPixels.index_select(0, index).to(torch::kFloat32).div_(255.0);
            if (spec.isPair()) {
                images = composePair(images, testPixels.index_select(0, torch::tensor(partners))
                                                 .to(torch::kFloat32)
                                                 .div_(255.0));
            }
            torch::Tensor noise;
            if (spec.transform == ImageTransform::Noise) {
                noise = data.noiseBank.index_select(0, index.remainder(kNoiseBankSize));
            }
            task.testImages = applyTransform(images, spec.transform, noise).contiguous();
            task.testAnswers = torch::tensor(answers, torch::kInt64);
        }
        for (const QString &answer : task.testAnswerTexts) {
            task.longestAnswer = std::max(task.longestAnswer, static_cast<int>(answer.size()));
        }
        data.tasks.push_back(std::move(task));
    }
    for (const auto &answers : answersOf) {
        for (int answer : answers) {
            data.answerCount = std::max(data.answerCount, answer + 1);
        }
    }
    for (std::size_t j = 0; j < data.tasks.size(); ++j) {
        TaskData &task = data.tasks[j];
        task.ownAnswers = torch::zeros({data.answerCount}, torch::kBool);
        for (int answer : answersOf[j]) {
            task.ownAnswers[answer] = true;
        }
    }
    return data;
}

namespace {

SequenceSample sequenceOf(const SharedData &data, bool hasImage, const QString &prompt,
                          const QString &answer)
{
    return {hasImage, data.format.tokenizer->encode(prompt), data.format.tokenizer->encode(answer)};
}

void encodeBatch(const SharedData &data, Batch &batch)
{
    if (data.format.tokenizer != nullptr) {
        encodeSequences(batch, batch.sequences, data.format.patches, data.format.maxText, true);
    }
}

} // namespace

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
    Batch batch;
    const bool generative = data.format.tokenizer != nullptr;
    const auto &labels = data.fashionMnist->train.labels;
    for (const auto &[column, indices] : byColumn) {
        const TaskData &task = data.tasks[static_cast<std::size_t>(column)];
        const TaskSpec &spec = *task.spec;
        const auto count = static_cast<std::int64_t>(indices.size());
        const torch::Tensor index = torch::tensor(indices, torch::kInt64);
        std::vector<std::int64_t> taskAnswers;
        taskAnswers.reserve(indices.size());
        if (spec.isUser()) {
            const std::vector<int> rows(indices.begin(), indices.end());
            images.push_back(userImages(task.user->train, rows));
            for (std::int64_t i : indices) {
                const UserSample &sample = task.user->train[static_cast<std::size_t>(i)];
                taskAnswers.push_back(task.userAnswerWord[static_cast<std::size_t>(
                    task.trainSourceLabels[static_cast<std::size_t>(i)])]);
                if (generative) {
                    batch.sequences.push_back(
                        sequenceOf(data, sample.hasImage(), sample.prompt, sample.answer));
                }
            }
        } else if (spec.isText()) {
            images.push_back(torch::zeros({count, 784}));
            for (std::int64_t i : indices) {
                taskAnswers.push_back(0);
                if (generative) {
                    const TextSample sample = textSample(spec, data.seed, i);
                    batch.sequences.push_back(
                        sequenceOf(data, false, sample.prompt, sample.answer));
                }
            }
        } else {
            images.push_back(gatherImages(data, task, index));
            for (std::int64_t i : indices) {
                const int label = labels[static_cast<std::size_t>(i)];
                int answer = task.answerOfLabel[static_cast<std::size_t>(label)];
                if (answer < 0) {
                    int rightLabel = -1;
                    float rightBrightness = 0;
                    if (spec.isPair()) {
                        const int partner = partnerOf(task.trainIndices, i);
                        rightLabel = labels[static_cast<std::size_t>(partner)];
                        rightBrightness = data.trainBrightness[static_cast<std::size_t>(partner)];
                    }
                    answer = answerOfSample(data, spec, label,
                                            data.trainBrightness[static_cast<std::size_t>(i)],
                                            rightLabel, rightBrightness);
                }
                taskAnswers.push_back(answer);
                if (generative) {
                    batch.sequences.push_back(
                        sequenceOf(data, true, spec.phrasingFor(i),
                                   data.answerWords[static_cast<std::size_t>(answer)]));
                }
            }
        }
        instructions.push_back(task.instruction.unsqueeze(0).expand({count, kInstructionDim}));
        answers.push_back(torch::tensor(taskAnswers, torch::kInt64));
        masks.push_back(task.ownAnswers.unsqueeze(0).expand({count, task.ownAnswers.size(0)}));
    }
    if (images.size() == 1) {
        batch.images = images[0];
        batch.instructions = instructions[0];
        batch.answers = answers[0];
        batch.answerMask = masks[0];
    } else {
        batch.images = torch::cat(images);
        batch.instructions = torch::cat(instructions);
        batch.answers = torch::cat(answers);
        batch.answerMask = torch::cat(masks);
    }
    encodeBatch(data, batch);
    return batch;
}

void appendBatch(const SharedData &data, Batch &batch, const Batch &more)
{
    batch.images = torch::cat({batch.images, more.images});
    batch.instructions = torch::cat({batch.instructions, more.instructions});
    batch.answers = torch::cat({batch.answers, more.answers});
    batch.answerMask = torch::cat({batch.answerMask, more.answerMask});
    batch.sequences.insert(batch.sequences.end(), more.sequences.begin(), more.sequences.end());
    encodeBatch(data, batch);
}

ModelInput testPrompts(const SharedData &data, const TaskData &task, std::int64_t start,
                       std::int64_t count)
{
    ModelInput input;
    input.images = task.testImages.narrow(0, start, count);
    std::vector<SequenceSample> samples;
    for (std::int64_t i = start; i < start + count; ++i) {
        samples.push_back(
            {task.testHasImage[static_cast<std::size_t>(i)] != 0,
             data.format.tokenizer->encode(task.testPrompts[static_cast<std::size_t>(i)]),
             {}});
    }
    encodeSequences(input, samples, data.format.patches, data.format.maxText, false);
    return input;
}

} // namespace fcl::detail
