// SPDX-License-Identifier: MIT
// fcl_bench: GEMM rate, training throughput against it (mlp, cnn, tiny-vlm with LoRA and with full
// tuning), tiny-vlm decoding, the default preset's time, and resident memory per simulated client.
// Prints a table; asserts nothing. The shipped presets' wall times: tests/bench/readme_figures.sh.
// --methods: per-round time and bytes of FedDAT, PCFT and FedHDS against FedAvg with the same
// adapter.
#include "core/model/model_p.h"
#include "core/model/tiny_vlm_p.h"
#include "core/sim/engine.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>

#include <cstdio>
#include <functional>
#include <thread>

extern "C" void openblas_set_num_threads(int) __attribute__((weak));

namespace {

using namespace fcl;

void setThreads(int threads)
{
    at::set_num_threads(threads);
    if (openblas_set_num_threads != nullptr) {
        openblas_set_num_threads(threads);
    }
}

double seconds(const QElapsedTimer &timer)
{
    return static_cast<double>(timer.nsecsElapsed()) / 1e9;
}

/// GFLOP/s of an n x n x n single-precision matrix product.
double gemmRate(int n, int threads)
{
    setThreads(threads);
    const torch::Tensor a = torch::randn({n, n});
    const torch::Tensor b = torch::randn({n, n});
    torch::mm(a, b); // warm up
    int repeats = 0;
    QElapsedTimer timer;
    timer.start();
    while (seconds(timer) < 1.5) {
        torch::mm(a, b);
        ++repeats;
    }
    return 2.0 * n * n * n * repeats / seconds(timer) / 1e9;
}

struct Throughput {
    double samplesPerSecond = 0;
    double gflops = 0;
};

/// Runs `measure(worker)` on `workers` threads at once, each single-threaded and seeded by its
/// index as the engine's workers are, and returns the sum of the rates they report.
double summedRate(int workers, const std::function<double(int)> &measure)
{
    setThreads(1);
    std::vector<double> rates(static_cast<std::size_t>(workers));
    std::vector<std::thread> threads;
    for (int w = 0; w < workers; ++w) {
        threads.emplace_back([&, w] {
            setThreads(1); // OpenMP settings are per thread: a new thread starts with all cores
            torch::manual_seed(w);
            rates[static_cast<std::size_t>(w)] = measure(w);
        });
    }
    for (auto &t : threads) {
        t.join();
    }
    double total = 0;
    for (double r : rates) {
        total += r;
    }
    return total;
}

/// Calls `step` `warmUp` times, then as often as fits in `duration` seconds; returns the units
/// the timed steps reported (samples, tokens) per second.
double timedRate(const std::function<double()> &step, int warmUp, double duration)
{
    for (int i = 0; i < warmUp; ++i) {
        step();
    }
    double units = 0;
    QElapsedTimer timer;
    timer.start();
    while (seconds(timer) < duration) {
        units += step();
    }
    return units / seconds(timer);
}

/// Trains `workers` replicas of the backbone in parallel (one per thread, as the engine does).
Throughput trainThroughput(const QString &backbone, QVariantMap params, int instructionDim,
                           int outputs, int batch, int workers)
{
    fcl::detail::NetworkShape shape;
    shape.instructionDim = instructionDim;
    shape.outputs = outputs;
    double macs = 0;
    Throughput result;
    result.samplesPerSecond = summedRate(workers, [&](int) {
        auto net = fcl::detail::makeNetwork(backbone, params, shape);
        macs = net->forwardMacsPerSample();
        torch::optim::SGD optimizer(net->parameters(), torch::optim::SGDOptions(0.01));
        const torch::Tensor images = torch::rand({batch, 784});
        const torch::Tensor instructions = torch::rand({batch, std::max(instructionDim, 0)});
        const torch::Tensor labels = torch::randint(outputs, {batch}, torch::kInt64);
        return timedRate(
            [&] {
                optimizer.zero_grad();
                torch::nn::functional::cross_entropy(net->forward(images, instructions), labels)
                    .backward();
                optimizer.step();
                return double(batch);
            },
            20, 2.0);
    });
    // Forward 2 x MACs, backward 4 x MACs (input and weight gradients).
    result.gflops = result.samplesPerSecond * 6.0 * macs / 1e9;
    return result;
}

/// A tiny-vlm batch shaped like the CoIN-like tasks: 16 image slots, a 20-character instruction,
/// an 8-character answer (plus the end token).
fcl::detail::ModelInput vlmBatch(const fcl::detail::Network &net, int batch, bool withAnswers)
{
    using fcl::detail::SequenceSample;
    const CharTokenizer &tokenizer = *net.tokenizer();
    std::vector<SequenceSample> samples;
    for (int i = 0; i < batch; ++i) {
        samples.push_back({true, tokenizer.encode(QStringLiteral("What item is this? ")),
                           tokenizer.encode(QStringLiteral("sneaker%1").arg(i % 10))});
    }
    fcl::detail::ModelInput input;
    input.images = torch::rand({batch, 784});
    fcl::detail::encodeSequences(input, samples, net.imagePatches(), net.maxTextTokens(),
                                 withAnswers);
    return input;
}

/// Multiply-adds of one tiny-vlm forward pass over `input`, counted from the layer shapes: the
/// patch projector, every block's q/k/v/o and MLP linears on every padded position, attention
/// (scores and mixing, L x L per head), and the output logits on the positions that predict.
double vlmForwardMacs(const fcl::detail::TinyVlmConfig &c, const fcl::detail::ModelInput &input,
                      int vocabulary)
{
    const double b = static_cast<double>(input.tokens.size(0));
    const double l = static_cast<double>(input.tokens.size(1));
    const double d = c.width;
    const double patchPixels = static_cast<double>(c.patchSide) * c.patchSide;
    const double imageSlots = static_cast<double>(input.imageSlot.ge(0).sum().item<std::int64_t>());
    const double predicted = static_cast<double>(input.targets.ge(0).sum().item<std::int64_t>());
    const double linears = b * l * (4 * d * d + 2 * d * d * c.mlpRatio);
    const double attention = 2 * b * l * l * d;
    return imageSlots * patchPixels * d + c.layers * (linears + attention) +
           predicted * d * vocabulary;
}

/// Trains `workers` tiny-vlm replicas in parallel (one per thread, batch 32, Adam as the presets).
/// FLOPs per step: full tuning 6 x MACs (forward, input and weight gradients); LoRA and adapters
/// 4 x MACs (the frozen weights need no weight gradient; the adapters' own work is < 2% and not
/// counted).
Throughput vlmTrainThroughput(const QString &tuning, int workers)
{
    const QVariantMap params{{QStringLiteral("tuning"), tuning}};
    const fcl::detail::TinyVlmConfig config = fcl::detail::TinyVlmConfig::fromParams(params);
    double macsPerSample = 0;
    Throughput result;
    result.samplesPerSecond = summedRate(workers, [&](int) {
        auto net = fcl::detail::makeNetwork(QStringLiteral("tiny-vlm"), params, {});
        const int batch = 32;
        const fcl::detail::ModelInput input = vlmBatch(*net, batch, true);
        macsPerSample = vlmForwardMacs(config, input, net->tokenizer()->vocabularySize()) / batch;
        torch::optim::Adam optimizer(net->trainableParameters(), torch::optim::AdamOptions(0.001));
        return timedRate(
            [&] {
                optimizer.zero_grad();
                const fcl::detail::Outputs out = net->predict(input);
                torch::nn::functional::cross_entropy(out.logits, out.targets).backward();
                optimizer.step();
                return double(batch);
            },
            5, 3.0);
    });
    const double flopsPerMac = tuning == QLatin1String("full") ? 6.0 : 4.0;
    result.gflops = result.samplesPerSecond * flopsPerMac * macsPerSample / 1e9;
    return result;
}

/// Greedy decoding throughput (batched, key/value cache) on one thread per worker.
double vlmDecodeTokensPerSecond(int workers)
{
    return summedRate(workers, [](int) {
        auto net = fcl::detail::makeNetwork(QStringLiteral("tiny-vlm"), {}, {});
        const fcl::detail::ModelInput prompts = vlmBatch(*net, 128, false);
        // A random model rarely emits the end token: every row decodes all 12 tokens.
        constexpr int kTokens = 12;
        return timedRate(
            [&] {
                double tokens = 0;
                for (const auto &answer : net->generate(prompts, kTokens)) {
                    tokens += static_cast<double>(answer.size()) + 1;
                }
                return tokens;
            },
            1, 3.0);
    });
}

double residentMiB()
{
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly)) {
        return 0;
    }
    for (const QByteArray &line : status.readAll().split('\n')) {
        if (line.startsWith("VmRSS:")) {
            return line.mid(6).trimmed().split(' ').first().toDouble() / 1024.0;
        }
    }
    return 0;
}

