// SPDX-License-Identifier: MIT
// "Ask the model": a stored run's end-of-stage models answer one question.
#include "core/sim/ask.h"

#include "core/data/png_image.h"
#include "core/sim/runner_p.h"
#include "core/store/run_store.h"

#include <QJsonDocument>

namespace fcl {
namespace detail {

namespace {

/// The question's image: a Fashion-MNIST reference ("test:N", "train:N") or a PNG path.
std::vector<std::uint8_t> resolveImage(const SharedData &data, const QString &image)
{
    if (image.isEmpty()) {
        return {};
    }
    for (const auto &[prefix, set] :
         {std::pair<QString, const ImageSet *>{QStringLiteral("test:"), &data.fashionMnist->test},
          std::pair<QString, const ImageSet *>{QStringLiteral("train:"),
                                               &data.fashionMnist->train}}) {
        if (image.startsWith(prefix)) {
            bool ok = false;
            const int index = image.mid(prefix.size()).toInt(&ok);
            if (!ok || index < 0 || index >= set->count) {
                throw EngineFailure{QStringLiteral("image \"%1\": expected %2N with N in 0..%3")
                                        .arg(image, prefix)
                                        .arg(set->count - 1),
                                    true};
            }
            const auto *first = set->pixels.data() + static_cast<std::size_t>(index) * 784;
            return {first, first + 784};
        }
    }
    auto png = readPng28(image);
    if (!png) {
        throw EngineFailure{QStringLiteral("image: %1").arg(png.errorString()), true};
    }
    return std::move(png.value());
}

} // namespace

AskResult Runner::ask(qint64 runId, const AskQuery &query)
{
    prepare();
    AskResult result;
    result.backbone = m_experiment.model.method;
    for (std::size_t s = 0; s < m_experiment.stages.size(); ++s) {
        QStringList tasks;
        for (const QString &task : m_experiment.stageTasks(s)) {
            if (!task.isEmpty() && !tasks.contains(task)) {
                tasks << task;
            }
        }
        result.stageTasks.push_back(tasks.join(QStringLiteral(", ")));
    }
    result.instruction = query.instruction;
    result.image = resolveImage(m_data, query.image);
    bool hasImage = !result.image.empty();
    torch::Tensor image = imageRow(result.image);
    int column = -1;
    if (!query.sampleTask.isEmpty()) {
        const auto found = std::find(m_columns.begin(), m_columns.end(), query.sampleTask);
        if (found == m_columns.end()) {
            throw EngineFailure{
                QStringLiteral("task \"%1\" is not one of this run's tasks (%2)")
                    .arg(
                        query.sampleTask,
                        QStringList(m_columns.begin(), m_columns.end()).join(QStringLiteral(", "))),
                true};
        }
        column = static_cast<int>(found - m_columns.begin());
        const TaskData &task = m_data.tasks[static_cast<std::size_t>(column)];
        const auto count = static_cast<int>(task.testPrompts.size());
        if (query.sampleIndex < 0 || query.sampleIndex >= count) {
            throw EngineFailure{QStringLiteral("sample %1 of \"%2\": the run tests %3 samples "
                                               "(0..%4)")
                                    .arg(query.sampleIndex)
                                    .arg(query.sampleTask)
                                    .arg(count)
                                    .arg(count - 1),
                                true};
        }
        const auto i = static_cast<std::size_t>(query.sampleIndex);
        hasImage = task.testHasImage[i] != 0;
        image = task.testImages.narrow(0, query.sampleIndex, 1).contiguous();
        result.image.clear();
        if (hasImage) {
            const torch::Tensor bytes =
                image.mul(255.0).round_().clamp_(0, 255).to(torch::kUInt8).contiguous();
            result.image.assign(bytes.data_ptr<std::uint8_t>(),
                                bytes.data_ptr<std::uint8_t>() + 784);
        }
        if (result.instruction.isEmpty()) {
            result.instruction = task.testPrompts[i];
        }
        result.expected = task.testAnswerTexts[i];
    }
    if (result.instruction.trimmed().isEmpty()) {
        throw EngineFailure{QStringLiteral("no instruction: type one, or pick a task's sample"),
                            true};
    }
    if (query.client < -1 || query.client >= static_cast<int>(m_clients.size())) {
        throw EngineFailure{QStringLiteral("client %1: the run has clients 0..%2")
                                .arg(query.client)
                                .arg(m_clients.size() - 1),
                            true};
    }

    Network &network = m_workers.front()->network();
    int longest = 24; // decoding cap: the longest answer any of the run's tasks expects
    for (const TaskData &task : m_data.tasks) {
        longest = std::max(longest, task.longestAnswer + 1);
    }
    auto answerNow = [&](int stage) {
        WorkerModel &model = *m_workers.front();
        const TensorList &local = query.client >= 0
                                      ? m_clients[static_cast<std::size_t>(query.client)].local
                                      : m_initialLocal;
        model.load(m_layout, m_strategy->modelFor(query.client, column), local);
        torch::NoGradGuard noGrad;
        AskAnswer answer;
        answer.stage = stage;
        if (network.generative()) {
            ModelInput input;
            input.images = image;
            encodeSequences(input,
                            {{hasImage, network.tokenizer()->encode(result.instruction), {}}},
                            network.imagePatches(), network.maxTextTokens(), false);
            // A method that routes prompts (DISCO's slot weights) routes this one too.
            const EvaluationRouter *router = m_strategy->router();
            struct Clear {
                const EvaluationRouter *router;
                Network &network;
                ~Clear()
                {
                    if (router != nullptr) {
                        router->clear(network);
                    }
                }
            } clear{router, network};
            if (router != nullptr) {
                router->route(network, input);
            }
            const auto tokens = network.generate(input, longest);
            answer.answer = network.tokenizer()->decode(tokens.front());
        } else {
            ModelInput input;
            input.images = image;
            input.instructions = instructionCode(result.instruction).unsqueeze(0);
            input.answers = torch::zeros({1}, torch::kInt64);
            const Outputs outputs = network.predict(input);
            const torch::Tensor probabilities = torch::softmax(outputs.logits[0], 0);
            const auto best = probabilities.argmax().item<std::int64_t>();
            answer.answer = m_data.answerWords[static_cast<std::size_t>(best)];
            answer.probability = probabilities[best].item<double>();
        }
        result.answers.push_back(answer);
    };

    if (query.includeUntrained) {
        answerNow(-1);
    }
    const int stages = static_cast<int>(m_experiment.stages.size());
    std::vector<int> wanted = query.stages;
    bool all = wanted.empty();
    if (all) {
        for (int s = 0; s < stages; ++s) {
            wanted.push_back(s);
        }
    }
    for (int stage : wanted) {
        if (stage < 0 || stage >= stages) {
            throw EngineFailure{
                QStringLiteral("stage %1: the run has stages 1..%2").arg(stage + 1).arg(stages),
                true};
        }
        auto record = m_store->stageCheckpoint(runId, stage);
        if (!record) {
            throw EngineFailure{record.errorString()};
        }
        if (!record.value().has_value()) {
            if (all) {
                break; // an unfinished run: the stages it completed
            }
            throw EngineFailure{QStringLiteral("run %1 has no model saved at the end of stage %2 "
                                               "(the run stopped before it)")
                                    .arg(runId)
                                    .arg(stage + 1),
                                true};
        }
        loadState(*record.value(), runId);
        answerNow(stage);
    }
    return result;
}

} // namespace detail

namespace {
class SilentObserver : public RunObserver {};
} // namespace

Result<AskResult> askRun(qint64 runId, RunStore &store, const AskQuery &query)
{
    auto record = store.run(runId);
    if (!record) {
        return record.errors();
    }
    auto experiment = parseExperiment(QJsonDocument(record->config).toJson(QJsonDocument::Compact));
    if (!experiment) {
        return Error{QStringLiteral("run %1").arg(runId),
                     QStringLiteral("its stored experiment is not valid for this version: %1")
                         .arg(experiment.errorString())};
    }
    SilentObserver observer;
    CancellationToken cancel;
    RunOptions options;
    options.threads = 1;
    detail::SingleThreadedKernels kernels;
    try {
        detail::Runner runner(experiment.value(), &store, observer, cancel, options);
        return runner.ask(runId, query);
    } catch (const detail::EngineFailure &failure) {
        return Error{QStringLiteral("run %1").arg(runId), failure.message};
    } catch (const std::exception &e) {
        return Error{QStringLiteral("run %1").arg(runId),
                     QStringLiteral("internal error: %1")
                         .arg(QString::fromUtf8(e.what()).section(QLatin1Char('\n'), 0, 0))};
    }
}

} // namespace fcl
