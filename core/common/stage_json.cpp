// SPDX-License-Identifier: MIT
#include "core/common/stage_json.h"

#include <QJsonArray>
#include <QJsonObject>

namespace fcl {

namespace {

QStringList groupOf(const QJsonValue &unit)
{
    if (!unit.isArray()) {
        return {unit.toString()};
    }
    QStringList group;
    for (const QJsonValue &task : unit.toArray()) {
        group << task.toString();
    }
    return group;
}

} // namespace

QString StageJson::unitLabel(std::size_t i) const
{
    return units[i].join(QStringLiteral(" + "));
}

StageJson readStageJson(const QJsonValue &stage)
{
    StageJson form;
    if (stage.isString()) {
        form.tasks << stage.toString();
        return form;
    }
    const QJsonObject object = stage.toObject();
    if (object.size() == 1 && object.value(QStringLiteral("mix")).isArray()) {
        form.kind = StageJson::Kind::Mixed;
        form.units.push_back(groupOf(object.value(QStringLiteral("mix"))));
    } else if (object.size() == 1 && object.value(QStringLiteral("positional")).isArray()) {
        form.kind = StageJson::Kind::Positional;
        for (const QJsonValue &unit : object.value(QStringLiteral("positional")).toArray()) {
            form.units.push_back(groupOf(unit));
        }
    } else {
        for (auto it = object.begin(); it != object.end(); ++it) {
            form.tasks << it.value().toString();
        }
        return form;
    }
    for (const QStringList &group : form.units) {
        form.tasks << group;
    }
    return form;
}

} // namespace fcl
