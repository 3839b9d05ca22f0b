// SPDX-License-Identifier: MIT
#include "core/common/format.h"

namespace fcl {

QString formatBytes(double bytes)
{
    if (bytes >= 1e9) {
        return QString::number(bytes / 1e9, 'f', 2) + QStringLiteral(" GB");
    }
    if (bytes >= 1e6) {
        return QString::number(bytes / 1e6, 'f', 1) + QStringLiteral(" MB");
    }
    if (bytes >= 1e3) {
        return QString::number(bytes / 1e3, 'f', 1) + QStringLiteral(" kB");
    }
    return QString::number(bytes, 'f', 0) + QStringLiteral(" B");
}

} // namespace fcl
