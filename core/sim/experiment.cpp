// SPDX-License-Identifier: MIT
#include "core/sim/experiment.h"

#include "core/common/file_read.h"

#include "core/data/task_catalog.h"
#include "core/model/base_location.h"
#include "core/sim/fcit_scenario.h"
#include "core/sim/registry.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSet>

#include <cmath>
#include <regex>

namespace fcl {
namespace {

QString jsonTypeName(const QJsonValue &value)
{
    switch (value.type()) {
    case QJsonValue::Null:
        return QStringLiteral("null");
    case QJsonValue::Bool:
        return QStringLiteral("a boolean");
    case QJsonValue::Double:
        return QStringLiteral("a number");
    case QJsonValue::String:
        return QStringLiteral("a string");
    case QJsonValue::Array:
        return QStringLiteral("an array");
    case QJsonValue::Object:
        return QStringLiteral("an object");
    case QJsonValue::Undefined:
        break;
    }
    return QStringLiteral("undefined");
}

/// Checks one value against its descriptor; on success stores it in `out`.
void readParam(const ParamDescriptor &param, const QJsonValue &value, const QString &where,
               QVariantMap &out, std::vector<Error> &errors)
{
    using Type = ParamDescriptor::Type;
    switch (param.type) {
    case Type::Int:
    case Type::Double: {
        if (!value.isDouble()) {
            errors.push_back(
                {where, QStringLiteral("expected a number, got %1").arg(jsonTypeName(value))});
            return;
        }
        const double number = value.toDouble();
        if (param.type == Type::Int && number != std::floor(number)) {
            errors.push_back(
                {where, QStringLiteral("expected a whole number, got %1").arg(number)});
            return;
        }
        const bool belowMin = param.minExclusive ? number <= param.minimum : number < param.minimum;
        if (belowMin || number > param.maximum) {
            errors.push_back(
                {where,
                 QStringLiteral("%1 is out of range %2").arg(number).arg(param.rangeText())});
            return;
        }
        out.insert(param.name,
                   param.type == Type::Int ? QVariant(static_cast<int>(number)) : QVariant(number));
        return;
    }
    case Type::Choice:
        if (!value.isString()) {
            errors.push_back(
                {where, QStringLiteral("expected a string, got %1").arg(jsonTypeName(value))});
        } else if (!param.choices.contains(value.toString())) {
            errors.push_back(
                {where,
                 QStringLiteral("\"%1\" is not %2").arg(value.toString(), param.rangeText())});
        } else {
            out.insert(param.name, value.toString());
        }
        return;
    case Type::Bool:
        if (!value.isBool()) {
            errors.push_back(
                {where, QStringLiteral("expected true or false, got %1").arg(jsonTypeName(value))});
        } else {
            out.insert(param.name, value.toBool());
        }
        return;
    case Type::Text:
        if (!value.isString()) {
            errors.push_back(
                {where, QStringLiteral("expected a string, got %1").arg(jsonTypeName(value))});
        } else {
            out.insert(param.name, value.toString());
        }
        return;
    }
}

/// Reads an object of known parameters: defaults for absent ones, errors for unknown keys.
QVariantMap readParams(const QJsonObject &object, const std::vector<ParamDescriptor> &params,
                       const QString &path, const QSet<QString> &alsoAllowed,
                       std::vector<Error> &errors)
{
    QVariantMap out;
    for (const ParamDescriptor &param : params) {
        if (!param.optional) {
            out.insert(param.name, param.defaultValue);
        }
    }
    for (auto it = object.begin(); it != object.end(); ++it) {
        if (alsoAllowed.contains(it.key())) {
            continue;
        }
        const QString where = path + QLatin1Char('.') + it.key();
        const ParamDescriptor *found = nullptr;
        for (const ParamDescriptor &param : params) {
            if (param.name == it.key()) {
                found = &param;
            }
        }
        if (found == nullptr) {
            QStringList known;
            for (const ParamDescriptor &param : params) {
                known << param.name;
            }
            errors.push_back(
                {where, known.isEmpty()
                            ? QStringLiteral("unknown field (this method takes no parameters)")
                            : QStringLiteral("unknown field; known fields: %1")
                                  .arg(known.join(QStringLiteral(", ")))});
            continue;
        }
        readParam(*found, it.value(), where, out, errors);
    }
    return out;
}

MethodChoice readSection(const QJsonObject &root, const SectionDescriptor &section,
                         std::vector<Error> &errors)
{
    MethodChoice choice;
    choice.method = section.defaultMethod;
    QJsonObject object;
    if (root.contains(section.key)) {
        const QJsonValue value = root.value(section.key);
        if (!value.isObject()) {
            errors.push_back(
                {section.key,
                 QStringLiteral("expected an object, got %1").arg(jsonTypeName(value))});
        } else {
            object = value.toObject();
        }
    }
    const QString selectorPath = section.key + QLatin1Char('.') + section.selectorKey;
    if (object.contains(section.selectorKey)) {
        const QJsonValue selector = object.value(section.selectorKey);
        if (!selector.isString()) {
            errors.push_back(
                {selectorPath,
                 QStringLiteral("expected a string, got %1").arg(jsonTypeName(selector))});
        } else {
            choice.method = selector.toString();
        }
    }
    const MethodDescriptor *method = findMethod(section.key, choice.method);
    if (method == nullptr) {
        errors.push_back(
            {selectorPath, QStringLiteral("unknown %1 \"%2\"; known: %3")
                               .arg(section.selectorKey, choice.method,
                                    methodIds(section.key).join(QStringLiteral(", ")))});
        return choice;
    }
    std::vector<ParamDescriptor> params = section.commonParams;
    params.insert(params.end(), method->params.begin(), method->params.end());
    choice.params = readParams(object, params, section.key, {section.selectorKey}, errors);
    return choice;
}

QJsonObject paramsToJson(const QVariantMap &params)
{
    QJsonObject object;
    for (auto it = params.begin(); it != params.end(); ++it) {
        object.insert(it.key(), QJsonValue::fromVariant(it.value()));
    }
    return object;
}

} // namespace

std::vector<QString> Experiment::stageTasks(std::size_t s) const
{
    if (!hasUnits(s)) {
        return stages[s];
    }
    std::vector<QString> tasks;
    for (const TaskGroup &group : stageUnits[s].units) {
        tasks.insert(tasks.end(), group.begin(), group.end());
    }
    return tasks;
}

std::vector<QString> Experiment::taskColumns() const
{
    std::vector<QString> columns;
    for (std::size_t s = 0; s < stages.size(); ++s) {
        for (const QString &task : stageTasks(s)) {
            if (!task.isEmpty() &&
                std::find(columns.begin(), columns.end(), task) == columns.end()) {
                columns.push_back(task);
            }
        }
    }
    return columns;
}

std::vector<int> Experiment::learnedAtStage() const
{
    std::vector<QString> columns = taskColumns();
    std::vector<int> learnedAt(columns.size(), -1);
    for (std::size_t s = 0; s < stages.size(); ++s) {
        for (const QString &task : stageTasks(s)) {
            for (std::size_t j = 0; j < columns.size(); ++j) {
                if (columns[j] == task && learnedAt[j] < 0) {
                    learnedAt[j] = static_cast<int>(s);
                }
            }
        }
    }
    return learnedAt;
}

QJsonObject Experiment::toJson() const
{
    QJsonObject root;
    root.insert(QStringLiteral("name"), name);
    if (!description.isEmpty()) {
        root.insert(QStringLiteral("description"), description);
    }
    root.insert(QStringLiteral("seed"), static_cast<double>(seed));
    for (const SectionDescriptor &section : sectionRegistry()) {
        const MethodChoice *choice = section.key == QLatin1String("model")       ? &model
                                     : section.key == QLatin1String("federated") ? &federated
                                     : section.key == QLatin1String("continual") ? &continual
                                                                                 : &partition;
        QJsonObject object = paramsToJson(choice->params);
        object.insert(section.selectorKey, choice->method);
        root.insert(section.key, object);
    }
    QJsonArray clientArray;
    for (const ClientSpec &client : clients) {
        QJsonObject object = paramsToJson(client.params);
        object.insert(QStringLiteral("name"), client.name);
        clientArray.append(object);
    }
    root.insert(QStringLiteral("clients"), clientArray);
    QJsonArray stageArray;
    for (std::size_t s = 0; s < stages.size(); ++s) {
        const auto &stage = stages[s];
        QJsonObject object;
        if (hasUnits(s)) {
            QJsonArray units;
            for (const TaskGroup &group : stageUnits[s].units) {
                if (group.size() == 1 && isPositional(s)) {
                    units.append(group.front());
                } else {
                    QJsonArray tasks;
                    for (const QString &task : group) {
                        tasks.append(task);
                    }
                    units.append(tasks);
                }
            }
            object.insert(isPositional(s) ? QStringLiteral("positional") : QStringLiteral("mix"),
                          isPositional(s) ? units : units.first());
            stageArray.append(object);
            continue;
        }
        for (std::size_t c = 0; c < stage.size() && c < clients.size(); ++c) {
            if (!stage[c].isEmpty()) {
                object.insert(clients[c].name, stage[c]);
            }
        }
        stageArray.append(object);
    }
    root.insert(QStringLiteral("stages"), stageArray);
    root.insert(QStringLiteral("evaluation"), paramsToJson(evaluation));
    if (!datasets.empty()) {
        QJsonArray array;
        for (const UserTaskSource &source : datasets) {
            array.append(source.toJson());
        }
        root.insert(QStringLiteral("datasets"), array);
    }
    if (!fashionMnistDir.isEmpty()) {
        root.insert(QStringLiteral("data"),
                    QJsonObject{{QStringLiteral("fashion_mnist_dir"), fashionMnistDir}});
    }
    return root;
}

QString sectionMethod(const QJsonObject &config, const QString &section)
{
    const SectionDescriptor *descriptor = findSection(section);
    return descriptor == nullptr
               ? QString()
               : config.value(section).toObject().value(descriptor->selectorKey).toString();
}

namespace {

/// The first control character of `text` (NUL, escape, ...; tab and newline only where
/// `multiline`), as "U+001B", or empty: names are printed to terminals and stored.
QString controlCharacter(const QString &text, bool multiline = false)
{
    for (const QChar c : text) {
        const bool allowed = multiline && (c == QLatin1Char('\n') || c == QLatin1Char('\t'));
        if ((c.category() == QChar::Other_Control || c.category() == QChar::Other_Format) &&
            !allowed) {
            return QStringLiteral("U+%1").arg(c.unicode(), 4, 16, QLatin1Char('0')).toUpper();
        }
    }
    return {};
}

/// Unknown top-level fields, name, description and seed.
void readIdentity(const QJsonObject &root, Experiment &experiment, std::vector<Error> &errors)
{
    static const QSet<QString> topLevel = {
        QStringLiteral("name"),       QStringLiteral("description"), QStringLiteral("seed"),
        QStringLiteral("model"),      QStringLiteral("federated"),   QStringLiteral("continual"),
        QStringLiteral("partition"),  QStringLiteral("clients"),     QStringLiteral("stages"),
        QStringLiteral("evaluation"), QStringLiteral("data"),        QStringLiteral("datasets")};
    for (auto it = root.begin(); it != root.end(); ++it) {
        if (!topLevel.contains(it.key())) {
            errors.push_back({it.key(), QStringLiteral("unknown field")});
        }
    }

    const QJsonValue name = root.value(QStringLiteral("name"));
    if (name.isUndefined()) {
        experiment.name = QStringLiteral("Untitled experiment");
    } else if (!name.isString() || name.toString().trimmed().isEmpty()) {
        errors.push_back({QStringLiteral("name"), QStringLiteral("expected a non-empty string")});
    } else if (const QString bad = controlCharacter(name.toString()); !bad.isEmpty()) {
        errors.push_back(
            {QStringLiteral("name"), QStringLiteral("contains the control character %1").arg(bad)});
    } else {
        experiment.name = name.toString();
    }
    const QJsonValue description = root.value(QStringLiteral("description"));
    if (!description.isUndefined() && !description.isString()) {
        errors.push_back({QStringLiteral("description"), QStringLiteral("expected a string")});
    } else if (const QString bad = controlCharacter(description.toString(), true); !bad.isEmpty()) {
        errors.push_back({QStringLiteral("description"),
                          QStringLiteral("contains the control character %1").arg(bad)});
    }
    experiment.description = description.toString();
    const QJsonValue seed = root.value(QStringLiteral("seed"));
    if (!seed.isUndefined()) {
        if (!seed.isDouble() || seed.toDouble() < 0 ||
            seed.toDouble() != std::floor(seed.toDouble()) ||
            seed.toDouble() > 9007199254740991.0) {
            errors.push_back(
                {QStringLiteral("seed"), QStringLiteral("expected a whole number >= 0")});
        } else {
            experiment.seed = static_cast<std::uint64_t>(seed.toDouble());
        }
    }
}

void readEvaluationAndData(const QJsonObject &root, Experiment &experiment,
                           std::vector<Error> &errors)
{
    QJsonObject evaluation;
    if (root.contains(QStringLiteral("evaluation"))) {
        if (!root.value(QStringLiteral("evaluation")).isObject()) {
            errors.push_back({QStringLiteral("evaluation"), QStringLiteral("expected an object")});
        }
        evaluation = root.value(QStringLiteral("evaluation")).toObject();
    }
    experiment.evaluation =
        readParams(evaluation, evaluationParams(), QStringLiteral("evaluation"), {}, errors);

    if (root.contains(QStringLiteral("data"))) {
        if (!root.value(QStringLiteral("data")).isObject()) {
            errors.push_back({QStringLiteral("data"),
                              QStringLiteral("expected an object such as {\"fashion_mnist_dir\": "
                                             "\"/path\"}")});
        }
        const QJsonObject data = root.value(QStringLiteral("data")).toObject();
        for (auto it = data.begin(); it != data.end(); ++it) {
            if (it.key() != QLatin1String("fashion_mnist_dir")) {
                errors.push_back(
                    {QStringLiteral("data.") + it.key(), QStringLiteral("unknown field")});
            } else if (!it.value().isString()) {
                errors.push_back({QStringLiteral("data.fashion_mnist_dir"),
                                  QStringLiteral("expected a string")});
            } else {
                experiment.fashionMnistDir = it.value().toString();
            }
        }
    }
}

void readClients(const QJsonObject &root, Experiment &experiment, std::vector<Error> &errors)
{
    // Clients.
    const QJsonValue clientsValue = root.value(QStringLiteral("clients"));
    if (!clientsValue.isArray() || clientsValue.toArray().isEmpty()) {
        errors.push_back(
            {QStringLiteral("clients"), QStringLiteral("expected a non-empty array of clients")});
    } else {
        const QJsonArray clients = clientsValue.toArray();
        QSet<QString> names;
        for (int c = 0; c < clients.size(); ++c) {
            const QString path = QStringLiteral("clients[%1]").arg(c);
            if (!clients.at(c).isObject()) {
                errors.push_back({path, QStringLiteral("expected an object")});
                continue;
            }
            const QJsonObject object = clients.at(c).toObject();
            ClientSpec client;
            const QJsonValue clientName = object.value(QStringLiteral("name"));
            client.name = clientName.isString() ? clientName.toString().trimmed() : QString();
            if (client.name.isEmpty()) {
                errors.push_back({path + QStringLiteral(".name"),
                                  QStringLiteral("expected a non-empty string")});
                client.name = QStringLiteral("client-%1").arg(c + 1);
            } else if (const QString bad = controlCharacter(client.name); !bad.isEmpty()) {
                errors.push_back({path + QStringLiteral(".name"),
                                  QStringLiteral("contains the control character %1").arg(bad)});
            } else if (names.contains(client.name)) {
                errors.push_back(
                    {path + QStringLiteral(".name"),
                     QStringLiteral("\"%1\" is used by another client").arg(client.name)});
            }
            names.insert(client.name);
            client.params =
                readParams(object, clientParams(), path, {QStringLiteral("name")}, errors);
            experiment.clients.push_back(client);
        }
    }
}

/// "datasets": user files as tasks. Each is read and checked now, so that `fcl validate` and the
/// designer report a broken line before a run starts.
void readDatasets(const QJsonObject &root, const QString &baseDir, Experiment &experiment,
                  std::vector<Error> &errors)
{
    if (!root.contains(QStringLiteral("datasets"))) {
        return;
    }
    const QJsonValue value = root.value(QStringLiteral("datasets"));
    if (!value.isArray()) {
        errors.push_back({QStringLiteral("datasets"),
                          QStringLiteral("expected an array of {\"id\", \"file\", ...}")});
        return;
    }
    const QJsonArray array = value.toArray();
    for (int i = 0; i < array.size(); ++i) {
        const QString path = QStringLiteral("datasets[%1]").arg(i);
        if (!array.at(i).isObject()) {
            errors.push_back({path, QStringLiteral("expected an object {\"id\", \"file\", ...}")});
            continue;
        }
        auto source = parseUserTaskSource(array.at(i).toObject(), path, baseDir);
        if (!source) {
            errors.insert(errors.end(), source.errors().begin(), source.errors().end());
            continue;
        }
        if (findTask(source->id) != nullptr || experiment.dataset(source->id) != nullptr) {
            errors.push_back({path + QStringLiteral(".id"),
                              QStringLiteral("\"%1\" is already a task's id").arg(source->id)});
            continue;
        }
        auto loaded = loadUserTask(source.value(), experiment.seed);
        if (!loaded) {
            for (const Error &error : loaded.errors()) {
                errors.push_back(
                    {path + QStringLiteral(" (") + error.where + QLatin1Char(')'), error.message});
            }
        }
        experiment.datasets.push_back(source.value());
    }
}

void readStages(const QJsonObject &root, Experiment &experiment, std::vector<Error> &errors)
{
    // Stages: an object {client name: task id}, or a task id string for "every client".
    const QJsonValue stagesValue = root.value(QStringLiteral("stages"));
    if (!stagesValue.isArray() || stagesValue.toArray().isEmpty()) {
        errors.push_back(
            {QStringLiteral("stages"), QStringLiteral("expected a non-empty array of stages")});
    } else {
        const QJsonArray stages = stagesValue.toArray();
        for (int s = 0; s < stages.size(); ++s) {
            const QString path = QStringLiteral("stages[%1]").arg(s);
            std::vector<QString> row(experiment.clients.size());
            auto checkTask = [&](const QString &where, const QString &task) {
                if (!experiment.hasTask(task)) {
                    errors.push_back(
                        {where,
                         QStringLiteral("unknown task \"%1\" (fcl tasks lists them)").arg(task)});
                    return false;
                }
                return true;
            };
            const QJsonValue stage = stages.at(s);
            StageUnits units;
            const QJsonObject stageObject = stage.toObject();
            const QString formKey =
                stageObject.size() != 1                              ? QString()
                : stageObject.contains(QStringLiteral("positional")) ? QStringLiteral("positional")
                : stageObject.contains(QStringLiteral("mix"))        ? QStringLiteral("mix")
                                                                     : QString();
            const bool clientNamedLikeForm =
                !formKey.isEmpty() &&
                std::any_of(experiment.clients.begin(), experiment.clients.end(),
                            [&](const ClientSpec &client) {
                                return client.name == formKey;
                            });
            // A group: a task id, or (mix, and inside positional lists) an array of task ids.
            const auto readGroup = [&](const QString &where, const QJsonValue &value, bool single) {
                TaskGroup group;
                if (value.isString() && single) {
                    if (checkTask(where, value.toString())) {
                        group.push_back(value.toString());
                    }
                    return group;
                }
                const QJsonArray array = value.toArray();
                if (!value.isArray() || array.isEmpty()) {
                    errors.push_back({where, single ? QStringLiteral("expected a task id or a "
                                                                     "non-empty array of task ids")
                                                    : QStringLiteral("expected a non-empty array "
                                                                     "of task ids")});
                    return group;
                }
                for (int i = 0; i < array.size(); ++i) {
                    const QString at = where + QStringLiteral("[%1]").arg(i);
                    const QString task = array.at(i).toString();
                    if (!array.at(i).isString()) {
                        errors.push_back({at, QStringLiteral("expected a task id string")});
                    } else if (std::find(group.begin(), group.end(), task) != group.end()) {
                        errors.push_back({at, QStringLiteral("\"%1\" is listed twice").arg(task)});
                    } else if (checkTask(at, task)) {
                        group.push_back(task);
                        continue;
                    }
                    return TaskGroup{};
                }
                return group;
            };
            if (!formKey.isEmpty() &&
                (stageObject.value(formKey).isArray() || !clientNamedLikeForm)) {
                const QJsonValue list = stageObject.value(formKey);
                const QString where = path + QLatin1Char('.') + formKey;
                if (formKey == QLatin1String("mix")) {
                    // Capability stage: every client trains the group's pooled samples.
                    units.kind = StageUnits::Kind::Mixed;
                    const TaskGroup group = readGroup(where, list, false);
                    if (!group.empty()) {
                        units.units.push_back(group);
                    }
                } else if (!list.isArray() || list.toArray().isEmpty()) {
                    errors.push_back({where, QStringLiteral("expected a non-empty array of tasks "
                                                            "(or groups), one per sampled "
                                                            "position")});
                } else {
                    // FCIT's heterogeneous stage: the i-th sampled client trains the i-th unit.
                    units.kind = StageUnits::Kind::Positional;
                    const QJsonArray array = list.toArray();
                    for (int i = 0; i < array.size(); ++i) {
                        const TaskGroup group =
                            readGroup(where + QStringLiteral("[%1]").arg(i), array.at(i), true);
                        if (group.empty()) {
                            units.units.clear();
                            break;
                        }
                        units.units.push_back(group);
                    }
                }
                if (units.units.empty()) {
                    units.kind = StageUnits::Kind::PerClient; // reported above
                }
                for (std::size_t c = 0; c < row.size() && !units.units.empty(); ++c) {
                    row[c] = units.units[c % units.units.size()].front();
                }
            } else if (stage.isString()) {
                if (checkTask(path, stage.toString())) {
                    std::fill(row.begin(), row.end(), stage.toString());
                }
            } else if (stage.isObject()) {
                const QJsonObject object = stage.toObject();
                for (auto it = object.begin(); it != object.end(); ++it) {
                    const QString where = path + QLatin1Char('.') + it.key();
                    std::size_t index = experiment.clients.size();
                    for (std::size_t c = 0; c < experiment.clients.size(); ++c) {
                        if (experiment.clients[c].name == it.key()) {
                            index = c;
                        }
                    }
                    if (index == experiment.clients.size()) {
                        errors.push_back(
                            {where, QStringLiteral("no client is named \"%1\"").arg(it.key())});
                    } else if (it.value().isNull()) {
                        continue; // explicitly idle
                    } else if (!it.value().isString()) {
                        errors.push_back(
                            {where, QStringLiteral("expected a task id string or null")});
                    } else if (checkTask(where, it.value().toString())) {
                        row[index] = it.value().toString();
                    }
                }
            } else {
                errors.push_back(
                    {path, QStringLiteral("expected a task id or an object {client: task}")});
            }
            experiment.stages.push_back(row);
            experiment.stageUnits.push_back(units);
        }
        bool anyUnits = false;
        for (const StageUnits &units : experiment.stageUnits) {
            anyUnits = anyUnits || units.kind != StageUnits::Kind::PerClient;
        }
        if (!anyUnits) {
            experiment.stageUnits.clear(); // per-client stages only: nothing to carry
        }
        for (std::size_t c = 0; c < experiment.clients.size(); ++c) {
            bool any = false;
            for (const auto &row : experiment.stages) {
                any = any || !row[c].isEmpty();
            }
            if (!any) {
                errors.push_back({QStringLiteral("clients[%1]").arg(c),
                                  QStringLiteral("client \"%1\" has no task in any stage")
                                      .arg(experiment.clients[c].name)});
            }
        }
    }
}

/// A classifier head's outputs for one user task's answers, at most.
constexpr int kMaxClassifierAnswers = 64;

/// The backbone against the tasks and the base: text tasks need a generative backbone; a
/// tiny-vlm's sizes must be its base's; LoRA targets must be a regular expression.
void checkModel(const Experiment &experiment, std::vector<Error> &errors)
{
    const bool generative = experiment.model.method == QLatin1String("tiny-vlm");
    for (const auto &[category, choice] :
         {std::pair{QStringLiteral("federated"), &experiment.federated},
          std::pair{QStringLiteral("continual"), &experiment.continual}}) {
        const MethodDescriptor *method = findMethod(category, choice->method);
        if (method != nullptr && !method->requiresBackbone.isEmpty() &&
            method->requiresBackbone != experiment.model.method) {
            errors.push_back(
                {category + QStringLiteral(".method"),
                 QStringLiteral("\"%1\" needs model.backbone \"%2\" (not \"%3\")")
                     .arg(choice->method, method->requiresBackbone, experiment.model.method)});
        }
    }
    // Methods that keep a client's samples or personal model by one task for a whole stage
    // cannot take stages whose units pool several tasks or change with the round.
    const MethodDescriptor *federated =
        findMethod(QStringLiteral("federated"), experiment.federated.method);
    for (std::size_t s = 0; s < experiment.stages.size(); ++s) {
        if (federated != nullptr && federated->oneTaskPerStage && experiment.hasUnits(s)) {
            errors.push_back(
                {QStringLiteral("federated.method"),
                 QStringLiteral("\"%1\" cannot train stage %2: it is %3, and this method keeps "
                                "each client's samples or own model by one task for a whole "
                                "stage")
                     .arg(experiment.federated.method)
                     .arg(s + 1)
                     .arg(experiment.isPositional(s)
                              ? QStringLiteral("positional (a client's task changes with the "
                                               "round)")
                              : QStringLiteral("mixed (it pools several tasks)"))});
            break;
        }
    }
    // A method that reads the tasks' images (DISCO's image identity) needs every task to have one.
    const QString imageParam = federated != nullptr && federated->readsImagesThrough
                                   ? federated->readsImagesThrough(experiment.federated.params)
                                   : QString();
    if (!imageParam.isEmpty()) {
        for (std::size_t s = 0; s < experiment.stages.size(); ++s) {
            // A catalog task without images, or a user task with samples that have none.
            QString missing;
            for (const QString &id : experiment.stageTasks(s)) {
                if (const UserTaskSource *source = experiment.dataset(id)) {
                    const auto loaded = loadUserTask(*source, experiment.seed);
                    if (loaded && loaded.value()->withImages < loaded.value()->size()) {
                        missing = QStringLiteral("task \"%1\" (stage %2) has %3 of %4 samples "
                                                 "without one")
                                      .arg(id)
                                      .arg(s + 1)
                                      .arg(loaded.value()->size() - loaded.value()->withImages)
                                      .arg(loaded.value()->size());
                    }
                } else if (const TaskSpec *task = findTask(id); task != nullptr && task->isText()) {
                    missing = QStringLiteral("task \"%1\" (stage %2) has none").arg(id).arg(s + 1);
                }
                if (!missing.isEmpty()) {
                    break;
                }
            }
            if (!missing.isEmpty()) {
                errors.push_back(
                    {QStringLiteral("federated.") + imageParam,
                     QStringLiteral("\"%1\" reads each task's images, and %2")
                         .arg(experiment.federated.params.value(imageParam).toString(), missing)});
                break;
            }
        }
    }
    if (experiment.model.text(QStringLiteral("tuning")) == QLatin1String("moelora") &&
        experiment.model.integer(QStringLiteral("lora_rank")) %
                std::max(1, experiment.model.integer(QStringLiteral("moe_experts"))) !=
            0) {
        errors.push_back({QStringLiteral("model.moe_experts"),
                          QStringLiteral("%1 experts cannot split model.lora_rank %2 evenly (each "
                                         "expert takes lora_rank / moe_experts ranks)")
                              .arg(experiment.model.integer(QStringLiteral("moe_experts")))
                              .arg(experiment.model.integer(QStringLiteral("lora_rank")))});
    }
    if (!generative && experiment.model.text(QStringLiteral("tuning")) == QLatin1String("prompt")) {
        errors.push_back({QStringLiteral("model.tuning"),
                          QStringLiteral("prompt tuning needs model.backbone \"tiny-vlm\" (\"%1\" "
                                         "reads no token sequence to put a prompt before)")
                              .arg(experiment.model.method)});
    }
    if (!generative) {
        for (std::size_t s = 0; s < experiment.stages.size(); ++s) {
            // Mixed and positional stages: every task of their groups (the cells show only the
            // first of some).
            if (experiment.hasUnits(s)) {
                for (const QString &id : experiment.stageTasks(s)) {
                    const TaskSpec *task = findTask(id);
                    if (task != nullptr && task->isText()) {
                        errors.push_back(
                            {QStringLiteral("stages[%1].%2")
                                 .arg(s)
                                 .arg(experiment.isPositional(s) ? QStringLiteral("positional")
                                                                 : QStringLiteral("mix")),
                             QStringLiteral("task \"%1\" has free-text answers: it needs "
                                            "model.backbone \"tiny-vlm\" (\"%2\" can only pick "
                                            "among answer words)")
                                 .arg(task->id, experiment.model.method)});
                        return;
                    }
                }
                continue;
            }
            for (std::size_t c = 0; c < experiment.stages[s].size(); ++c) {
                const TaskSpec *task = findTask(experiment.stages[s][c]);
                if (task != nullptr && task->isText()) {
                    errors.push_back(
                        {QStringLiteral("stages[%1].%2").arg(s).arg(experiment.clients[c].name),
                         QStringLiteral("task \"%1\" has free-text answers: it needs "
                                        "model.backbone \"tiny-vlm\" (\"%2\" can only pick "
                                        "among answer words)")
                             .arg(task->id, experiment.model.method)});
                    return;
                }
            }
        }
    }
    for (std::size_t i = 0; i < experiment.datasets.size(); ++i) {
        auto loaded = loadUserTask(experiment.datasets[i], experiment.seed);
        if (!loaded) {
            continue; // reported by readDatasets
        }
        const UserTaskData &data = *loaded.value();
        const QString where = QStringLiteral("datasets[%1]").arg(i);
        if (!generative && data.answers.size() > kMaxClassifierAnswers) {
            errors.push_back(
                {where, QStringLiteral("\"%1\" has %2 distinct answers: free-text answers need "
                                       "model.backbone \"tiny-vlm\" (a classifier picks among "
                                       "at most %3 answer words)")
                            .arg(data.id)
                            .arg(data.answers.size())
                            .arg(kMaxClassifierAnswers)});
        }
        const int maxText = experiment.model.integer(QStringLiteral("max_text"));
        if (generative && data.longestAnswer + 2 > maxText) {
            errors.push_back({where, QStringLiteral("\"%1\" has answers of up to %2 characters; "
                                                    "model.max_text %3 fits answers of at most "
                                                    "%4")
                                         .arg(data.id)
                                         .arg(data.longestAnswer)
                                         .arg(maxText)
                                         .arg(maxText - 2)});
        }
    }
    const QString targets = experiment.model.text(QStringLiteral("lora_targets"));
    try {
        std::regex check(targets.toStdString());
        Q_UNUSED(check);
    } catch (const std::regex_error &e) {
        errors.push_back({QStringLiteral("model.lora_targets"),
                          QStringLiteral("\"%1\" is not a regular expression (%2)")
                              .arg(targets, QString::fromLatin1(e.what()))});
    }
    if (!generative) {
        return;
    }
    const int width = experiment.model.integer(QStringLiteral("width"));
    const int heads = experiment.model.integer(QStringLiteral("heads"));
    if (width % heads != 0) {
        errors.push_back(
            {QStringLiteral("model.heads"),
             QStringLiteral("%1 does not divide model.width %2").arg(heads).arg(width)});
    }
    const QString base = experiment.model.text(QStringLiteral("base"));
    if (base == QLatin1String("none")) {
        return;
    }
    const QString dir = baseDirFor(base);
    QFile file(dir + QStringLiteral("/config.json"));
    if (!file.open(QIODevice::ReadOnly)) {
        errors.push_back({QStringLiteral("model.base"),
                          QStringLiteral("no base model at %1 (%2); use \"builtin\", \"none\" or a "
                                         "directory written by fcl pretrain")
                              .arg(dir, file.errorString())});
        return;
    }
    const QJsonObject config = QJsonDocument::fromJson(file.readAll()).object();
    for (const char *key : {"width", "layers", "heads", "max_text"}) {
        const int mine = experiment.model.integer(QLatin1String(key));
        const int theirs = config.value(QLatin1String(key)).toInt(-1);
        if (mine != theirs) {
            errors.push_back({QStringLiteral("model.%1").arg(QLatin1String(key)),
                              QStringLiteral("%1 does not match the base's %2 (%3); set model.base "
                                             "to \"none\" to train a model of another size from "
                                             "scratch")
                                  .arg(mine)
                                  .arg(theirs)
                                  .arg(dir)});
        }
    }
}

} // namespace

const UserTaskSource *Experiment::dataset(const QString &id) const
{
    for (const UserTaskSource &source : datasets) {
        if (source.id == id) {
            return &source;
        }
    }
    return nullptr;
}

bool Experiment::hasTask(const QString &id) const
{
    return findTask(id) != nullptr || dataset(id) != nullptr;
}

Result<Experiment> parseExperiment(const QByteArray &json, const QString &baseDir)
{
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(json, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        // Turn the byte offset into line:column, which is what an editor shows.
        const QByteArray before = json.left(parseError.offset);
        const int line = static_cast<int>(before.count('\n')) + 1;
        const int column = static_cast<int>(parseError.offset - (before.lastIndexOf('\n') + 1)) + 1;
        return Error{QStringLiteral("line %1, column %2").arg(line).arg(column),
                     QStringLiteral("invalid JSON: %1").arg(parseError.errorString())};
    }
    if (!document.isObject()) {
        return Error{QStringLiteral("(document)"),
                     QStringLiteral("expected a JSON object at the top level")};
    }
    std::vector<Error> errors;
    Experiment experiment;
    readIdentity(document.object(), experiment, errors); // the seed, for a scenario's lists
    // An "fcit" block generates the clients, stages and partition it stands for.
    auto expanded = expandFcitScenario(document.object(), experiment.seed);
    if (!expanded) {
        return expanded.errors();
    }
    const QJsonObject root = expanded.value();
    errors.clear();
    experiment = Experiment();

    readIdentity(root, experiment, errors);

    experiment.model = readSection(root, *findSection(QStringLiteral("model")), errors);
    experiment.federated = readSection(root, *findSection(QStringLiteral("federated")), errors);
    experiment.continual = readSection(root, *findSection(QStringLiteral("continual")), errors);
    experiment.partition = readSection(root, *findSection(QStringLiteral("partition")), errors);

    readEvaluationAndData(root, experiment, errors);
    readDatasets(root, baseDir, experiment, errors);
    readClients(root, experiment, errors);
    for (std::size_t c = 0; c < experiment.clients.size(); ++c) {
        if (experiment.clients[c].hasOwnAlpha() &&
            experiment.partition.method != QLatin1String("dirichlet_client_mix")) {
            errors.push_back({QStringLiteral("clients[%1].dirichlet_alpha").arg(c),
                              QStringLiteral("a client's own alpha needs partition.method "
                                             "dirichlet_client_mix (\"%1\" does not use it)")
                                  .arg(experiment.partition.method)});
        }
    }
    readStages(root, experiment, errors);
    if (errors.empty()) {
        checkModel(experiment, errors);
    }

    if (!errors.empty()) {
        return errors;
    }
    return experiment;
}

Result<Experiment> loadExperimentFile(const QString &path)
{
    auto bytes = readFileCapped(path, byteCap("FCL_MAX_EXPERIMENT_BYTES", kMaxExperimentBytes),
                                "FCL_MAX_EXPERIMENT_BYTES");
    if (!bytes) {
        return bytes.errors();
    }
    auto result = parseExperiment(bytes.value(), QFileInfo(path).absolutePath());
    if (!result) {
        std::vector<Error> errors = result.errors();
        for (Error &error : errors) {
            error.where = path + QStringLiteral(": ") + error.where;
        }
        return errors;
    }
    return result;
}

} // namespace fcl
