// SPDX-License-Identifier: MIT
#pragma once

#include "core/common/error.h"

#include <QByteArray>
#include <QString>

namespace fcl {

/// Size caps on files a user points the program at (documented in the README). The environment
/// variables FCL_MAX_EXPERIMENT_BYTES and FCL_MAX_DATASET_BYTES override them.
constexpr qint64 kMaxExperimentBytes = 16LL << 20; ///< an experiment JSON: 16 MiB
constexpr qint64 kMaxDatasetBytes = 2LL << 30;     ///< a JSONL/CSV dataset or a PNG: 2 GiB

/// The cap in force: `envVariable` if set to a positive number of bytes, else `defaultCap`.
qint64 byteCap(const char *envVariable, qint64 defaultCap);

/// Reads a whole file, refusing one larger than `cap` bytes with an error naming the file, its
/// size and `envVariable`. Works on non-regular files too (a pipe, /dev/zero): it reads at most
/// cap + 1 bytes, never the whole stream.
Result<QByteArray> readFileCapped(const QString &path, qint64 cap, const char *envVariable);

} // namespace fcl
