// SPDX-License-Identifier: MIT
// Private (torch) header: the safetensors format (Hugging Face): an 8-byte little-endian header
// length, a JSON header naming each tensor's dtype, shape and byte range, then the raw
// little-endian data. Weights trained in PyTorch and saved with safetensors.torch.save_file (F32,
// names as in config.json's model) load here unchanged.
#pragma once

#include "core/common/error.h"
#include "core/model/parameters_p.h"

#include <QByteArray>
#include <QString>

#include <map>

namespace fcl::detail {

/// Serialises float32 tensors (in the given order) with optional string metadata.
QByteArray encodeSafetensors(const TensorList &tensors,
                             const std::map<QString, QString> &metadata = {});
/// Parses a safetensors image. Errors name `source` and the tensor or header field at fault
/// (truncated data, foreign bytes, unsupported dtype, overlapping ranges).
Result<TensorList> decodeSafetensors(const QByteArray &bytes, const QString &source);

Result<Unit> writeSafetensorsFile(const QString &path, const TensorList &tensors,
                                  const std::map<QString, QString> &metadata = {});
Result<TensorList> readSafetensorsFile(const QString &path);

} // namespace fcl::detail
