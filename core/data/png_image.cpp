// SPDX-License-Identifier: MIT
#include "core/data/png_image.h"
#include "core/common/file_read.h"

#include <QFile>
#include <QFileInfo>

#include <zlib.h>

#include <array>
#include <cstdlib>

namespace fcl {
namespace {

constexpr std::array<std::uint8_t, 8> kSignature{0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
constexpr int kMaxSide = 16384;

std::uint32_t bigEndian32(const char *p)
{
    const auto *u = reinterpret_cast<const std::uint8_t *>(p);
    return (std::uint32_t(u[0]) << 24) | (std::uint32_t(u[1]) << 16) | (std::uint32_t(u[2]) << 8) |
           std::uint32_t(u[3]);
}

void putBigEndian32(QByteArray &out, std::uint32_t value)
{
    out.append(static_cast<char>(value >> 24));
    out.append(static_cast<char>(value >> 16));
    out.append(static_cast<char>(value >> 8));
    out.append(static_cast<char>(value));
}

int paeth(int a, int b, int c)
{
    const int p = a + b - c;
    const int pa = std::abs(p - a);
    const int pb = std::abs(p - b);
    const int pc = std::abs(p - c);
    if (pa <= pb && pa <= pc) {
        return a;
    }
    return pb <= pc ? b : c;
}

std::uint8_t luma(int r, int g, int b)
{
    return static_cast<std::uint8_t>((299 * r + 587 * g + 114 * b + 500) / 1000);
}

} // namespace

Result<GrayImage> decodePng(const QByteArray &bytes, const QString &what)
{
    auto fail = [&](const QString &message) {
        return Error{what, message};
    };
    if (bytes.size() < 8 || std::memcmp(bytes.constData(), kSignature.data(), 8) != 0) {
        return fail(QStringLiteral("not a PNG file"));
    }
    qint64 at = 8;
    int width = 0;
    int height = 0;
    int depth = 0;
    int colour = -1;
    std::vector<std::array<std::uint8_t, 4>> palette;
    QByteArray compressed;
    bool ended = false;
    while (!ended) {
        if (at + 12 > bytes.size()) {
            return fail(QStringLiteral("byte %1: file truncated (no IEND chunk)").arg(at));
        }
        const std::uint32_t length = bigEndian32(bytes.constData() + at);
        const QByteArray type = bytes.mid(at + 4, 4);
        if (length > 0x7fffffffu || at + 12 + static_cast<qint64>(length) > bytes.size()) {
            return fail(
                QStringLiteral("byte %1: chunk %2 runs past the end of the file (truncated)")
                    .arg(at)
                    .arg(QString::fromLatin1(type)));
        }
        const char *data = bytes.constData() + at + 8;
        const std::uint32_t crc = bigEndian32(data + length);
        const auto computed = static_cast<std::uint32_t>(
            crc32(crc32(0L, reinterpret_cast<const Bytef *>(bytes.constData() + at + 4), 4),
                  reinterpret_cast<const Bytef *>(data), length));
        if (crc != computed) {
            return fail(QStringLiteral("byte %1: chunk %2 is corrupt (CRC mismatch)")
                            .arg(at)
                            .arg(QString::fromLatin1(type)));
        }
        if (type == "IHDR") {
            if (length != 13) {
                return fail(QStringLiteral("IHDR chunk has %1 bytes, expected 13").arg(length));
            }
            const std::uint32_t w = bigEndian32(data);
            const std::uint32_t h = bigEndian32(data + 4);
            if (w == 0 || h == 0 || w > kMaxSide || h > kMaxSide) {
                return fail(QStringLiteral("image size %1x%2 is out of range (1 to %3 per side)")
                                .arg(w)
                                .arg(h)
                                .arg(kMaxSide));
            }
            width = static_cast<int>(w);
            height = static_cast<int>(h);
            depth = static_cast<std::uint8_t>(data[8]);
            colour = static_cast<std::uint8_t>(data[9]);
            if (data[12] != 0) {
                return fail(QStringLiteral("interlaced PNGs are not supported; save it without "
                                           "interlacing"));
            }
            const bool depthOk =
                (colour == 0 &&
                 (depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16)) ||
                (colour == 3 && (depth == 1 || depth == 2 || depth == 4 || depth == 8)) ||
                ((colour == 2 || colour == 4 || colour == 6) && (depth == 8 || depth == 16));
            if (!depthOk) {
                return fail(QStringLiteral("colour type %1 with bit depth %2 is not a valid PNG")
                                .arg(colour)
                                .arg(depth));
            }
        } else if (type == "PLTE") {
            for (std::uint32_t i = 0; i + 2 < length; i += 3) {
                palette.push_back({static_cast<std::uint8_t>(data[i]),
                                   static_cast<std::uint8_t>(data[i + 1]),
                                   static_cast<std::uint8_t>(data[i + 2]), 255});
            }
        } else if (type == "tRNS" && colour == 3) {
            for (std::uint32_t i = 0; i < length && i < palette.size(); ++i) {
                palette[i][3] = static_cast<std::uint8_t>(data[i]);
            }
        } else if (type == "IDAT") {
            compressed.append(data, static_cast<int>(length));
        } else if (type == "IEND") {
            ended = true;
        }
        at += 12 + static_cast<qint64>(length);
    }
    if (width == 0 || colour < 0) {
        return fail(QStringLiteral("no IHDR chunk"));
    }
    if (colour == 3 && palette.empty()) {
        return fail(QStringLiteral("palette image without a PLTE chunk"));
    }
    const int channels = colour == 2 ? 3 : colour == 4 ? 2 : colour == 6 ? 4 : 1;
    const qint64 bitsPerPixel = static_cast<qint64>(channels) * depth;
    const qint64 stride = (width * bitsPerPixel + 7) / 8;
    const int bpp = static_cast<int>(std::max<qint64>(1, bitsPerPixel / 8));
    std::vector<std::uint8_t> raw(static_cast<std::size_t>((stride + 1) * height));
    {
        z_stream stream{};
        if (inflateInit(&stream) != Z_OK) {
            return fail(QStringLiteral("zlib could not start"));
        }
        stream.next_in = reinterpret_cast<Bytef *>(compressed.data());
        stream.avail_in = static_cast<uInt>(compressed.size());
        stream.next_out = raw.data();
        stream.avail_out = static_cast<uInt>(raw.size());
        const int code = inflate(&stream, Z_FINISH);
        const uLong produced = stream.total_out;
        inflateEnd(&stream);
        if (produced != raw.size() || (code != Z_STREAM_END && code != Z_BUF_ERROR)) {
            return fail(QStringLiteral("image data ends early or is corrupt (%1 of %2 bytes)")
                            .arg(produced)
                            .arg(raw.size()));
        }
    }
    // Undo the per-row filters in place.
    std::vector<std::uint8_t> previous(static_cast<std::size_t>(stride), 0);
    std::vector<std::uint8_t> rows(static_cast<std::size_t>(stride * height));
    for (int y = 0; y < height; ++y) {
        const std::uint8_t filter = raw[static_cast<std::size_t>(y * (stride + 1))];
        const std::uint8_t *in = raw.data() + y * (stride + 1) + 1;
        std::uint8_t *out = rows.data() + y * stride;
        if (filter > 4) {
            return fail(QStringLiteral("row %1 has an unknown filter type %2").arg(y).arg(filter));
        }
        for (qint64 x = 0; x < stride; ++x) {
            const int a = x >= bpp ? out[x - bpp] : 0;
            const int b = previous[static_cast<std::size_t>(x)];
            const int c = x >= bpp ? previous[static_cast<std::size_t>(x - bpp)] : 0;
            int predictor = 0;
            switch (filter) {
            case 1:
                predictor = a;
                break;
            case 2:
                predictor = b;
                break;
            case 3:
                predictor = (a + b) / 2;
                break;
            case 4:
                predictor = paeth(a, b, c);
                break;
            default:
                break;
            }
            out[x] = static_cast<std::uint8_t>(in[x] + predictor);
        }
        std::copy(out, out + stride, previous.begin());
    }
    GrayImage image;
    image.width = width;
    image.height = height;
    image.pixels.resize(static_cast<std::size_t>(width) * height);
    const int maxSmall = (1 << depth) - 1;
    for (int y = 0; y < height; ++y) {
        const std::uint8_t *row = rows.data() + y * stride;
        for (int x = 0; x < width; ++x) {
            std::uint8_t gray = 0;
            const int step = std::max(1, depth / 8);
            const std::uint8_t *px =
                depth < 8 ? row : row + static_cast<qint64>(x) * channels * step;
            // Palette index or small gray value (bit depths below 8 pack pixels into bytes).
            const int bit = x * depth;
            const int value =
                depth < 8 ? (row[bit / 8] >> (8 - depth - bit % 8)) & maxSmall : int(px[0]);
            if (colour == 3) {
                if (value >= static_cast<int>(palette.size())) {
                    return fail(QStringLiteral("pixel (%1, %2) uses palette entry %3 of %4")
                                    .arg(x)
                                    .arg(y)
                                    .arg(value)
                                    .arg(palette.size()));
                }
                const auto &p = palette[static_cast<std::size_t>(value)];
                gray = static_cast<std::uint8_t>(luma(p[0], p[1], p[2]) * p[3] / 255);
            } else if (depth < 8) {
                gray = static_cast<std::uint8_t>(value * 255 / maxSmall);
            } else {
                auto sample = [&](int channel) {
                    return int(px[channel * step]);
                }; // high byte
                switch (colour) {
                case 0:
                    gray = static_cast<std::uint8_t>(sample(0));
                    break;
                case 2:
                    gray = luma(sample(0), sample(1), sample(2));
                    break;
                case 4:
                    gray = static_cast<std::uint8_t>(sample(0) * sample(1) / 255);
                    break;
                case 6:
                    gray = static_cast<std::uint8_t>(luma(sample(0), sample(1), sample(2)) *
                                                     sample(3) / 255);
                    break;
                default:
                    break;
                }
            }
            image.pixels[static_cast<std::size_t>(y) * width + x] = gray;
        }
    }
    return image;
}

Result<GrayImage> readPng(const QString &path)
{
    auto bytes = readFileCapped(path, byteCap("FCL_MAX_DATASET_BYTES", kMaxDatasetBytes),
                                "FCL_MAX_DATASET_BYTES");
    if (!bytes) {
        return bytes.errors();
    }
    return decodePng(bytes.value(), path);
}

Result<std::vector<std::uint8_t>> readPng28(const QString &path)
{
    auto image = readPng(path);
    if (!image) {
        return image.errors();
    }
    if (image->width != 28 || image->height != 28) {
        return Error{path, QStringLiteral("images must be 28x28, %1 has %2x%3")
                               .arg(QFileInfo(path).fileName())
                               .arg(image->width)
                               .arg(image->height)};
    }
    return std::move(image->pixels);
}

QByteArray encodePng(const GrayImage &image)
{
    QByteArray out(reinterpret_cast<const char *>(kSignature.data()), 8);
    auto chunk = [&](const char *type, const QByteArray &data) {
        putBigEndian32(out, static_cast<std::uint32_t>(data.size()));
        const QByteArray typed = QByteArray(type, 4) + data;
        out.append(typed);
        putBigEndian32(out, static_cast<std::uint32_t>(
                                crc32(0L, reinterpret_cast<const Bytef *>(typed.constData()),
                                      static_cast<uInt>(typed.size()))));
    };
    QByteArray header;
    putBigEndian32(header, static_cast<std::uint32_t>(image.width));
    putBigEndian32(header, static_cast<std::uint32_t>(image.height));
    header.append(char(8)).append(char(0)).append(char(0)).append(char(0)).append(char(0));
    chunk("IHDR", header);
    QByteArray raw;
    for (int y = 0; y < image.height; ++y) {
        raw.append(char(0));
        raw.append(reinterpret_cast<const char *>(image.pixels.data()) +
                       static_cast<qint64>(y) * image.width,
                   image.width);
    }
    uLongf size = compressBound(static_cast<uLong>(raw.size()));
    QByteArray compressed(static_cast<int>(size), Qt::Uninitialized);
    compress2(reinterpret_cast<Bytef *>(compressed.data()), &size,
              reinterpret_cast<const Bytef *>(raw.constData()), static_cast<uLong>(raw.size()), 9);
    compressed.resize(static_cast<int>(size));
    chunk("IDAT", compressed);
    chunk("IEND", QByteArray());
    return out;
}

} // namespace fcl
