// SPDX-License-Identifier: MIT
// End to end: runs the real `fcl` binary on small presets and reads back what it stored.
#include "core/store/run_store.h"
#include "tests/support/test_support.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QRegularExpression>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QStorageInfo>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <functional>

using namespace fcl;

class TestCli : public QObject {
    Q_OBJECT

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    QString m_db;

    struct Output {
        int exitCode = -1;
        QString out;
        QString err;
    };

    Output fcl(const QStringList &arguments, int timeoutMs = 300000)
    {
        QProcess process;
        process.start(QStringLiteral(FCL_CLI_PATH), arguments);
        if (!process.waitForFinished(timeoutMs)) {
            process.kill();
            process.waitForFinished();
        }
        return {process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1,
                QString::fromUtf8(process.readAllStandardOutput()),
                QString::fromUtf8(process.readAllStandardError())};
    }

    /// A run of 200 rounds (4 clients, 5 stages x 40), long enough to be stopped midway.
    QString writeLongExperiment()
    {
        const QString path = m_dir->filePath(QStringLiteral("long.json"));
        QFile file(path);
        const QByteArray json = test::tinyExperimentJson({}, 4, 5, 40, 300);
        return file.open(QIODevice::WriteOnly) && file.write(json) == json.size() ? path
                                                                                  : QString();
    }

    /// Reads `process`'s stderr into `seen` until `done(seen)` holds or the process ends; returns
    /// whether it holds. Progress lines are the events these tests wait on.
    static bool readUntil(QProcess &process, QByteArray &seen,
                          const std::function<bool(const QByteArray &)> &done)
    {
        while (!done(seen) && process.state() == QProcess::Running) {
            process.waitForReadyRead(1000);
            seen += process.readAllStandardError();
        }
        return done(seen);
    }

    /// Starts `fcl run` on the long experiment (writeLongExperiment) in `process`.
    bool startLongRun(QProcess &process)
    {
        const QString path = writeLongExperiment();
        if (path.isEmpty()) {
            return false;
        }
        process.start(QStringLiteral(FCL_CLI_PATH),
                      {QStringLiteral("run"), path, QStringLiteral("--db"), m_db});
        return process.waitForStarted();
    }

    static QString data(const char *name)
    {
        return QStringLiteral(FCL_SOURCE_DIR "/tests/data/") + QLatin1String(name);
    }

private Q_SLOTS:
    void init()
    {
        m_dir = std::make_unique<QTemporaryDir>();
        m_db = m_dir->filePath(QStringLiteral("runs.sqlite"));
    }

    void replayForgetsLessThanFinetune()
    {
        const Output finetune = fcl({QStringLiteral("run"), data("e2e_finetune.json"),
                                     QStringLiteral("--db"), m_db, QStringLiteral("--quiet")});
        QVERIFY2(finetune.exitCode == 0, qPrintable(finetune.err));
        QVERIFY(finetune.out.contains(QStringLiteral("Average forgetting (F)")));
        const Output replay = fcl({QStringLiteral("run"), data("e2e_replay.json"),
                                   QStringLiteral("--db"), m_db, QStringLiteral("--quiet")});
        QVERIFY2(replay.exitCode == 0, qPrintable(replay.err));

        auto store = RunStore::open(m_db);
        QVERIFY(store.isOk());
        auto runs = store.value()->listRuns();
        QCOMPARE(static_cast<int>(runs->size()), 2);
        const RunRecord &fine = runs.value()[0];
        const RunRecord &rep = runs.value()[1];
        QCOMPARE(fine.status, RunStatus::Completed);
        qDebug("forgetting: finetune %.3f, replay %.3f", fine.finalAverageForgetting,
               rep.finalAverageForgetting);
        QVERIFY(fine.finalAverageForgetting > 0.5);
        QVERIFY(rep.finalAverageForgetting < fine.finalAverageForgetting - 0.2);
        QVERIFY(rep.finalAverageAccuracy > fine.finalAverageAccuracy);
    }

