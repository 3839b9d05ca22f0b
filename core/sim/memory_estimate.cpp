// SPDX-License-Identifier: MIT
#include "core/sim/memory_estimate.h"

#include "core/common/format.h"
#include "core/data/shared_data_p.h"
#include "core/data/task_catalog.h"
#include "core/model/model_p.h"

#include <QFile>
#include <QRegularExpression>

#include <algorithm>
#include <cmath>
#include <sys/resource.h>

namespace fcl {
namespace {

// Measured on Debian 12 (fcl run, maxrss, 1 round): LibTorch, Qt and Fashion-MNIST loaded.
constexpr std::int64_t kProcessBytes = 300LL << 20;
// Per idle client (ClientState, names, plan vectors), measured 0.9-1.4 KiB; rounded up.
constexpr std::int64_t kPerClientBytes = 2048;

/// The classifier's outputs as the run will size them: up to the highest answer its built-in tasks
/// use; a user task's answers (known only once its file is read) count as the whole vocabulary.
int outputsOf(const Experiment &experiment)
{
    int outputs = kAnswerCount; // as SharedData starts
    for (const QString &id : experiment.taskColumns()) {
        const TaskSpec *spec = findTask(id);
        if (spec == nullptr) {
            outputs = std::max(outputs, static_cast<int>(answerVocabulary().size()));
            continue;
        }
        for (int answer : spec->answerSet()) {
            outputs = std::max(outputs, answer + 1);
        }
    }
    return outputs;
}

} // namespace

MemoryEstimate estimateMemory(const Experiment &experiment)
{
    MemoryEstimate estimate;
    std::int64_t modelBytes = 0;
    try {
        detail::NetworkShape shape;
        shape.instructionDim = detail::kInstructionDim;
        shape.outputs = outputsOf(experiment);
        const auto network =
            detail::makeNetwork(experiment.model.method, experiment.model.params, shape);
        estimate.parameterBytes = detail::byteSize(network->trainableParameters());
        for (const auto &p : network->parameters()) {
            modelBytes += p.numel() * static_cast<std::int64_t>(p.element_size());
        }
    } catch (const std::exception &) {
        // A model that cannot be built is reported by the run itself.
    }
    const auto clients = static_cast<std::int64_t>(experiment.clients.size());
    const double participation = experiment.federated.number(QStringLiteral("participation"));
    estimate.clientsPerRound = static_cast<int>(
        std::clamp<std::int64_t>(std::llround(participation * static_cast<double>(clients)), 1,
                                 std::max<std::int64_t>(clients, 1)));
    const int uploadCopies = experiment.federated.method == QLatin1String("scaffold") ? 2 : 1;
    estimate.uploadBytes = static_cast<std::int64_t>(estimate.clientsPerRound) *
                           estimate.parameterBytes * uploadCopies;
    std::int64_t indices = 0;
    for (const ClientSpec &client : experiment.clients) {
        indices += static_cast<std::int64_t>(client.samplesPerTask()) * 4 *
                   static_cast<std::int64_t>(experiment.stages.size());
    }
    estimate.clientBytes = clients * kPerClientBytes + indices;
    // Test sets (784 floats a sample and task) and per worker a model with gradients and Adam's
    // two moments.
    const std::int64_t tasks = static_cast<std::int64_t>(experiment.taskColumns().size());
    const std::int64_t testBytes = tasks * std::max(experiment.testSamplesPerTask(), 1) * 784 * 4;
    estimate.fixedBytes = kProcessBytes + testBytes + 2 * 4 * modelBytes;
    estimate.peakBytes = estimate.fixedBytes + estimate.uploadBytes + estimate.clientBytes;
    return estimate;
}

QString MemoryEstimate::explanation() const
{
    return QStringLiteral("about %1 at its peak: %2 clients a round x %3 of shared parameters held "
                          "until aggregation (%4), %5 for the clients' own state, %6 for the "
                          "program and data; lower federated.participation, the number of "
                          "clients or the model size to need less")
        .arg(formatBytes(double(peakBytes)))
        .arg(clientsPerRound)
        .arg(formatBytes(double(parameterBytes)), formatBytes(double(uploadBytes)),
             formatBytes(double(clientBytes)), formatBytes(double(fixedBytes)));
}

std::int64_t machineMemoryBytes()
{
    QFile meminfo(QStringLiteral("/proc/meminfo"));
    if (!meminfo.open(QIODevice::ReadOnly)) {
        return 0;
    }
    const QString text = QString::fromLatin1(meminfo.read(64 * 1024));
    const QRegularExpressionMatch total =
        QRegularExpression(QStringLiteral("MemTotal:\\s+(\\d+) kB")).match(text);
    std::int64_t bytes = total.hasMatch() ? total.captured(1).toLongLong() * 1024 : 0;
    rlimit limit{};
    if (::getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
        const auto cap = static_cast<std::int64_t>(limit.rlim_cur);
        bytes = bytes > 0 ? std::min(bytes, cap) : cap;
    }
    return bytes;
}

} // namespace fcl
