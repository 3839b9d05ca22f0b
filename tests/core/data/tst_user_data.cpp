// SPDX-License-Identifier: MIT
// User data as tasks (JSONL, CSV, IDX), the PNG decoder, and "ask the model" on a stored run.
#include "core/data/idx_reader.h"
#include "core/data/png_image.h"
#include "core/data/user_task.h"
#include "core/sim/ask.h"
#include "core/sim/engine.h"
#include "core/sim/timeline.h"
#include "core/store/run_store.h"
#include "tests/support/test_support.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <zlib.h>

using namespace fcl;

namespace {

void writeFile(const QString &path, const QByteArray &bytes)
{
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(bytes);
}

GrayImage gradient(int width, int height)
{
    GrayImage image;
    image.width = width;
    image.height = height;
    for (int y = 0; y < height; ++y) {
        for (int x = 0; x < width; ++x) {
            image.pixels.push_back(static_cast<std::uint8_t>((x * 9 + y * 7 + x * y) % 256));
        }
    }
    return image;
}

void putBigEndian32(QByteArray &out, std::uint32_t value)
{
    for (int shift = 24; shift >= 0; shift -= 8) {
        out.append(static_cast<char>(value >> shift));
    }
}

QByteArray chunk(const char *type, const QByteArray &data)
{
    QByteArray out;
    putBigEndian32(out, static_cast<std::uint32_t>(data.size()));
    const QByteArray typed = QByteArray(type, 4) + data;
    out.append(typed);
    putBigEndian32(out, static_cast<std::uint32_t>(
                            crc32(0L, reinterpret_cast<const Bytef *>(typed.constData()),
                                  static_cast<uInt>(typed.size()))));
    return out;
}

/// An 8-bit RGB PNG whose rows use filter `filter` (1 Sub, 2 Up, 3 Average, 4 Paeth), encoded
/// here by the forward definitions of the PNG specification.
QByteArray filteredRgbPng(const std::vector<std::uint8_t> &rgb, int width, int height, int filter)
{
    const int stride = width * 3;
    QByteArray raw;
    for (int y = 0; y < height; ++y) {
        raw.append(static_cast<char>(filter));
        for (int x = 0; x < stride; ++x) {
            const int value = rgb[static_cast<std::size_t>(y * stride + x)];
            const int a = x >= 3 ? rgb[static_cast<std::size_t>(y * stride + x - 3)] : 0;
            const int b = y > 0 ? rgb[static_cast<std::size_t>((y - 1) * stride + x)] : 0;
            const int c =
                x >= 3 && y > 0 ? rgb[static_cast<std::size_t>((y - 1) * stride + x - 3)] : 0;
            int predictor = 0;
            if (filter == 1) {
                predictor = a;
            } else if (filter == 2) {
                predictor = b;
            } else if (filter == 3) {
                predictor = (a + b) / 2;
            } else if (filter == 4) {
                const int p = a + b - c;
                const int pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
                predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
            }
            raw.append(static_cast<char>((value - predictor) & 0xff));
        }
    }
    QByteArray header;
    putBigEndian32(header, static_cast<std::uint32_t>(width));
    putBigEndian32(header, static_cast<std::uint32_t>(height));
    header.append(char(8)).append(char(2)).append(char(0)).append(char(0)).append(char(0));
    uLongf size = compressBound(static_cast<uLong>(raw.size()));
    QByteArray compressed(static_cast<int>(size), Qt::Uninitialized);
    compress(reinterpret_cast<Bytef *>(compressed.data()), &size,
             reinterpret_cast<const Bytef *>(raw.constData()), static_cast<uLong>(raw.size()));
    compressed.resize(static_cast<int>(size));
    return QByteArray("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", header) + chunk("IDAT", compressed) +
           chunk("IEND", {});
}

QByteArray jsonLine(const QJsonObject &object)
{
    return QJsonDocument(object).toJson(QJsonDocument::Compact) + '\n';
}

} // namespace

