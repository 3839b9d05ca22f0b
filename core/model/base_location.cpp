// SPDX-License-Identifier: MIT
#include "core/model/base_location.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>

namespace fcl {

QString builtinBaseDir()
{
    const QString fromEnv = qEnvironmentVariable("FCL_BASE_DIR");
    if (!fromEnv.isEmpty()) {
        return fromEnv;
    }
    if (QCoreApplication::instance() != nullptr) {
        const QString installed = QCoreApplication::applicationDirPath() +
                                  QStringLiteral("/../share/fcl-workbench/base/tiny-vlm");
        if (QFileInfo::exists(installed + QLatin1Char('/') + QStringLiteral("manifest.json"))) {
            return QDir::cleanPath(installed);
        }
    }
    return QStringLiteral(FCL_RESOURCE_DIR "/base/tiny-vlm");
}

QString baseDirFor(const QString &base)
{
    return base == QLatin1String("builtin") ? builtinBaseDir() : base;
}

} // namespace fcl
