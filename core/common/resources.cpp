// SPDX-License-Identifier: MIT
#include "core/common/resources.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>

namespace fcl {

QString resourceDir(const char *override, const QString &relative, const QString &probe)
{
    const QString fromEnv = qEnvironmentVariable(override);
    if (!fromEnv.isEmpty()) {
        return fromEnv;
    }
    if (QCoreApplication::instance() != nullptr) {
        const QString installed = QCoreApplication::applicationDirPath() +
                                  QStringLiteral("/../share/fcl-workbench/") + relative;
        if (QFileInfo::exists(installed + QLatin1Char('/') + probe)) {
            return QDir::cleanPath(installed);
        }
    }
    return QStringLiteral(FCL_RESOURCE_DIR "/") + relative;
}

} // namespace fcl
