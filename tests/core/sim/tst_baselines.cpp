// SPDX-License-Identifier: MIT
// End-to-end checks that the continual baselines behave as the literature says they do (issue 7),
// on the default preset (10 clients, five class-incremental Fashion-MNIST stages): a bigger replay
// buffer helps, EWC beats fine-tuning in task-incremental mode, LwF learns every new task and
// forgets less than fine-tuning, and FWT compares like with like.
#include "core/sim/engine.h"
#include "tests/support/test_support.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

using namespace fcl;

namespace {

/// The default preset with another continual method, evaluation mode and local epochs (more
/// local epochs make clients drift further, so there is more forgetting to prevent).
Experiment preset(const QString &continual, bool taskIncremental = false, int localEpochs = 1)
{
    auto experiment =
        loadExperimentFile(QStringLiteral(FCL_SOURCE_DIR "/resources/presets/default.json"));
    Q_ASSERT(experiment);
    Experiment result = experiment.value();
    QJsonObject config = result.toJson();
    config.insert(QStringLiteral("continual"),
                  QJsonDocument::fromJson(continual.toUtf8()).object());
    QJsonObject evaluation = config.value(QStringLiteral("evaluation")).toObject();
    evaluation.insert(QStringLiteral("mode"), taskIncremental
                                                  ? QStringLiteral("task_incremental")
                                                  : QStringLiteral("class_incremental"));
    config.insert(QStringLiteral("evaluation"), evaluation);
    QJsonObject federated = config.value(QStringLiteral("federated")).toObject();
    federated.insert(QStringLiteral("local_epochs"), localEpochs);
    config.insert(QStringLiteral("federated"), federated);
    auto parsed = parseExperiment(QJsonDocument(config).toJson());
    if (!parsed) {
        qFatal("%s", qPrintable(parsed.errorString()));
    }
    return parsed.value();
}

RunSummary run(const Experiment &experiment)
{
    test::RecordingObserver observer;
    return test::runToCompletion(experiment, observer).summary;
}

} // namespace

class TestBaselines : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void biggerReplayBufferForgetsLess()
    {
        // Measured (seed 7, class-incremental): buffer 20 -> ACC 0.666, 50 -> 0.736, 200 ->
        // 0.756, 1000 -> 0.733. Past about 200 samples per client the buffer no longer helps here
        // (three seeds: 0.749 for both 200 and 1000), so the check is made where it matters.
        const RunSummary small =
            run(preset(QStringLiteral(R"({"method": "replay", "buffer_per_client": 20})")));
        const RunSummary large =
            run(preset(QStringLiteral(R"({"method": "replay", "buffer_per_client": 200})")));
        qDebug("replay 20: ACC %.3f F %.3f; replay 200: ACC %.3f F %.3f",
               small.finalAverageAccuracy, small.finalAverageForgetting, large.finalAverageAccuracy,
               large.finalAverageForgetting);
        QVERIFY(large.finalAverageAccuracy > small.finalAverageAccuracy + 0.05);
        QVERIFY(large.finalAverageForgetting < small.finalAverageForgetting);
    }

    void ewcAndLwfBeatFinetuneInTaskIncrementalMode()
    {
        // Task-incremental (multi-head), five local epochs: fine-tune forgets 0.14 here.
        const RunSummary finetune =
            run(preset(QStringLiteral(R"({"method": "finetune"})"), true, 5));
        const RunSummary ewc = run(preset(QStringLiteral(R"({"method": "ewc"})"), true, 5));
        const RunSummary lwf = run(preset(QStringLiteral(R"({"method": "lwf"})"), true, 5));
        qDebug("task-incremental: finetune ACC %.3f F %.3f; EWC ACC %.3f F %.3f; LwF ACC %.3f F "
               "%.3f",
               finetune.finalAverageAccuracy, finetune.finalAverageForgetting,
               ewc.finalAverageAccuracy, ewc.finalAverageForgetting, lwf.finalAverageAccuracy,
               lwf.finalAverageForgetting);
        QVERIFY(ewc.finalAverageAccuracy > finetune.finalAverageAccuracy + 0.05);
        QVERIFY(ewc.finalAverageForgetting < finetune.finalAverageForgetting / 2);
        QVERIFY(lwf.finalAverageAccuracy > finetune.finalAverageAccuracy + 0.05);
        QVERIFY(lwf.finalAverageForgetting < finetune.finalAverageForgetting / 2);
    }

    void lwfLearnsEveryNewTask()
    {
        // Class-incremental: distilling only the old answers no longer stops the new task from
        // being learned (issue 7: with every output distilled, task 2 reached 0.19 in its stage).
        const RunSummary lwf = run(preset(QStringLiteral(R"({"method": "lwf"})")));
        for (int j = 0; j < lwf.matrix.tasks(); ++j) {
            const double own = lwf.matrix.at(lwf.matrix.learnedAt(j), j);
            qDebug("LwF: task %d in its own stage %.3f", j + 1, own);
            QVERIFY(own > 0.8);
        }
        // Class-incremental LwF forgets about as much as fine-tuning (0.980 vs 0.979), as in
        // van de Ven & Tolias 2019: without stored samples the new classes' logits win.
        const RunSummary finetune = run(preset(QStringLiteral(R"({"method": "finetune"})")));
        QVERIFY(lwf.finalAverageForgetting <= finetune.finalAverageForgetting + 0.01);
    }

    void fwtIsZeroWhenTrainingChangesNothing()
    {
        // With a vanishing learning rate the model after stage L(j)-1 is the untrained one, so
        // R[L(j)-1][j] must equal b[j] when both use the same answer mask (issue 7: in
        // class-incremental mode b[j] used to choose among fewer answers, and FWT was -0.56).
        for (const char *mode : {"class_incremental", "task_incremental"}) {
            QByteArray json = test::tinyExperimentJson({}, 3, 3, 1, 100);
            json.replace(R"("lr": 0.05)", R"("lr": 1e-12)");
            json.replace(R"("evaluation": {)",
                         QByteArray(R"("evaluation": {"mode": ")") + mode + "\", ");
            auto experiment = parseExperiment(json);
            QVERIFY2(experiment, qPrintable(experiment.errorString()));
            const RunSummary summary = run(experiment.value());
            qDebug("%s: FWT %.4f", mode, summary.forwardTransfer);
            QCOMPARE(summary.forwardTransfer, 0.0);
        }
    }
};

QTEST_GUILESS_MAIN(TestBaselines)
#include "tst_baselines.moc"
