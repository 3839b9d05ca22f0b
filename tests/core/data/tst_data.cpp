// SPDX-License-Identifier: MIT
#include "core/data/idx_reader.h"
#include "core/data/partition.h"
#include "core/data/task_catalog.h"
#include "tests/support/test_support.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>
#include <zlib.h>

#include <algorithm>
#include <numeric>
#include <set>

using namespace fcl;

class TestData : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;

    QString path(const QString &name) const { return m_dir.filePath(name); }

    static std::vector<int> labelsOfPool(int perClass, int classes)
    {
        std::vector<int> labels;
        for (int c = 0; c < classes; ++c) {
            labels.insert(labels.end(), static_cast<std::size_t>(perClass), c);
        }
        return labels;
    }

private Q_SLOTS:
    void idxRoundTrip_data()
    {
        QTest::addColumn<QString>("suffix");
        QTest::newRow("plain") << QString();
        QTest::newRow("gzip") << QStringLiteral(".gz");
    }

    void idxRoundTrip()
    {
        QFETCH(QString, suffix);
        const std::vector<std::uint8_t> labels = {3, 1, 4, 1, 5};
        test::writeIdxFile(path(QStringLiteral("img") + suffix),
                           path(QStringLiteral("lbl") + suffix), 5, 28, 28, labels);
        auto set = readIdxImageSet(path(QStringLiteral("img") + suffix),
                                   path(QStringLiteral("lbl") + suffix));
        QVERIFY2(set.isOk(), qPrintable(set.errorString()));
        QCOMPARE(set->count, 5);
        QCOMPARE(set->rows, 28);
        QCOMPARE(set->cols, 28);
        QCOMPARE(set->pixels.size(), std::size_t(3920));
        QCOMPARE(int(set->pixels[3919]), 3919 % 251);
        QVERIFY(set->labels == labels);
        // Every backbone sees 28x28: other sizes are refused when read, naming both.
        test::writeIdxFile(path(QStringLiteral("small") + suffix),
                           path(QStringLiteral("small-lbl") + suffix), 5, 14, 14, labels);
        auto small = readIdxImageSet(path(QStringLiteral("small") + suffix),
                                     path(QStringLiteral("small-lbl") + suffix));
        QVERIFY(!small.isOk());
        QCOMPARE(small.errorString(), QStringLiteral("small%1: images must be 28x28, small%1 has "
                                                     "14x14")
                                          .arg(suffix));
    }

    void truncatedIdxNamesFileAndOffset_data()
    {
        QTest::addColumn<QString>("suffix");
        QTest::addColumn<int>("keepBytes");
        QTest::addColumn<QString>("expected");
        QTest::newRow("payload cut, plain")
            << QString() << 40
            << QStringLiteral("img: byte 40: file truncated: the header promises 3");
        QTest::newRow("header cut, plain")
            << QString() << 10 << QStringLiteral("img: byte 10: file ends inside the IDX header");
        QTest::newRow("payload cut, gzip")
            << QStringLiteral(".gz") << 40 << QStringLiteral("img.gz: byte 40: file truncated");
    }

    void truncatedIdxNamesFileAndOffset()
    {
        QFETCH(QString, suffix);
        QFETCH(int, keepBytes);
        QFETCH(QString, expected);
        const QString images = path(QStringLiteral("img") + suffix);
        const QString labels = path(QStringLiteral("lbl") + suffix);
        test::writeIdxFile(images, labels, 5, 28, 28, {0, 1, 2, 3, 4});
        if (suffix.isEmpty()) {
            QFile file(images);
            QVERIFY(file.open(QIODevice::ReadWrite));
            QVERIFY(file.resize(keepBytes));
        } else {
            // Rewrite the gzip file with only the first keepBytes of its content.
            auto whole = readIdxImageSet(images, labels);
            QVERIFY(whole.isOk());
            QByteArray content;
            const char header[] = {0, 0, 8, 3, 0, 0, 0, 5, 0, 0, 0, 28, 0, 0, 0, 28};
            content.append(header, sizeof header);
            content.append(reinterpret_cast<const char *>(whole->pixels.data()), 3920);
            content.truncate(keepBytes);
            gzFile file = gzopen(QFile::encodeName(images).constData(), "wb");
            gzwrite(file, content.constData(), static_cast<unsigned>(content.size()));
            gzclose(file);
        }
        auto set = readIdxImageSet(images, labels);
        QVERIFY(!set.isOk());
        QVERIFY2(set.errorString().startsWith(expected), qPrintable(set.errorString()));
    }

    void corruptGzipIsAnErrorNotACrash()
    {
        const QString images = path(QStringLiteral("bad.gz"));
        test::writeIdxFile(images, path(QStringLiteral("badl")), 5, 4, 3, {0, 1, 2, 3, 4});
        QFile file(images);
        QVERIFY(file.open(QIODevice::ReadWrite));
        QByteArray bytes = file.readAll();
        bytes.truncate(bytes.size() / 2); // cut the compressed stream itself
        file.resize(0);
        file.write(bytes);
        file.close();
        auto set = readIdxImageSet(images, path(QStringLiteral("badl")));
        QVERIFY(!set.isOk());
        QVERIFY2(set.errorString().startsWith(QStringLiteral("bad.gz: byte")),
                 qPrintable(set.errorString()));
    }

    void wrongMagicAndMismatchedCountsAreNamed()
    {
        test::writeIdxFile(path(QStringLiteral("a")), path(QStringLiteral("b")), 5, 28, 28,
                           {0, 1, 2});
        auto mismatched = readIdxImageSet(path(QStringLiteral("a")), path(QStringLiteral("b")));
        QVERIFY(!mismatched.isOk());
        QCOMPARE(mismatched.errorString(),
                 QStringLiteral("b: holds 3 labels but a holds 5 images"));
        auto swapped = readIdxImageSet(path(QStringLiteral("b")), path(QStringLiteral("a")));
        QVERIFY(!swapped.isOk());
        QVERIFY2(swapped.errorString().contains(
                     QStringLiteral("b: byte 0: not an IDX image file: magic number 0x00000801")),
                 qPrintable(swapped.errorString()));
        auto missing = readIdxImageSet(path(QStringLiteral("nope")), path(QStringLiteral("b")));
        QVERIFY(missing.errorString().contains(QStringLiteral("cannot open")));
    }

    void apportionKeepsTheTotal()
    {
        const std::vector<int> counts = apportion({0.5, 0.3, 0.2}, 7);
        QCOMPARE(std::accumulate(counts.begin(), counts.end(), 0), 7);
        QCOMPARE(counts,
                 (std::vector<int>{4, 2, 1})); // 3.5, 2.1, 1.4 -> floors 3,2,1 + largest remainder
    }

    void dirichletClientMixIsDeterministicDisjointAndExact()
    {
        PartitionRequest request;
        request.method = PartitionMethod::DirichletClientMix;
        request.labels = labelsOfPool(100, 4);
        request.requested = {50, 60, 70, 80};
        request.alpha = {0.5, 0.5, 0.5, 0.5};
        request.seed = 42;
        auto first = partitionSamples(request);
        auto second = partitionSamples(request);
        QVERIFY(first.isOk());
        QVERIFY(first.value() == second.value());
        std::set<int> all;
        for (std::size_t c = 0; c < 4; ++c) {
            QCOMPARE(static_cast<int>(first.value()[c].size()), request.requested[c]);
            all.insert(first.value()[c].begin(), first.value()[c].end());
        }
        QCOMPARE(static_cast<int>(all.size()), 50 + 60 + 70 + 80); // no sample given twice
        request.seed = 43;
        QVERIFY(partitionSamples(request).value() != first.value());
    }

    void dirichletAlphaControlsLabelSkew_data()
    {
        QTest::addColumn<double>("alpha");
        QTest::addColumn<double>("minShare");
        QTest::addColumn<double>("maxShare");
        // Mean share of a client's most frequent class over 10 classes: 1.0 = one class, 0.1 =
        // uniform.
        QTest::newRow("alpha=0.05, near one class") << 0.05 << 0.75 << 1.0;
        QTest::newRow("alpha=1") << 1.0 << 0.2 << 0.5;
        QTest::newRow("alpha=1000, near uniform") << 1000.0 << 0.1 << 0.16;
    }

    void dirichletAlphaControlsLabelSkew()
    {
        QFETCH(double, alpha);
        QFETCH(double, minShare);
        QFETCH(double, maxShare);
        PartitionRequest request;
        request.method = PartitionMethod::DirichletClientMix;
        request.labels = labelsOfPool(6000, 10);
        request.requested.assign(20, 500);
        request.alpha.assign(20, alpha);
        request.seed = 7;
        auto parts = partitionSamples(request);
        QVERIFY(parts.isOk());
        double sumTopShare = 0;
        for (const auto &mine : parts.value()) {
            int counts[10] = {};
            for (int i : mine) {
                ++counts[request.labels[static_cast<std::size_t>(i)]];
            }
            sumTopShare += *std::max_element(counts, counts + 10) / 500.0;
        }
        const double meanTopShare = sumTopShare / 20;
        qDebug("alpha %g: mean top-class share %.3f", alpha, meanTopShare);
        QVERIFY(meanTopShare >= minShare && meanTopShare <= maxShare);
    }

    void dirichletSharesHaveTheRightMean()
    {
        // E[p_k] = 1/K for a symmetric Dirichlet; 2,000 draws of K = 4 at alpha = 0.3.
        Rng rng(5);
        double sum[4] = {};
        for (int draw = 0; draw < 2000; ++draw) {
            const auto p = sampleDirichlet(rng, 4, 0.3);
            QVERIFY(test::fuzzyCompare(std::accumulate(p.begin(), p.end(), 0.0), 1.0, 1e-12));
            for (int k = 0; k < 4; ++k) {
                sum[k] += p[static_cast<std::size_t>(k)];
            }
        }
        for (double s : sum) {
            QVERIFY2(std::abs(s / 2000 - 0.25) < 0.03, qPrintable(QString::number(s / 2000)));
        }
    }

    void impossiblePartitionsSayWhyAndTerminate_data()
    {
        QTest::addColumn<int>("method");
        QTest::addColumn<int>("clients");
        QTest::addColumn<int>("perClient");
        QTest::addColumn<int>("minimum");
        QTest::addColumn<QString>("expected");
        QTest::newRow("more samples than the pool")
            << int(PartitionMethod::Iid) << 5 << 100 << 1
            << QStringLiteral("5 clients ask for 500 samples in total but the task has only 400");
        QTest::newRow("minimum larger than the share")
            << int(PartitionMethod::Quantity) << 4 << 10 << 11
            << QStringLiteral("4 clients x 11 samples minimum is more than the 40");
        QTest::newRow("minimum no draw meets")
            << int(PartitionMethod::Quantity) << 40 << 10 << 9
            << QStringLiteral("no split of 400 samples over 40 clients");
    }

    void impossiblePartitionsSayWhyAndTerminate()
    {
        QFETCH(int, method);
        QFETCH(int, clients);
        QFETCH(int, perClient);
        QFETCH(int, minimum);
        QFETCH(QString, expected);
        PartitionRequest request;
        request.method = static_cast<PartitionMethod>(method);
        request.labels = labelsOfPool(100, 4);
        request.requested.assign(static_cast<std::size_t>(clients), perClient);
        request.minPerClient = minimum;
        request.quantityBeta = 0.1;
        auto parts = partitionSamples(request);
        QVERIFY(!parts.isOk());
        QVERIFY2(parts.errorString().contains(expected), qPrintable(parts.errorString()));
    }

    void quantitySkewSplitsTheTotalWithMinimum()
    {
        PartitionRequest request;
        request.method = PartitionMethod::Quantity;
        request.labels = labelsOfPool(250, 4);
        request.requested.assign(5, 100);
        request.quantityBeta = 0.5;
        request.minPerClient = 20;
        request.seed = 3;
        auto parts = partitionSamples(request);
        QVERIFY2(parts.isOk(), qPrintable(parts.errorString()));
        int total = 0;
        int largest = 0;
        for (const auto &mine : parts.value()) {
            QVERIFY(static_cast<int>(mine.size()) >= 20);
            total += static_cast<int>(mine.size());
            largest = std::max(largest, static_cast<int>(mine.size()));
        }
        QCOMPARE(total, 500);
        QVERIFY(largest > 100); // skewed, not equal shares
    }

    void catalogAnswersAreConsistent()
    {
        const TaskSpec *split = findTask(QStringLiteral("fmnist-split-3"));
        QVERIFY(split != nullptr);
        QCOMPARE(split->answerSet(), (std::vector<int>{4, 5}));
        const TaskSpec *footwear = findTask(QStringLiteral("fmnist-is-footwear"));
        QCOMPARE(footwear->answerFor(7), kAnswerYes);
        QCOMPARE(footwear->answerFor(0), kAnswerNo);
        QCOMPARE(footwear->answerSet(), (std::vector<int>{kAnswerYes, kAnswerNo}));
        QVERIFY(findTask(QStringLiteral("no-such-task")) == nullptr);
        std::set<QString> ids;
        for (const TaskSpec &task : builtinTasks()) {
            QVERIFY2(ids.insert(task.id).second, qPrintable(task.id));
        }
        QCOMPARE(stableHash(QStringLiteral("a")), 0xe40c292cu); // FNV-1a reference value
    }
};

QTEST_GUILESS_MAIN(TestData)
#include "tst_data.moc"
