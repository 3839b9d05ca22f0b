// SPDX-License-Identifier: MIT
// Private (torch) header: a frozen, shipped base model on disk, in the Hugging Face layout:
//   model.safetensors  the weights (float32, names as the network's parameters)
//   config.json        the tiny-vlm config (sizes, alphabet)
//   manifest.json      {"format": "fcl-base-v1", "config": ..., "seed": ..., "sha256": {...},
//                       "recipe": ...}: how it was made and the SHA-256 of both files
#pragma once

#include "core/model/base_location.h"
#include "core/model/tiny_vlm_p.h"

namespace fcl::detail {

/// Reads and checks config.json against manifest.json (and the manifest's checksums). Every
/// mismatch is reported, naming the file and field.
Result<TinyVlmConfig> readBaseConfig(const QString &dir);

/// Loads the base weights into `network` (built from the same config): checks the manifest,
/// the SHA-256 of the weights, and that every base tensor is present with the right shape and
/// no foreign tensor is there. LoRA and adapter parameters are not part of a base.
Result<Unit> loadBase(Network &network, const QString &dir);

/// Writes a base (weights, config, manifest) into `dir` (created). `recipe` is stored in the
/// manifest as is (what pretraining did).
Result<Unit> saveBase(Network &network, const TinyVlmConfig &config, const QString &dir,
                      std::uint64_t seed, const QJsonObject &recipe);

/// SHA-256 (hex) of a file, or an empty string if it cannot be read.
QString fileSha256(const QString &path);

} // namespace fcl::detail
