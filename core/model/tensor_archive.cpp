// SPDX-License-Identifier: MIT
#include "core/model/tensor_archive_p.h"

#include <QJsonDocument>

#include <cstdio>
#include <cstring>

namespace fcl::detail {
namespace {

constexpr char kMagic[8] = {'F', 'C', 'L', 'C', 'K', 'P', 'T', '\0'};

int dtypeCode(torch::ScalarType type)
{
    switch (type) {
    case torch::kFloat32:
        return 0;
    case torch::kFloat64:
        return 1;
    case torch::kInt64:
        return 2;
    case torch::kInt32:
        return 3;
    case torch::kUInt8:
        return 4;
    case torch::kBool:
        return 5;
    default:
        return -1;
    }
}

bool dtypeOf(int code, torch::ScalarType &type)
{
    static const torch::ScalarType types[] = {torch::kFloat32, torch::kFloat64, torch::kInt64,
                                              torch::kInt32,   torch::kUInt8,   torch::kBool};
    if (code < 0 || code >= 6) {
        return false;
    }
    type = types[code];
    return true;
}

std::uint64_t fnv1a(const char *data, qsizetype size)
{
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    for (qsizetype i = 0; i < size; ++i) {
        hash ^= static_cast<unsigned char>(data[i]);
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

template <typename T> void append(QByteArray &out, T value)
{
    char bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T)); // the machines we build for are little-endian
    out.append(bytes, sizeof(T));
}

class Reader {
public:
    Reader(const QByteArray &bytes, qsizetype end) : m_bytes(bytes), m_end(end) {}
    template <typename T> bool read(T &value)
    {
        if (m_position + static_cast<qsizetype>(sizeof(T)) > m_end) {
            return false;
        }
        std::memcpy(&value, m_bytes.constData() + m_position, sizeof(T));
        m_position += sizeof(T);
        return true;
    }
    bool take(qsizetype size, const char *&data)
    {
        if (size < 0 || m_position + size > m_end) {
            return false;
        }
        data = m_bytes.constData() + m_position;
        m_position += size;
        return true;
    }
    qsizetype position() const { return m_position; }

private:
    const QByteArray &m_bytes;
    qsizetype m_end;
    qsizetype m_position = 0;
};

} // namespace

void TensorArchive::put(const std::string &name, const torch::Tensor &tensor)
{
    Q_ASSERT(dtypeCode(tensor.scalar_type()) >= 0);
    m_tensors[name] = tensor.detach().contiguous().clone();
}

torch::Tensor TensorArchive::get(const std::string &name) const
{
    const auto it = m_tensors.find(name);
    return it == m_tensors.end() ? torch::Tensor() : it->second;
}

std::vector<std::string> TensorArchive::names(const std::string &prefix) const
{
    std::vector<std::string> result;
    for (auto it = m_tensors.lower_bound(prefix);
         it != m_tensors.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
        result.push_back(it->first);
    }
    return result;
}

void TensorArchive::putList(const std::string &prefix,
                            const std::vector<std::pair<std::string, torch::Tensor>> &list)
{
    for (std::size_t i = 0; i < list.size(); ++i) {
        char index[24];
        std::snprintf(index, sizeof(index), "%06zu", i);
        put(prefix + "/" + index + "/" + list[i].first, list[i].second);
    }
}

std::vector<std::pair<std::string, torch::Tensor>>
TensorArchive::getList(const std::string &prefix) const
{
    std::vector<std::pair<std::string, torch::Tensor>> list;
    const std::string start = prefix + "/";
    for (const std::string &name : names(start)) {
        // start + 6 digits + '/' + original name; anything else is not one of ours
        if (name.size() > start.size() + 7) {
            list.emplace_back(name.substr(start.size() + 7), get(name));
        }
    }
    return list;
}

QByteArray TensorArchive::serialize() const
{
    QByteArray out;
    out.append(kMagic, sizeof(kMagic));
    append<quint32>(out, kFormatVersion);
    const QByteArray header = QJsonDocument(m_header).toJson(QJsonDocument::Compact);
    append<quint32>(out, static_cast<quint32>(header.size()));
    out.append(header);
    append<quint32>(out, static_cast<quint32>(m_tensors.size()));
    for (const auto &[name, tensor] : m_tensors) {
        append<quint16>(out, static_cast<quint16>(name.size()));
        out.append(name.data(), static_cast<qsizetype>(name.size()));
        append<quint8>(out, static_cast<quint8>(dtypeCode(tensor.scalar_type())));
        append<quint8>(out, static_cast<quint8>(tensor.dim()));
        for (std::int64_t d : tensor.sizes()) {
            append<std::int64_t>(out, d);
        }
        const auto bytes = static_cast<std::uint64_t>(tensor.numel() * tensor.element_size());
        append<std::uint64_t>(out, bytes);
        out.append(static_cast<const char *>(tensor.data_ptr()), static_cast<qsizetype>(bytes));
    }
    append<std::uint64_t>(out, fnv1a(out.constData(), out.size()));
    return out;
}

Result<TensorArchive> TensorArchive::deserialize(const QByteArray &bytes, const QString &what)
{
    auto fail = [&](const QString &message) {
        return Result<TensorArchive>(Error{what, message});
    };
    if (bytes.size() < static_cast<qsizetype>(sizeof(kMagic)) ||
        std::memcmp(bytes.constData(), kMagic, sizeof(kMagic)) != 0) {
        return fail(QStringLiteral("not an FCL Workbench checkpoint (unknown file signature)"));
    }
    const qsizetype end = bytes.size() - static_cast<qsizetype>(sizeof(std::uint64_t));
    Reader reader(bytes, bytes.size());
    const char *skip = nullptr;
    reader.take(sizeof(kMagic), skip);
    quint32 version = 0;
    if (!reader.read(version)) {
        return fail(QStringLiteral("truncated after the signature"));
    }
    if (version > kFormatVersion) {
        return fail(QStringLiteral("checkpoint format %1 is newer than this program's (%2); "
                                   "update FCL Workbench")
                        .arg(version)
                        .arg(kFormatVersion));
    }
    if (end < reader.position()) {
        return fail(QStringLiteral("truncated (%1 bytes)").arg(bytes.size()));
    }
    std::uint64_t stored = 0;
    std::memcpy(&stored, bytes.constData() + end, sizeof(stored));
    if (stored != fnv1a(bytes.constData(), end)) {
        return fail(QStringLiteral("checksum mismatch: the checkpoint is truncated or corrupt"));
    }
    Reader body(bytes, end);
    body.take(reader.position(), skip);
    TensorArchive archive;
    quint32 headerSize = 0;
    const char *headerData = nullptr;
    if (!body.read(headerSize) || !body.take(headerSize, headerData)) {
        return fail(QStringLiteral("truncated header"));
    }
    QJsonParseError parseError{};
    const QJsonDocument header =
        QJsonDocument::fromJson(QByteArray(headerData, headerSize), &parseError);
    if (!header.isObject()) {
        return fail(
            QStringLiteral("header is not a JSON object: %1").arg(parseError.errorString()));
    }
    archive.m_header = header.object();
    quint32 count = 0;
    if (!body.read(count)) {
        return fail(QStringLiteral("truncated tensor count"));
    }
    for (quint32 i = 0; i < count; ++i) {
        const QString at = QStringLiteral("tensor %1 at byte %2").arg(i).arg(body.position());
        quint16 nameSize = 0;
        const char *nameData = nullptr;
        quint8 code = 0;
        quint8 rank = 0;
        if (!body.read(nameSize) || !body.take(nameSize, nameData) || !body.read(code) ||
            !body.read(rank)) {
            return fail(at + QStringLiteral(": truncated"));
        }
        torch::ScalarType type{};
        if (!dtypeOf(code, type)) {
            return fail(at + QStringLiteral(": unknown element type %1").arg(code));
        }
        std::vector<std::int64_t> dims(rank);
        std::int64_t numel = 1;
        for (auto &d : dims) {
            if (!body.read(d) || d < 0 || __builtin_mul_overflow(numel, d, &numel) ||
                numel > bytes.size()) {
                return fail(at + QStringLiteral(": bad shape"));
            }
        }
        std::uint64_t size = 0;
        const char *data = nullptr;
        const auto expected =
            static_cast<std::uint64_t>(numel) * static_cast<std::uint64_t>(c10::elementSize(type));
        if (!body.read(size) || size != expected ||
            !body.take(static_cast<qsizetype>(size), data)) {
            return fail(at + QStringLiteral(": truncated or inconsistent data"));
        }
        torch::Tensor tensor = torch::empty(dims, torch::TensorOptions().dtype(type));
        std::memcpy(tensor.data_ptr(), data, size);
        archive.m_tensors[std::string(nameData, nameSize)] = tensor;
    }
    return archive;
}

} // namespace fcl::detail
