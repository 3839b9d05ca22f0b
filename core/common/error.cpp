// SPDX-License-Identifier: MIT
#include "core/common/error.h"

namespace fcl {

QString escapeControlCharacters(const QString &text, bool keepLineBreaks)
{
    QString result;
    result.reserve(text.size());
    for (const QChar c : text) {
        const bool control =
            c.category() == QChar::Other_Control || c.category() == QChar::Other_Format;
        if (control && !(keepLineBreaks && (c == QLatin1Char('\n') || c == QLatin1Char('\t')))) {
            result += QStringLiteral("\\u%1").arg(c.unicode(), 4, 16, QLatin1Char('0'));
        } else {
            result += c;
        }
    }
    return result;
}

QString Error::toString() const
{
    // One line whatever the input held (a field name with a line break, a terminal escape).
    return escapeControlCharacters(where.isEmpty() ? message
                                                   : where + QStringLiteral(": ") + message);
}

QString joinErrors(const std::vector<Error> &errors)
{
    QStringList lines;
    for (const Error &error : errors) {
        lines << error.toString();
    }
    return lines.join(QLatin1Char('\n'));
}

} // namespace fcl