/// Records the resident size once the engine has set up every client (before training).
class MemoryProbe : public RunObserver {
public:
    void onRunStarted(const RunInfo &) override { residentAtStart = residentMiB(); }
    double residentAtStart = 0;
};

int samplesPerClient(bool vlm)
{
    return vlm ? 30 : 50;
}

/// `vlm`: the CoIN-like setting (tiny-vlm on the shipped base, LoRA, a vision-language task).
double residentWithClients(int clients, bool vlm)
{
    QString json = QStringLiteral(R"({"name": "memory", "seed": 1, %3
        "federated": {"rounds_per_stage": 1, "participation": %1},
        "clients": [%2], "stages": ["%4"], "evaluation": {"test_samples_per_task": 100}})");
    QStringList list;
    for (int c = 0; c < clients; ++c) {
        // vl-feet has 36,000 training samples: 30 per client for 1,000 clients.
        list << QStringLiteral(R"({"name": "c%1", "samples_per_task": %2})")
                    .arg(c)
                    .arg(samplesPerClient(vlm));
    }
    json = json.arg(10.0 / clients)
               .arg(list.join(QLatin1Char(',')))
               .arg(vlm ? QStringLiteral(R"("model": {"backbone": "tiny-vlm", "tuning": "lora"},)")
                        : QString())
               .arg(vlm ? QStringLiteral("vl-feet") : QStringLiteral("fmnist-all"));
    auto experiment = parseExperiment(json.toUtf8());
    if (!experiment) {
        std::fprintf(stderr, "%s\n", qPrintable(experiment.errorString()));
        return 0;
    }
    MemoryProbe probe;
    CancellationToken cancel;
    const RunOutcome outcome = runExperiment(experiment.value(), nullptr, probe, cancel, {});
    if (probe.residentAtStart == 0) {
        std::fprintf(stderr, "%s\n", qPrintable(outcome.error));
    }
    return probe.residentAtStart;
}

} // namespace

