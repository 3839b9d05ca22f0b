// SPDX-License-Identifier: MIT
#include "ui/models/experiment_document.h"

#include "core/common/stage_json.h"
#include "core/sim/fcit_scenario.h"
#include "core/sim/registry.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSaveFile>
#include <QSet>

#include <functional>

namespace fcl::ui {

/// One undo step: the whole document before and after (experiments are a few kB).
class SnapshotCommand : public QUndoCommand {
public:
    SnapshotCommand(ExperimentDocument *document, QJsonObject before, QJsonObject after,
                    const QString &text)
        : QUndoCommand(text), m_document(document), m_before(std::move(before)),
          m_after(std::move(after))
    {
    }
    void redo() override { m_document->setJson(m_after); }
    void undo() override { m_document->setJson(m_before); }

private:
    ExperimentDocument *m_document;
    QJsonObject m_before;
    QJsonObject m_after;
};

namespace {

QJsonArray normalizedStages(const QJsonObject &json)
{
    QStringList names;
    for (const QJsonValue &client : json.value(QStringLiteral("clients")).toArray()) {
        names << client.toObject().value(QStringLiteral("name")).toString();
    }
    QJsonArray stages;
    for (const QJsonValue &stage : json.value(QStringLiteral("stages")).toArray()) {
        if (stage.isString()) {
            QJsonObject row;
            for (const QString &name : names) {
                row.insert(name, stage.toString());
            }
            stages.append(row);
        } else {
            stages.append(stage);
        }
    }
    return stages;
}

/// Applies `edit` to every stage row ({client: task}) of `document`.
void editStageRows(QJsonObject &document, const std::function<void(QJsonObject &row)> &edit)
{
    QJsonArray stages = document.value(QStringLiteral("stages")).toArray();
    for (int s = 0; s < stages.size(); ++s) {
        QJsonObject row = stages.at(s).toObject();
        edit(row);
        stages[s] = row;
    }
    document.insert(QStringLiteral("stages"), stages);
}

/// The new client `copy` gets the tasks `original` has, stage by stage.
void copyClientTasks(QJsonObject &document, const QString &original, const QString &copy)
{
    editStageRows(document, [&](QJsonObject &row) {
        if (row.contains(original)) {
            row.insert(copy, row.value(original));
        }
    });
}

QString uniqueName(const QStringList &taken, const QString &stem)
{
    for (int k = 1;; ++k) {
        const QString candidate = QStringLiteral("%1-%2").arg(stem).arg(k);
        if (!taken.contains(candidate)) {
            return candidate;
        }
    }
}

} // namespace

ExperimentDocument::ExperimentDocument(QObject *parent) : QObject(parent)
{
    connect(&m_undo, &QUndoStack::cleanChanged, this, &ExperimentDocument::changed);
}

void ExperimentDocument::setJson(const QJsonObject &json)
{
    m_json = json;
    Q_EMIT changed();
}

void ExperimentDocument::load(const QJsonObject &json, const QString &path)
{
    // An "fcit" scenario block is a generator: the designer edits what it generates. A block
    // with errors is kept as it is, so that validation names them.
    const auto seed = static_cast<std::uint64_t>(json.value(QStringLiteral("seed")).toDouble(1));
    auto expanded = expandFcitScenario(json, seed);
    QJsonObject normalized = expanded ? expanded.value() : json;
    if (normalized.contains(QStringLiteral("stages"))) {
        normalized.insert(QStringLiteral("stages"), normalizedStages(normalized));
    }
    m_path = path;
    m_undo.clear();
    setJson(normalized);
}

void ExperimentDocument::applyGenerated(const QJsonObject &after, const QString &description)
{
    QJsonObject normalized = after;
    normalized.insert(QStringLiteral("stages"), normalizedStages(after));
    apply(normalized, description);
}

bool ExperimentDocument::loadFile(const QString &path, QString *error)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("%1: %2").arg(path, file.errorString());
        return false;
    }
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(file.readAll(), &parseError);
    if (parseError.error != QJsonParseError::NoError || !document.isObject()) {
        *error = QStringLiteral("%1: not a JSON object (%2 at byte %3)")
                     .arg(path, parseError.errorString())
                     .arg(parseError.offset);
        return false;
    }
    load(document.object(), path);
    return true;
}

bool ExperimentDocument::saveFile(const QString &path, QString *error)
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) {
        *error = QStringLiteral("%1: %2").arg(path, file.errorString());
        return false;
    }
    file.write(QJsonDocument(m_json).toJson(QJsonDocument::Indented));
    if (!file.commit()) {
        *error = QStringLiteral("%1: %2").arg(path, file.errorString());
        return false;
    }
    m_path = path;
    m_undo.setClean();
    return true;
}

