// SPDX-License-Identifier: MIT
#pragma once

#include "core/common/cancellation.h"
#include "core/common/error.h"

#include <QString>

#include <cstdint>
#include <functional>

namespace fcl {

/// How `fcl pretrain` makes a tiny-vlm base. The corpus is none of the catalog's tasks: questions
/// about generic image statistics of Fashion-MNIST training images (which half is brighter,
/// which row or column of patches holds the most ink, how much of the picture is covered, is the
/// centre bright) and text transforms (repeat twice, first or last letter, lower-casing,
/// doubling letters, dropping the first letter, spelling a word back). Training is full,
/// single-threaded and seeded, so the same options give the same bytes.
struct PretrainOptions {
    QString outputDir;
    QString fashionMnistDir; ///< empty: the Debian package's
    std::uint64_t seed = 1;
    int steps = 1500;
    int batchSize = 64;
    double learningRate = 1e-3;
    int width = 128;
    int layers = 4;
    int heads = 4;
    int maxText = 96;
};

struct PretrainReport {
    double firstLoss = 0;
    double lastLoss = 0;     ///< mean over the last 50 steps
    double heldOutExact = 0; ///< exact-match accuracy on 512 held-out corpus samples
    QString weightsSha256;
};

/// Trains and writes a base (model.safetensors, config.json, manifest.json) to
/// options.outputDir. `progress(step, loss)` is called every 50 steps.
Result<PretrainReport> pretrainBase(const PretrainOptions &options,
                                    const std::function<void(int, double)> &progress,
                                    const CancellationToken &cancel);

} // namespace fcl