class TestUserData : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void pngRoundTripsGrayscale()
    {
        const GrayImage image = gradient(28, 28);
        auto decoded = decodePng(encodePng(image), QStringLiteral("g.png"));
        QVERIFY2(decoded, qPrintable(decoded.errorString()));
        QCOMPARE(decoded->width, 28);
        QCOMPARE(decoded->height, 28);
        QVERIFY(decoded->pixels == image.pixels);
    }

    void pngUndoesEveryFilterAndConvertsColour_data()
    {
        QTest::addColumn<int>("filter");
        for (int filter = 0; filter <= 4; ++filter) {
            QTest::addRow("filter %d", filter) << filter;
        }
    }

    void pngUndoesEveryFilterAndConvertsColour()
    {
        QFETCH(int, filter);
        const int width = 5, height = 4;
        std::vector<std::uint8_t> rgb;
        for (int i = 0; i < width * height; ++i) {
            rgb.push_back(static_cast<std::uint8_t>(i * 37 % 256));
            rgb.push_back(static_cast<std::uint8_t>(255 - i * 11 % 256));
            rgb.push_back(static_cast<std::uint8_t>(i * 5));
        }
        auto decoded =
            decodePng(filteredRgbPng(rgb, width, height, filter), QStringLiteral("c.png"));
        QVERIFY2(decoded, qPrintable(decoded.errorString()));
        for (int i = 0; i < width * height; ++i) {
            // Rec. 601 luma, rounded: (299 R + 587 G + 114 B + 500) / 1000.
            const int r = rgb[static_cast<std::size_t>(3 * i)];
            const int g = rgb[static_cast<std::size_t>(3 * i + 1)];
            const int b = rgb[static_cast<std::size_t>(3 * i + 2)];
            QCOMPARE(int(decoded->pixels[static_cast<std::size_t>(i)]),
                     (299 * r + 587 * g + 114 * b + 500) / 1000);
        }
    }

    void brokenPngsSayWhat()
    {
        const QByteArray good = encodePng(gradient(28, 28));
        auto notPng = decodePng("GIF89a....", QStringLiteral("x.png"));
        QVERIFY(!notPng);
        QCOMPARE(notPng.errorString(), QStringLiteral("x.png: not a PNG file"));
        auto truncated = decodePng(good.left(good.size() - 20), QStringLiteral("t.png"));
        QVERIFY(!truncated);
        QVERIFY2(truncated.errorString().contains(QStringLiteral("truncated")),
                 qPrintable(truncated.errorString()));
        QByteArray flipped = good;
        flipped[20] = static_cast<char>(flipped[20] ^ 0x01); // inside IHDR's data
        auto corrupt = decodePng(flipped, QStringLiteral("f.png"));
        QVERIFY(!corrupt);
        QVERIFY2(corrupt.errorString().contains(QStringLiteral("IHDR is corrupt (CRC mismatch)")),
                 qPrintable(corrupt.errorString()));

        QTemporaryDir dir;
        const QString small = dir.filePath(QStringLiteral("small.png"));
        writeFile(small, encodePng(gradient(14, 14)));
        auto wrongSize = readPng28(small);
        QVERIFY(!wrongSize);
        QVERIFY2(wrongSize.errorString().endsWith(
                     QStringLiteral("images must be 28x28, small.png has 14x14")),
                 qPrintable(wrongSize.errorString()));
    }

    void idxHeaderProductThatWrapsIsRefused()
    {
        // 65536 x 65536 x 4096 = 2^44 bytes promised (wraps to 0 in 32 bits, overflows any
        // plausible size): refused before any multiplication can wrap.
        QTemporaryDir dir;
        QByteArray bytes;
        putBigEndian32(bytes, 0x803);
        putBigEndian32(bytes, 65536);
        putBigEndian32(bytes, 65536);
        putBigEndian32(bytes, 4096);
        writeFile(dir.filePath(QStringLiteral("huge-idx3-ubyte")), bytes);
        auto read = readIdxImages(dir.filePath(QStringLiteral("huge-idx3-ubyte")));
        QVERIFY(!read);
        QVERIFY2(read.errorString().contains(QStringLiteral("more than 4 GiB")),
                 qPrintable(read.errorString()));
    }

    void jsonlImportsAndSplitsBySeed()
    {
        QTemporaryDir dir;
        QByteArray lines;
        for (int i = 0; i < 50; ++i) {
            QJsonObject object{{QStringLiteral("instruction"), QStringLiteral("Double it:")},
                               {QStringLiteral("input"), QString::number(i)},
                               {QStringLiteral("output"), QString::number(2 * i)}};
            if (i < 10) {
                object.insert(QStringLiteral("image"), QStringLiteral("p%1.png").arg(i % 2));
            }
            lines += jsonLine(object);
            if (i == 20) {
                lines += "\n   \n"; // blank lines are skipped
            }
        }
        writeFile(dir.filePath(QStringLiteral("p0.png")), encodePng(gradient(28, 28)));
        writeFile(dir.filePath(QStringLiteral("p1.png")), encodePng(gradient(28, 28)));
        writeFile(dir.filePath(QStringLiteral("double.jsonl")), lines);
        UserTaskSource source;
        source.id = QStringLiteral("double");
        source.file = dir.filePath(QStringLiteral("double.jsonl"));
        source.testFraction = 0.3;
        auto first = loadUserTask(source, 5);
        QVERIFY2(first, qPrintable(first.errorString()));
        const UserTaskData &data = *first.value();
        QCOMPARE(data.size(), 50);
        QCOMPARE(static_cast<int>(data.test.size()), 15); // round(0.3 * 50)
        QCOMPARE(static_cast<int>(data.train.size()), 35);
        QCOMPARE(data.withImages, 10);
        QCOMPARE(data.answers.size(), 50);
        QCOMPARE(data.format, QStringLiteral("instructions"));
        QCOMPARE(data.longestPrompt, int(QStringLiteral("Double it: 49").size()));
        // "instruction input" is the prompt; every sample appears exactly once over the split.
        QStringList prompts;
        for (const auto *part : {&data.train, &data.test}) {
            for (const UserSample &sample : *part) {
                prompts << sample.prompt;
                QCOMPARE(sample.answer,
                         QString::number(2 * sample.prompt.section(QLatin1Char(' '), 2).toInt()));
            }
        }
        prompts.removeDuplicates();
        QCOMPARE(prompts.size(), 50);
        // Same seed, same split; another seed, another one.
        auto again = loadUserTask(source, 5);
        QCOMPARE(again.value()->test.front().prompt, data.test.front().prompt);
        auto other = loadUserTask(source, 6);
        QStringList a, b;
        for (const UserSample &sample : data.test) {
            a << sample.prompt;
        }
        for (const UserSample &sample : other.value()->test) {
            b << sample.prompt;
        }
        QVERIFY(a != b);
    }

    void brokenJsonlLinesAreAllReportedAndNothingIsImported()
    {
        QTemporaryDir dir;
        writeFile(dir.filePath(QStringLiteral("small.png")), encodePng(gradient(14, 14)));
        const QByteArray lines =
            "{\"instruction\": \"ok\", \"output\": \"fine\"}\n"
            "{\"instruction\": \"no end\"\n"
            "[1, 2]\n"
            "{\"instruction\": \"x\"}\n"
            "{\"instruction\": \"x\", \"output\": 5}\n"
            "{\"instruction\": \"\", \"output\": \"y\"}\n"
            "{\"instruction\": \"x\", \"output\": \"y\", \"image\": \"small.png\"}\n"
            "{\"instruction\": \"x\", \"output\": \"y\", \"image\": true}\n"
            "{\"instruction\": \"ok\", \"output\": \"fine\"}\n";
        writeFile(dir.filePath(QStringLiteral("bad.jsonl")), lines);
        UserTaskSource source;
        source.id = QStringLiteral("bad");
        source.file = dir.filePath(QStringLiteral("bad.jsonl"));
        auto loaded = loadUserTask(source, 1);
        QVERIFY(!loaded);
        QStringList where;
        for (const Error &error : loaded.errors()) {
            where << error.where;
        }
        QCOMPARE(where, QStringList({QStringLiteral("bad.jsonl:2"), QStringLiteral("bad.jsonl:3"),
                                     QStringLiteral("bad.jsonl:4"), QStringLiteral("bad.jsonl:5"),
                                     QStringLiteral("bad.jsonl:6"), QStringLiteral("bad.jsonl:7"),
                                     QStringLiteral("bad.jsonl:8")}));
        QCOMPARE(loaded.errors()[2].message, QStringLiteral("field \"output\" is missing"));
        QCOMPARE(loaded.errors()[3].message, QStringLiteral("field \"output\" must be a string"));
        QCOMPARE(loaded.errors()[4].message, QStringLiteral("field \"instruction\" is empty"));
        QCOMPARE(loaded.errors()[5].message,
                 QStringLiteral("image \"small.png\": images must be 28x28, small.png has 14x14"));
    }

    void emptyAndSingleSampleFilesAreErrors()
    {
        QTemporaryDir dir;
        writeFile(dir.filePath(QStringLiteral("empty.jsonl")), "\n\n");
        writeFile(dir.filePath(QStringLiteral("one.jsonl")),
                  "{\"instruction\": \"a\", \"output\": \"b\"}\n");
        UserTaskSource source;
        source.id = QStringLiteral("e");
        source.file = dir.filePath(QStringLiteral("empty.jsonl"));
        auto empty = loadUserTask(source, 1);
        QVERIFY(!empty);
        QVERIFY2(empty.errorString().contains(QStringLiteral("has 0 usable samples")),
                 qPrintable(empty.errorString()));
        source.file = dir.filePath(QStringLiteral("one.jsonl"));
        auto one = loadUserTask(source, 1);
        QVERIFY(!one);
        QVERIFY2(one.errorString().contains(QStringLiteral("has 1 usable sample:")),
                 qPrintable(one.errorString()));
        source.file = dir.filePath(QStringLiteral("missing.jsonl"));
        QVERIFY(loadUserTask(source, 1).errorString().contains(QStringLiteral("cannot read")));
        source.file = dir.filePath(QStringLiteral("data.txt"));
        QVERIFY(loadUserTask(source, 1).errorString().contains(QStringLiteral("unknown format")));
    }

    void csvAndIdxBecomeClassificationTasks()
    {
        QTemporaryDir dir;
        const GrayImage image = gradient(28, 28);
        writeFile(dir.filePath(QStringLiteral("a.png")), encodePng(image));
        writeFile(dir.filePath(QStringLiteral("paths.csv")),
                  "path,label\na.png,cat\na.png,dog\na.png,cat\n");
        UserTaskSource source;
        source.id = QStringLiteral("pets");
        source.file = dir.filePath(QStringLiteral("paths.csv"));
        source.instruction = QStringLiteral("Which pet?");
        auto paths = loadUserTask(source, 1);
        QVERIFY2(paths, qPrintable(paths.errorString()));
        QCOMPARE(paths.value()->size(), 3);
        QCOMPARE(paths.value()->answers,
                 QStringList({QStringLiteral("cat"), QStringLiteral("dog")}));
        QVERIFY(paths.value()->train.front().image == image.pixels);
        QCOMPARE(paths.value()->train.front().prompt, QStringLiteral("Which pet?"));

        // label + 784 pixel columns (the Kaggle layout); numeric labels named by `classes`.
        QByteArray rows = "label";
        for (int p = 1; p <= 784; ++p) {
            rows += ",pixel" + QByteArray::number(p);
        }
        rows += '\n';
        for (int label = 0; label < 3; ++label) {
            rows += QByteArray::number(label);
            for (int p = 0; p < 784; ++p) {
                rows += ',' + QByteArray::number((p + label) % 256);
            }
            rows += '\n';
        }
        rows += "1,2,3\n"; // line 5: wrong column count
        writeFile(dir.filePath(QStringLiteral("pixels.csv")), rows);
        source.file = dir.filePath(QStringLiteral("pixels.csv"));
        source.classes =
            QStringList{QStringLiteral("zero"), QStringLiteral("one"), QStringLiteral("two")};
        auto broken = loadUserTask(source, 1);
        QVERIFY(!broken);
        QCOMPARE(broken.errors().front().where, QStringLiteral("pixels.csv:5"));
        QVERIFY(broken.errorString().contains(QStringLiteral("has 3 columns")));
        rows.chop(6);
        writeFile(dir.filePath(QStringLiteral("pixels.csv")), rows);
        auto pixels = loadUserTask(source, 1);
        QVERIFY2(pixels, qPrintable(pixels.errorString()));
        QCOMPARE(pixels.value()->answers.size(), 3);
        QVERIFY(pixels.value()->answers.contains(QStringLiteral("two")));
        for (const auto *part : {&pixels.value()->train, &pixels.value()->test}) {
            for (const UserSample &sample : *part) {
                const int label = static_cast<int>(source.classes.indexOf(sample.answer));
                QCOMPARE(int(sample.image[100]), (100 + label) % 256);
            }
        }

        // An IDX pair with 300 labels (beyond Fashion-MNIST's 0..9); a 14x14 one is refused.
        const std::vector<std::uint8_t> labels = {3, 11, 200, 3};
        fcl::test::writeIdxFile(dir.filePath(QStringLiteral("i-idx3-ubyte")),
                                dir.filePath(QStringLiteral("l-idx1-ubyte")), 4, 28, 28, labels);
        UserTaskSource idx;
        idx.id = QStringLiteral("idx");
        idx.file = dir.filePath(QStringLiteral("i-idx3-ubyte"));
        idx.labels = dir.filePath(QStringLiteral("l-idx1-ubyte"));
        auto set = loadUserTask(idx, 1);
        QVERIFY2(set, qPrintable(set.errorString()));
        QCOMPARE(set.value()->answers.size(), 3);
        QVERIFY(set.value()->answers.contains(QStringLiteral("200")));
        fcl::test::writeIdxFile(dir.filePath(QStringLiteral("s-idx3-ubyte")),
                                dir.filePath(QStringLiteral("s-idx1-ubyte")), 4, 14, 14, labels);
        idx.file = dir.filePath(QStringLiteral("s-idx3-ubyte"));
        idx.labels = dir.filePath(QStringLiteral("s-idx1-ubyte"));
        auto small = loadUserTask(idx, 1);
        QVERIFY(!small);
        QVERIFY2(small.errorString().contains(
                     QStringLiteral("images must be 28x28, s-idx3-ubyte has 14x14")),
                 qPrintable(small.errorString()));
    }

    void experimentsResolveDatasetsAndCheckThem()
    {
        QTemporaryDir dir;
        QDir(dir.path()).mkdir(QStringLiteral("data"));
        QByteArray lines;
        for (int i = 0; i < 100; ++i) {
            lines += jsonLine({{QStringLiteral("instruction"), QStringLiteral("Echo")},
                               {QStringLiteral("input"), QString::number(i)},
                               {QStringLiteral("output"), QString::number(i)}});
        }
        writeFile(dir.filePath(QStringLiteral("data/echo.jsonl")), lines);
        QJsonObject root = QJsonDocument::fromJson(fcl::test::tinyExperimentJson()).object();
        root.insert(
            QStringLiteral("datasets"),
            QJsonArray{QJsonObject{{QStringLiteral("id"), QStringLiteral("echo")},
                                   {QStringLiteral("file"), QStringLiteral("data/echo.jsonl")}}});
        root.insert(QStringLiteral("stages"),
                    QJsonArray{QStringLiteral("fmnist-split-1"), QStringLiteral("echo")});
        const QString path = dir.filePath(QStringLiteral("exp.json"));
        writeFile(path, QJsonDocument(root).toJson());
        // On a classifier: 100 distinct free-text answers are refused, naming the dataset.
        auto classifier = loadExperimentFile(path);
        QVERIFY(!classifier);
        QVERIFY2(classifier.errorString().contains(QStringLiteral("datasets[0]: \"echo\" has 100 "
                                                                  "distinct answers")),
                 qPrintable(classifier.errorString()));
        // On tiny-vlm it is valid; the path is resolved against the experiment file's folder.
        root.insert(QStringLiteral("model"),
                    QJsonObject{{QStringLiteral("backbone"), QStringLiteral("tiny-vlm")}});
        writeFile(path, QJsonDocument(root).toJson());
        auto experiment = loadExperimentFile(path);
        QVERIFY2(experiment, qPrintable(experiment.errorString()));
        QCOMPARE(experiment->datasets.front().file,
                 dir.filePath(QStringLiteral("data/echo.jsonl")));
        QVERIFY(experiment->hasTask(QStringLiteral("echo")));
        {
            // DISCO's image identity reads every task's images: a text-only file is refused.
            QJsonObject disco = root;
            disco.insert(QStringLiteral("model"),
                         QJsonObject{{QStringLiteral("backbone"), QStringLiteral("tiny-vlm")},
                                     {QStringLiteral("tuning"), QStringLiteral("lora")},
                                     {QStringLiteral("lora_rank"), 8}});
            disco.insert(QStringLiteral("federated"),
                         QJsonObject{{QStringLiteral("method"), QStringLiteral("disco")},
                                     {QStringLiteral("slots"), 4},
                                     {QStringLiteral("identity"), QStringLiteral("both")}});
            writeFile(path, QJsonDocument(disco).toJson());
            auto refused = loadExperimentFile(path);
            QVERIFY(!refused);
            QVERIFY2(refused.errorString().contains(QStringLiteral(
                         "federated.identity: \"both\" reads each task's images, and task "
                         "\"echo\" (stage 2) has 100 of 100 samples without one")),
                     qPrintable(refused.errorString()));
            writeFile(path, QJsonDocument(root).toJson());
        }
        // Partition checks (fcl validate, the designer) size a user task by its training part,
        // as the engine does: 80 of 100 samples, not 0 as the catalog knows it.
        const std::vector<Error> tooMany = checkPartitions(experiment.value());
        QCOMPARE(tooMany.size(), std::size_t(1));
        QVERIFY2(tooMany.front().toString().contains(QStringLiteral(
                     "stages[1] task \"echo\": partition: 3 clients ask for 600 samples in total "
                     "but the task has only 80")),
                 qPrintable(tooMany.front().toString()));
        for (ClientSpec &client : experiment.value().clients) {
            client.params.insert(QStringLiteral("samples_per_task"), 20);
        }
        QVERIFY(checkPartitions(experiment.value()).empty());
        // An id that is already a built-in task, and an unknown field.
        QJsonObject clash = root;
        clash.insert(QStringLiteral("datasets"),
                     QJsonArray{QJsonObject{{QStringLiteral("id"), QStringLiteral("vl-feet")},
                                            {QStringLiteral("file"), QStringLiteral("x.jsonl")},
                                            {QStringLiteral("colour"), 1}}});
        writeFile(path, QJsonDocument(clash).toJson());
        auto refused = loadExperimentFile(path);
        QVERIFY(!refused);
        QVERIFY2(
            refused.errorString().contains(QStringLiteral("datasets[0].colour: unknown field")),
            qPrintable(refused.errorString()));
        // A recorded hash that no longer matches: the data changed since the run.
        QJsonObject changed = root;
        QJsonObject entry = root.value(QStringLiteral("datasets")).toArray().at(0).toObject();
        entry.insert(QStringLiteral("sha256"), QStringLiteral("00ff"));
        changed.insert(QStringLiteral("datasets"), QJsonArray{entry});
        writeFile(path, QJsonDocument(changed).toJson());
        auto stale = loadExperimentFile(path);
        QVERIFY(!stale);
        QVERIFY2(stale.errorString().contains(QStringLiteral("changed since the run used it")),
                 qPrintable(stale.errorString()));
    }

    void askAnswersLikeEvaluationAfterEachStage()
    {
        // A short tiny-vlm run on a user JSONL task; asking the last stage's model every test
        // sample must reproduce the stored exact-match accuracy (same decoding as evaluation).
        QTemporaryDir dir;
        QByteArray lines;
        for (int i = 0; i < 240; ++i) {
            const int a = i % 10, b = (i / 10) % 10;
            lines += jsonLine({{QStringLiteral("instruction"), QStringLiteral("Larger:")},
                               {QStringLiteral("input"), QStringLiteral("%1 %2").arg(a).arg(b)},
                               {QStringLiteral("output"), QString::number(std::max(a, b))}});
        }
        writeFile(dir.filePath(QStringLiteral("larger.jsonl")), lines);
        QJsonObject root =
            QJsonDocument::fromJson(fcl::test::tinyExperimentJson(
                                        QStringLiteral(R"({"method": "finetune"})"), 1, 1, 5, 150))
                .object();
        root.insert(QStringLiteral("model"),
                    QJsonObject{{QStringLiteral("backbone"), QStringLiteral("tiny-vlm")},
                                {QStringLiteral("tuning"), QStringLiteral("lora")}});
        QJsonObject federated = root.value(QStringLiteral("federated")).toObject();
        federated.insert(QStringLiteral("lr"), 0.01);
        federated.insert(QStringLiteral("optimizer"), QStringLiteral("adam"));
        root.insert(QStringLiteral("federated"), federated);
        root.insert(QStringLiteral("datasets"),
                    QJsonArray{QJsonObject{
                        {QStringLiteral("id"), QStringLiteral("larger")},
                        {QStringLiteral("file"), dir.filePath(QStringLiteral("larger.jsonl"))}}});
        root.insert(QStringLiteral("stages"),
                    QJsonArray{QStringLiteral("vl-feet"), QStringLiteral("larger")});
        QJsonObject evaluation = root.value(QStringLiteral("evaluation")).toObject();
        evaluation.insert(QStringLiteral("test_samples_per_task"), 12);
        root.insert(QStringLiteral("evaluation"), evaluation);
        auto experiment = parseExperiment(QJsonDocument(root).toJson());
        QVERIFY2(experiment, qPrintable(experiment.errorString()));
        auto store = RunStore::open(dir.filePath(QStringLiteral("runs.sqlite")));
        QVERIFY(store);
        RunObserver observer;
        CancellationToken cancel;
        const RunOutcome outcome =
            runExperiment(experiment.value(), store.value().get(), observer, cancel);
        QCOMPARE(outcome.status, RunStatus::Completed);
        // The stored config records the dataset's hash.
        auto record = store.value()->run(outcome.runId);
        QCOMPARE(record->config.value(QStringLiteral("datasets"))
                     .toArray()
                     .at(0)
                     .toObject()
                     .value(QStringLiteral("sha256"))
                     .toString()
                     .size(),
                 64);

        AskQuery query;
        query.sampleTask = QStringLiteral("larger");
        query.stages = {1};
        query.includeUntrained = false;
        int correct = 0;
        for (int i = 0; i < 12; ++i) {
            query.sampleIndex = i;
            auto answer = askRun(outcome.runId, *store.value(), query);
            QVERIFY2(answer, qPrintable(answer.errorString()));
            QCOMPARE(static_cast<int>(answer->answers.size()), 1);
            QVERIFY(answer->image.empty()); // a text-only sample shows no image
            correct += answer->answers.front().answer == answer->expected ? 1 : 0;
        }
        const double stored = outcome.summary.matrix.at(1, 1);
        qInfo("ask: %d of 12 correct, stored accuracy %.4f", correct, stored);
        QCOMPARE(correct / 12.0, stored);

        // Every stage plus the untrained model; a Fashion-MNIST image by reference.
        AskQuery feet;
        feet.instruction = QStringLiteral("Is it worn on the feet?");
        feet.image = QStringLiteral("test:0");
        auto all = askRun(outcome.runId, *store.value(), feet);
        QVERIFY2(all, qPrintable(all.errorString()));
        QCOMPARE(static_cast<int>(all->answers.size()), 3);
        QCOMPARE(all->answers[0].stage, -1);
        QCOMPARE(all->answers[2].stage, 1);
        QCOMPARE(static_cast<int>(all->image.size()), 784);

        // Errors name what is wrong.
        AskQuery wrong = feet;
        wrong.stages = {4};
        QVERIFY(askRun(outcome.runId, *store.value(), wrong)
                    .errorString()
                    .contains(QStringLiteral("stage 5: the run has stages 1..2")));
        wrong = feet;
        wrong.image = QStringLiteral("test:70000");
        QVERIFY(askRun(outcome.runId, *store.value(), wrong)
                    .errorString()
                    .contains(QStringLiteral("expected test:N with N in 0..9999")));
        wrong = feet;
        wrong.sampleTask = QStringLiteral("nope");
        QVERIFY(askRun(outcome.runId, *store.value(), wrong)
                    .errorString()
                    .contains(QStringLiteral("\"nope\" is not one of this run's tasks")));
        QVERIFY(!askRun(outcome.runId + 5, *store.value(), feet));
    }
};

QTEST_GUILESS_MAIN(TestUserData)
#include "tst_user_data.moc"