void ExperimentDocument::apply(const QJsonObject &after, const QString &description)
{
    if (after == m_json) {
        return;
    }
    m_undo.push(new SnapshotCommand(this, m_json, after, description));
}

void ExperimentDocument::setTopLevel(const QString &key, const QJsonValue &value)
{
    QJsonObject after = m_json;
    after.insert(key, value);
    apply(after, QStringLiteral("Set %1").arg(key));
}

void ExperimentDocument::setSectionValue(const QString &section, const QString &key,
                                         const QJsonValue &value)
{
    QJsonObject after = m_json;
    QJsonObject object = after.value(section).toObject();
    object.insert(key, value);
    after.insert(section, object);
    apply(after, QStringLiteral("Set %1.%2").arg(section, key));
}

void ExperimentDocument::setSectionMethod(const QString &section, const QString &method)
{
    const SectionDescriptor *descriptor = findSection(section);
    const MethodDescriptor *chosen = findMethod(section, method);
    if (descriptor == nullptr || chosen == nullptr) {
        return;
    }
    QSet<QString> keep;
    for (const ParamDescriptor &p : descriptor->commonParams) {
        keep.insert(p.name);
    }
    for (const ParamDescriptor &p : chosen->params) {
        keep.insert(p.name);
    }
    const QJsonObject before = m_json.value(section).toObject();
    QJsonObject object;
    for (auto it = before.begin(); it != before.end(); ++it) {
        if (keep.contains(it.key())) {
            object.insert(it.key(), it.value());
        }
    }
    object.insert(descriptor->selectorKey, method);
    QJsonObject after = m_json;
    after.insert(section, object);
    apply(after, QStringLiteral("Use %1").arg(chosen->title));
}

QStringList ExperimentDocument::clientNames() const
{
    QStringList names;
    for (const QJsonValue &client : m_json.value(QStringLiteral("clients")).toArray()) {
        names << client.toObject().value(QStringLiteral("name")).toString();
    }
    return names;
}

void ExperimentDocument::setClientValue(int client, const QString &key, const QJsonValue &value)
{
    QJsonObject after = m_json;
    QJsonArray clients = after.value(QStringLiteral("clients")).toArray();
    if (client < 0 || client >= clients.size()) {
        return;
    }
    QJsonObject object = clients.at(client).toObject();
    const QString oldName = object.value(QStringLiteral("name")).toString();
    if (value.isNull() || value.isUndefined()) {
        object.remove(key);
    } else {
        object.insert(key, value);
    }
    clients[client] = object;
    after.insert(QStringLiteral("clients"), clients);
    if (key == QLatin1String("name")) {
        // Keep the timeline attached to the renamed client.
        editStageRows(after, [&](QJsonObject &row) {
            if (row.contains(oldName)) {
                const QJsonValue task = row.take(oldName);
                row.insert(value.toString(), task);
            }
        });
    }
    apply(after, QStringLiteral("Edit client %1").arg(oldName));
}

void ExperimentDocument::addClient()
{
    QJsonObject after = m_json;
    QJsonArray clients = after.value(QStringLiteral("clients")).toArray();
    const QString name = uniqueName(clientNames(), QStringLiteral("client"));
    clients.append(
        QJsonObject{{QStringLiteral("name"), name}, {QStringLiteral("samples_per_task"), 500}});
    after.insert(QStringLiteral("clients"), clients);
    // The new client follows the first client's tasks, so the experiment stays valid.
    const QStringList names = clientNames();
    if (!names.isEmpty()) {
        copyClientTasks(after, names.first(), name);
    }
    apply(after, QStringLiteral("Add client %1").arg(name));
}

void ExperimentDocument::duplicateClient(int client)
{
    QJsonObject after = m_json;
    QJsonArray clients = after.value(QStringLiteral("clients")).toArray();
    if (client < 0 || client >= clients.size()) {
        return;
    }
    QJsonObject copy = clients.at(client).toObject();
    const QString original = copy.value(QStringLiteral("name")).toString();
    const QString name = uniqueName(clientNames(), original);
    copy.insert(QStringLiteral("name"), name);
    clients.insert(client + 1, copy);
    after.insert(QStringLiteral("clients"), clients);
    copyClientTasks(after, original, name);
    apply(after, QStringLiteral("Duplicate client %1").arg(original));
}

void ExperimentDocument::removeClient(int client)
{
    QJsonObject after = m_json;
    QJsonArray clients = after.value(QStringLiteral("clients")).toArray();
    if (client < 0 || client >= clients.size()) {
        return;
    }
    const QString name = clients.at(client).toObject().value(QStringLiteral("name")).toString();
    clients.removeAt(client);
    after.insert(QStringLiteral("clients"), clients);
    editStageRows(after, [&](QJsonObject &row) {
        row.remove(name);
    });
    apply(after, QStringLiteral("Remove client %1").arg(name));
}

