// SPDX-License-Identifier: MIT
#include "core/model/base_location.h"

#include "core/common/resources.h"

namespace fcl {

QString builtinBaseDir()
{
    return resourceDir("FCL_BASE_DIR", QStringLiteral("base/tiny-vlm"),
                       QStringLiteral("manifest.json"));
}

QString baseDirFor(const QString &base)
{
    return base == QLatin1String("builtin") ? builtinBaseDir() : base;
}

} // namespace fcl
