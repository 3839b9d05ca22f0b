// SPDX-License-Identifier: MIT
#include "core/common/error.h"

namespace fcl {

QString Error::toString() const
{
    return where.isEmpty() ? message : where + QStringLiteral(": ") + message;
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