int ExperimentDocument::stageCount() const
{
    return static_cast<int>(m_json.value(QStringLiteral("stages")).toArray().size());
}

namespace {

/// The form of a `{"mix": group}` or `{"positional": [...]}` stage; empty units otherwise.
StageForm formOf(const QJsonValue &stage)
{
    const StageJson json = readStageJson(stage);
    StageForm form;
    form.positional = json.kind == StageJson::Kind::Positional;
    for (std::size_t u = 0; u < json.units.size(); ++u) {
        form.units << json.unitLabel(u);
    }
    return form;
}

} // namespace

Timeline ExperimentDocument::timeline() const
{
    const QStringList names = clientNames();
    Timeline timeline;
    for (const QJsonValue &stage : m_json.value(QStringLiteral("stages")).toArray()) {
        const StageForm form = formOf(stage);
        std::vector<QString> row;
        for (int c = 0; c < names.size(); ++c) {
            // A mixed or positional stage shows client c on the first task of unit c mod n, as
            // the engine's static view.
            row.push_back(form.units.isEmpty()
                              ? stage.toObject().value(names[c]).toString()
                              : form.units[c % form.units.size()].section(QLatin1Char(' '), 0, 0));
        }
        timeline.push_back(row);
    }
    return timeline;
}

std::vector<StageForm> ExperimentDocument::stageForms() const
{
    std::vector<StageForm> result;
    for (const QJsonValue &stage : m_json.value(QStringLiteral("stages")).toArray()) {
        result.push_back(formOf(stage));
    }
    return result;
}

void ExperimentDocument::setTimeline(const Timeline &timeline, const QString &description)
{
    const QStringList names = clientNames();
    const Timeline before = this->timeline();
    const QJsonArray beforeStages = m_json.value(QStringLiteral("stages")).toArray();
    QJsonArray stages;
    for (std::size_t s = 0; s < timeline.size(); ++s) {
        const auto &row = timeline[s];
        // A mixed or positional stage whose static view is unchanged keeps its form; an edited
        // one becomes a per-client stage.
        if (s < before.size() && before[s] == row &&
            !formOf(beforeStages.at(static_cast<int>(s))).units.isEmpty()) {
            stages.append(beforeStages.at(static_cast<int>(s)));
            continue;
        }
        QJsonObject object;
        for (int c = 0; c < names.size() && c < static_cast<int>(row.size()); ++c) {
            if (!row[static_cast<std::size_t>(c)].isEmpty()) {
                object.insert(names[c], row[static_cast<std::size_t>(c)]);
            }
        }
        stages.append(object);
    }
    QJsonObject after = m_json;
    after.insert(QStringLiteral("stages"), stages);
    apply(after, description);
}

void ExperimentDocument::setCell(int stage, int client, const QString &task)
{
    Timeline grid = timeline();
    if (stage < 0 || stage >= static_cast<int>(grid.size()) || client < 0 ||
        client >= clientNames().size()) {
        return;
    }
    grid[static_cast<std::size_t>(stage)][static_cast<std::size_t>(client)] = task;
    setTimeline(grid, task.isEmpty() ? QStringLiteral("Clear cell")
                                     : QStringLiteral("Set task %1").arg(task));
}

void ExperimentDocument::addStage()
{
    Timeline grid = timeline();
    grid.push_back(
        std::vector<QString>(static_cast<std::size_t>(clientNames().size()),
                             QStringLiteral("fmnist-split-%1").arg(grid.size() % 5 + 1)));
    setTimeline(grid, QStringLiteral("Add stage"));
}

void ExperimentDocument::removeStage(int stage)
{
    // The stage objects themselves move: mixed and positional stages keep their form.
    QJsonArray stages = m_json.value(QStringLiteral("stages")).toArray();
    if (stage < 0 || stage >= stages.size() || stages.size() <= 1) {
        return;
    }
    stages.removeAt(stage);
    QJsonObject after = m_json;
    after.insert(QStringLiteral("stages"), stages);
    apply(after, QStringLiteral("Remove stage %1").arg(stage + 1));
}

Result<Experiment> ExperimentDocument::validate() const
{
    // Relative dataset paths are relative to the experiment file, as for `fcl run`.
    auto parsed = parseExperiment(QJsonDocument(m_json).toJson(),
                                  m_path.isEmpty() ? QString() : QFileInfo(m_path).absolutePath());
    if (!parsed) {
        return parsed;
    }
    std::vector<Error> partitionErrors = checkPartitions(parsed.value());
    if (!partitionErrors.empty()) {
        return partitionErrors;
    }
    return parsed;
}

} // namespace fcl::ui
