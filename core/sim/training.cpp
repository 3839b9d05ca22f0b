// SPDX-License-Identifier: MIT
#include "core/sim/training_p.h"

#include "core/continual/regularizers_p.h"
#include "core/federated/aggregator_p.h"

#include <atomic>
#include <cmath>
#include <map>
#include <thread>

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

std::shared_ptr<Network> makeExperimentNetwork(const Experiment &experiment)
{
    NetworkShape shape;
    shape.instructionDim = kInstructionDim;
    shape.outputs = kAnswerCount;
    return makeNetwork(experiment.model.method, experiment.model.params, shape);
}

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
    }
    if (images.size() == 1) {
        return {images[0], instructions[0], answers[0]};
    }
    return {torch::cat(images), torch::cat(instructions), torch::cat(answers)};
}

ClientUpdate trainClient(Replica &replica, const RoundContext &context, int client, int column,
                         const std::vector<int> &indices, ReplayBuffer *buffer)
{
    const Experiment &experiment = *context.experiment;
    const MethodChoice &fed = experiment.federated;
    const MethodChoice &continual = experiment.continual;
    const ClientSpec &spec = experiment.clients[static_cast<std::size_t>(client)];
    ClientUpdate update;
    update.weight = static_cast<double>(indices.size());

    copyInto(replica.parameters, *context.global);
    std::unique_ptr<torch::optim::Optimizer> optimizer;
    const double lr = fed.number(QStringLiteral("lr"));
    if (fed.text(QStringLiteral("optimizer")) == QLatin1String("adam")) {
        optimizer =
            std::make_unique<torch::optim::Adam>(replica.parameters, torch::optim::AdamOptions(lr));
    } else {
        optimizer = std::make_unique<torch::optim::SGD>(
            replica.parameters,
            torch::optim::SGDOptions(lr).momentum(fed.number(QStringLiteral("momentum"))));
    }
    const bool lwf = continual.method == QLatin1String("lwf") && context.teacher != nullptr;
    if (lwf && replica.teacherVersion != context.teacherVersion) {
        copyInto(replica.teacherParameters, *context.teacher);
        replica.teacherVersion = context.teacherVersion;
    }
    const bool ewc = continual.method == QLatin1String("ewc") && context.fisher != nullptr;
    const bool prox = fed.method == QLatin1String("fedprox");
    const double mu = prox ? fed.number(QStringLiteral("mu")) : 0.0;

    Rng rng(deriveSeed(experiment.seed, {1, static_cast<std::uint64_t>(context.stage),
                                         static_cast<std::uint64_t>(context.round),
                                         static_cast<std::uint64_t>(client)}));
    const int batchSize = fed.integer(QStringLiteral("batch_size"));
    const int epochs = fed.integer(QStringLiteral("local_epochs"));
    const int n = static_cast<int>(indices.size());
    const int stepsPerEpoch = (n + batchSize - 1) / batchSize;
    // Stragglers (speed < 1) finish only part of their local work, as in FedProx's partial work.
    const int allowedSteps =
        std::max(1, static_cast<int>(std::ceil(spec.speed() * epochs * stepsPerEpoch)));
    int step = 0;
    std::vector<int> order = indices;
    for (int epoch = 0; epoch < epochs && step < allowedSteps; ++epoch) {
        shuffleInPlace(order, rng);
        for (int start = 0; start < n && step < allowedSteps; start += batchSize, ++step) {
            if (context.cancel->isCancelled()) {
                update.cancelled = true;
                return update;
            }
            std::vector<SampleRef> refs;
            const int end = std::min(n, start + batchSize);
            for (int i = start; i < end; ++i) {
                refs.push_back({column, order[static_cast<std::size_t>(i)]});
            }
            const int current = static_cast<int>(refs.size());
            Batch batch = makeBatch(*context.data, refs);
            if (buffer != nullptr && buffer->size() > 0) {
                const Batch replay = makeBatch(*context.data, buffer->sample(current, rng));
                batch.images = torch::cat({batch.images, replay.images});
                batch.instructions = torch::cat({batch.instructions, replay.instructions});
                batch.answers = torch::cat({batch.answers, replay.answers});
            }
            optimizer->zero_grad();
            const torch::Tensor logits = replica.network->forward(batch.images, batch.instructions);
            const torch::Tensor taskLoss =
                torch::nn::functional::cross_entropy(logits, batch.answers);
            torch::Tensor loss = taskLoss;
            if (prox) {
                loss = loss + proximalTerm(replica.parameters, *context.global, mu);
            }
            if (ewc) {
                loss = loss + ewcPenalty(replica.parameters, *context.fisher, *context.anchor,
                                         continual.number(QStringLiteral("lambda")));
            }
            if (lwf) {
                torch::Tensor teacherLogits;
                {
                    torch::NoGradGuard noGrad;
                    teacherLogits =
                        replica.teacher->forward(batch.images.narrow(0, 0, current),
                                                 batch.instructions.narrow(0, 0, current));
                }
                loss = loss + distillationLoss(logits.narrow(0, 0, current), teacherLogits,
                                               continual.number(QStringLiteral("lambda")),
                                               continual.number(QStringLiteral("temperature")));
            }
            const double lossValue = loss.item<double>();
            if (!std::isfinite(lossValue)) {
                update.error =
                    QStringLiteral("diverged at stage %1, round %2 on client \"%3\" (loss = %4); "
                                   "lower federated.lr")
                        .arg(context.stage + 1)
                        .arg(context.round + 1)
                        .arg(spec.name)
                        .arg(lossValue);
                return update;
            }
            loss.backward();
            optimizer->step();
            update.lossSum += taskLoss.item<double>() * current;
            update.samples += current;
            if (buffer != nullptr) {
                for (const SampleRef &ref : refs) {
                    buffer->offer(ref, rng);
                }
            }
        }
    }
    {
        torch::NoGradGuard noGrad;
        const TaskData &task = context.data->tasks[static_cast<std::size_t>(column)];
        update.accuracy = evaluateTask(*replica.network, task, task.ownAnswers, kClientEvalSamples)
                              .taskIncremental;
    }
    update.parameters = cloneAll(replica.parameters);
    return update;
}

