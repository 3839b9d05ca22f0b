// SPDX-License-Identifier: MIT
#include "core/model/tokenizer.h"

namespace fcl {

CharTokenizer::CharTokenizer() : CharTokenizer(defaultAlphabet())
{
}

CharTokenizer::CharTokenizer(const QString &alphabet) : m_ascii(128, kUnknown)
{
    for (const QChar c : alphabet) {
        if (!m_alphabet.contains(c)) {
            m_alphabet.append(c);
        }
    }
    for (int i = 0; i < m_alphabet.size(); ++i) {
        const char16_t code = m_alphabet.at(i).unicode();
        if (code < 128) {
            m_ascii[code] = kSpecialCount + i;
        }
    }
}

QString CharTokenizer::defaultAlphabet()
{
    QString alphabet;
    for (char c = ' '; c <= '~'; ++c) {
        alphabet.append(QLatin1Char(c));
    }
    return alphabet;
}

std::vector<int> CharTokenizer::encode(const QString &text) const
{
    std::vector<int> tokens;
    tokens.reserve(static_cast<std::size_t>(text.size()));
    for (const QChar c : text) {
        const char16_t code = c.unicode();
        if (code < 128) {
            tokens.push_back(m_ascii[code]);
        } else {
            const auto at = m_alphabet.indexOf(c);
            tokens.push_back(at < 0 ? kUnknown : kSpecialCount + static_cast<int>(at));
        }
    }
    return tokens;
}

QString CharTokenizer::decode(const std::vector<int> &tokens) const
{
    QString text;
    for (int token : tokens) {
        if (token == kEnd) {
            break;
        }
        if (token >= kSpecialCount && token < vocabularySize()) {
            text.append(m_alphabet.at(token - kSpecialCount));
        } else if (token == kUnknown) {
            text.append(QChar(0xFFFD));
        }
    }
    return text;
}

} // namespace fcl
