// SPDX-License-Identifier: MIT
#pragma once

#include <QString>

#include <vector>

namespace fcl {

/// The tiny-vlm's tokenizer: one token per character. Four special tokens come first (padding,
/// end of answer, unknown character, end of prompt), then the alphabet in order. The default
/// alphabet is printable ASCII (space to '~'), 95 characters, so 99 tokens in all. Every other
/// character (accents, emoji, control characters, tabs, newlines) encodes as the unknown token and
/// decodes as U+FFFD: never an error. A tokenizer is saved with the model it belongs to (its
/// alphabet is part of the model's config). Plain value type; any thread.
class CharTokenizer {
public:
    static constexpr int kPad = 0;
    static constexpr int kEnd = 1;
    static constexpr int kUnknown = 2;
    static constexpr int kSeparator = 3;
    static constexpr int kSpecialCount = 4;

    CharTokenizer();
    /// An alphabet of distinct characters (duplicates are dropped, first one wins).
    explicit CharTokenizer(const QString &alphabet);

    static QString defaultAlphabet();

    int vocabularySize() const { return kSpecialCount + static_cast<int>(m_alphabet.size()); }
    const QString &alphabet() const { return m_alphabet; }

    std::vector<int> encode(const QString &text) const;
    /// Characters of the tokens up to the first end token; padding and separators are skipped,
    /// unknown tokens become U+FFFD.
    QString decode(const std::vector<int> &tokens) const;

private:
    QString m_alphabet;
    std::vector<int> m_ascii; ///< token of each code point below 128, or kUnknown
};

} // namespace fcl
