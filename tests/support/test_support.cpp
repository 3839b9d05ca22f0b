// SPDX-License-Identifier: MIT
#include "tests/support/test_support.h"

#include "core/sim/registry.h"

#include <QFile>
#include <QTest>

#include <cmath>
#include <zlib.h>

namespace fcl::test {

bool fuzzyCompare(double actual, double expected, double relTol)
{
    return std::abs(actual - expected) <= relTol * std::max(1.0, std::abs(expected));
}

namespace {
void appendBigEndian(QByteArray &bytes, quint32 value)
{
    bytes.append(static_cast<char>((value >> 24) & 0xFF));
    bytes.append(static_cast<char>((value >> 16) & 0xFF));
    bytes.append(static_cast<char>((value >> 8) & 0xFF));
    bytes.append(static_cast<char>(value & 0xFF));
}

void writeMaybeGzip(const QString &path, const QByteArray &bytes)
{
    if (path.endsWith(QLatin1String(".gz"))) {
        gzFile file = gzopen(QFile::encodeName(path).constData(), "wb");
        QVERIFY(file != nullptr);
        QCOMPARE(gzwrite(file, bytes.constData(), static_cast<unsigned>(bytes.size())),
                 static_cast<int>(bytes.size()));
        QCOMPARE(gzclose(file), Z_OK);
        return;
    }
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
    QCOMPARE(file.write(bytes), bytes.size());
}
} // namespace

void writeIdxFile(const QString &imagesPath, const QString &labelsPath, int count, int rows,
                  int cols, const std::vector<std::uint8_t> &labels)
{
    QByteArray images;
    appendBigEndian(images, 0x803);
    appendBigEndian(images, static_cast<quint32>(count));
    appendBigEndian(images, static_cast<quint32>(rows));
    appendBigEndian(images, static_cast<quint32>(cols));
    for (int i = 0; i < count * rows * cols; ++i) {
        images.append(static_cast<char>(i % 251));
    }
    QByteArray labelBytes;
    appendBigEndian(labelBytes, 0x801);
    appendBigEndian(labelBytes, static_cast<quint32>(labels.size()));
    for (std::uint8_t label : labels) {
        labelBytes.append(static_cast<char>(label));
    }
    writeMaybeGzip(imagesPath, images);
    writeMaybeGzip(labelsPath, labelBytes);
}

QByteArray tinyExperimentJson(const QString &continualJson, int clients, int stages, int rounds,
                              int samples, const QString &partitionJson)
{
    QStringList clientList;
    for (int c = 0; c < clients; ++c) {
        clientList << QStringLiteral(R"({"name": "client-%1", "samples_per_task": %2})")
                          .arg(c + 1)
                          .arg(samples);
    }
    QStringList stageList;
    for (int s = 0; s < stages; ++s) {
        stageList << QStringLiteral("\"fmnist-split-%1\"").arg(s + 1);
    }
    return QStringLiteral(R"({
  "name": "tiny",
  "seed": 11,
  "model": {"backbone": "mlp", "hidden": 64, "layers": 1},
  "federated": {"method": "fedavg", "rounds_per_stage": %1, "lr": 0.05, "batch_size": 32},
  "continual": %2,
  "partition": %3,
  "clients": [%4],
  "stages": [%5],
  "evaluation": {"test_samples_per_task": 200}
})")
        .arg(rounds)
        .arg(continualJson.isEmpty() ? QStringLiteral(R"({"method": "finetune"})") : continualJson,
             partitionJson, clientList.join(QStringLiteral(", ")),
             stageList.join(QStringLiteral(", ")))
        .toUtf8();
}

Experiment tinyExperiment(const QString &continualJson, int clients, int stages, int rounds,
                          int samples)
{
    auto parsed =
        parseExperiment(tinyExperimentJson(continualJson, clients, stages, rounds, samples));
    if (!parsed) {
        qFatal("tinyExperiment does not parse: %s", qPrintable(parsed.errorString()));
    }
    return parsed.value();
}

QVariantMap methodParams(const QString &category, const QString &id,
                         const QVariantMap &overrides)
{
    const MethodDescriptor *descriptor = findMethod(category, id);
    if (descriptor == nullptr) {
        qFatal("no method %s.%s", qPrintable(category), qPrintable(id));
    }
    QVariantMap params;
    for (const ParamDescriptor &p : descriptor->params) {
        params.insert(p.name, p.defaultValue);
    }
    for (auto it = overrides.cbegin(); it != overrides.cend(); ++it) {
        params.insert(it.key(), it.value());
    }
    return params;
}

RunOutcome runToCompletion(const Experiment &experiment, RunObserver &observer)
{
    CancellationToken cancel;
    RunOptions options;
    options.threads = 2;
    const RunOutcome outcome = runExperiment(experiment, nullptr, observer, cancel, options);
    if (outcome.status != RunStatus::Completed) {
        qFatal("run did not complete: %s", qPrintable(outcome.error));
    }
    return outcome;
}

QByteArray metricRowsText(const std::vector<MetricRow> &rows)
{
    QByteArray text;
    for (const MetricRow &row : rows) {
        if (row.kind == QLatin1String("wall_ms")) {
            continue;
        }
        text += QStringLiteral("%1 %2 %3 %4 %5 %6\n")
                    .arg(row.stage)
                    .arg(row.round)
                    .arg(row.kind)
                    .arg(row.task)
                    .arg(row.client)
                    .arg(QString::number(row.value, 'g', 17))
                    .toUtf8();
    }
    return text;
}

void RecordingObserver::onRunStarted(const RunInfo &runInfo)
{
    info = runInfo;
    ++runStartedCount;
    order << QStringLiteral("started");
}

void RecordingObserver::onObservation(const Observation &observation)
{
    observations.push_back(observation);
}

void RecordingObserver::onRoundFinished(const RoundMetrics &round)
{
    rounds.push_back(round);
    order << QStringLiteral("round");
    if (cancelToken != nullptr && cancelAfterRounds >= 0 &&
        static_cast<int>(rounds.size()) >= cancelAfterRounds) {
        cancelToken->requestCancel();
    }
}

void RecordingObserver::onStageFinished(const StageMetrics &stage)
{
    stages.push_back(stage);
    order << QStringLiteral("stage");
}

void RecordingObserver::onMessage(Severity, const QString &message)
{
    messages.push_back(message);
}

void RecordingObserver::onRunFinished(const RunOutcome &)
{
    ++runFinishedCount;
    order << QStringLiteral("finished");
}

} // namespace fcl::test
