// SPDX-License-Identifier: MIT
#include "core/model/safetensors_p.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>

#include <algorithm>
#include <cstring>

namespace fcl::detail {
namespace {

constexpr std::uint64_t kMaxHeader = 100u * 1024u * 1024u;

} // namespace

QByteArray encodeSafetensors(const TensorList &tensors, const std::map<QString, QString> &metadata)
{
    QJsonObject header;
    std::int64_t offset = 0;
    for (const NamedTensor &t : tensors) {
        const std::int64_t bytes = t.value.numel() * 4;
        QJsonArray shape;
        for (std::int64_t d : t.value.sizes()) {
            shape.append(static_cast<qint64>(d));
        }
        header.insert(QString::fromStdString(t.name),
                      QJsonObject{{QStringLiteral("dtype"), QStringLiteral("F32")},
                                  {QStringLiteral("shape"), shape},
                                  {QStringLiteral("data_offsets"),
                                   QJsonArray{static_cast<qint64>(offset),
                                              static_cast<qint64>(offset + bytes)}}});
        offset += bytes;
    }
    if (!metadata.empty()) {
        QJsonObject meta;
        for (const auto &[key, value] : metadata) {
            meta.insert(key, value);
        }
        header.insert(QStringLiteral("__metadata__"), meta);
    }
    QByteArray json = QJsonDocument(header).toJson(QJsonDocument::Compact);
    while (json.size() % 8 != 0) {
        json.append(' '); // the format pads the header with spaces to an 8-byte boundary
    }
    QByteArray out;
    out.reserve(static_cast<qsizetype>(8 + json.size() + offset));
    const auto length = static_cast<std::uint64_t>(json.size());
    for (int i = 0; i < 8; ++i) {
        out.append(static_cast<char>((length >> (8 * i)) & 0xff));
    }
    out.append(json);
    for (const NamedTensor &t : tensors) {
        const torch::Tensor data = t.value.detach().to(torch::kFloat32).contiguous();
        out.append(reinterpret_cast<const char *>(data.data_ptr<float>()),
                   static_cast<qsizetype>(data.numel() * 4));
    }
    return out;
}

Result<TensorList> decodeSafetensors(const QByteArray &bytes, const QString &source)
{
    auto fail = [&](const QString &why) {
        return Error{source, why};
    };
    if (bytes.size() < 8) {
        return fail(QStringLiteral("not a safetensors file: %1 bytes, shorter than the 8-byte "
                                   "header length")
                        .arg(bytes.size()));
    }
    std::uint64_t length = 0;
    for (int i = 0; i < 8; ++i) {
        length |= static_cast<std::uint64_t>(static_cast<quint8>(bytes[i])) << (8 * i);
    }
    if (length > kMaxHeader || length > static_cast<std::uint64_t>(bytes.size() - 8)) {
        return fail(QStringLiteral("not a safetensors file or truncated: the header claims %1 "
                                   "bytes, the file has %2 after the length")
                        .arg(length)
                        .arg(bytes.size() - 8));
    }
    QJsonParseError parseError{};
    const QJsonDocument doc =
        QJsonDocument::fromJson(bytes.mid(8, static_cast<qsizetype>(length)), &parseError);
    if (parseError.error != QJsonParseError::NoError || !doc.isObject()) {
        return fail(QStringLiteral("not a safetensors file: the header is not a JSON object (%1)")
                        .arg(parseError.errorString()));
    }
    const qint64 dataStart = 8 + static_cast<qint64>(length);
    const qint64 dataSize = bytes.size() - dataStart;
    const QJsonObject header = doc.object();
    struct Entry {
        std::string name;
        std::vector<std::int64_t> shape;
        qint64 begin = 0;
        qint64 end = 0;
    };
    std::vector<Entry> entries;
    std::vector<Error> errors;
    for (auto it = header.begin(); it != header.end(); ++it) {
        if (it.key() == QLatin1String("__metadata__")) {
            continue;
        }
        const QString where = QStringLiteral("%1: tensor \"%2\"").arg(source, it.key());
        const QJsonObject info = it.value().toObject();
        const QString dtype = info.value(QStringLiteral("dtype")).toString();
        if (dtype != QLatin1String("F32")) {
            errors.push_back({where, QStringLiteral("dtype \"%1\" is not supported (F32 only; "
                                                    "convert with tensor.float())")
                                         .arg(dtype)});
            continue;
        }
        Entry entry;
        entry.name = it.key().toStdString();
        qint64 elements = 1;
        bool shapeOk = info.value(QStringLiteral("shape")).isArray();
        for (const QJsonValue &d : info.value(QStringLiteral("shape")).toArray()) {
            const double value = d.toDouble(-1);
            if (value < 0 || value > 1e9) {
                shapeOk = false;
                break;
            }
            entry.shape.push_back(static_cast<std::int64_t>(value));
            elements *= static_cast<qint64>(value);
            if (elements > (qint64(1) << 40)) {
                shapeOk = false;
                break;
            }
        }
        const QJsonArray offsets = info.value(QStringLiteral("data_offsets")).toArray();
        if (!shapeOk || offsets.size() != 2) {
            errors.push_back({where, QStringLiteral("has no valid shape and data_offsets")});
            continue;
        }
        entry.begin = static_cast<qint64>(offsets[0].toDouble(-1));
        entry.end = static_cast<qint64>(offsets[1].toDouble(-1));
        if (entry.begin < 0 || entry.end < entry.begin || entry.end - entry.begin != elements * 4) {
            errors.push_back({where, QStringLiteral("data_offsets [%1, %2] do not hold %3 floats")
                                         .arg(entry.begin)
                                         .arg(entry.end)
                                         .arg(elements)});
            continue;
        }
        if (entry.end > dataSize) {
            errors.push_back({where, QStringLiteral("truncated: its data ends at byte %1 of the "
                                                    "data section, which has only %2")
                                         .arg(entry.end)
                                         .arg(dataSize)});
            continue;
        }
        entries.push_back(std::move(entry));
    }
    if (!errors.empty()) {
        return errors;
    }
    std::sort(entries.begin(), entries.end(), [](const Entry &a, const Entry &b) {
        return a.begin < b.begin;
    });
    for (std::size_t i = 1; i < entries.size(); ++i) {
        if (entries[i].begin < entries[i - 1].end) {
            return fail(QStringLiteral("tensors \"%1\" and \"%2\" overlap")
                            .arg(QString::fromStdString(entries[i - 1].name),
                                 QString::fromStdString(entries[i].name)));
        }
    }
    TensorList tensors;
    for (const Entry &entry : entries) {
        torch::Tensor t = torch::empty(entry.shape, torch::kFloat32);
        if (t.numel() > 0) {
            std::memcpy(t.data_ptr<float>(), bytes.constData() + dataStart + entry.begin,
                        static_cast<std::size_t>(entry.end - entry.begin));
        }
        tensors.push_back({entry.name, t});
    }
    return tensors;
}

Result<Unit> writeSafetensorsFile(const QString &path, const TensorList &tensors,
                                  const std::map<QString, QString> &metadata)
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) {
        return Error{path, QStringLiteral("cannot write: %1").arg(file.errorString())};
    }
    const QByteArray bytes = encodeSafetensors(tensors, metadata);
    if (file.write(bytes) != bytes.size() || !file.commit()) {
        return Error{path, QStringLiteral("cannot write: %1").arg(file.errorString())};
    }
    return Unit{};
}

Result<TensorList> readSafetensorsFile(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        return Error{path, QStringLiteral("cannot read: %1").arg(file.errorString())};
    }
    return decodeSafetensors(file.readAll(), path);
}

} // namespace fcl::detail
