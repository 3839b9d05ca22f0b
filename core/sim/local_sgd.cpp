// SPDX-License-Identifier: MIT
#include "core/sim/local_sgd_p.h"

#include "core/data/answer_check.h"

#include <QSet>

#include <algorithm>
#include <cmath>
#include <numeric>

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
    // LoRA dropout (if any) draws from the client's own stream: results do not depend on threads.
    model.network().setDropoutGenerator(at::make_generator<at::CPUGeneratorImpl>(
        deriveSeed(config.seed, {13, static_cast<std::uint64_t>(training.stage),
                                 static_cast<std::uint64_t>(training.round),
                                 static_cast<std::uint64_t>(training.client)})));
    struct ClearGenerator {
        Network &network;
        ~ClearGenerator() { network.setDropoutGenerator(std::nullopt); }
    } clearGenerator{model.network()};
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
    beforeBatches(training);

    Rng &rng = *training.rng;
    const int n = static_cast<int>(indices.size());
    const int stepsPerEpoch = (n + config.batchSize - 1) / config.batchSize;
    // Stragglers (speed < 1) finish only part of their local work, as in FedProx's partial work.
    const int allowedSteps = std::max(
        1, static_cast<int>(std::ceil(training.speed * config.localEpochs * stepsPerEpoch)));
    // Samples pooled from several tasks shuffle their positions (the same draws as the indices).
    std::vector<int> order = indices;
    std::vector<int> positions;
    if (training.columns != nullptr) {
        positions.resize(indices.size());
        std::iota(positions.begin(), positions.end(), 0);
    }
    double firstLoss = std::nan("");
    for (int epoch = 0; epoch < config.localEpochs && training.stepsTaken < allowedSteps; ++epoch) {
        shuffleInPlace(training.columns != nullptr ? positions : order, rng);
        for (int start = 0; start < n && training.stepsTaken < allowedSteps;
             start += config.batchSize, ++training.stepsTaken) {
            if (training.cancel->isCancelled()) {
                result.cancelled = true;
                return result;
            }
            std::vector<SampleRef> refs;
            const int end = std::min(n, start + config.batchSize);
            for (int i = start; i < end; ++i) {
                if (training.columns != nullptr) {
                    const auto at =
                        static_cast<std::size_t>(positions[static_cast<std::size_t>(i)]);
                    refs.push_back({(*training.columns)[at], indices[at]});
                } else {
                    refs.push_back({training.column, order[static_cast<std::size_t>(i)]});
                }
            }
            const int current = static_cast<int>(refs.size());
            Batch batch = makeBatch(*training.data, refs);
            for (auto &plugin : state.plugins) {
                plugin->augmentBatch(training, batch, current);
            }
            const auto healthy = [&](double lossValue) {
                if (std::isnan(firstLoss)) {
                    firstLoss = lossValue;
                }
                if (std::isfinite(lossValue) &&
                    lossValue <= kDivergenceFactor * std::max(firstLoss, 1.0)) {
                    return true;
                }
                result.error =
                    QStringLiteral("diverged at stage %1, round %2 on client \"%3\" (loss %4 "
                                   "after %5 at its first step); lower federated.lr")
                        .arg(training.stage + 1)
                        .arg(training.round + 1)
                        .arg(training.clientName)
                        .arg(lossValue, 0, 'g', 3)
                        .arg(firstLoss, 0, 'g', 3);
                return false;
            };
            const double taskLoss =
                trainBatch(training, state, *optimizer, batch, current, healthy);
            if (!result.error.isEmpty()) {
                return result;
            }
            result.lossSum += taskLoss * current;
            result.samples += current;
            for (auto &plugin : state.plugins) {
                plugin->afterStep(training, refs);
            }
        }
    }
    {
        torch::NoGradGuard noGrad;
        const TaskData &task = training.data->tasks[static_cast<std::size_t>(training.column)];
        result.accuracy = evaluateTask(model.network(), *training.data, task, task.ownAnswers,
                                       model.network().generative() ? kClientEvalSamplesGenerative
                                                                    : kClientEvalSamples)
                              .taskIncremental;
    }
    result.upload.tensors = training.layout->select(parameters, ParameterScope::Shared);
    state.local = training.layout->select(parameters, ParameterScope::Local);
    for (auto &plugin : state.plugins) {
        plugin->afterTraining(training, result.upload);
    }
    return result;
}

torch::Tensor ownAnswerLogits(const LocalConfig &config, const Batch &batch, const Outputs &outputs,
                              const torch::Tensor &logits)
{
    // Multi-head (task-incremental) training: the other answers' logits take no part.
    return config.taskHeads && outputs.answerWords
               ? logits.masked_fill(batch.answerMask.logical_not(), -1e9)
               : logits;
}

torch::Tensor taskLossOf(const LocalConfig &config, const Batch &batch, const Outputs &outputs)
{
    return torch::nn::functional::cross_entropy(
        ownAnswerLogits(config, batch, outputs, outputs.logits), outputs.targets);
}

