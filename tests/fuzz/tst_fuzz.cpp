// SPDX-License-Identifier: MIT
// Seeded fuzzing of every input the program reads: experiment files, JSONL instruction files, IDX
// headers and run-database rows, mutated from valid ones. Each case must end in a value or in
// errors of one line each (never a crash, never a LibTorch trace), and reading a database must
// leave it as it was. A sample goes through the real `fcl` binary for its exit codes. The seed is
// fixed (FCL_FUZZ_SEED overrides it, FCL_FUZZ_CASES scales the counts) so that a failure repeats.
#include "core/common/error.h"
#include "core/data/idx_reader.h"
#include "core/data/user_task.h"
#include "core/sim/engine.h"
#include "core/sim/experiment.h"
#include "core/sim/memory_estimate.h"
#include "core/sim/timeline.h"
#include "core/store/run_export.h"
#include "core/store/run_store.h"
#include "tests/support/test_support.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

#include <random>

using namespace fcl;

namespace {

/// What every error must look like: a message on one line, no stack trace.
QString badMessage(const std::vector<Error> &errors)
{
    if (errors.empty()) {
        return QStringLiteral("a failure without an error");
    }
    for (const Error &error : errors) {
        const QString text = error.toString();
        if (text.trimmed().isEmpty() || text.contains(QLatin1Char('\n')) ||
            text.contains(QLatin1String("frame #")) ||
            text.contains(QLatin1String("Exception raised from"))) {
            return QStringLiteral("bad error text: ") + text;
        }
    }
    return {};
}

class Fuzzer {
public:
    explicit Fuzzer(std::uint64_t seed) : m_rng(seed) {}

    int below(int n) { return n <= 1 ? 0 : static_cast<int>(m_rng() % static_cast<unsigned>(n)); }
    bool chance(int percent) { return below(100) < percent; }

    /// A hostile value of any JSON type.
    QJsonValue value()
    {
        switch (below(16)) {
        case 0:
            return QJsonValue(-1);
        case 1:
            return QJsonValue(0);
        case 2:
            return QJsonValue(1e308);
        case 3:
            return QJsonValue(-1e308);
        case 4:
            return QJsonValue(2147483648.0);
        case 5:
            return QJsonValue(0.5);
        case 6:
            return QJsonValue(QString());
        case 7:
            return QJsonValue(QStringLiteral("\u0001\u001b[2J\u0000x"));
        case 8:
            return QJsonValue(QString(300, QLatin1Char('w')));
        case 9:
            return QJsonValue(QJsonArray());
        case 10:
            return QJsonValue(QJsonObject());
        case 11:
            return QJsonValue(QJsonValue::Null);
        case 12:
            return QJsonValue(true);
        case 13:
            return QJsonValue(QStringLiteral("nan"));
        case 14:
            return QJsonValue(QJsonArray{1, QStringLiteral("a"), QJsonObject()});
        default:
            return QJsonValue(100000);
        }
    }

    /// One structural change somewhere in the tree: remove, replace, or duplicate.
    QJsonValue mutate(const QJsonValue &node, int depth = 0)
    {
        if (node.isObject() && !node.toObject().isEmpty()) {
            QJsonObject object = node.toObject();
            const QStringList keys = object.keys();
            const QString key = keys[below(static_cast<int>(keys.size()))];
            const int op = below(depth == 0 ? 5 : 4);
            if (op == 0) {
                object.remove(key);
            } else if (op == 1) {
                object.insert(key, value());
            } else if (op == 4) {
                object.insert(QStringLiteral("unknown_%1").arg(below(100)), value());
            } else {
                object.insert(key, mutate(object.value(key), depth + 1));
            }
            return object;
        }
        if (node.isArray() && !node.toArray().isEmpty()) {
            QJsonArray array = node.toArray();
            const int i = below(static_cast<int>(array.size()));
            switch (below(4)) {
            case 0:
                array.removeAt(i);
                break;
            case 1:
                array[i] = value();
                break;
            case 2:
                for (int k = 0; k < 1 + below(40); ++k) {
                    array.append(array.at(i));
                }
                break;
            default:
                array[i] = mutate(array.at(i), depth + 1);
                break;
            }
            return array;
        }
        return chance(50) ? value() : node;
    }

