// SPDX-License-Identifier: MIT
// Bit-identity guard (issue 6): every shipped preset and a few small experiments that exercise
// every method, partition, evaluation mode and client fault are run and each stored metric row is
// compared, bit for bit, with the rows recorded before the engine was restructured. Wall times are
// the only rows left out. Set FCL_UPDATE_GOLDEN=1 to rewrite the files after an intended change
// (and say why in the commit).
#include "core/sim/engine.h"
#include "core/store/run_store.h"
#include "tests/support/test_support.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

using namespace fcl;

class TestGolden : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void metricsMatchTheRecordedRows_data()
    {
        QTest::addColumn<QString>("experimentPath");
        QTest::addColumn<QString>("goldenName");
        const QString presets = QStringLiteral(FCL_SOURCE_DIR "/resources/presets/");
        const QString golden = QStringLiteral(FCL_SOURCE_DIR "/tests/data/golden/");
        for (const char *name : {"default", "replay", "heterogeneous", "non-iid-fedprox"}) {
            QTest::newRow(name) << presets + QLatin1String(name) + QLatin1String(".json")
                                << QStringLiteral("preset-%1").arg(QLatin1String(name));
        }
        for (const char *name : {"ewc", "lwf", "mixed"}) {
            QTest::newRow(name) << golden + QLatin1String(name) + QLatin1String(".json")
                                << QString::fromLatin1(name);
        }
    }

    void metricsMatchTheRecordedRows()
    {
        QFETCH(QString, experimentPath);
        QFETCH(QString, goldenName);
        auto experiment = loadExperimentFile(experimentPath);
        QVERIFY2(experiment, qPrintable(experiment.errorString()));
        QTemporaryDir dir;
        auto store = RunStore::open(dir.filePath(QStringLiteral("runs.sqlite")));
        QVERIFY(store);
        test::RecordingObserver observer;
        CancellationToken cancel;
        RunOptions options;
        options.threads = 2;
        const RunOutcome outcome =
            runExperiment(experiment.value(), store.value().get(), observer, cancel, options);
        QCOMPARE(outcome.status, RunStatus::Completed);
        auto rows = store.value()->metrics(outcome.runId);
        QVERIFY(rows);
        const QByteArray actual = test::metricRowsText(rows.value());

        const QString goldenPath =
            QStringLiteral(FCL_SOURCE_DIR "/tests/data/golden/%1.rows").arg(goldenName);
        if (qEnvironmentVariableIsSet("FCL_UPDATE_GOLDEN")) {
            QFile out(goldenPath);
            QVERIFY(out.open(QIODevice::WriteOnly | QIODevice::Truncate));
            out.write(actual);
            QSKIP("golden file rewritten");
        }
        QFile in(goldenPath);
        QVERIFY2(in.open(QIODevice::ReadOnly), qPrintable(goldenPath));
        const QList<QByteArray> expectedLines = in.readAll().split('\n');
        const QList<QByteArray> actualLines = actual.split('\n');
        for (qsizetype i = 0; i < std::min(expectedLines.size(), actualLines.size()); ++i) {
            QVERIFY2(expectedLines[i] == actualLines[i],
                     qPrintable(QStringLiteral("%1 line %2: expected \"%3\", got \"%4\"")
                                    .arg(goldenName)
                                    .arg(i + 1)
                                    .arg(QString::fromUtf8(expectedLines[i]),
                                         QString::fromUtf8(actualLines[i]))));
        }
        QCOMPARE(actualLines.size(), expectedLines.size());
    }
};

QTEST_GUILESS_MAIN(TestGolden)
#include "tst_golden.moc"