double LocalSgd::trainBatch(LocalTraining &training, ClientState &state,
                            torch::optim::Optimizer &optimizer, const Batch &batch, int current,
                            const std::function<bool(double)> &healthy) const
{
    optimizer.zero_grad();
    const Outputs outputs = training.model->network().predict(batch);
    const torch::Tensor taskLoss = taskLossOf(*training.config, batch, outputs);
    if (!finishStep(training, state, optimizer, batch, current, outputs, taskLoss, healthy)) {
        return 0;
    }
    return taskLoss.item<double>();
}

bool LocalSgd::finishStep(LocalTraining &training, ClientState &state,
                          torch::optim::Optimizer &optimizer, const Batch &batch, int current,
                          const Outputs &outputs, torch::Tensor loss,
                          const std::function<bool(double)> &healthy) const
{
    for (auto &plugin : state.plugins) {
        const torch::Tensor term = plugin->lossTerm(training, batch, outputs, current);
        if (term.defined()) {
            loss = loss + term;
        }
    }
    if (!healthy(loss.item<double>())) {
        return false;
    }
    loss.backward();
    for (auto &plugin : state.plugins) {
        plugin->beforeStep(training);
    }
    optimizer.step();
    return true;
}

double tokenF1(const QString &predicted, const QString &expected)
{
    const QStringList got = predicted.split(QLatin1Char(' '), Qt::SkipEmptyParts);
    QStringList want = expected.split(QLatin1Char(' '), Qt::SkipEmptyParts);
    if (got.isEmpty() || want.isEmpty()) {
        return got.isEmpty() && want.isEmpty() ? 1.0 : 0.0;
    }
    int common = 0;
    for (const QString &word : got) {
        const auto at = want.indexOf(word);
        if (at >= 0) {
            want.removeAt(at);
            ++common;
        }
    }
    if (common == 0) {
        return 0;
    }
    const double precision = double(common) / got.size();
    const double recall = double(common) / (common + want.size());
    return 2 * precision * recall / (precision + recall);
}

namespace {

TaskAccuracy evaluateGenerated(Network &network, const SharedData &data, const TaskData &task,
                               std::int64_t total, const EvaluationRouter *router)
{
    struct ClearRoute {
        Network &network;
        const EvaluationRouter *router;
        ~ClearRoute()
        {
            if (router != nullptr) {
                router->clear(network);
            }
        }
    } clearRoute{network, router};
    constexpr std::int64_t kChunk = 128;
    std::int64_t exact = 0;
    std::int64_t formatOk = 0;
    std::int64_t knowledgeOk = 0;
    double f1 = 0;
    const CharTokenizer &tokenizer = *network.tokenizer();
    std::vector<QString> userAnswers;
    if (task.user) { // the training file's distinct answers (the format a user's task teaches)
        QSet<QString> seen;
        for (const UserSample &sample : task.user->train) {
            if (!seen.contains(sample.answer)) {
                seen.insert(sample.answer);
                userAnswers.push_back(sample.answer);
            }
        }
    }
    const AnswerChecker checker(*task.spec, userAnswers);
    // Room for an answer in the wrong form, so that knowledge can be graded ("a light ankle
    // boot" to a yes/no question): 18 characters at least. Exact match is the same either way
    // (an answer longer than the expected one is wrong at one character past it).
    constexpr int kLongestWrongForm = 18;
    const int decodeLength = std::max(task.longestAnswer, kLongestWrongForm) + 1;
    for (std::int64_t start = 0; start < total; start += kChunk) {
        const std::int64_t size = std::min(kChunk, total - start);
        const ModelInput prompts = testPrompts(data, task, start, size);
        if (router != nullptr) {
            router->route(network, prompts);
        }
        const auto answers = network.generate(prompts, decodeLength);
        for (std::int64_t i = 0; i < size; ++i) {
            const QString got = tokenizer.decode(answers[static_cast<std::size_t>(i)]);
            const QString &want = task.testAnswerTexts[static_cast<std::size_t>(start + i)];
            exact += got == want ? 1 : 0;
            f1 += tokenF1(got, want);
            const AnswerCheck check =
                checker.check(task.testPrompts[static_cast<std::size_t>(start + i)], got, want);
            formatOk += check.format ? 1 : 0;
            knowledgeOk += check.knowledge ? 1 : 0;
        }
    }
    const double n = double(total);
    const double accuracy = double(exact) / n;
    return {accuracy, accuracy, f1 / n, double(formatOk) / n, double(knowledgeOk) / n};
}

} // namespace

TaskAccuracy evaluateTask(Network &network, const SharedData &data, const TaskData &task,
                          const torch::Tensor &seenAnswers, int maxSamples,
                          const EvaluationRouter *router)
{
    torch::NoGradGuard noGrad;
    const std::int64_t total = maxSamples < 0
                                   ? task.testImages.size(0)
                                   : std::min<std::int64_t>(maxSamples, task.testImages.size(0));
    if (total == 0) {
        return {};
    }
    if (network.generative()) {
        return evaluateGenerated(network, data, task, total, router);
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
    const double taskAccuracy = double(correctTask) / double(total);
    return {taskAccuracy, double(correctClass) / double(total), taskAccuracy};
}

} // namespace fcl::detail