/// Each client count is measured in a fresh process, so freed memory of one run cannot hide the
/// next.
double residentInChild(int clients, bool vlm)
{
    QProcess child;
    child.start(QCoreApplication::applicationFilePath(),
                {vlm ? QStringLiteral("--memory-vlm") : QStringLiteral("--memory"),
                 QString::number(clients)});
    child.waitForFinished(600000);
    return child.readAllStandardOutput().trimmed().toDouble();
}

/// One preset with `federated` overrides (null removes a key), `rounds` rounds: seconds and bytes
/// (up + down) per round, evaluation included; the whole run's seconds.
struct MethodCost {
    double secondsPerRound = 0;
    double megabytesPerRound = 0;
    double seconds = 0;
    QString status;
};
MethodCost methodCost(const QString &preset, const QJsonObject &overrides, int rounds)
{
    const QString path = QStringLiteral(FCL_SOURCE_DIR "/resources/presets/") + preset;
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        return {0, 0, 0, QStringLiteral("cannot read ") + path};
    }
    QJsonObject json = QJsonDocument::fromJson(file.readAll()).object();
    QJsonObject federated = json.value(QStringLiteral("federated")).toObject();
    for (auto it = overrides.begin(); it != overrides.end(); ++it) {
        if (it.value().isNull()) {
            federated.remove(it.key()); // another method's field
        } else {
            federated.insert(it.key(), it.value());
        }
    }
    if (rounds > 0) {
        federated.insert(QStringLiteral("rounds_per_stage"), rounds);
    }
    json.insert(QStringLiteral("federated"), federated);
    auto experiment = parseExperiment(QJsonDocument(json).toJson(), QFileInfo(path).absolutePath());
    if (!experiment) {
        return {0, 0, 0, experiment.errorString()};
    }
    const int total =
        experiment.value().roundsPerStage() * static_cast<int>(experiment.value().stages.size());
    RunObserver silent;
    CancellationToken cancel;
    QElapsedTimer timer;
    timer.start();
    const RunOutcome outcome = runExperiment(experiment.value(), nullptr, silent, cancel, {});
    const double elapsed = seconds(timer);
    return {elapsed / std::max(1, total),
            double(outcome.summary.totalBytesUp + outcome.summary.totalBytesDown) / 1e6 /
                std::max(1, total),
            elapsed, runStatusName(outcome.status)};
}