    void listShowAndExportReadTheStore()
    {
        QCOMPARE(fcl({QStringLiteral("run"), data("e2e_finetune.json"), QStringLiteral("--db"),
                      m_db, QStringLiteral("--quiet")})
                     .exitCode,
                 0);
        const Output list = fcl({QStringLiteral("list"), QStringLiteral("--db"), m_db});
        QCOMPARE(list.exitCode, 0);
        QVERIFY(list.out.contains(QStringLiteral("completed")));
        QVERIFY(list.out.contains(QStringLiteral("e2e finetune")));
        const Output show =
            fcl({QStringLiteral("show"), QStringLiteral("1"), QStringLiteral("--db"), m_db});
        QCOMPARE(show.exitCode, 0);
        QVERIFY(show.out.contains(QStringLiteral("stage 3")));
        QVERIFY(show.out.contains(QStringLiteral("Backward transfer (BWT)")));

        const Output csv = fcl({QStringLiteral("export"), QStringLiteral("1"),
                                QStringLiteral("--csv"), QStringLiteral("--db"), m_db});
        QCOMPARE(csv.exitCode, 0);
        const QStringList lines = csv.out.split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        QCOMPARE(lines.first(), QStringLiteral("run,stage,round,kind,task,client,value"));
        int matrixRows = 0;
        for (const QString &line : lines) {
            matrixRows += line.contains(QStringLiteral(",matrix,")) ? 1 : 0;
        }
        QCOMPARE(matrixRows, 3 * 3); // 3 stages x 3 tasks

        const QString jsonPath = m_dir->filePath(QStringLiteral("run.json"));
        QCOMPARE(fcl({QStringLiteral("export"), QStringLiteral("1"), QStringLiteral("--json"),
                      QStringLiteral("-o"), jsonPath, QStringLiteral("--db"), m_db})
                     .exitCode,
                 0);
        QFile file(jsonPath);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QJsonObject root = QJsonDocument::fromJson(file.readAll()).object();
        QCOMPARE(root.value(QStringLiteral("status")).toString(), QStringLiteral("completed"));
        QCOMPARE(root.value(QStringLiteral("metrics")).toArray().size(), lines.size() - 1);
        QCOMPARE(
            root.value(QStringLiteral("config")).toObject().value(QStringLiteral("seed")).toInt(),
            5);

        // The workbench's report without a window (offscreen platform).
        const QString pdf = m_dir->filePath(QStringLiteral("report.pdf"));
        const Output report = fcl({QStringLiteral("report"), QStringLiteral("1"),
                                   QStringLiteral("-o"), pdf, QStringLiteral("--db"), m_db});
        QVERIFY2(report.exitCode == 0, qPrintable(report.err));
        QFile pdfFile(pdf);
        QVERIFY(pdfFile.open(QIODevice::ReadOnly));
        QVERIFY(pdfFile.read(5) == "%PDF-");
        QCOMPARE(fcl({QStringLiteral("report"), QStringLiteral("99"), QStringLiteral("-o"), pdf,
                      QStringLiteral("--db"), m_db})
                     .exitCode,
                 2);
    }