    /// Byte-level damage: truncate, flip, insert or delete a byte.
    QByteArray damage(QByteArray bytes)
    {
        if (bytes.isEmpty()) {
            return bytes;
        }
        const int at = below(static_cast<int>(bytes.size()));
        switch (below(4)) {
        case 0:
            bytes.truncate(at);
            break;
        case 1:
            bytes[at] = static_cast<char>(bytes[at] ^ (1 << below(8)));
            break;
        case 2:
            bytes.insert(at, static_cast<char>(below(256)));
            break;
        default:
            bytes.remove(at, 1 + below(8));
            break;
        }
        return bytes;
    }

private:
    std::mt19937_64 m_rng;
};

std::uint64_t fuzzSeed()
{
    bool ok = false;
    const std::uint64_t seed = qEnvironmentVariable("FCL_FUZZ_SEED").toULongLong(&ok);
    return ok ? seed : 20261123;
}

int cases(int normal)
{
    bool ok = false;
    const double scale = qEnvironmentVariable("FCL_FUZZ_CASES").toDouble(&ok);
    return ok && scale > 0 ? std::max(1, static_cast<int>(normal * scale)) : normal;
}

QByteArray readAll(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

bool writeAll(const QString &path, const QByteArray &bytes)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly | QIODevice::Truncate) &&
           file.write(bytes) == bytes.size();
}

} // namespace

class TestFuzz : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;

    QString path(const QString &name) const { return m_dir.filePath(name); }