int methodsBench()
{
    struct Row {
        const char *label;
        const char *preset;
        QJsonObject overrides;
    };
    const auto method = [](const char *name) {
        return QJsonObject{{QStringLiteral("method"), QString::fromLatin1(name)}};
    };
    auto with = [](QJsonObject o, const char *key, const char *value) {
        o.insert(QString::fromLatin1(key), QString::fromLatin1(value));
        return o;
    };
    const std::vector<Row> rows = {
        {"feddat-hetero: FedAvg, one adapter", "feddat-hetero.json", method("fedavg")},
        {"feddat-hetero: FedDAT (mutual KD, 3 adapters)", "feddat-hetero.json", method("feddat")},
        {"feddat-hetero: FedDAT, shared_only", "feddat-hetero.json",
         with(method("feddat"), "train", "shared_only")},
        {"pcft-personal: FedAvg, one LoRA", "pcft-personal.json",
         QJsonObject{{QStringLiteral("method"), QStringLiteral("fedavg")},
                     {QStringLiteral("trust"), QJsonValue::Null},
                     {QStringLiteral("warmup_fraction"), QJsonValue::Null}}},
        {"pcft-personal: PCFT none (alone)", "pcft-personal.json",
         with(method("pcft"), "trust", "none")},
        {"pcft-personal: PCFT naive", "pcft-personal.json", with(method("pcft"), "trust", "naive")},
        {"pcft-personal: PCFT weights", "pcft-personal.json",
         with(method("pcft"), "trust", "weights")},
        {"pcft-personal: PCFT validation", "pcft-personal.json",
         with(method("pcft"), "trust", "validation")},
        {"pcft-personal: PCFT prediction", "pcft-personal.json",
         with(method("pcft"), "trust", "prediction")},
        {"fedhds: FedAvg, all data", "fedhds.json",
         QJsonObject{{QStringLiteral("method"), QStringLiteral("fedavg")},
                     {QStringLiteral("selection"), QJsonValue::Null},
                     {QStringLiteral("reducer"), QJsonValue::Null}}},
        {"fedhds: FedHDS t-SNE (base features)", "fedhds.json", method("fedhds")},
        {"fedhds: FedHDS PCA (base features)", "fedhds.json",
         with(method("fedhds"), "reducer", "pca")},
        {"fedhds: FedHDS t-SNE, global features", "fedhds.json",
         with(method("fedhds"), "features_model", "global")},
        {"fedhds: random selection, 0.5%", "fedhds.json",
         QJsonObject{{QStringLiteral("method"), QStringLiteral("fedhds")},
                     {QStringLiteral("selection"), QStringLiteral("random")},
                     {QStringLiteral("fraction"), 0.005}}},
    };
    constexpr int kRounds = 3;
    std::printf("per round, %d rounds of each preset's clients, evaluation included\n", kRounds);
    std::printf("%-50s %10s %8s %10s %8s\n", "method", "s/round", "x FedAvg", "MB/round",
                "x FedAvg");
    double baseSeconds = 0;
    double baseBytes = 0;
    for (const Row &row : rows) {
        const MethodCost cost = methodCost(QString::fromLatin1(row.preset), row.overrides, kRounds);
        if (row.overrides.value(QStringLiteral("method")).toString() == QLatin1String("fedavg")) {
            baseSeconds = cost.secondsPerRound;
            baseBytes = cost.megabytesPerRound;
        }
        std::printf("%-50s %10.2f %8.2f %10.2f %8.2f  %s\n", row.label, cost.secondsPerRound,
                    cost.secondsPerRound / std::max(1e-9, baseSeconds), cost.megabytesPerRound,
                    cost.megabytesPerRound / std::max(1e-9, baseBytes), qPrintable(cost.status));
    }
    std::printf("\n%-50s %10s\n", "preset as shipped", "seconds");
    for (const char *preset : {"feddat-hetero.json", "pcft-personal.json", "fedhds.json"}) {
        const MethodCost cost = methodCost(QString::fromLatin1(preset), {}, 0);
        std::printf("%-50s %10.1f  %s\n", preset, cost.seconds, qPrintable(cost.status));
    }
    return 0;
}

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    if (argc == 3 && QByteArray(argv[1]).startsWith("--memory")) {
        std::printf("%.3f\n", residentWithClients(QByteArray(argv[2]).toInt(),
                                                  QByteArray(argv[1]) == "--memory-vlm"));
        return 0;
    }
    if (argc == 2 && QByteArray(argv[1]) == "--methods") {
        return methodsBench();
    }
    // --vlm: only the GEMM rate and the tiny-vlm figures (a minute instead of five).
    const bool vlmOnly = argc == 2 && QByteArray(argv[1]) == "--vlm";
    const int cores = static_cast<int>(std::thread::hardware_concurrency());
    std::printf("fcl_bench on %d cores (torch %s)\n\n", cores, TORCH_VERSION);

    const double gemm1 = gemmRate(1024, 1);
    const double gemmAll = gemmRate(1024, cores);
    std::printf("%-58s %10.1f GFLOP/s\n", "GEMM 1024^3 fp32, 1 thread", gemm1);
    std::printf("%-58s %10.1f GFLOP/s\n\n",
                QStringLiteral("GEMM 1024^3 fp32, %1 threads").arg(cores).toLatin1().constData(),
                gemmAll);

    if (!vlmOnly) {
        struct Case {
            const char *label;
            QString backbone;
            QVariantMap params;
            int instructionDim;
            int outputs;
            int workers;
            double gemm;
        };
        const QVariantMap mlpParams{{QStringLiteral("hidden"), 256}, {QStringLiteral("layers"), 2}};
        const QVariantMap cnnParams{{QStringLiteral("channels"), 16},
                                    {QStringLiteral("hidden"), 128}};
        const std::vector<Case> cases = {
            {"mlp 784-256-256-10, batch 32, 1 worker", QStringLiteral("mlp"), mlpParams, 0, 10, 1,
             gemm1},
            {"mlp 784-256-256-10, batch 32, 1 worker per core", QStringLiteral("mlp"), mlpParams, 0,
             10, cores, gemmAll},
            {"mlp as in the engine (800-256-256-12), 1 worker per core", QStringLiteral("mlp"),
             mlpParams, 16, 12, cores, gemmAll},
            {"cnn 16/32 channels, batch 32, 1 worker per core", QStringLiteral("cnn"), cnnParams,
             16, 12, cores, gemmAll},
        };
        std::printf("%-58s %12s %10s %9s\n", "training throughput", "samples/s", "GFLOP/s",
                    "of GEMM");
        for (const Case &c : cases) {
            const Throughput t =
                trainThroughput(c.backbone, c.params, c.instructionDim, c.outputs, 32, c.workers);
            std::printf("%-58s %12.0f %10.1f %8.0f%%\n", c.label, t.samplesPerSecond, t.gflops,
                        100.0 * t.gflops / c.gemm);
        }
    }
    std::printf("\n%-58s %12s %10s %9s\n", "tiny-vlm (d128, 4 layers), batch 32, Adam", "samples/s",
                "GFLOP/s", "of GEMM");
    for (const char *tuning : {"lora", "adapter", "full"}) {
        for (int workers : {1, cores}) {
            const Throughput t = vlmTrainThroughput(QString::fromLatin1(tuning), workers);
            const QString label = QStringLiteral("  %1, %2 worker%3")
                                      .arg(QString::fromLatin1(tuning))
                                      .arg(workers)
                                      .arg(workers == 1 ? "" : "s");
            std::printf("%-58s %12.0f %10.1f %8.0f%%\n", qPrintable(label), t.samplesPerSecond,
                        t.gflops, 100.0 * t.gflops / (workers == 1 ? gemm1 : gemmAll));
        }
    }
    for (int workers : {1, cores}) {
        std::printf("%-58s %10.0f tokens/s\n",
                    qPrintable(QStringLiteral("tiny-vlm greedy decoding, batch 128, %1 worker%2")
                                   .arg(workers)
                                   .arg(workers == 1 ? "" : "s")),
                    vlmDecodeTokensPerSecond(workers));
    }

    if (vlmOnly) {
        return 0;
    }
    auto preset =
        loadExperimentFile(QStringLiteral(FCL_SOURCE_DIR "/resources/presets/default.json"));
    if (preset) {
        RunObserver silent;
        CancellationToken cancel;
        QElapsedTimer timer;
        timer.start();
        const RunOutcome outcome = runExperiment(preset.value(), nullptr, silent, cancel, {});
        std::printf("\n%-58s %10.2f s (%s, ACC %.3f)\n",
                    "default preset, end to end incl. data load + evaluation", seconds(timer),
                    qPrintable(runStatusName(outcome.status)),
                    outcome.summary.finalAverageAccuracy);
    }

    for (bool vlm : {false, true}) {
        const double with100 = residentInChild(100, vlm);
        const double with1000 = residentInChild(1000, vlm);
        const double perClientKiB = (with1000 - with100) / 900.0 * 1024.0;
        const char *what = vlm ? "tiny-vlm LoRA" : "mlp";
        std::printf("\n%-58s %10.1f MiB\n",
                    qPrintable(QStringLiteral("%1: resident with 100 clients set up").arg(what)),
                    with100);
        std::printf("%-58s %10.1f MiB\n",
                    qPrintable(QStringLiteral("%1: resident with 1,000 clients set up").arg(what)),
                    with1000);
        std::printf("%-58s %10.2f KiB (of which %.2f KiB sample indices)\n",
                    qPrintable(QStringLiteral("%1: resident per simulated client").arg(what)),
                    perClientKiB, samplesPerClient(vlm) * 4 / 1024.0);
    }
    return 0;
}
