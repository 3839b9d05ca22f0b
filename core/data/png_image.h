// SPDX-License-Identifier: MIT
#pragma once

#include "core/common/error.h"

#include <QByteArray>
#include <QString>

#include <cstdint>
#include <vector>

namespace fcl {

/// A decoded grayscale image, row-major, one byte per pixel.
struct GrayImage {
    int width = 0;
    int height = 0;
    std::vector<std::uint8_t> pixels;
};

/// Decodes a PNG (the engine has no QtGui): 8- or 16-bit grayscale, gray+alpha, RGB and RGBA,
/// 1/2/4-bit grayscale, palette images; not interlaced. Colour becomes gray with the Rec. 601
/// weights; alpha is composited over black (Fashion-MNIST's background). Errors name `what` (the
/// file) and what is wrong: not a PNG, truncated, a bad chunk CRC, an unsupported kind.
Result<GrayImage> decodePng(const QByteArray &bytes, const QString &what);
/// Reads and decodes a PNG file.
Result<GrayImage> readPng(const QString &path);
/// Reads a PNG that must be 28x28 (the size every backbone sees): "images must be 28x28, FILE has
/// WxH" otherwise.
Result<std::vector<std::uint8_t>> readPng28(const QString &path);

/// Encodes 8-bit grayscale pixels as a PNG (filter None, zlib-compressed); for tests and exports.
QByteArray encodePng(const GrayImage &image);

} // namespace fcl
