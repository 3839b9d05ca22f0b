// SPDX-License-Identifier: MIT
#include "core/common/version.h"

namespace fcl {

QString versionString()
{
    return QStringLiteral(FCL_VERSION);
}

} // namespace fcl
