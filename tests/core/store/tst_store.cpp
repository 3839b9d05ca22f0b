// SPDX-License-Identifier: MIT
#include "core/store/run_store.h"
#include "core/store/run_store_p.h"
#include "tests/support/test_support.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QProcess>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <map>

using namespace fcl;

class TestStore : public QObject {
    Q_OBJECT

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    QString m_path;

    std::unique_ptr<RunStore> openStore()
    {
        auto store = RunStore::open(m_path);
        if (!store) {
            qWarning("%s", qPrintable(store.errorString()));
            return nullptr;
        }
        return std::move(store).value();
    }

    static RoundMetrics round(int stage, int r)
    {
        RoundMetrics m;
        m.stage = stage;
        m.round = r;
        m.evaluated = true;
        m.accuracyPerTask = {0.5 + 0.1 * r, std::nan("")};
        m.taskIncrementalAccuracy = {0.9, 0.8};
        m.classIncrementalAccuracy = {0.5 + 0.1 * r, 0.0};
        m.clientAccuracy = {0.7, std::nan(""), 0.6};
        m.trainLoss = 1.25;
        m.bytesUp = 1000;
        m.bytesDown = 1500;
        return m;
    }

    /// The smallest config a stored run can be read back with: one stage, three clients.
    static QJsonObject runConfig()
    {
        return {
            {QStringLiteral("stages"),
             QJsonArray{QJsonObject{{QStringLiteral("a"), QStringLiteral("t1")}}}},
            {QStringLiteral("clients"), QJsonArray{QJsonObject{}, QJsonObject{}, QJsonObject{}}}};
    }

    /// Sets a run's pid directly, as if another process had started it.
    void setRunPid(qint64 runId, qint64 pid)
    {
        {
            QSqlDatabase db =
                QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("raw"));
            db.setDatabaseName(m_path);
            QVERIFY(db.open());
            QSqlQuery q(db);
            QVERIFY(q.exec(
                QStringLiteral("UPDATE runs SET pid = %1 WHERE id = %2").arg(pid).arg(runId)));
        }
        QSqlDatabase::removeDatabase(QStringLiteral("raw"));
    }

