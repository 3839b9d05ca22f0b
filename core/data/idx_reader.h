// SPDX-License-Identifier: MIT
#pragma once

#include "core/common/error.h"

#include <QString>

#include <cstdint>
#include <vector>

namespace fcl {

/// A labelled set of 8-bit grey images, row-major, as stored in IDX files. Loaded once and shared
/// read-only by every client (clients hold indices into it, never copies).
struct ImageSet {
    int count = 0;
    int rows = 0;
    int cols = 0;
    std::vector<std::uint8_t> pixels; // count * rows * cols
    std::vector<std::uint8_t> labels; // count

    int pixelsPerImage() const { return rows * cols; }
};

/// Fashion-MNIST train and test splits.
struct FashionMnist {
    ImageSet train;
    ImageSet test;
};

/// Reads an IDX image file (magic 0x00000803) and its label file (0x00000801), gzip-compressed or
/// plain (zlib reads both). Errors name the file and the byte offset: a truncated or corrupt file
/// is an Error, never a crash. Thread-safe (no shared state).
Result<ImageSet> readIdxImageSet(const QString &imagesPath, const QString &labelsPath,
                                 int maxLabel = 9);
/// Reads an IDX image file alone (no labels). Images must be 28x28 ("images must be 28x28, FILE
/// has 14x14" otherwise), as for readIdxImageSet.
Result<ImageSet> readIdxImages(const QString &imagesPath);

/// The directory used when none is given: $FCL_FASHION_MNIST_DIR, else Debian's
/// /usr/share/datasets/fashion-mnist (package dataset-fashion-mnist).
QString defaultFashionMnistDir();

/// Loads both splits from `dir`, accepting `name` or `name.gz` for each of the four files.
Result<FashionMnist> loadFashionMnist(const QString &dir);

} // namespace fcl
