// SPDX-License-Identifier: MIT
// fcl_bench: GEMM rate, training throughput against it, the default preset's time, and resident
// memory per simulated client. Prints a table; asserts nothing.
#include "core/model/model_p.h"
#include "core/sim/engine.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>

#include <cstdio>
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

/// Trains `workers` replicas of the backbone in parallel (one per thread, as the engine does).
Throughput trainThroughput(const QString &backbone, QVariantMap params, int instructionDim,
                           int outputs, int batch, int workers)
{
    setThreads(1);
    fcl::detail::NetworkShape shape;
    shape.instructionDim = instructionDim;
    shape.outputs = outputs;
    double macs = 0;
    std::vector<double> rates(static_cast<std::size_t>(workers));
    std::vector<std::thread> threads;
    for (int w = 0; w < workers; ++w) {
        threads.emplace_back([&, w] {
            torch::manual_seed(w);
            auto net = fcl::detail::makeNetwork(backbone, params, shape);
            macs = net->forwardMacsPerSample();
            torch::optim::SGD optimizer(net->parameters(), torch::optim::SGDOptions(0.01));
            const torch::Tensor images = torch::rand({batch, 784});
            const torch::Tensor instructions = torch::rand({batch, std::max(instructionDim, 0)});
            const torch::Tensor labels = torch::randint(outputs, {batch}, torch::kInt64);
            auto step = [&] {
                optimizer.zero_grad();
                torch::nn::functional::cross_entropy(net->forward(images, instructions), labels)
                    .backward();
                optimizer.step();
            };
            for (int i = 0; i < 20; ++i) {
                step();
            }
            int steps = 0;
            QElapsedTimer timer;
            timer.start();
            while (seconds(timer) < 2.0) {
                step();
                ++steps;
            }
            rates[static_cast<std::size_t>(w)] = steps * batch / seconds(timer);
        });
    }
    for (auto &t : threads) {
        t.join();
    }
    Throughput result;
    for (double r : rates) {
        result.samplesPerSecond += r;
    }
    // Forward 2 x MACs, backward 4 x MACs (input and weight gradients).
    result.gflops = result.samplesPerSecond * 6.0 * macs / 1e9;
    return result;
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

double residentWithClients(int clients)
{
    QString json = QStringLiteral(R"({"name": "memory", "seed": 1,
        "federated": {"rounds_per_stage": 1, "participation": %1},
        "clients": [%2], "stages": ["fmnist-all"], "evaluation": {"test_samples_per_task": 100}})");
    QStringList list;
    for (int c = 0; c < clients; ++c) {
        list << QStringLiteral(R"({"name": "c%1", "samples_per_task": 50})").arg(c);
    }
    auto experiment =
        parseExperiment(json.arg(10.0 / clients).arg(list.join(QLatin1Char(','))).toUtf8());
    if (!experiment) {
        std::fprintf(stderr, "%s\n", qPrintable(experiment.errorString()));
        return 0;
    }
    MemoryProbe probe;
    CancellationToken cancel;
    runExperiment(experiment.value(), nullptr, probe, cancel, {});
    return probe.residentAtStart;
}

} // namespace

/// Each client count is measured in a fresh process, so freed memory of one run cannot hide the
/// next.
double residentInChild(int clients)
{
    QProcess child;
    child.start(QCoreApplication::applicationFilePath(),
                {QStringLiteral("--memory"), QString::number(clients)});
    child.waitForFinished(600000);
    return child.readAllStandardOutput().trimmed().toDouble();
}

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    if (argc == 3 && QByteArray(argv[1]) == "--memory") {
        std::printf("%.3f\n", residentWithClients(QByteArray(argv[2]).toInt()));
        return 0;
    }
    const int cores = static_cast<int>(std::thread::hardware_concurrency());
    std::printf("fcl_bench on %d cores (torch %s)\n\n", cores, TORCH_VERSION);

    const double gemm1 = gemmRate(1024, 1);
    const double gemmAll = gemmRate(1024, cores);
    std::printf("%-58s %10.1f GFLOP/s\n", "GEMM 1024^3 fp32, 1 thread", gemm1);
    std::printf("%-58s %10.1f GFLOP/s\n\n",
                QStringLiteral("GEMM 1024^3 fp32, %1 threads").arg(cores).toLatin1().constData(),
                gemmAll);

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
    const QVariantMap cnnParams{{QStringLiteral("channels"), 16}, {QStringLiteral("hidden"), 128}};
    const std::vector<Case> cases = {
        {"mlp 784-256-256-10, batch 32, 1 worker", QStringLiteral("mlp"), mlpParams, 0, 10, 1,
         gemm1},
        {"mlp 784-256-256-10, batch 32, 1 worker per core", QStringLiteral("mlp"), mlpParams, 0, 10,
         cores, gemmAll},
        {"mlp as in the engine (800-256-256-12), 1 worker per core", QStringLiteral("mlp"),
         mlpParams, 16, 12, cores, gemmAll},
        {"cnn 16/32 channels, batch 32, 1 worker per core", QStringLiteral("cnn"), cnnParams, 16,
         12, cores, gemmAll},
    };
    std::printf("%-58s %12s %10s %9s\n", "training throughput", "samples/s", "GFLOP/s", "of GEMM");
    for (const Case &c : cases) {
        const Throughput t =
            trainThroughput(c.backbone, c.params, c.instructionDim, c.outputs, 32, c.workers);
        std::printf("%-58s %12.0f %10.1f %8.0f%%\n", c.label, t.samplesPerSecond, t.gflops,
                    100.0 * t.gflops / c.gemm);
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

    const double with100 = residentInChild(100);
    const double with1000 = residentInChild(1000);
    const double perClientKiB = (with1000 - with100) / 900.0 * 1024.0;
    std::printf("\n%-58s %10.1f MiB\n", "resident with 100 clients set up (fresh process)",
                with100);
    std::printf("%-58s %10.1f MiB\n", "resident with 1,000 clients set up (fresh process)",
                with1000);
    std::printf("%-58s %10.2f KiB (of which 0.20 KiB sample indices)\n",
                "resident per simulated client", perClientKiB);
    return 0;
}
