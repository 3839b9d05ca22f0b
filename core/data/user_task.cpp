// SPDX-License-Identifier: MIT
#include "core/data/user_task.h"
#include "core/common/file_read.h"

#include "core/common/rng.h"
#include "core/data/idx_reader.h"
#include "core/data/png_image.h"
#include "core/data/task_catalog.h"

#include <QCryptographicHash>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>
#include <QMutex>

#include <cmath>
#include <map>

namespace fcl {
namespace {

constexpr int kListedErrors = 50;

QString resolve(const QString &baseDir, const QString &path)
{
    if (path.isEmpty() || QFileInfo(path).isAbsolute()) {
        return path;
    }
    return QDir::cleanPath(QDir(baseDir.isEmpty() ? QDir::currentPath() : baseDir).filePath(path));
}

/// Collects a file's line errors, listing the first kListedErrors.
class LineErrors {
public:
    explicit LineErrors(QString file) : m_file(std::move(file)) {}
    void add(int line, const QString &message)
    {
        if (static_cast<int>(m_errors.size()) < kListedErrors) {
            m_errors.push_back({QStringLiteral("%1:%2").arg(m_file).arg(line), message});
        }
        ++m_count;
    }
    bool empty() const { return m_count == 0; }
    std::vector<Error> take()
    {
        if (m_count > kListedErrors) {
            m_errors.push_back(
                {m_file,
                 QStringLiteral("... and %1 more broken lines").arg(m_count - kListedErrors)});
        }
        return std::move(m_errors);
    }

private:
    QString m_file;
    std::vector<Error> m_errors;
    int m_count = 0;
};

QString labelName(const UserTaskSource &source, const QString &label)
{
    bool numeric = false;
    const int index = label.trimmed().toInt(&numeric);
    if (numeric && index >= 0 && index < source.classes.size()) {
        return source.classes.at(index);
    }
    return label.trimmed();
}

/// JSONL in the Alpaca convention.
Result<std::vector<UserSample>> readInstructions(const UserTaskSource &source,
                                                 const QByteArray &bytes)
{
    const QString name = QFileInfo(source.file).fileName();
    const QString dir = QFileInfo(source.file).absolutePath();
    LineErrors errors(name);
    std::vector<UserSample> samples;
    std::shared_ptr<ImageSet> idx;
    QString idxError;
    auto indexImages = [&]() -> const ImageSet * {
        if (!idx && idxError.isEmpty()) {
            const QString path =
                source.images.isEmpty()
                    ? defaultFashionMnistDir() + QStringLiteral("/train-images-idx3-ubyte.gz")
                    : source.images;
            auto read = readIdxImages(path);
            if (read) {
                idx = std::make_shared<ImageSet>(std::move(read.value()));
            } else {
                idxError = read.errorString();
            }
        }
        return idx.get();
    };
    const QList<QByteArray> lines = bytes.split('\n');
    for (int i = 0; i < lines.size(); ++i) {
        const int line = i + 1;
        const QByteArray text = lines.at(i).trimmed();
        if (text.isEmpty()) {
            continue;
        }
        QJsonParseError parseError{};
        const QJsonDocument document = QJsonDocument::fromJson(text, &parseError);
        if (parseError.error != QJsonParseError::NoError) {
            errors.add(line, QStringLiteral("not valid JSON: %1 at column %2")
                                 .arg(parseError.errorString())
                                 .arg(parseError.offset + 1));
            continue;
        }
        if (!document.isObject()) {
            errors.add(line, QStringLiteral("expected a JSON object {\"instruction\": ..., "
                                            "\"output\": ...}"));
            continue;
        }
        const QJsonObject object = document.object();
        bool ok = true;
        auto text_ = [&](const char *key, bool required) {
            const QJsonValue value = object.value(QLatin1String(key));
            if (value.isUndefined() || value.isNull()) {
                if (required) {
                    errors.add(line, QStringLiteral("field \"%1\" is missing").arg(key));
                    ok = false;
                }
                return QString();
            }
            if (!value.isString()) {
                errors.add(line, QStringLiteral("field \"%1\" must be a string").arg(key));
                ok = false;
                return QString();
            }
            if (required && value.toString().trimmed().isEmpty()) {
                errors.add(line, QStringLiteral("field \"%1\" is empty").arg(key));
                ok = false;
            }
            return value.toString().trimmed();
        };
        const QString instruction = text_("instruction", true);
        const QString input = text_("input", false);
        const QString output = text_("output", true);
        UserSample sample;
        const QJsonValue image = object.value(QStringLiteral("image"));
        if (image.isString()) {
            auto pixels = readPng28(resolve(dir, image.toString()));
            if (!pixels) {
                errors.add(line, QStringLiteral("image \"%1\": %2")
                                     .arg(image.toString(), pixels.errors().front().message));
                ok = false;
            } else {
                sample.image = std::move(pixels.value());
            }
        } else if (image.isDouble()) {
            const double value = image.toDouble();
            const ImageSet *set = indexImages();
            if (set == nullptr) {
                errors.add(line, QStringLiteral("image %1: %2").arg(value).arg(idxError));
                ok = false;
            } else if (value != std::floor(value) || value < 0 || value >= set->count) {
                errors.add(line, QStringLiteral("image index %1 is not in 0..%2 of the IDX file")
                                     .arg(value)
                                     .arg(set->count - 1));
                ok = false;
            } else {
                const auto *first =
                    set->pixels.data() + static_cast<std::size_t>(value) * set->pixelsPerImage();
                sample.image.assign(first, first + set->pixelsPerImage());
            }
        } else if (!image.isUndefined() && !image.isNull()) {
            errors.add(line, QStringLiteral("field \"image\" must be a PNG path or an index into "
                                            "the IDX image file"));
            ok = false;
        }
        if (!ok) {
            continue;
        }
        sample.prompt = input.isEmpty() ? instruction : instruction + QLatin1Char(' ') + input;
        sample.answer = output;
        samples.push_back(std::move(sample));
    }
    if (!errors.empty()) {
        return errors.take();
    }
    return samples;
}

Result<std::vector<UserSample>> readCsv(const UserTaskSource &source, const QByteArray &bytes)
{
    const QString name = QFileInfo(source.file).fileName();
    const QString dir = QFileInfo(source.file).absolutePath();
    LineErrors errors(name);
    std::vector<UserSample> samples;
    const QList<QByteArray> lines = bytes.split('\n');
    for (int i = 0; i < lines.size(); ++i) {
        const int line = i + 1;
        const QString text = QString::fromUtf8(lines.at(i)).trimmed();
        if (text.isEmpty()) {
            continue;
        }
        const QStringList fields = text.split(QLatin1Char(','));
        const QString first = fields.front().trimmed().toLower();
        if (samples.empty() && errors.empty() &&
            (first == QLatin1String("path") || first == QLatin1String("label") ||
             first == QLatin1String("file") || first == QLatin1String("image"))) {
            continue; // header
        }
        UserSample sample;
        sample.prompt = source.instruction;
        if (fields.size() == 2) {
            auto pixels = readPng28(resolve(dir, fields.at(0).trimmed()));
            if (!pixels) {
                errors.add(line, QStringLiteral("image \"%1\": %2")
                                     .arg(fields.at(0).trimmed(), pixels.errors().front().message));
                continue;
            }
            sample.image = std::move(pixels.value());
            sample.answer = labelName(source, fields.at(1));
        } else if (fields.size() == 785) {
            sample.answer = labelName(source, fields.at(0));
            sample.image.resize(784);
            bool ok = true;
            for (int p = 0; p < 784 && ok; ++p) {
                bool number = false;
                const int value = fields.at(p + 1).trimmed().toInt(&number);
                if (!number || value < 0 || value > 255) {
                    errors.add(line, QStringLiteral("column %1: \"%2\" is not a pixel value 0-255")
                                         .arg(p + 2)
                                         .arg(fields.at(p + 1).trimmed().left(20)));
                    ok = false;
                }
                sample.image[static_cast<std::size_t>(p)] = static_cast<std::uint8_t>(value);
            }
            if (!ok) {
                continue;
            }
        } else {
            errors.add(line, QStringLiteral("has %1 columns: expected 2 (path,label) or 785 "
                                            "(label and 784 pixel values)")
                                 .arg(fields.size()));
            continue;
        }
        if (sample.answer.isEmpty()) {
            errors.add(line, QStringLiteral("the label is empty"));
            continue;
        }
        samples.push_back(std::move(sample));
    }
    if (!errors.empty()) {
        return errors.take();
    }
    return samples;
}

Result<std::vector<UserSample>> readIdx(const UserTaskSource &source)
{
    if (source.labels.isEmpty()) {
        return Error{QStringLiteral("labels"),
                     QStringLiteral("an IDX image file needs its label file in \"labels\"")};
    }
    auto set = readIdxImageSet(source.file, source.labels, 255);
    if (!set) {
        return set.errors();
    }
    std::vector<UserSample> samples;
    for (int i = 0; i < set->count; ++i) {
        UserSample sample;
        sample.prompt = source.instruction;
        sample.answer =
            labelName(source, QString::number(set->labels[static_cast<std::size_t>(i)]));
        const auto *first = set->pixels.data() + static_cast<std::size_t>(i) * 784;
        sample.image.assign(first, first + 784);
        samples.push_back(std::move(sample));
    }
    return samples;
}

QString formatOf(const QString &file)
{
    const QString lower = file.toLower();
    if (lower.endsWith(QLatin1String(".jsonl")) || lower.endsWith(QLatin1String(".json"))) {
        return QStringLiteral("instructions");
    }
    if (lower.endsWith(QLatin1String(".csv"))) {
        return QStringLiteral("csv");
    }
    if (lower.contains(QLatin1String("idx3")) || lower.endsWith(QLatin1String(".idx"))) {
        return QStringLiteral("idx");
    }
    return {};
}

Result<std::shared_ptr<const UserTaskData>> loadUncached(const UserTaskSource &source,
                                                         std::uint64_t seed)
{
    const QString format = formatOf(source.file);
    if (format.isEmpty()) {
        return Error{source.file, QStringLiteral("unknown format: expected a .jsonl file of "
                                                 "instructions, a .csv file or an IDX image file "
                                                 "(*-idx3-ubyte[.gz])")};
    }
    auto read = readFileCapped(source.file, byteCap("FCL_MAX_DATASET_BYTES", kMaxDatasetBytes),
                               "FCL_MAX_DATASET_BYTES");
    if (!read) {
        return read.errors();
    }
    const QByteArray bytes = std::move(read).value();
    auto data = std::make_shared<UserTaskData>();
    data->id = source.id;
    data->format = format;
    data->sha256 =
        QString::fromLatin1(QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex());
    if (!source.sha256.isEmpty() && source.sha256 != data->sha256) {
        return Error{source.file, QStringLiteral("changed since the run used it (SHA-256 %1..., "
                                                 "recorded %2...)")
                                      .arg(data->sha256.left(12), source.sha256.left(12))};
    }
    Result<std::vector<UserSample>> samples =
        format == QLatin1String("instructions") ? readInstructions(source, bytes)
        : format == QLatin1String("csv")        ? readCsv(source, bytes)
                                                : readIdx(source);
    if (!samples) {
        return samples.errors();
    }
    std::vector<UserSample> &all = samples.value();
    if (all.size() < 2) {
        return Error{source.file, QStringLiteral("has %1 usable sample%2: at least 2 are needed "
                                                 "(one to train on, one to test)")
                                      .arg(all.size())
                                      .arg(all.size() == 1 ? "" : "s")};
    }
    data->instruction =
        format == QLatin1String("instructions") ? all.front().prompt : source.instruction;
    QHash<QString, int> answerIndex;
    for (UserSample &sample : all) {
        const auto found = answerIndex.constFind(sample.answer);
        if (found == answerIndex.constEnd()) {
            sample.answerIndex = static_cast<int>(data->answers.size());
            answerIndex.insert(sample.answer, sample.answerIndex);
            data->answers << sample.answer;
        } else {
            sample.answerIndex = found.value();
        }
        data->withImages += sample.hasImage() ? 1 : 0;
        data->longestPrompt = std::max(data->longestPrompt, static_cast<int>(sample.prompt.size()));
        data->longestAnswer = std::max(data->longestAnswer, static_cast<int>(sample.answer.size()));
    }
    std::vector<std::size_t> order(all.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
        order[i] = i;
    }
    Rng rng(deriveSeed(seed, {11, stableHash(source.id)}));
    shuffleInPlace(order, rng);
    const auto n = static_cast<double>(all.size());
    const auto testCount = static_cast<std::size_t>(
        std::clamp<double>(std::round(source.testFraction * n), 1.0, n - 1.0));
    for (std::size_t k = 0; k < order.size(); ++k) {
        (k < testCount ? data->test : data->train).push_back(std::move(all[order[k]]));
    }
    return std::shared_ptr<const UserTaskData>(std::move(data));
}

} // namespace

QJsonObject UserTaskSource::toJson() const
{
    QJsonObject object;
    object.insert(QStringLiteral("id"), id);
    object.insert(QStringLiteral("file"), file);
    if (!labels.isEmpty()) {
        object.insert(QStringLiteral("labels"), labels);
    }
    if (!images.isEmpty()) {
        object.insert(QStringLiteral("images"), images);
    }
    if (instruction != UserTaskSource().instruction) {
        object.insert(QStringLiteral("instruction"), instruction);
    }
    if (!classes.isEmpty()) {
        object.insert(QStringLiteral("classes"), QJsonArray::fromStringList(classes));
    }
    object.insert(QStringLiteral("test_fraction"), testFraction);
    if (!sha256.isEmpty()) {
        object.insert(QStringLiteral("sha256"), sha256);
    }
    return object;
}

Result<UserTaskSource> parseUserTaskSource(const QJsonObject &object, const QString &path,
                                           const QString &baseDir)
{
    std::vector<Error> errors;
    UserTaskSource source;
    auto text = [&](const char *key, bool required) {
        const QJsonValue value = object.value(QLatin1String(key));
        if (value.isUndefined()) {
            if (required) {
                errors.push_back(
                    {path + QLatin1Char('.') + QLatin1String(key), QStringLiteral("is required")});
            }
            return QString();
        }
        if (!value.isString() || (required && value.toString().trimmed().isEmpty())) {
            errors.push_back({path + QLatin1Char('.') + QLatin1String(key),
                              QStringLiteral("expected a non-empty string")});
            return QString();
        }
        return value.toString();
    };
    source.id = text("id", true);
    source.file = resolve(baseDir, text("file", true));
    source.labels = resolve(baseDir, text("labels", false));
    source.images = resolve(baseDir, text("images", false));
    source.sha256 = text("sha256", false);
    if (object.contains(QStringLiteral("instruction"))) {
        source.instruction = text("instruction", true);
    }
    if (object.contains(QStringLiteral("classes"))) {
        const QJsonValue classes = object.value(QStringLiteral("classes"));
        bool ok = classes.isArray();
        for (const QJsonValue &value : classes.toArray()) {
            ok = ok && value.isString() && !value.toString().isEmpty();
            source.classes << value.toString();
        }
        if (!ok) {
            errors.push_back({path + QStringLiteral(".classes"),
                              QStringLiteral("expected an array of class names")});
        }
    }
    if (object.contains(QStringLiteral("test_fraction"))) {
        const QJsonValue fraction = object.value(QStringLiteral("test_fraction"));
        if (!fraction.isDouble() || fraction.toDouble() <= 0 || fraction.toDouble() >= 1) {
            errors.push_back({path + QStringLiteral(".test_fraction"),
                              QStringLiteral("expected a number between 0 and 1 (exclusive)")});
        } else {
            source.testFraction = fraction.toDouble();
        }
    }
    for (auto it = object.begin(); it != object.end(); ++it) {
        static const QStringList known{
            QStringLiteral("id"),     QStringLiteral("file"),         QStringLiteral("labels"),
            QStringLiteral("images"), QStringLiteral("instruction"),  QStringLiteral("classes"),
            QStringLiteral("sha256"), QStringLiteral("test_fraction")};
        if (!known.contains(it.key())) {
            errors.push_back(
                {path + QLatin1Char('.') + it.key(), QStringLiteral("unknown field (known: %1)")
                                                         .arg(known.join(QStringLiteral(", ")))});
        }
    }
    if (!errors.empty()) {
        return errors;
    }
    return source;
}

Result<std::shared_ptr<const UserTaskData>> loadUserTask(const UserTaskSource &source,
                                                         std::uint64_t seed)
{
    static QMutex mutex;
    static std::map<QString, std::shared_ptr<const UserTaskData>> cache;
    QStringList key{source.id,
                    QString::number(seed),
                    source.instruction,
                    source.classes.join(QChar(0x1f)),
                    QString::number(source.testFraction, 'g', 17),
                    source.sha256};
    for (const QString &path : {source.file, source.labels, source.images}) {
        const QFileInfo info(path);
        key << path << QString::number(info.size())
            << QString::number(info.lastModified().toMSecsSinceEpoch());
    }
    const QString cacheKey = key.join(QChar(0x1e));
    {
        QMutexLocker lock(&mutex);
        const auto found = cache.find(cacheKey);
        if (found != cache.end()) {
            return found->second;
        }
    }
    auto loaded = loadUncached(source, seed);
    if (loaded) {
        QMutexLocker lock(&mutex);
        if (cache.size() > 32) {
            cache.clear();
        }
        cache[cacheKey] = loaded.value();
    }
    return loaded;
}

} // namespace fcl
