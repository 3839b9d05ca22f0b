// SPDX-License-Identifier: MIT
#include "core/data/idx_reader.h"

#include <QFile>
#include <QFileInfo>
#include <QLocale>

#include <zlib.h>

namespace fcl {
namespace {

constexpr std::uint32_t kImageMagic = 0x00000803;
constexpr std::uint32_t kLabelMagic = 0x00000801;

QString byteWhere(const QString &path, qint64 offset)
{
    return QStringLiteral("%1: byte %2")
        .arg(QFileInfo(path).fileName(), QLocale::c().toString(offset));
}

/// Reads the whole (possibly gzip-compressed) file into memory.
Result<std::vector<std::uint8_t>> readAll(const QString &path)
{
    const QByteArray local = QFile::encodeName(path);
    gzFile file = gzopen(local.constData(), "rb");
    if (file == nullptr) {
        return Error{QFileInfo(path).fileName(), QStringLiteral("cannot open %1").arg(path)};
    }
    std::vector<std::uint8_t> bytes;
    std::vector<std::uint8_t> chunk(1 << 20);
    for (;;) {
        const int got = gzread(file, chunk.data(), static_cast<unsigned>(chunk.size()));
        if (got < 0) {
            int code = 0;
            const QString why = QString::fromLocal8Bit(gzerror(file, &code));
            gzclose(file);
            return Error{byteWhere(path, static_cast<qint64>(bytes.size())),
                         QStringLiteral("corrupt compressed data (%1)").arg(why)};
        }
        if (got == 0) {
            break;
        }
        bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + got);
    }
    // A gzip stream cut short reads as a clean EOF in some zlib versions; gzclose reports it.
    const int closeCode = gzclose(file);
    if (closeCode == Z_BUF_ERROR) {
        return Error{byteWhere(path, static_cast<qint64>(bytes.size())),
                     QStringLiteral("compressed stream ends early (file truncated)")};
    }
    if (closeCode != Z_OK) {
        return Error{byteWhere(path, static_cast<qint64>(bytes.size())),
                     QStringLiteral("corrupt compressed data (zlib error %1)").arg(closeCode)};
    }
    return bytes;
}

std::uint32_t bigEndian32(const std::uint8_t *p)
{
    return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) |
           std::uint32_t(p[3]);
}

struct IdxHeader {
    std::vector<std::uint32_t> dims;
    std::size_t headerBytes = 0;
};

Result<IdxHeader> parseHeader(const QString &path, const std::vector<std::uint8_t> &bytes,
                              std::uint32_t expectedMagic, int expectedDims)
{
    if (bytes.size() < 4) {
        return Error{byteWhere(path, static_cast<qint64>(bytes.size())),
                     QStringLiteral("file ends inside the 4-byte IDX magic number")};
    }
    const std::uint32_t magic = bigEndian32(bytes.data());
    if (magic != expectedMagic) {
        return Error{byteWhere(path, 0),
                     QStringLiteral("not an IDX %1 file: magic number 0x%2, expected 0x%3")
                         .arg(expectedDims == 3 ? QStringLiteral("image") : QStringLiteral("label"))
                         .arg(magic, 8, 16, QLatin1Char('0'))
                         .arg(expectedMagic, 8, 16, QLatin1Char('0'))};
    }
    IdxHeader header;
    header.headerBytes = 4 + 4 * static_cast<std::size_t>(expectedDims);
    if (bytes.size() < header.headerBytes) {
        return Error{byteWhere(path, static_cast<qint64>(bytes.size())),
                     QStringLiteral("file ends inside the IDX header (%1 bytes expected)")
                         .arg(header.headerBytes)};
    }
    std::size_t payload = 1;
    for (int d = 0; d < expectedDims; ++d) {
        const std::uint32_t dim = bigEndian32(bytes.data() + 4 + 4 * d);
        if (dim == 0 || dim > 100000000u) {
            return Error{byteWhere(path, 4 + 4 * d),
                         QStringLiteral("implausible dimension %1").arg(dim)};
        }
        header.dims.push_back(dim);
        // Checked before multiplying: a product that wraps around would pass the size check.
        constexpr std::size_t kMaxPayload = std::size_t(1) << 32;
        if (payload > kMaxPayload / dim) {
            return Error{byteWhere(path, 4 + 4 * d),
                         QStringLiteral("implausible dimensions: the header promises more than "
                                        "4 GiB of data")};
        }
        payload *= dim;
    }
    const std::size_t expected = header.headerBytes + payload;
    if (bytes.size() < expected) {
        return Error{byteWhere(path, static_cast<qint64>(bytes.size())),
                     QStringLiteral("file truncated: the header promises %1 bytes, the file has %2")
                         .arg(QLocale::c().toString(static_cast<qulonglong>(expected)),
                              QLocale::c().toString(static_cast<qulonglong>(bytes.size())))};
    }
    return header;
}

