// SPDX-License-Identifier: MIT
#include "core/sim/local_sgd_p.h"

#include <cmath>

namespace fcl::detail {

ClientResult LocalSgd::train(LocalTraining &training, ClientState &state) const
{
    const LocalConfig &config = *training.config;
    const std::vector<int> &indices = *training.indices;
    ClientResult result;
    result.client = training.client;
    result.weight = static_cast<double>(indices.size());

    WorkerModel &model = *training.model;
    model.load(*training.layout, training.download->tensors, state.local);
    std::vector<torch::Tensor> &parameters = model.parameters();
    std::unique_ptr<torch::optim::Optimizer> optimizer;
    if (config.adam) {
        optimizer = std::make_unique<torch::optim::Adam>(
            parameters, torch::optim::AdamOptions(config.learningRate));
    } else {
        optimizer = std::make_unique<torch::optim::SGD>(
            parameters, torch::optim::SGDOptions(config.learningRate).momentum(config.momentum));
    }
    for (auto &plugin : state.plugins) {
        plugin->beforeTraining(training);
    }

    Rng &rng = *training.rng;
    const int n = static_cast<int>(indices.size());
    const int stepsPerEpoch = (n + config.batchSize - 1) / config.batchSize;
    // Stragglers (speed < 1) finish only part of their local work, as in FedProx's partial work.
    const int allowedSteps = std::max(
        1, static_cast<int>(std::ceil(training.speed * config.localEpochs * stepsPerEpoch)));
    std::vector<int> order = indices;
    for (int epoch = 0; epoch < config.localEpochs && training.stepsTaken < allowedSteps; ++epoch) {
        shuffleInPlace(order, rng);
        for (int start = 0; start < n && training.stepsTaken < allowedSteps;
             start += config.batchSize, ++training.stepsTaken) {
            if (training.cancel->isCancelled()) {
                result.cancelled = true;
                return result;
            }
            std::vector<SampleRef> refs;
            const int end = std::min(n, start + config.batchSize);
            for (int i = start; i < end; ++i) {
                refs.push_back({training.column, order[static_cast<std::size_t>(i)]});
            }
            const int current = static_cast<int>(refs.size());
            Batch batch = makeBatch(*training.data, refs);
            for (auto &plugin : state.plugins) {
                plugin->augmentBatch(training, batch, current);
            }
            optimizer->zero_grad();
            const torch::Tensor logits = model.network().forward(batch.images, batch.instructions);
            // Multi-head (task-incremental) training: the other answers' logits take no part.
            const torch::Tensor taskLoss = torch::nn::functional::cross_entropy(
                config.taskHeads ? logits.masked_fill(batch.answerMask.logical_not(), -1e9)
                                 : logits,
                batch.answers);
            torch::Tensor loss = taskLoss;
            for (auto &plugin : state.plugins) {
                const torch::Tensor term = plugin->lossTerm(training, batch, logits, current);
                if (term.defined()) {
                    loss = loss + term;
                }
            }
            const double lossValue = loss.item<double>();
            if (!std::isfinite(lossValue)) {
                result.error =
                    QStringLiteral("diverged at stage %1, round %2 on client \"%3\" (loss = %4); "
                                   "lower federated.lr")
                        .arg(training.stage + 1)
                        .arg(training.round + 1)
                        .arg(training.clientName)
                        .arg(lossValue);
                return result;
            }
            loss.backward();
            for (auto &plugin : state.plugins) {
                plugin->beforeStep(training);
            }
            optimizer->step();
            result.lossSum += taskLoss.item<double>() * current;
            result.samples += current;
            for (auto &plugin : state.plugins) {
                plugin->afterStep(training, refs);
            }
        }
    }
    {
        torch::NoGradGuard noGrad;
        const TaskData &task = training.data->tasks[static_cast<std::size_t>(training.column)];
        result.accuracy = evaluateTask(model.network(), task, task.ownAnswers, kClientEvalSamples)
                              .taskIncremental;
    }
    result.upload.tensors = training.layout->select(parameters, ParameterScope::Shared);
    state.local = training.layout->select(parameters, ParameterScope::Local);
    for (auto &plugin : state.plugins) {
        plugin->afterTraining(training, result.upload);
    }
    return result;
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

} // namespace fcl::detail