    void badInputExitsWithTwoAndNamesTheField()
    {
        const Output validate =
            fcl({QStringLiteral("validate"), data("bad_experiments/negative_lr.json")});
        QCOMPARE(validate.exitCode, 2);
        QVERIFY2(
            validate.err.contains(QStringLiteral("federated.lr: -0.1 is out of range (0, 10]")),
            qPrintable(validate.err));
        const Output run = fcl({QStringLiteral("run"), data("bad_experiments/unknown_task.json"),
                                QStringLiteral("--db"), m_db});
        QCOMPARE(run.exitCode, 2);
        QVERIFY(run.err.contains(QStringLiteral("stages[0].b: unknown task \"fmnist-jackets\"")));
        QCOMPARE(fcl({QStringLiteral("frobnicate")}).exitCode, 2);
        QCOMPARE(fcl({QStringLiteral("show"), QStringLiteral("42"), QStringLiteral("--db"), m_db})
                     .exitCode,
                 2);
        QCOMPARE(fcl({QStringLiteral("run"), data("e2e_finetune.json"), QStringLiteral("--threads"),
                      QStringLiteral("0")})
                     .exitCode,
                 2);
        // Reading has no side effect: a mistyped database path is an error, nothing is created,
        // and an empty --db is not the default database.
        const QString typo = m_dir->filePath(QStringLiteral("typo/x.sqlite"));
        for (const char *command : {"list", "show", "export", "report", "resume", "ask"}) {
            QStringList arguments{QString::fromLatin1(command)};
            if (QByteArray(command) != "list") {
                arguments << QStringLiteral("1");
            }
            if (QByteArray(command) == "ask") {
                arguments << QStringLiteral("What item is this?");
            } else if (QByteArray(command) == "export") {
                arguments << QStringLiteral("--csv");
            } else if (QByteArray(command) == "report") {
                arguments << QStringLiteral("-o") << m_dir->filePath(QStringLiteral("r.pdf"));
            }
            const Output missing = fcl(arguments + QStringList{QStringLiteral("--db"), typo});
            QVERIFY2(missing.exitCode == 2, command);
            QVERIFY2(missing.err.contains(QStringLiteral("no run database here")),
                     qPrintable(missing.err));
            QVERIFY(!QFileInfo::exists(m_dir->filePath(QStringLiteral("typo"))));
            const Output empty = fcl(arguments + QStringList{QStringLiteral("--db"), QString()});
            QVERIFY2(empty.exitCode == 2, command);
        }
        // validate runs the partition checks fcl run (and the designer) make, with the same text.
        QFile source(data("e2e_finetune.json"));
        QVERIFY(source.open(QIODevice::ReadOnly));
        QByteArray greedy = source.readAll();
        greedy.replace("\"samples_per_task\": 300", "\"samples_per_task\": 30000");
        const QString greedyPath = m_dir->filePath(QStringLiteral("greedy.json"));
        QFile greedyFile(greedyPath);
        QVERIFY(greedyFile.open(QIODevice::WriteOnly));
        greedyFile.write(greedy);
        greedyFile.close();
        const QString expected = QStringLiteral(
            "stages[0] task \"fmnist-split-1\": partition: 4 clients ask for 120000 samples in "
            "total but the task has only 12000");
        const Output infeasible = fcl({QStringLiteral("validate"), greedyPath});
        QCOMPARE(infeasible.exitCode, 2);
        QVERIFY2(infeasible.err.contains(expected), qPrintable(infeasible.err));
        const Output refused =
            fcl({QStringLiteral("run"), greedyPath, QStringLiteral("--db"), m_db});
        QCOMPARE(refused.exitCode, 2);
        QVERIFY2(refused.err.contains(expected), qPrintable(refused.err));
        const Output good = fcl({QStringLiteral("validate"), data("e2e_replay.json")});
        QCOMPARE(good.exitCode, 0);
        QVERIFY(good.out.contains(QStringLiteral("valid (4 clients, 3 stages, 3 tasks)")));
    }