std::vector<torch::Tensor> estimateFisher(Replica &replica, const RoundContext &context, int column,
                                          const std::vector<int> &indices, int samples)
{
    copyInto(replica.parameters, *context.global);
    std::vector<torch::Tensor> fisher;
    for (const auto &p : replica.parameters) {
        fisher.push_back(torch::zeros_like(p));
    }
    const int count = std::min<int>(samples, static_cast<int>(indices.size()));
    for (int i = 0; i < count; ++i) {
        if (context.cancel->isCancelled()) {
            break;
        }
        const Batch batch =
            makeBatch(*context.data, {{column, indices[static_cast<std::size_t>(i)]}});
        for (auto &p : replica.parameters) {
            if (p.grad().defined()) {
                p.grad().zero_();
            }
        }
        const torch::Tensor logits = replica.network->forward(batch.images, batch.instructions);
        torch::nn::functional::cross_entropy(logits, batch.answers).backward();
        torch::NoGradGuard noGrad;
        for (std::size_t k = 0; k < fisher.size(); ++k) {
            fisher[k].add_(replica.parameters[k].grad().pow(2));
        }
    }
    torch::NoGradGuard noGrad;
    for (auto &f : fisher) {
        f.div_(std::max(1, count));
    }
    return fisher;
}

TaskAccuracy evaluateTask(Network &network, const TaskData &task, const torch::Tensor &seenAnswers,
                          int maxSamples)
{
    torch::NoGradGuard noGrad;
    const std::int64_t total = maxSamples < 0
                                   ? task.testImages.size(0)
                                   : std::min<std::int64_t>(maxSamples, task.testImages.size(0));
    if (total == 0) {
        return {};
    }
    constexpr std::int64_t kChunk = 1000;
    std::int64_t correctTask = 0;
    std::int64_t correctClass = 0;
    const torch::Tensor minusInf = torch::full({}, -1e30f);
    for (std::int64_t start = 0; start < total; start += kChunk) {
        const std::int64_t size = std::min(kChunk, total - start);
        const torch::Tensor images = task.testImages.narrow(0, start, size);
        const torch::Tensor instructions =
            task.instruction.unsqueeze(0).expand({size, kInstructionDim});
        const torch::Tensor logits = network.forward(images, instructions);
        const torch::Tensor answers = task.testAnswers.narrow(0, start, size);
        correctTask += torch::where(task.ownAnswers, logits, minusInf)
                           .argmax(1)
                           .eq(answers)
                           .sum()
                           .item<std::int64_t>();
        correctClass += torch::where(seenAnswers, logits, minusInf)
                            .argmax(1)
                            .eq(answers)
                            .sum()
                            .item<std::int64_t>();
    }
    return {double(correctTask) / double(total), double(correctClass) / double(total)};
}

void runParallel(int jobs, int threads, const std::function<void(int worker, int job)> &work)
{
    if (threads <= 1 || jobs <= 1) {
        for (int job = 0; job < jobs; ++job) {
            work(0, job);
        }
        return;
    }
    std::atomic_int next{0};
    std::vector<std::thread> pool;
    const int count = std::min(threads, jobs);
    for (int worker = 0; worker < count; ++worker) {
        pool.emplace_back([&, worker] {
            for (int job = next++; job < jobs; job = next++) {
                work(worker, job);
            }
        });
    }
    for (auto &thread : pool) {
        thread.join();
    }
}

} // namespace fcl::detail