private Q_SLOTS:
    void experiments()
    {
        // Seeds: every shipped preset and the tests' tiny experiment.
        std::vector<QByteArray> seeds = {test::tinyExperimentJson()};
        const QDir presets(QStringLiteral(FCL_SOURCE_DIR "/resources/presets"));
        for (const QString &name : presets.entryList({QStringLiteral("*.json")})) {
            seeds.push_back(readAll(presets.filePath(name)));
        }
        Fuzzer fuzz(fuzzSeed());
        int valid = 0;
        const int count = cases(400);
        for (int i = 0; i < count; ++i) {
            const QByteArray &seed = seeds[static_cast<std::size_t>(fuzz.below(int(seeds.size())))];
            QByteArray text;
            if (fuzz.chance(75)) {
                QJsonValue tree = QJsonDocument::fromJson(seed).object();
                for (int k = 0; k <= fuzz.below(3); ++k) {
                    tree = fuzz.mutate(tree);
                }
                text = QJsonDocument(tree.toObject()).toJson(QJsonDocument::Compact);
            } else {
                text = fuzz.damage(seed);
            }
            const auto parsed = parseExperiment(text, m_dir.path());
            const QString context =
                QStringLiteral("case %1: %2").arg(i).arg(QString::fromUtf8(text.left(300)));
            if (!parsed) {
                const QString bad = badMessage(parsed.errors());
                QVERIFY2(bad.isEmpty(), qPrintable(bad + QLatin1Char('\n') + context));
                continue;
            }
            ++valid;
            // A valid experiment: its checks answer in one line each, and it writes itself back
            // to the same experiment.
            const std::vector<Error> partitions = checkPartitions(parsed.value());
            if (!partitions.empty()) {
                const QString bad = badMessage(partitions);
                QVERIFY2(bad.isEmpty(), qPrintable(bad + QLatin1Char('\n') + context));
            }
            QVERIFY2(estimateMemory(parsed.value()).peakBytes > 0, qPrintable(context));
            const QJsonObject written = parsed->toJson();
            const auto again = parseExperiment(
                QJsonDocument(written).toJson(QJsonDocument::Compact), m_dir.path());
            QVERIFY2(again, qPrintable(again.errorString() + QLatin1Char('\n') + context));
            QCOMPARE(again->toJson(), written);
        }
        qInfo("%d experiment cases, %d valid", count, valid);
        QVERIFY(valid > 0 && valid < count); // the mutations reach both sides
    }

    void instructionFiles()
    {
        const QByteArray good = "{\"instruction\": \"Name the colour\", \"input\": \"sky\", "
                                "\"output\": \"blue\"}\n"
                                "{\"instruction\": \"Name the colour\", \"input\": \"grass\", "
                                "\"output\": \"green\"}\n"
                                "{\"instruction\": \"What is this?\", \"image\": 3, "
                                "\"output\": \"dress\"}\n"
                                "{\"instruction\": \"Name the colour\", \"input\": \"snow\", "
                                "\"output\": \"white\"}\n";
        // "image": 3 indexes this small IDX file (Fashion-MNIST would be read for each case).
        const QString images = path(QStringLiteral("jsonl-images-idx3-ubyte"));
        test::writeIdxFile(images, path(QStringLiteral("jsonl-labels-idx1-ubyte")), 6, 28, 28,
                           {0, 1, 2, 3, 4, 5});
        Fuzzer fuzz(fuzzSeed() + 1);
        int loaded = 0;
        const int count = cases(200);
        for (int i = 0; i < count; ++i) {
            QList<QByteArray> lines = good.split('\n');
            const int line = fuzz.below(int(lines.size()));
            if (fuzz.chance(50)) {
                QJsonValue tree = QJsonDocument::fromJson(lines[line]).object();
                tree = fuzz.mutate(tree);
                lines[line] = QJsonDocument(tree.toObject()).toJson(QJsonDocument::Compact);
            } else {
                lines[line] = fuzz.damage(lines[line]);
            }
            // A new name each case: loaded tasks are cached by path, size and time.
            const QString file = path(QStringLiteral("task%1.jsonl").arg(i));
            QVERIFY(writeAll(file, lines.join('\n')));
            UserTaskSource source;
            source.id = QStringLiteral("fuzz");
            source.file = file;
            source.images = images;
            const auto task = loadUserTask(source, 1);
            if (!task) {
                const QString bad = badMessage(task.errors());
                QVERIFY2(bad.isEmpty(), qPrintable(bad + QStringLiteral("\ncase %1").arg(i)));
                continue;
            }
            ++loaded;
            QCOMPARE(task.value()->size(),
                     static_cast<int>(task.value()->train.size() + task.value()->test.size()));
            QVERIFY(!task.value()->test.empty() && !task.value()->train.empty());
        }
        qInfo("%d instruction-file cases, %d loaded", count, loaded);
    }

    void idxHeaders()
    {
        const QString images = path(QStringLiteral("good-images-idx3-ubyte"));
        const QString labels = path(QStringLiteral("good-labels-idx1-ubyte"));
        test::writeIdxFile(images, labels, 6, 28, 28, {0, 1, 2, 3, 4, 5});
        const QByteArray goodImages = readAll(images);
        const QByteArray goodLabels = readAll(labels);
        Fuzzer fuzz(fuzzSeed() + 2);
        int read = 0;
        const int count = cases(200);
        for (int i = 0; i < count; ++i) {
            QByteArray img = goodImages;
            QByteArray lab = goodLabels;
            QByteArray &target = fuzz.chance(70) ? img : lab;
            if (fuzz.chance(60)) {
                // The header: magic and dimensions, big-endian 32-bit words.
                const int word =
                    fuzz.below(target.startsWith(QByteArray("\0\0\x08\x03", 4)) ? 4 : 2);
                const quint32 values[] = {0,           1,           28,       14,
                                          0xFFFFFFFFu, 0x80000000u, 0x10000u, 65536 * 4};
                const quint32 v = values[fuzz.below(8)];
                for (int b = 0; b < 4; ++b) {
                    target[word * 4 + b] = static_cast<char>((v >> (24 - 8 * b)) & 0xFF);
                }
            } else {
                target = fuzz.damage(target);
            }
            const QString caseImages = path(QStringLiteral("c%1-images-idx3-ubyte").arg(i));
            const QString caseLabels = path(QStringLiteral("c%1-labels-idx1-ubyte").arg(i));
            QVERIFY(writeAll(caseImages, img) && writeAll(caseLabels, lab));
            const auto set = readIdxImageSet(caseImages, caseLabels);
            if (!set) {
                const QString bad = badMessage(set.errors());
                QVERIFY2(bad.isEmpty(), qPrintable(bad + QStringLiteral("\ncase %1").arg(i)));
                continue;
            }
            ++read;
            QCOMPARE(set->rows * set->cols, 784);
            QCOMPARE(static_cast<int>(set->labels.size()), set->count);
        }
        qInfo("%d IDX cases, %d read", count, read);
    }

    void databaseRows()
    {
        // A real stored run (with observations and checkpoints), then random values written into
        // random cells. Every read must answer or refuse in one line, and change nothing.
        const QString pristine = path(QStringLiteral("pristine.sqlite"));
        {
            auto store = RunStore::open(pristine);
            QVERIFY(store);
            Experiment experiment = test::tinyExperiment({}, 2, 2, 2, 60);
            test::RecordingObserver observer;
            CancellationToken cancel;
            const RunOutcome outcome =
                runExperiment(experiment, store.value().get(), observer, cancel);
            QCOMPARE(outcome.status, RunStatus::Completed);
        }
        struct Column {
            const char *table;
            const char *column;
        };
        const std::vector<Column> columns = {
            {"runs", "status"},        {"runs", "config"},
            {"runs", "task_ids"},      {"runs", "seed"},
            {"runs", "threads"},       {"runs", "started_at"},
            {"runs", "final_acc"},     {"runs", "bytes_up"},
            {"runs", "pid"},           {"experiments", "config"},
            {"metrics", "stage"},      {"metrics", "round"},
            {"metrics", "task"},       {"metrics", "client"},
            {"metrics", "kind"},       {"metrics", "value"},
            {"observations", "shape"}, {"observations", "labels"},
            {"observations", "data"},  {"observations", "column_labels"},
            {"observations", "stage"}, {"checkpoints", "data"},
            {"checkpoints", "stage"},  {"checkpoints", "format"},
            {"meta", "value"}};
        const std::vector<QString> values = {
            QStringLiteral("NULL"),
            QStringLiteral("-1"),
            QStringLiteral("0"),
            QStringLiteral("9223372036854775807"),
            QStringLiteral("-2147483649"),
            QStringLiteral("1e308"),
            QStringLiteral("''"),
            QStringLiteral("'[]'"),
            QStringLiteral("'{}'"),
            QStringLiteral("'not json'"),
            QStringLiteral("'[1,2,3]'"),
            QStringLiteral("'[\"x\"]'"),
            QStringLiteral("x'00ff00'"),
            QStringLiteral("'running'"),
            QStringLiteral("'matrix'"),
            QStringLiteral("randomblob(64)"),
            QStringLiteral("'{\"stages\": 5, \"clients\": \"a\"}'"),
            QStringLiteral("999")};
        Fuzzer fuzz(fuzzSeed() + 3);
        const QString db = path(QStringLiteral("case.sqlite"));
        const int count = cases(120);
        int refused = 0;
        for (int i = 0; i < count; ++i) {
            QFile::remove(db);
            QFile::remove(db + QStringLiteral("-wal"));
            QFile::remove(db + QStringLiteral("-shm"));
            QVERIFY(QFile::copy(pristine, db));
            QString statement;
            {
                QSqlDatabase raw =
                    QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("tamper"));
                raw.setDatabaseName(db);
                QVERIFY(raw.open());
                for (int k = 0; k <= fuzz.below(2); ++k) {
                    const Column &c =
                        columns[static_cast<std::size_t>(fuzz.below(int(columns.size())))];
                    const QString &v =
                        values[static_cast<std::size_t>(fuzz.below(int(values.size())))];
                    const QString where =
                        fuzz.chance(50)
                            ? QStringLiteral("")
                            : QStringLiteral(
                                  " WHERE rowid = (SELECT rowid FROM %1 ORDER BY random() LIMIT 1)")
                                  .arg(QLatin1String(c.table));
                    statement +=
                        QStringLiteral("UPDATE %1 SET %2 = %3%4; ")
                            .arg(QLatin1String(c.table), QLatin1String(c.column), v, where);
                    QSqlQuery q(raw);
                    q.exec(QStringLiteral("UPDATE %1 SET %2 = %3%4")
                               .arg(QLatin1String(c.table), QLatin1String(c.column), v, where));
                }
            }
            QSqlDatabase::removeDatabase(QStringLiteral("tamper"));
            const QByteArray before =
                QCryptographicHash::hash(readAll(db), QCryptographicHash::Sha256);
            bool anyRefused = false;
            bool upgraded = false;
            {
                auto store = RunStore::open(db, RunStore::OpenMode::ReadOnly);
                const QString context = QStringLiteral("case %1: %2").arg(i).arg(statement);
                if (!store) {
                    QVERIFY2(badMessage(store.errors()).isEmpty(), qPrintable(context));
                    anyRefused = true;
                } else {
                    RunStore &s = *store.value();
                    upgraded = !s.isReadOnly();
                    auto check = [&](const auto &result) {
                        if (!result) {
                            anyRefused = true;
                            const QString bad = badMessage(result.errors());
                            QVERIFY2(bad.isEmpty(), qPrintable(bad + QLatin1Char('\n') + context));
                        }
                    };
                    check(s.listRuns());
                    auto run = s.run(1);
                    check(run);
                    auto rows = s.metrics(1);
                    check(rows);
                    if (run && rows) {
                        check(RunStore::checkRows(run.value(), rows.value()));
                        (void)RunStore::matrixFromRows(run.value(), rows.value());
                    }
                    check(s.observations(1));
                    check(s.checkpoints(1));
                    check(s.latestCheckpoint(1));
                    auto exports = loadRunExports(s, {1});
                    check(exports);
                    if (exports) {
                        QVERIFY(!exportCsv(exports.value()).isEmpty());
                        QVERIFY(!exportJson(exports.value()).isEmpty());
                    }
                }
            }
            refused += anyRefused ? 1 : 0;
            // Reading wrote nothing (but for the documented upgrade of an older schema).
            if (!upgraded) {
                QCOMPARE(QCryptographicHash::hash(readAll(db), QCryptographicHash::Sha256), before);
            }
        }
        qInfo("%d database cases, %d refused something", count, refused);
    }

    void resumeFromDamagedCheckpoints()
    {
        // A failed run whose checkpoint bytes are damaged: resume either continues or says why
        // in one line, and the database stays sound.
        const QString db = path(QStringLiteral("resume.sqlite"));
        {
            auto store = RunStore::open(db);
            QVERIFY(store);
            test::RecordingObserver observer;
            CancellationToken cancel;
            QCOMPARE(runExperiment(test::tinyExperiment({}, 2, 2, 1, 40), store.value().get(),
                                   observer, cancel)
                         .status,
                     RunStatus::Completed);
        }
        const QString pristine = path(QStringLiteral("resume-pristine.sqlite"));
        QVERIFY(QFile::copy(db, pristine));
        Fuzzer fuzz(fuzzSeed() + 4);
        const int count = cases(6);
        for (int i = 0; i < count; ++i) {
            QFile::remove(db);
            QVERIFY(QFile::copy(pristine, db));
            {
                QSqlDatabase raw =
                    QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("tamper"));
                raw.setDatabaseName(db);
                QVERIFY(raw.open());
                QSqlQuery read(raw);
                QVERIFY(read.exec(QStringLiteral(
                            "SELECT id, data FROM checkpoints ORDER BY stage LIMIT 1")) &&
                        read.next());
                const qint64 id = read.value(0).toLongLong();
                const QByteArray data = fuzz.damage(read.value(1).toByteArray());
                read.finish();
                QSqlQuery write(raw);
                write.prepare(QStringLiteral("UPDATE checkpoints SET data = ? WHERE id = ?"));
                write.addBindValue(data);
                write.addBindValue(id);
                QVERIFY(write.exec());
                // Keep only that (first stage's) checkpoint and mark the run failed there.
                QVERIFY(
                    write.exec(QStringLiteral("DELETE FROM checkpoints WHERE id != %1").arg(id)));
                QVERIFY(write.exec(QStringLiteral("UPDATE runs SET status = 'failed'")));
            }
            QSqlDatabase::removeDatabase(QStringLiteral("tamper"));
            {
                auto store = RunStore::open(db);
                QVERIFY(store);
                test::RecordingObserver observer;
                CancellationToken cancel;
                const RunOutcome outcome = resumeRun(1, *store.value(), observer, cancel);
                if (outcome.status != RunStatus::Completed) {
                    const QString bad = badMessage({Error{{}, outcome.error}});
                    QVERIFY2(bad.isEmpty(), qPrintable(bad));
                }
            }
            // The database stays sound (open runs PRAGMA quick_check) and lists the run.
            auto reopened = RunStore::open(db, RunStore::OpenMode::ReadOnly);
            QVERIFY2(reopened, qPrintable(reopened.errorString()));
            QVERIFY(reopened.value()->listRuns());
        }
    }

    void cliExitCodes()
    {
        // A sample through the binary: bad input is exit 2 with one line per error on stderr.
        Fuzzer fuzz(fuzzSeed() + 5);
        const QByteArray seed = test::tinyExperimentJson();
        for (int i = 0; i < cases(4); ++i) {
            QJsonValue tree = QJsonDocument::fromJson(seed).object();
            QByteArray text;
            do {
                tree = fuzz.mutate(tree);
                text = QJsonDocument(tree.toObject()).toJson();
            } while (parseExperiment(text, m_dir.path()));
            const QString file = path(QStringLiteral("cli%1.json").arg(i));
            QVERIFY(writeAll(file, text));
            for (const QString &command : {QStringLiteral("validate"), QStringLiteral("run")}) {
                QProcess process;
                QStringList arguments{command, file};
                if (command == QLatin1String("run")) {
                    arguments << QStringLiteral("--db") << path(QStringLiteral("cli.sqlite"));
                }
                process.start(QStringLiteral(FCL_CLI_PATH), arguments);
                QVERIFY(process.waitForFinished(60000));
                const QString err = QString::fromUtf8(process.readAllStandardError());
                QVERIFY2(process.exitStatus() == QProcess::NormalExit && process.exitCode() == 2,
                         qPrintable(command + QLatin1Char(' ') + err));
                QVERIFY(!err.contains(QLatin1String("frame #")));
                QVERIFY(!QFile::exists(path(QStringLiteral("cli.sqlite")))); // nothing stored
            }
        }
    }
};

QTEST_GUILESS_MAIN(TestFuzz)
#include "tst_fuzz.moc"