    void corruptRowsExitTwoWithOneLine()
    {
        // Values the program never writes, in a database that passes PRAGMA quick_check: each
        // read command names the run and what is wrong, exits 2, and crashes on none (these
        // crashed show and report with SIGSEGV / abort before).
        QCOMPARE(fcl({QStringLiteral("run"), data("e2e_finetune.json"), QStringLiteral("--db"),
                      m_db, QStringLiteral("--quiet")})
                     .exitCode,
                 0);
        const QString pristine = m_dir->filePath(QStringLiteral("pristine.sqlite"));
        QVERIFY(QFile::copy(m_db, pristine));
        struct Case {
            const char *sql;
            const char *message;
        };
        const std::vector<Case> cases = {
            {"UPDATE runs SET task_ids = '[]'",
             "run 1 is corrupt: task_ids is not a non-empty JSON array of task ids"},
            {"UPDATE runs SET task_ids = 'not json'", "run 1 is corrupt: task_ids"},
            {"UPDATE runs SET config = 'not json'",
             "run 1 is corrupt: config is not a JSON object"},
            {"UPDATE metrics SET task = 1000000 WHERE rowid = (SELECT min(rowid) FROM metrics "
             "WHERE kind = 'matrix')",
             "lies outside its 3 stages, 3 tasks and 4 clients"},
            {"UPDATE metrics SET stage = -5 WHERE rowid = (SELECT min(rowid) FROM metrics WHERE "
             "kind = 'acc')",
             "(acc, stage -5, round 0, task 0, client -1) lies outside"},
            {"INSERT INTO observations(run_id, stage, round, global_round, client, kind, title, "
             "shape, labels, column_labels, data) VALUES (1, 0, 0, 0, -1, 'x.m', 'm', 'matrix', "
             "'[\"a\",\"b\"]', '[\"c\"]', '[1]')",
             "run 1 is corrupt: observation 1 (x.m): 1 values for a 2 x 1 matrix"},
        };
        for (const Case &c : cases) {
            QFile::remove(m_db);
            QVERIFY(QFile::copy(pristine, m_db));
            {
                QSqlDatabase db =
                    QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("tamper"));
                db.setDatabaseName(m_db);
                QVERIFY(db.open());
                QSqlQuery q(db);
                QVERIFY2(q.exec(QString::fromLatin1(c.sql)), qPrintable(q.lastError().text()));
            }
            QSqlDatabase::removeDatabase(QStringLiteral("tamper"));
            const bool observation = QByteArray(c.sql).contains("observations");
            const QList<QStringList> commands = {
                {QStringLiteral("show"), QStringLiteral("1")},
                {QStringLiteral("export"), QStringLiteral("1"), QStringLiteral("--csv")},
                {QStringLiteral("report"), QStringLiteral("1"), QStringLiteral("-o"),
                 m_dir->filePath(QStringLiteral("r.pdf"))}};
            for (const QStringList &command : commands) {
                if (observation && command.first() == QLatin1String("show")) {
                    continue; // show draws no observation
                }
                const Output o = fcl(command + QStringList{QStringLiteral("--db"), m_db});
                QVERIFY2(o.exitCode == 2, qPrintable(command.first() + QLatin1Char(' ') +
                                                     QString::fromLatin1(c.sql) + o.err));
                QVERIFY2(o.err.contains(QString::fromLatin1(c.message)), qPrintable(o.err));
                QCOMPARE(o.err.count(QLatin1Char('\n')), 1);
            }
            // The run stays listed: one bad row does not hide the database.
            QCOMPARE(fcl({QStringLiteral("list"), QStringLiteral("--db"), m_db}).exitCode, 0);
        }
    }

    void helpListsRegisteredMethodsAndVersionPrints()
    {
        const Output help = fcl({QStringLiteral("--help")});
        QCOMPARE(help.exitCode, 0);
        QVERIFY(help.out.contains(QStringLiteral("fedprox (FedProx)")));
        QVERIFY(help.out.contains(QStringLiteral("buffer_per_client")));
        const Output version = fcl({QStringLiteral("--version")});
        QCOMPARE(version.exitCode, 0);
        QVERIFY(version.out.startsWith(QStringLiteral("fcl 0.")));
        const Output tasks = fcl({QStringLiteral("tasks")});
        QVERIFY(tasks.out.contains(QStringLiteral("fmnist-is-footwear")));
    }

    void signalsGiveShellExitCodesAndLostOutputFails()
    {
        // A run cancelled by SIGINT exits 130, by SIGTERM 143 (128 + the signal), and is stored
        // as cancelled with the rounds it finished.
        qint64 runId = 0;
        for (int signal : {SIGINT, SIGTERM}) {
            ++runId;
            QProcess process;
            QVERIFY(startLongRun(process));
            // The progress line of the first finished round is the event to wait for.
            QByteArray progress;
            QVERIFY(readUntil(process, progress, [](const QByteArray &seen) {
                return seen.contains("round 2/");
            }));
            ::kill(static_cast<pid_t>(process.processId()), signal);
            QVERIFY(process.waitForFinished(120000));
            QCOMPARE(process.exitStatus(), QProcess::NormalExit);
            QCOMPARE(process.exitCode(), 128 + signal);
            auto store = RunStore::open(m_db);
            QVERIFY(store);
            auto run = store.value()->run(runId);
            QVERIFY(run);
            QCOMPARE(run->status, RunStatus::Cancelled);
        }

        // Output that cannot be written is a failure, not a success.
        QProcess full;
        full.setStandardOutputFile(QStringLiteral("/dev/full"));
        full.start(QStringLiteral(FCL_CLI_PATH),
                   {QStringLiteral("export"), QStringLiteral("1"), QStringLiteral("--csv"),
                    QStringLiteral("--db"), m_db});
        QVERIFY(full.waitForFinished(60000));
        QCOMPARE(full.exitCode(), 1);
        QProcess list;
        list.setStandardOutputFile(QStringLiteral("/dev/full"));
        list.start(QStringLiteral(FCL_CLI_PATH),
                   {QStringLiteral("list"), QStringLiteral("--db"), m_db});
        QVERIFY(list.waitForFinished(60000));
        QCOMPARE(list.exitCode(), 1);
        QVERIFY2(list.readAllStandardError().contains("cannot write to standard output"),
                 "the reason goes to stderr");
    }

    void fullDiskAndReadOnlyDatabase()
    {
        // A small tmpfs stands for the user's disk (mounting needs root, as CI has).
        const QString mountPoint = m_dir->filePath(QStringLiteral("disk"));
        QVERIFY(QDir().mkpath(mountPoint));
        auto mount = [&](const QStringList &options) {
            return QProcess::execute(QStringLiteral("mount"),
                                     QStringList{QStringLiteral("-t"), QStringLiteral("tmpfs")} +
                                         options +
                                         QStringList{QStringLiteral("tmpfs"), mountPoint}) == 0;
        };
        if (!mount({QStringLiteral("-o"), QStringLiteral("size=24m")})) {
            QSKIP("mounting a tmpfs needs root");
        }
        struct Unmount {
            QString point;
            ~Unmount() { QProcess::execute(QStringLiteral("umount"), {point}); }
        } unmount{mountPoint};
        const QString db = mountPoint + QStringLiteral("/runs.sqlite");
        QCOMPARE(fcl({QStringLiteral("run"), data("e2e_finetune.json"), QStringLiteral("--db"), db,
                      QStringLiteral("--quiet")})
                     .exitCode,
                 0);
        QProcess gone;
        gone.start(QStringLiteral("true"));
        QVERIFY(gone.waitForFinished());
        const qint64 deadPid = gone.processId();
        // Reads the file as it is (immutable: no -shm file needed on the full disk).
        auto sql = [&](const QString &statement, bool asItIs = false) {
            QVariant value;
            {
                QSqlDatabase raw =
                    QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("raw"));
                raw.setDatabaseName(asItIs ? QStringLiteral("file:%1?immutable=1").arg(db) : db);
                if (asItIs) {
                    raw.setConnectOptions(QStringLiteral("QSQLITE_OPEN_READONLY;QSQLITE_OPEN_URI"));
                }
                if (raw.open()) {
                    QSqlQuery q(raw);
                    if (q.exec(statement) && q.next()) {
                        value = q.value(0);
                    }
                }
            }
            QSqlDatabase::removeDatabase(QStringLiteral("raw"));
            return value;
        };

        QFile filler(mountPoint + QStringLiteral("/filler"));
        auto fillDisk = [&](qint64 keep) {
            QVERIFY(filler.open(QIODevice::WriteOnly));
            QStorageInfo disk(mountPoint);
            const QByteArray block(16 * 1024, 'x');
            while (disk.bytesAvailable() >= keep + block.size() && filler.write(block) > 0) {
                filler.flush();
                disk.refresh();
            }
            filler.close();
        };
        // Fill the disk but for 256 KiB: a new run starts, then fails saving a round.
        fillDisk(256 * 1024);
        const Output failed = fcl({QStringLiteral("run"), data("e2e_finetune.json"),
                                   QStringLiteral("--db"), db, QStringLiteral("--quiet")});
        QCOMPARE(failed.exitCode, 1);
        QVERIFY2(failed.err.contains(QStringLiteral("disk full")), qPrintable(failed.err));
        // Run 1 looks as if its process had been killed ("running" with a pid that is gone);
        // then the disk is full to the last byte.
        QVERIFY(filler.remove());
        sql(QStringLiteral("UPDATE runs SET status = 'running', pid = %1 WHERE id = 1")
                .arg(deadPid));
        fillDisk(0);
        // Every read command works on the full disk, and writes nothing (run 1 stays "running"
        // in the file, and reads "interrupted").
        const Output list = fcl({QStringLiteral("list"), QStringLiteral("--db"), db});
        QVERIFY2(list.exitCode == 0, qPrintable(list.err));
        QVERIFY2(list.out.contains(QRegularExpression(QStringLiteral("1  interrupted"))),
                 qPrintable(list.out));
        QVERIFY2(list.out.contains(QRegularExpression(QStringLiteral("2  failed"))),
                 qPrintable(list.out));
        const Output show =
            fcl({QStringLiteral("show"), QStringLiteral("2"), QStringLiteral("--db"), db});
        QCOMPARE(show.exitCode, 0);
        QVERIFY2(show.out.contains(QStringLiteral("disk full")), qPrintable(show.out));
        QCOMPARE(sql(QStringLiteral("SELECT status FROM runs WHERE id = 1"), true).toString(),
                 QStringLiteral("running"));
        QVERIFY(sql(QStringLiteral("SELECT error FROM runs WHERE id = 2"), true)
                    .toString()
                    .contains(QStringLiteral("disk full")));

        // Read-only: the same commands on a read-only file system.
        QVERIFY(mount({QStringLiteral("-o"), QStringLiteral("remount,ro")}));
        const QList<QStringList> reads = {
            {QStringLiteral("list")},
            {QStringLiteral("show"), QStringLiteral("1")},
            {QStringLiteral("export"), QStringLiteral("1"), QStringLiteral("--csv"),
             QStringLiteral("-o"), m_dir->filePath(QStringLiteral("1.csv"))},
            {QStringLiteral("report"), QStringLiteral("1"), QStringLiteral("-o"),
             m_dir->filePath(QStringLiteral("1.pdf"))}};
        for (const QStringList &command : reads) {
            const Output o = fcl(command + QStringList{QStringLiteral("--db"), db});
            QVERIFY2(o.exitCode == 0, qPrintable(command.join(QLatin1Char(' ')) + o.err));
        }
        QVERIFY(QFileInfo(m_dir->filePath(QStringLiteral("1.pdf"))).size() > 1000);
        // Only run writes: it says where it cannot.
        const Output refused = fcl({QStringLiteral("run"), data("e2e_finetune.json"),
                                    QStringLiteral("--db"), db, QStringLiteral("--quiet")});
        QVERIFY(refused.exitCode != 0);
        QVERIFY2(refused.err.contains(QStringLiteral("runs.sqlite")), qPrintable(refused.err));
    }

    void externalLockIsWaitedOut()
    {
        // Another process holds the database's write lock past SQLite's 5 s busy timeout: the
        // run waits (saying so), saves the round when the lock goes, and goes on to its end
        // (before, it failed after 5 s).
        QProcess process;
        QVERIFY(startLongRun(process));
        QByteArray progress;
        auto waitFor = [&](const char *text) {
            return readUntil(process, progress, [text](const QByteArray &seen) {
                return seen.contains(text);
            });
        };
        QVERIFY(waitFor("round 2/"));
        {
            QSqlDatabase other =
                QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("other"));
            other.setDatabaseName(m_db);
            QVERIFY(other.open());
            QSqlQuery lock(other);
            QVERIFY2(lock.exec(QStringLiteral("BEGIN EXCLUSIVE")),
                     qPrintable(lock.lastError().text()));
            QVERIFY2(waitFor("another process holds the run database locked"),
                     progress.constData());
            QVERIFY(lock.exec(QStringLiteral("ROLLBACK")));
        }
        QSqlDatabase::removeDatabase(QStringLiteral("other"));
        QVERIFY2(waitFor("the round is saved"), progress.constData());
        // The run goes on to its end.
        QVERIFY(process.waitForFinished(120000));
        progress += process.readAllStandardError();
        QVERIFY2(process.exitStatus() == QProcess::NormalExit && process.exitCode() == 0,
                 progress.right(600).constData());
        // Every round is stored, none twice, none missing.
        auto store = RunStore::open(m_db);
        QVERIFY(store);
        auto rows = store.value()->metrics(1);
        QVERIFY(rows);
        std::vector<int> rounds;
        for (const MetricRow &row : rows.value()) {
            if (row.kind == QLatin1String("loss")) {
                rounds.push_back(row.stage * 40 + row.round);
            }
        }
        QCOMPARE(rounds.size(), std::size_t{200});
        for (std::size_t i = 0; i < rounds.size(); ++i) {
            QCOMPARE(rounds[i], static_cast<int>(i));
        }
    }

    void outOfMemorySaysWhatTheRunNeeds()
    {
        // 3,000 clients a round each upload a 1.1 MB model: about 3.7 GB, under a 2 GB
        // address-space limit. validate warns; run fails with one line naming the setting.
        QJsonObject experiment =
            QJsonDocument::fromJson(test::tinyExperimentJson({}, 1, 1, 1, 1)).object();
        QJsonArray clients;
        for (int c = 0; c < 3000; ++c) {
            clients.append(QJsonObject{{QStringLiteral("name"), QStringLiteral("c%1").arg(c)},
                                       {QStringLiteral("samples_per_task"), 1}});
        }
        experiment.insert(QStringLiteral("clients"), clients);
        QJsonObject model{{QStringLiteral("backbone"), QStringLiteral("mlp")},
                          {QStringLiteral("hidden"), 256},
                          {QStringLiteral("layers"), 2}};
        experiment.insert(QStringLiteral("model"), model);
        const QString path = m_dir->filePath(QStringLiteral("big.json"));
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(QJsonDocument(experiment).toJson());
        file.close();
        auto limited = [&](const QStringList &arguments) {
            QProcess process;
            process.start(QStringLiteral("bash"),
                          QStringList{QStringLiteral("-c"),
                                      QStringLiteral("ulimit -v 2000000 && exec \"$0\" \"$@\""),
                                      QStringLiteral(FCL_CLI_PATH)} +
                              arguments);
            process.waitForFinished(300000);
            return Output{process.exitCode(), QString::fromUtf8(process.readAllStandardOutput()),
                          QString::fromUtf8(process.readAllStandardError())};
        };
        const Output validate = limited({QStringLiteral("validate"), path});
        QCOMPARE(validate.exitCode, 0);
        QVERIFY2(validate.out.contains(QStringLiteral("3000 clients a round")),
                 qPrintable(validate.out));
        QVERIFY2(validate.err.contains(QStringLiteral("warning: this run needs more memory")),
                 qPrintable(validate.err));
        const Output run = limited({QStringLiteral("run"), path, QStringLiteral("--db"), m_db});
        QCOMPARE(run.exitCode, 1);
        QVERIFY2(run.err.contains(QStringLiteral("out of memory (it may use 2.05 GB): this run "
                                                 "needs about")),
                 qPrintable(run.err));
        QVERIFY2(run.err.contains(QStringLiteral("lower federated.participation")),
                 qPrintable(run.err));
        QVERIFY(!run.err.contains(QStringLiteral("frame #")));
        QVERIFY(!run.err.contains(QStringLiteral("alloc_cpu")));
    }

    void killedRunIsInterruptedWithItsRoundsKept()
    {
        // A long run (many rounds), killed with SIGKILL once a few rounds are stored.
        QProcess process;
        QVERIFY(startLongRun(process));
        auto storedRounds = [&] {
            int rounds = 0;
            auto store = RunStore::open(m_db);
            if (store.isOk()) {
                auto rows = store.value()->metrics(1);
                for (const MetricRow &row : rows.isOk() ? rows.value() : std::vector<MetricRow>{}) {
                    rounds += row.kind == QLatin1String("loss") ? 1 : 0;
                }
            }
            return rounds;
        };
        for (int attempt = 0; attempt < 600 && storedRounds() < 3; ++attempt) {
            QTest::qWait(100);
        }
        QVERIFY(storedRounds() >= 3);
        QCOMPARE(process.state(), QProcess::Running);
        ::kill(static_cast<pid_t>(process.processId()), SIGKILL);
        QVERIFY(process.waitForFinished());

        const Output list = fcl({QStringLiteral("list"), QStringLiteral("--db"), m_db});
        QCOMPARE(list.exitCode, 0);
        QVERIFY2(list.out.contains(QStringLiteral("interrupted")), qPrintable(list.out));
        QVERIFY(storedRounds() >= 3);
    }

    void killedRunResumesToTheUninterruptedMetrics()
    {
        // Issue 6: SIGKILL after stage 2's checkpoint, `fcl resume`, and every metric row equals
        // an uninterrupted run's.
        const QByteArray json = test::tinyExperimentJson(
            QStringLiteral(R"({"method": "replay", "buffer_per_client": 60})"), 4, 5, 8, 400);
        const QString path = m_dir->filePath(QStringLiteral("resume.json"));
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(json);
        file.close();
        QProcess process;
        process.start(
            QStringLiteral(FCL_CLI_PATH),
            {QStringLiteral("run"), path, QStringLiteral("--db"), m_db, QStringLiteral("--quiet")});
        QVERIFY(process.waitForStarted());
        auto checkpoints = [&] {
            auto store = RunStore::open(m_db);
            auto list = store ? store.value()->checkpoints(1)
                              : Result<std::vector<CheckpointRecord>>(Error{});
            return list ? static_cast<int>(list->size()) : 0;
        };
        for (int attempt = 0; attempt < 3000 && checkpoints() < 2; ++attempt) {
            QTest::qWait(20);
        }
        QVERIFY(checkpoints() >= 2); // killed in stage 3 or later, before the end
        QCOMPARE(process.state(), QProcess::Running);
        ::kill(static_cast<pid_t>(process.processId()), SIGKILL);
        QVERIFY(process.waitForFinished());

        const Output resumed = fcl({QStringLiteral("resume"), QStringLiteral("1"),
                                    QStringLiteral("--db"), m_db, QStringLiteral("--quiet")});
        QVERIFY2(resumed.exitCode == 0, qPrintable(resumed.err));
        QVERIFY2(resumed.out.contains(QStringLiteral("completed after 5 of 5 stages")),
                 qPrintable(resumed.out));
        const Output whole = fcl(
            {QStringLiteral("run"), path, QStringLiteral("--db"), m_db, QStringLiteral("--quiet")});
        QCOMPARE(whole.exitCode, 0);

        auto store = RunStore::open(m_db);
        QVERIFY(store);
        const QByteArray first = test::metricRowsText(store.value()->metrics(1).value());
        const QByteArray second = test::metricRowsText(store.value()->metrics(2).value());
        QCOMPARE(first.count('\n'), second.count('\n'));
        QCOMPARE(first, second);
        QCOMPARE(store.value()->checkpoints(1)->size(), std::size_t(5));

        const Output again =
            fcl({QStringLiteral("resume"), QStringLiteral("2"), QStringLiteral("--db"), m_db});
        QCOMPARE(again.exitCode, 2);
        QVERIFY2(again.err.contains(QStringLiteral("run 2 is already completed")),
                 qPrintable(again.err));
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
