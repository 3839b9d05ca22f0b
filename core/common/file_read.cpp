// SPDX-License-Identifier: MIT
#include "core/common/file_read.h"

#include <QFile>
#include <QFileInfo>

#include <algorithm>

namespace fcl {

qint64 byteCap(const char *envVariable, qint64 defaultCap)
{
    bool ok = false;
    const qint64 value = qEnvironmentVariable(envVariable).toLongLong(&ok);
    return ok && value > 0 ? value : defaultCap;
}

Result<QByteArray> readFileCapped(const QString &path, qint64 cap, const char *envVariable)
{
    const QFileInfo info(path);
    if (info.isDir()) {
        return Error{path, QStringLiteral("is a folder, not a file")};
    }
    auto tooLarge = [&](const QString &size) {
        return Error{path, QStringLiteral("is larger than the %1-byte limit (%2); set %3 to raise "
                                          "the limit")
                               .arg(cap)
                               .arg(size, QString::fromLatin1(envVariable))};
    };
    if (info.isFile() && info.size() > cap) {
        return tooLarge(QStringLiteral("%1 bytes").arg(info.size()));
    }
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        return Error{path, QStringLiteral("cannot read: %1").arg(file.errorString())};
    }
    QByteArray bytes;
    if (info.isFile()) {
        bytes = file.readAll(); // its size was checked above
    } else {
        // A pipe or device: read in chunks, never more than the cap (QIODevice::read(n) would
        // allocate n bytes up front).
        constexpr qint64 kChunk = 1 << 20;
        while (bytes.size() <= cap) {
            const QByteArray chunk = file.read(std::min(kChunk, cap + 1 - bytes.size()));
            if (chunk.isEmpty()) {
                break;
            }
            bytes += chunk;
        }
        if (bytes.size() > cap) {
            return tooLarge(QStringLiteral("a stream that goes on"));
        }
    }
    if (file.error() != QFileDevice::NoError) {
        return Error{path, QStringLiteral("cannot read: %1").arg(file.errorString())};
    }
    return bytes;
}

} // namespace fcl
