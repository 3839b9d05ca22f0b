// SPDX-License-Identifier: MIT
#include "core/sim/pretrain.h"

#include "core/common/rng.h"
#include "core/data/idx_reader.h"
#include "core/model/base_model_p.h"

#include <QJsonArray>
#include <QJsonObject>

extern "C" void openblas_set_num_threads(int) __attribute__((weak));

namespace fcl {
namespace {

using detail::ModelInput;
using detail::SequenceSample;

/// One corpus sample: an optional Fashion-MNIST training image, a prompt and its answer.
struct CorpusSample {
    int image = -1;
    QString prompt;
    QString answer;
};

const std::vector<const char *> &spellWords()
{
    static const std::vector<const char *> words = {
        "t-shirt", "trouser",    "pullover", "dress", "coat", "sandal",  "shirt",    "sneaker",
        "bag",     "ankle boot", "yes",      "no",    "top",  "legwear", "footwear", "dark",
        "light",   "left",       "right",    "zero",  "one",  "two",     "item",     "image",
        "photo",   "small",      "large",    "cloth", "shoe", "boot",    "jacket",   "skirt",
        "hat",     "glove",      "sock",     "scarf", "belt", "button"};
    return words;
}

QString randomWord(Rng &rng, int low, int high)
{
    QString word;
    const int length = low + static_cast<int>(uniformIndex(rng, high - low + 1));
    for (int i = 0; i < length; ++i) {
        word.append(QLatin1Char(static_cast<char>('a' + uniformIndex(rng, 26))));
    }
    return word;
}

CorpusSample imageQuestion(const FashionMnist &data, Rng &rng)
{
    const ImageSet &set = data.train;
    const int index = static_cast<int>(uniformIndex(rng, static_cast<std::uint64_t>(set.count)));
    const std::uint8_t *pixels = set.pixels.data() + static_cast<std::size_t>(index) * 784;
    double rows[4] = {};
    double cols[4] = {};
    double top = 0;
    double left = 0;
    double total = 0;
    double centre = 0;
    int covered = 0;
    for (int y = 0; y < 28; ++y) {
        for (int x = 0; x < 28; ++x) {
            const double v = pixels[y * 28 + x] / 255.0;
            rows[y / 7] += v;
            cols[x / 7] += v;
            top += y < 14 ? v : 0;
            left += x < 14 ? v : 0;
            total += v;
            centre += (y >= 10 && y < 18 && x >= 10 && x < 18) ? v : 0;
            covered += v > 0.1 ? 1 : 0;
        }
    }
    auto argmax = [](const double *values) {
        return static_cast<int>(std::max_element(values, values + 4) - values);
    };
    CorpusSample sample;
    sample.image = index;
    switch (uniformIndex(rng, 5)) {
    case 0:
        sample.prompt = QStringLiteral("Which half is brighter, top or bottom?");
        sample.answer = top > total - top ? QStringLiteral("top") : QStringLiteral("bottom");
        break;
    case 1:
        sample.prompt = QStringLiteral("Which row of patches has the most ink?");
        sample.answer = QString::number(argmax(rows) + 1);
        break;
    case 2:
        sample.prompt = QStringLiteral("Which column of patches has the most ink?");
        sample.answer = QString::number(argmax(cols) + 1);
        break;
    case 3: {
        sample.prompt = QStringLiteral("How much of the picture is covered?");
        const double share = covered / 784.0;
        sample.answer = share < 0.35   ? QStringLiteral("little")
                        : share < 0.55 ? QStringLiteral("some")
                                       : QStringLiteral("much");
        break;
    }
    default:
        sample.prompt = QStringLiteral("Is the centre brighter than average?");
        sample.answer =
            centre / 64.0 > total / 784.0 ? QStringLiteral("yes") : QStringLiteral("no");
    }
    Q_UNUSED(left);
    return sample;
}

CorpusSample textQuestion(Rng &rng)
{
    CorpusSample sample;
    const QString word = randomWord(rng, 2, 7);
    switch (uniformIndex(rng, 6)) {
    case 0:
        sample.prompt = QStringLiteral("Repeat twice: %1").arg(word.left(4));
        sample.answer = word.left(4) + word.left(4);
        break;
    case 1:
        sample.prompt = QStringLiteral("First letter of: %1").arg(word);
        sample.answer = word.left(1);
        break;
    case 2:
        sample.prompt = QStringLiteral("Last letter of: %1").arg(word);
        sample.answer = word.right(1);
        break;
    case 3:
        sample.prompt = QStringLiteral("Lowercase: %1").arg(word.toUpper());
        sample.answer = word;
        break;
    case 4:
        sample.prompt = QStringLiteral("Drop the first letter: %1").arg(word);
        sample.answer = word.mid(1);
        break;
    default: {
        const auto &words = spellWords();
        const QString known = QString::fromLatin1(words[uniformIndex(rng, words.size())]);
        sample.prompt = QStringLiteral("Spell: %1").arg(known);
        sample.answer = known;
    }
    }
    return sample;
}

ModelInput batchOf(const std::vector<CorpusSample> &samples, const FashionMnist &data,
                   const CharTokenizer &tokenizer, int patches, int maxText, bool withAnswers)
{
    ModelInput input;
    std::vector<float> images(samples.size() * 784, 0.0f);
    std::vector<SequenceSample> sequences;
    for (std::size_t i = 0; i < samples.size(); ++i) {
        const CorpusSample &s = samples[i];
        if (s.image >= 0) {
            const std::uint8_t *pixels =
                data.train.pixels.data() + static_cast<std::size_t>(s.image) * 784;
            for (int p = 0; p < 784; ++p) {
                images[i * 784 + static_cast<std::size_t>(p)] = pixels[p] / 255.0f;
            }
        }
        sequences.push_back({s.image >= 0, tokenizer.encode(s.prompt),
                             withAnswers ? tokenizer.encode(s.answer) : std::vector<int>{}});
    }
    input.images =
        torch::from_blob(images.data(), {static_cast<std::int64_t>(samples.size()), 784}).clone();
    detail::encodeSequences(input, sequences, patches, maxText, withAnswers);
    return input;
}

std::vector<CorpusSample> drawSamples(const FashionMnist &data, Rng &rng, int count)
{
    std::vector<CorpusSample> samples;
    for (int i = 0; i < count; ++i) {
        samples.push_back(uniform01(rng) < 0.6 ? imageQuestion(data, rng) : textQuestion(rng));
    }
    return samples;
}

} // namespace

Result<PretrainReport> pretrainBase(const PretrainOptions &options,
                                    const std::function<void(int, double)> &progress,
                                    const CancellationToken &cancel)
{
    auto loaded = loadFashionMnist(options.fashionMnistDir.isEmpty() ? defaultFashionMnistDir()
                                                                     : options.fashionMnistDir);
    if (!loaded) {
        return loaded.errors();
    }
    const FashionMnist &data = loaded.value();
    // One thread: the same seed gives the same bytes on any machine with this build.
    const int previousThreads = at::get_num_threads();
    at::set_num_threads(1);
    if (openblas_set_num_threads != nullptr) {
        openblas_set_num_threads(1);
    }
    struct Restore {
        int threads;
        ~Restore() { at::set_num_threads(threads); }
    } restore{previousThreads};

    detail::TinyVlmConfig config;
    config.width = options.width;
    config.layers = options.layers;
    config.heads = options.heads;
    config.maxText = options.maxText;
    torch::manual_seed(options.seed);
    auto network = detail::makeTinyVlm(config);
    const CharTokenizer &tokenizer = *network->tokenizer();
    torch::optim::Adam optimizer(network->parameters(),
                                 torch::optim::AdamOptions(options.learningRate));
    Rng rng(deriveSeed(options.seed, {21}));
    PretrainReport report;
    double recent = 0;
    int recentCount = 0;
    for (int step = 0; step < options.steps; ++step) {
        if (cancel.isCancelled()) {
            return Error{QStringLiteral("pretrain"), QStringLiteral("cancelled")};
        }
        const ModelInput input = batchOf(drawSamples(data, rng, options.batchSize), data, tokenizer,
                                         network->imagePatches(), network->maxTextTokens(), true);
        optimizer.zero_grad();
        const detail::Outputs out = network->predict(input);
        const torch::Tensor loss = torch::nn::functional::cross_entropy(out.logits, out.targets);
        loss.backward();
        optimizer.step();
        const double value = loss.item<double>();
        if (step == 0) {
            report.firstLoss = value;
        }
        if (step >= options.steps - 50) {
            recent += value;
            ++recentCount;
        }
        if (progress && (step + 1) % 50 == 0) {
            progress(step + 1, value);
        }
    }
    report.lastLoss = recentCount > 0 ? recent / recentCount : report.firstLoss;
    {
        torch::NoGradGuard noGrad;
        Rng heldOut(deriveSeed(options.seed, {22}));
        const std::vector<CorpusSample> samples = drawSamples(data, heldOut, 512);
        const ModelInput prompts = batchOf(samples, data, tokenizer, network->imagePatches(),
                                           network->maxTextTokens(), false);
        const auto answers = network->generate(prompts, 12);
        int exact = 0;
        for (std::size_t i = 0; i < samples.size(); ++i) {
            exact += tokenizer.decode(answers[i]) == samples[i].answer ? 1 : 0;
        }
        report.heldOutExact = exact / 512.0;
    }
    const QJsonObject recipe{
        {QStringLiteral("command"), QStringLiteral("fcl pretrain")},
        {QStringLiteral("steps"), options.steps},
        {QStringLiteral("batch_size"), options.batchSize},
        {QStringLiteral("optimizer"), QStringLiteral("adam")},
        {QStringLiteral("lr"), options.learningRate},
        {QStringLiteral("corpus"),
         QStringLiteral("60% image-statistics questions on Fashion-MNIST training images, 40% "
                        "text transforms (none of the catalog's tasks)")},
        {QStringLiteral("final_loss"), report.lastLoss},
        {QStringLiteral("held_out_exact_match"), report.heldOutExact}};
    if (auto saved = detail::saveBase(*network, config, options.outputDir, options.seed, recipe);
        !saved) {
        return saved.errors();
    }
    report.weightsSha256 =
        detail::fileSha256(options.outputDir + QStringLiteral("/model.safetensors"));
    return report;
}

} // namespace fcl
