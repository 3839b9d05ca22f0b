// SPDX-License-Identifier: MIT
#include "core/sim/presets.h"

#include "core/common/resources.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>

#include <algorithm>

namespace fcl {

QString presetsDir()
{
    return resourceDir("FCL_PRESETS_DIR", QStringLiteral("presets"),
                       QStringLiteral("default.json"));
}

QString lookForLine(const QString &description)
{
    const QString text = description.simplified();
    const int at = text.indexOf(QStringLiteral("Look for"));
    if (at < 0) {
        const int end = text.indexOf(QRegularExpression(QStringLiteral("[.!?](\\s|$)")));
        return end < 0 ? text : text.left(end + 1);
    }
    QString line = text.mid(at);
    // "Look for (measured, seed as shipped): the ..." -> "Look for: the ..."
    line.replace(QRegularExpression(QStringLiteral("^Look for \\([^)]*\\)")),
                 QStringLiteral("Look for"));
    const int end = line.indexOf(QRegularExpression(QStringLiteral("[.!?](\\s|$)")));
    return end < 0 ? line : line.left(end + 1);
}

std::vector<PresetInfo> listPresets(const QString &dir)
{
    std::vector<PresetInfo> presets;
    const QFileInfoList files =
        QDir(dir).entryInfoList({QStringLiteral("*.json")}, QDir::Files, QDir::Name);
    for (const QFileInfo &file : files) {
        QFile in(file.absoluteFilePath());
        if (!in.open(QIODevice::ReadOnly)) {
            continue;
        }
        const QJsonDocument json = QJsonDocument::fromJson(in.readAll());
        if (!json.isObject()) {
            continue;
        }
        PresetInfo info;
        info.path = file.absoluteFilePath();
        info.id = file.completeBaseName();
        info.name = json.object().value(QStringLiteral("name")).toString(info.id);
        info.description = json.object().value(QStringLiteral("description")).toString();
        info.lookFor = lookForLine(info.description);
        presets.push_back(info);
    }
    std::stable_sort(presets.begin(), presets.end(), [](const PresetInfo &a, const PresetInfo &b) {
        return (a.id == QLatin1String("default")) > (b.id == QLatin1String("default"));
    });
    return presets;
}

} // namespace fcl