QString pickExisting(const QString &dir, const QString &name)
{
    const QString plain = dir + QLatin1Char('/') + name;
    if (QFileInfo::exists(plain)) {
        return plain;
    }
    return plain + QStringLiteral(".gz");
}

} // namespace

Result<ImageSet> readIdxImages(const QString &imagesPath)
{
    auto imageBytes = readAll(imagesPath);
    if (!imageBytes) {
        return imageBytes.errors();
    }
    auto imageHeader = parseHeader(imagesPath, imageBytes.value(), kImageMagic, 3);
    if (!imageHeader) {
        return imageHeader.errors();
    }
    ImageSet set;
    set.count = static_cast<int>(imageHeader->dims[0]);
    set.rows = static_cast<int>(imageHeader->dims[1]);
    set.cols = static_cast<int>(imageHeader->dims[2]);
    if (set.rows != 28 || set.cols != 28) {
        return Error{QFileInfo(imagesPath).fileName(),
                     QStringLiteral("images must be 28x28, %1 has %2x%3")
                         .arg(QFileInfo(imagesPath).fileName())
                         .arg(set.rows)
                         .arg(set.cols)};
    }
    const auto &images = imageBytes.value();
    set.pixels.assign(images.begin() + static_cast<std::ptrdiff_t>(imageHeader->headerBytes),
                      images.begin() + static_cast<std::ptrdiff_t>(imageHeader->headerBytes) +
                          static_cast<std::ptrdiff_t>(set.count) * set.rows * set.cols);
    return set;
}

Result<ImageSet> readIdxImageSet(const QString &imagesPath, const QString &labelsPath, int maxLabel)
{
    auto set = readIdxImages(imagesPath);
    if (!set) {
        return set.errors();
    }
    auto labelBytes = readAll(labelsPath);
    if (!labelBytes) {
        return labelBytes.errors();
    }
    auto labelHeader = parseHeader(labelsPath, labelBytes.value(), kLabelMagic, 1);
    if (!labelHeader) {
        return labelHeader.errors();
    }
    const auto count = static_cast<std::uint32_t>(set->count);
    if (labelHeader->dims[0] != count) {
        return Error{QFileInfo(labelsPath).fileName(),
                     QStringLiteral("holds %1 labels but %2 holds %3 images")
                         .arg(labelHeader->dims[0])
                         .arg(QFileInfo(imagesPath).fileName())
                         .arg(count)};
    }
    const auto &labels = labelBytes.value();
    set->labels.assign(labels.begin() + static_cast<std::ptrdiff_t>(labelHeader->headerBytes),
                       labels.begin() + static_cast<std::ptrdiff_t>(labelHeader->headerBytes) +
                           count);
    for (std::size_t i = 0; i < set->labels.size(); ++i) {
        if (set->labels[i] > maxLabel) {
            return Error{
                byteWhere(labelsPath, static_cast<qint64>(labelHeader->headerBytes + i)),
                QStringLiteral("label %1 is outside 0..%2").arg(set->labels[i]).arg(maxLabel)};
        }
    }
    return std::move(set.value());
}

QString defaultFashionMnistDir()
{
    const QString fromEnv = qEnvironmentVariable("FCL_FASHION_MNIST_DIR");
    return fromEnv.isEmpty() ? QStringLiteral("/usr/share/datasets/fashion-mnist") : fromEnv;
}

Result<FashionMnist> loadFashionMnist(const QString &dir)
{
    auto train = readIdxImageSet(pickExisting(dir, QStringLiteral("train-images-idx3-ubyte")),
                                 pickExisting(dir, QStringLiteral("train-labels-idx1-ubyte")));
    if (!train) {
        return train.errors();
    }
    auto test = readIdxImageSet(pickExisting(dir, QStringLiteral("t10k-images-idx3-ubyte")),
                                pickExisting(dir, QStringLiteral("t10k-labels-idx1-ubyte")));
    if (!test) {
        return test.errors();
    }
    if (train->rows != test->rows || train->cols != test->cols) {
        return Error{dir, QStringLiteral("train images are %1x%2 but test images are %3x%4")
                              .arg(train->rows)
                              .arg(train->cols)
                              .arg(test->rows)
                              .arg(test->cols)};
    }
    return FashionMnist{std::move(train).value(), std::move(test).value()};
}

} // namespace fcl
