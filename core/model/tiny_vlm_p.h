// SPDX-License-Identifier: MIT
// Private (torch) header: the tiny vision-language model.
#pragma once

#include "core/common/error.h"
#include "core/model/model_p.h"

#include <QJsonObject>

namespace fcl::detail {

/// The sizes of a tiny-vlm; saved as the model's config.json next to its weights.
struct TinyVlmConfig {
    int width = 128;
    int layers = 4;
    int heads = 4;
    int mlpRatio = 4;
    int imageSide = 28;
    int patchSide = 7; ///< (imageSide / patchSide)^2 image tokens per image
    int maxText = 96;  ///< text positions (instruction + separator + answer)
    QString alphabet;  ///< the tokenizer's alphabet (empty: CharTokenizer's default)

    int patches() const { return (imageSide / patchSide) * (imageSide / patchSide); }
    QJsonObject toJson() const;
    /// Reads a config.json object; errors name the field.
    static Result<TinyVlmConfig> fromJson(const QJsonObject &json);
    /// The model section's sizes (width, layers, heads, max_text).
    static TinyVlmConfig fromParams(const QVariantMap &params);
    bool sameShape(const TinyVlmConfig &other) const;
};

/// Builds a randomly initialised tiny-vlm (full tuning, every parameter trainable).
std::shared_ptr<Network> makeTinyVlm(const TinyVlmConfig &config);
/// Applies PEFT to a tiny-vlm built by makeTinyVlm (LoRA or adapters; the rest frozen).
void applyTinyVlmPeft(Network &network, const PeftConfig &peft);

} // namespace fcl::detail