private Q_SLOTS:
    void matrixReadsMixedAndPositionalStages()
    {
        // FCIT's stage forms: a mixed stage and a positional one with a group; every task's
        // first stage comes from them (a stage naming none would put metrics before the matrix).
        RunRecord run;
        run.config =
            QJsonObject{{QStringLiteral("stages"),
                         QJsonArray{QJsonObject{{QStringLiteral("mix"), QJsonArray{"t1", "t2"}}},
                                    QJsonObject{{QStringLiteral("positional"),
                                                 QJsonArray{"t3", QJsonArray{"t1", "t4"}}}},
                                    QJsonObject{{QStringLiteral("c01"), QStringLiteral("t5")}}}}};
        run.taskIds = {"t1", "t2", "t3", "t4", "t5"};
        const AccuracyMatrix matrix = RunStore::matrixFromRows(run, {});
        QCOMPARE(matrix.stages(), 3);
        for (int j = 0; j < 5; ++j) {
            QCOMPARE(matrix.learnedAt(j),
                     std::vector<int>({0, 0, 1, 1, 2})[static_cast<std::size_t>(j)]);
        }
    }

    void formatMatrixFromTheLastRoundOfFinishedStages()
    {
        // Format/knowledge matrices (CoIN's split) come from per-round rows: a finished stage
        // (one with stage-end "matrix" rows) contributes its last round; an unfinished stage and
        // earlier rounds contribute nothing.
        RunRecord run;
        run.config = QJsonObject{{QStringLiteral("stages"), QJsonArray{"t1", "t2", "t3"}}};
        run.taskIds = {"t1", "t2", "t3"};
        const auto row = [](int stage, int round, const char *kind, int task, double value) {
            return MetricRow{stage, round, QString::fromLatin1(kind), task, -1, value};
        };
        const std::vector<MetricRow> rows = {
            row(0, 0, "format", 0, 0.1),    row(0, 1, "format", 0, 0.9),
            row(0, -1, "matrix", 0, 0.5),   row(1, 1, "format", 0, 0.3),
            row(1, 1, "format", 1, 0.8),    row(1, -1, "matrix", 0, 0.2),
            row(1, 1, "knowledge", 0, 0.6), row(2, 0, "format", 2, 0.7)};
        const AccuracyMatrix format = RunStore::matrixFromRows(run, rows, QStringLiteral("format"));
        QCOMPARE(format.at(0, 0), 0.9); // the last round of stage 1, not the first
        QCOMPARE(format.at(1, 0), 0.3);
        QCOMPARE(format.at(1, 1), 0.8);
        QVERIFY(std::isnan(format.at(2, 2))); // stage 3 never finished
        QCOMPARE(format.averageAccuracy(1), (0.3 + 0.8) / 2);
        QCOMPARE(format.averageForgetting(1), 0.9 - 0.3);
        const AccuracyMatrix knowledge =
            RunStore::matrixFromRows(run, rows, QStringLiteral("knowledge"));
        QCOMPARE(knowledge.at(1, 0), 0.6);
        QVERIFY(std::isnan(knowledge.at(0, 0)));
        QCOMPARE(RunStore::matrixFromRows(run, rows).at(0, 0), 0.5); // the accuracy matrix
    }

    void init()
    {
        m_dir = std::make_unique<QTemporaryDir>();
        m_path = m_dir->filePath(QStringLiteral("sub/runs.sqlite"));
    }

    void runRoundTripsWithEveryRow()
    {
        auto store = openStore();
        QVERIFY(store);
        const QJsonObject config{
            {QStringLiteral("name"), QStringLiteral("exp")},
            {QStringLiteral("clients"), QJsonArray{QJsonObject{}, QJsonObject{}, QJsonObject{}}},
            {QStringLiteral("stages"),
             QJsonArray{QJsonObject{{QStringLiteral("a"), QStringLiteral("t1")}},
                        QJsonObject{{QStringLiteral("a"), QStringLiteral("t2")}}}}};
        auto id = store->createRun(QStringLiteral("exp"), config, 99, 2,
                                   {QStringLiteral("t1"), QStringLiteral("t2")});
        QVERIFY2(id.isOk(), qPrintable(id.errorString()));
        QVERIFY(store->appendBaseline(id.value(), {0.5, 0.4}).isOk());
        QVERIFY(store->appendRound(id.value(), round(0, 0)).isOk());
        QVERIFY(store->appendRound(id.value(), round(0, 1)).isOk());
        QVERIFY(store->appendStage(id.value(), {0, {0.6, 0.1}, 0.6, 0.0}).isOk());
        QVERIFY(store->appendStage(id.value(), {1, {0.3, 0.9}, 0.6, 0.3}).isOk());
        RunSummary summary;
        summary.stagesCompleted = 2;
        summary.finalAverageAccuracy = 0.6;
        summary.finalAverageForgetting = 0.3;
        summary.totalBytesUp = 2000;
        summary.totalBytesDown = 3000;
        QVERIFY(store->finishRun(id.value(), RunStatus::Completed, QString(), summary).isOk());
        store.reset();

        auto reopened = openStore();
        QVERIFY(reopened);
        auto run = reopened->run(id.value());
        QVERIFY(run.isOk());
        QCOMPARE(run->status, RunStatus::Completed);
        QCOMPARE(run->seed, quint64(99));
        QCOMPARE(run->threads, 2);
        QCOMPARE(run->config, config);
        QCOMPARE(run->taskIds, (std::vector<QString>{QStringLiteral("t1"), QStringLiteral("t2")}));
        QCOMPARE(run->finalAverageAccuracy, 0.6);
        QCOMPARE(run->bytesDown, qint64(3000));
        auto rows = reopened->metrics(id.value());
        QVERIFY(rows.isOk());
        // Per round: acc 1 (NaN skipped) + acc_ti 2 + acc_ci 2 + avg_acc + avg_forgetting
        // + client_acc 2 (NaN skipped) + loss + bytes_up + bytes_down + wall_ms + clients_returned
        // = 14 Two rounds 28, two matrix rows 4, baseline 2.
        QCOMPARE(static_cast<int>(rows->size()), 34);
        auto matrix = reopened->accuracyMatrix(id.value());
        QVERIFY(matrix.isOk());
        QCOMPARE(matrix->stages(), 2);
        QCOMPARE(matrix->at(1, 1), 0.9);
        QCOMPARE(matrix->baseline(0), 0.5);
        QVERIFY(test::fuzzyCompare(matrix->finalAverageForgetting(), 0.6 - 0.3));
    }

    void failedRunsHaveNoFinalMetrics()
    {
        // A run that diverged in stage 2 keeps its stage-1 rows but no final metrics, so no list
        // ranks it by the numbers of a stage it did not get past; a cancelled one keeps them.
        auto store = openStore();
        QVERIFY(store);
        RunSummary summary;
        summary.stagesCompleted = 1;
        summary.finalAverageAccuracy = 0.974;
        summary.finalAverageForgetting = 0;
        summary.backwardTransfer = 0;
        summary.totalBytesUp = 100;
        for (RunStatus status : {RunStatus::Failed, RunStatus::Cancelled}) {
            const QJsonObject config{{QStringLiteral("clients"), QJsonArray{QJsonObject{}}},
                                     {QStringLiteral("stages"), QJsonArray{QStringLiteral("t1")}}};
            auto id = store->createRun(QStringLiteral("exp"), config, 1, 1, {QStringLiteral("t1")});
            QVERIFY(id.isOk());
            QVERIFY(store->appendStage(id.value(), {0, {0.974}, 0.974, 0.0}).isOk());
            QVERIFY(store->finishRun(id.value(), status, QStringLiteral("x"), summary).isOk());
            auto run = store->run(id.value());
            QVERIFY2(run.isOk(), qPrintable(run.errorString()));
            QCOMPARE(run->status, status);
            QCOMPARE(run->bytesUp, qint64(100));
            if (status == RunStatus::Failed) {
                QVERIFY(std::isnan(run->finalAverageAccuracy));
                QVERIFY(std::isnan(run->finalAverageForgetting));
                QVERIFY(std::isnan(run->backwardTransfer));
            } else {
                QCOMPARE(run->finalAverageAccuracy, 0.974);
            }
            auto matrix = store->accuracyMatrix(id.value());
            QVERIFY(matrix.isOk());
            QCOMPARE(matrix->stages(), 1); // the finished stage is kept
        }
    }

    void observationShapesAreChecked()
    {
        auto obs = [](ObservationShape shape, QStringList labels, QStringList columns,
                      std::vector<double> values) {
            Observation o;
            o.shape = shape;
            o.labels = std::move(labels);
            o.columnLabels = std::move(columns);
            o.values = std::move(values);
            return detail::observationProblem(o);
        };
        const QStringList ab{"a", "b"};
        QCOMPARE(obs(ObservationShape::Series, ab, {}, {1, 2}), QString());
        QCOMPARE(obs(ObservationShape::Series, ab, {}, {1}),
                 QStringLiteral("1 values for 2 labels"));
        QCOMPARE(obs(ObservationShape::Matrix, ab, {"c"}, {1, 2}), QString());
        QCOMPARE(obs(ObservationShape::Matrix, ab, {"c"}, {1}),
                 QStringLiteral("1 values for a 2 x 1 matrix"));
        QCOMPARE(obs(ObservationShape::Assignment, ab, {"g"}, {0, 0}), QString());
        QCOMPARE(obs(ObservationShape::Assignment, ab, {"g"}, {0, 1}),
                 QStringLiteral("group 1 outside 1 groups"));
        QCOMPARE(obs(ObservationShape::Points, ab, {}, {0.5, 0.5, 1}), QString());
        QCOMPARE(obs(ObservationShape::Points, ab, {}, {0.5, 0.5, 2}),
                 QStringLiteral("triple 1 names an index outside 2 labels"));
        QCOMPARE(obs(ObservationShape::Graph, ab, {}, {0, 1, 0.5, 1, 0, 0.2}), QString());
        QCOMPARE(obs(ObservationShape::Graph, ab, {}, {0, 1, 0.5, -1, 0, 0.2}),
                 QStringLiteral("triple 2 names an index outside 2 labels"));
        QCOMPARE(obs(ObservationShape::Graph, ab, {}, {0, 1}),
                 QStringLiteral("2 values are not triples"));
        QCOMPARE(obs(ObservationShape::Graph, ab, {}, {0, std::nan(""), 1}),
                 QStringLiteral("triple 1 names an index outside 2 labels"));
    }

    void tokenF1RowsOnlyWhenMeasured()
    {
        auto store = openStore();
        QVERIFY(store);
        auto id = store->createRun(QStringLiteral("exp"), runConfig(), 1, 1,
                                   {QStringLiteral("t1"), QStringLiteral("t2")});
        QVERIFY(id.isOk());
        RoundMetrics generative = round(0, 0);
        generative.tokenF1PerTask = {0.75, std::nan("")};
        generative.formatPerTask = {0.5, 1.0};
        generative.knowledgePerTask = {std::nan(""), 0.25};
        QVERIFY(store->appendRound(id.value(), generative).isOk());
        QVERIFY(store->appendRound(id.value(), round(0, 1)).isOk());
        auto rows = store->metrics(id.value());
        QVERIFY(rows.isOk());
        int f1Rows = 0;
        for (const MetricRow &row : rows.value()) {
            if (row.kind == QLatin1String("f1")) {
                ++f1Rows;
                QCOMPARE(row.round, 0);
                QCOMPARE(row.task, 0);
                QCOMPARE(row.value, 0.75);
            }
        }
        QCOMPARE(f1Rows, 1); // NaN skipped; the classifier-like round stores none
        std::map<QString, std::vector<std::pair<int, double>>> split;
        for (const MetricRow &row : rows.value()) {
            if (row.kind == QLatin1String("format") || row.kind == QLatin1String("knowledge")) {
                split[row.kind].push_back({row.task, row.value});
            }
        }
        QCOMPARE(split[QStringLiteral("format")],
                 (std::vector<std::pair<int, double>>{{0, 0.5}, {1, 1.0}}));
        QCOMPARE(split[QStringLiteral("knowledge")],
                 (std::vector<std::pair<int, double>>{{1, 0.25}}));
    }

    void interruptedRunIsMarkedOnReopen()
    {
        auto store = openStore();
        QVERIFY(store);
        auto crashed =
            store->createRun(QStringLiteral("crashed"), runConfig(), 1, 1, {QStringLiteral("t1")});
        auto alive = store->createRun(QStringLiteral("still running"), runConfig(), 1, 1,
                                      {QStringLiteral("t1")});
        QVERIFY(crashed.isOk() && alive.isOk());
        QVERIFY(store->appendRound(crashed.value(), round(0, 0)).isOk());
        store.reset();
        // A process that has exited stands in for a run killed mid-way.
        QProcess process;
        process.start(QStringLiteral("true"), {});
        QVERIFY(process.waitForStarted());
        const qint64 deadPid = process.processId();
        QVERIFY(process.waitForFinished());
        QVERIFY(deadPid > 0);
        setRunPid(crashed.value(), deadPid);

        auto reopened = openStore();
        QVERIFY(reopened);
        QCOMPARE(reopened->interruptedOnOpen(), 1);
        QCOMPARE(reopened->run(crashed.value())->status, RunStatus::Interrupted);
        QCOMPARE(reopened->run(alive.value())->status, RunStatus::Running); // our own pid is alive
        QCOMPARE(static_cast<int>(reopened->metrics(crashed.value())->size()),
                 14); // its round survived
    }

    void renameAndDeleteRuns()
    {
        auto store = openStore();
        auto id =
            store->createRun(QStringLiteral("old"), runConfig(), 1, 1, {QStringLiteral("t1")});
        QVERIFY(store->appendRound(id.value(), round(0, 0)).isOk());
        QVERIFY(store->renameRun(id.value(), QStringLiteral("new")).isOk());
        QCOMPARE(store->run(id.value())->name, QStringLiteral("new"));
        QVERIFY(store->deleteRun(id.value()).isOk());
        QVERIFY(!store->run(id.value()).isOk());
        QCOMPARE(static_cast<int>(store->metrics(id.value())->size()), 0); // rows cascade
        QCOMPARE(store->run(id.value()).errorString(),
                 QStringLiteral("run %1: no such run in %2").arg(id.value()).arg(m_path));
    }

    void garbageFileIsAClearError()
    {
        QDir().mkpath(QFileInfo(m_path).absolutePath());
        QFile file(m_path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(QByteArray(8192, 'x'));
        file.close();
        auto store = RunStore::open(m_path);
        QVERIFY(!store.isOk());
        QVERIFY2(store.errorString().contains(QStringLiteral("not a readable run database")),
                 qPrintable(store.errorString()));
    }

    void twoConnectionsSeeEachOthersCommits()
    {
        auto writer = openStore();
        auto reader = openStore();
        auto id =
            writer->createRun(QStringLiteral("shared"), runConfig(), 1, 1, {QStringLiteral("t1")});
        QVERIFY(writer->appendRound(id.value(), round(0, 0)).isOk());
        QCOMPARE(static_cast<int>(reader->metrics(id.value())->size()), 14);
    }
};

QTEST_GUILESS_MAIN(TestStore)
#include "tst_store.moc"
