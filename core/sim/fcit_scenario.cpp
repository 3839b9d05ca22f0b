// SPDX-License-Identifier: MIT
#include "core/sim/fcit_scenario.h"

#include "core/common/rng.h"
#include "core/data/task_catalog.h"

#include <QJsonArray>
#include <QStringList>

#include <algorithm>
#include <cmath>

namespace fcl {

const std::vector<std::vector<int>> &fcitOfficialHetLists()
{
    static const std::vector<std::vector<int>> lists = {
        {1, 2, 4, 5, 6}, {3, 4, 5, 7, 7}, {0, 2, 3, 4, 5}, {0, 0, 1, 3, 7},
        {1, 2, 4, 4, 5}, {0, 3, 5, 7, 7}, {2, 2, 5, 7, 7}, {5, 5, 5, 6, 6},
    };
    return lists;
}

const std::vector<std::vector<int>> &fcitOfficialCapabilityLists()
{
    static const std::vector<std::vector<int>> lists = {
        {0, 1, 1, 3, 3},
        {0, 2, 2, 2, 3},
        {1, 2, 2, 3, 3},
        {0, 0, 0, 1, 1},
    };
    return lists;
}

namespace {

const QString kBlock = QStringLiteral("fcit");

QString field(const QString &key)
{
    return kBlock + QLatin1Char('.') + key;
}

/// A number field with a default, checked against [minimum, maximum].
double number(const QJsonObject &fcit, const QString &key, double fallback, double minimum,
              double maximum, bool integer, std::vector<Error> &errors)
{
    const QJsonValue value = fcit.value(key);
    if (value.isUndefined()) {
        return fallback;
    }
    const double x = value.toDouble(std::nan(""));
    if (!value.isDouble() || !(x >= minimum && x <= maximum) || (integer && x != std::floor(x))) {
        errors.push_back({field(key), QStringLiteral("expected %1 from %2 to %3")
                                          .arg(integer ? QStringLiteral("a whole number")
                                                       : QStringLiteral("a number"))
                                          .arg(minimum)
                                          .arg(maximum)});
        return fallback;
    }
    return x;
}

QString choice(const QJsonObject &fcit, const QString &key, const QStringList &choices,
               std::vector<Error> &errors)
{
    const QJsonValue value = fcit.value(key);
    if (value.isUndefined()) {
        return choices.front();
    }
    if (!value.isString() || !choices.contains(value.toString())) {
        errors.push_back(
            {field(key),
             QStringLiteral("expected one of %1").arg(choices.join(QStringLiteral(", ")))});
        return choices.front();
    }
    return value.toString();
}

bool isKnownTask(const QJsonObject &root, const QString &id)
{
    if (findTask(id) != nullptr) {
        return true;
    }
    for (const QJsonValue &dataset : root.value(QStringLiteral("datasets")).toArray()) {
        if (dataset.toObject().value(QStringLiteral("id")).toString() == id) {
            return true;
        }
    }
    return false;
}

} // namespace

Result<QJsonObject> expandFcitScenario(const QJsonObject &root, std::uint64_t seed)
{
    if (!root.contains(kBlock)) {
        return root;
    }
    std::vector<Error> errors;
    if (!root.value(kBlock).isObject()) {
        return Error{kBlock, QStringLiteral("expected an object (FCIT's scenario)")};
    }
    const QJsonObject fcit = root.value(kBlock).toObject();
    for (const QString &generated :
         {QStringLiteral("clients"), QStringLiteral("stages"), QStringLiteral("partition")}) {
        if (root.contains(generated)) {
            errors.push_back({generated, QStringLiteral("the \"fcit\" block generates %1: give "
                                                        "one or the other")
                                             .arg(generated)});
        }
    }
    if (root.value(QStringLiteral("federated"))
            .toObject()
            .contains(QStringLiteral("participation"))) {
        errors.push_back({QStringLiteral("federated.participation"),
                          QStringLiteral("the \"fcit\" block sets it from fcit.per_round / "
                                         "fcit.clients: give per_round instead")});
    }
    static const QStringList known = {
        QStringLiteral("setting"),   QStringLiteral("granularity"),      QStringLiteral("tasks"),
        QStringLiteral("groups"),    QStringLiteral("het_lists"),        QStringLiteral("clients"),
        QStringLiteral("per_round"), QStringLiteral("samples_per_task"), QStringLiteral("beta"),
        QStringLiteral("min_size"),  QStringLiteral("max_draws"),        QStringLiteral("variant")};
    for (auto it = fcit.begin(); it != fcit.end(); ++it) {
        if (!known.contains(it.key())) {
            errors.push_back({field(it.key()), QStringLiteral("unknown field (known: %1)")
                                                   .arg(known.join(QStringLiteral(", ")))});
        }
    }
    const QString setting = choice(fcit, QStringLiteral("setting"),
                                   {QStringLiteral("homogeneous"), QStringLiteral("heterogeneous"),
                                    QStringLiteral("centralized")},
                                   errors);
    const QString granularity =
        choice(fcit, QStringLiteral("granularity"),
               {QStringLiteral("task"), QStringLiteral("capability")}, errors);
    const QString variant = choice(fcit, QStringLiteral("variant"),
                                   {QStringLiteral("fixed"), QStringLiteral("faithful")}, errors);
    const bool heterogeneous = setting == QLatin1String("heterogeneous");
    const bool centralized = setting == QLatin1String("centralized");
    const bool capability = granularity == QLatin1String("capability");
    const int clients =
        static_cast<int>(number(fcit, QStringLiteral("clients"), 50, 1, 10000, true, errors));
    const int perRound = static_cast<int>(
        number(fcit, QStringLiteral("per_round"), std::min(5, clients), 1, 10000, true, errors));
    if (perRound > clients) {
        errors.push_back(
            {field(QStringLiteral("per_round")),
             QStringLiteral("%1 clients a round, but only %2 clients").arg(perRound).arg(clients)});
    }
    const int samples = static_cast<int>(
        number(fcit, QStringLiteral("samples_per_task"), 3000, 1, 10000000, true, errors));
    if (samples < clients) {
        errors.push_back({field(QStringLiteral("samples_per_task")),
                          QStringLiteral("%1 samples cannot be split over %2 clients")
                              .arg(samples)
                              .arg(clients)});
    }
    const double beta = number(fcit, QStringLiteral("beta"), 1.0, 0.001, 10000, false, errors);
    const int minSize =
        static_cast<int>(number(fcit, QStringLiteral("min_size"), 1, 1, 100000, true, errors));
    const int maxDraws = static_cast<int>(
        number(fcit, QStringLiteral("max_draws"), 10000, 1, 1000000, true, errors));

    // The units a stage (or a position) trains: single tasks, or capability groups.
    std::vector<std::vector<QString>> units;
    std::vector<QString> allTasks;
    const auto readTask = [&](const QString &where, const QJsonValue &value) {
        const QString id = value.toString();
        if (!value.isString() || !isKnownTask(root, id)) {
            errors.push_back(
                {where, value.isString()
                            ? QStringLiteral("unknown task \"%1\" (fcl tasks lists them)").arg(id)
                            : QStringLiteral("expected a task id string")});
        } else if (std::find(allTasks.begin(), allTasks.end(), id) != allTasks.end()) {
            errors.push_back({where, QStringLiteral("\"%1\" is listed twice").arg(id)});
        } else {
            allTasks.push_back(id);
            return true;
        }
        return false;
    };
    const QString listKey = capability ? QStringLiteral("groups") : QStringLiteral("tasks");
    const QString otherKey = capability ? QStringLiteral("tasks") : QStringLiteral("groups");
    if (fcit.contains(otherKey)) {
        errors.push_back(
            {field(otherKey), capability
                                  ? QStringLiteral("capability scenarios take fcit.groups "
                                                   "(arrays of task ids)")
                                  : QStringLiteral("only granularity \"capability\" uses groups")});
    }
    const QJsonValue listValue = fcit.value(listKey);
    if (!listValue.isArray() || listValue.toArray().size() < 2) {
        errors.push_back({field(listKey), capability
                                              ? QStringLiteral("expected an array of at least two "
                                                               "groups, each an array of task ids")
                                              : QStringLiteral("expected an array of at least two "
                                                               "task ids")});
    } else {
        const QJsonArray array = listValue.toArray();
        for (int i = 0; i < array.size(); ++i) {
            const QString where = field(QStringLiteral("%1[%2]").arg(listKey).arg(i));
            std::vector<QString> unit;
            if (!capability) {
                if (readTask(where, array.at(i))) {
                    unit.push_back(allTasks.back());
                }
            } else if (!array.at(i).isArray() || array.at(i).toArray().isEmpty()) {
                errors.push_back({where, QStringLiteral("expected a non-empty array of task ids")});
            } else {
                const QJsonArray members = array.at(i).toArray();
                for (int k = 0; k < members.size(); ++k) {
                    if (readTask(where + QStringLiteral("[%1]").arg(k), members.at(k))) {
                        unit.push_back(allTasks.back());
                    }
                }
            }
            units.push_back(unit);
        }
    }
    const int unitCount = static_cast<int>(units.size());
    const QString unitWord = capability ? QStringLiteral("groups") : QStringLiteral("tasks");
    // Heterogeneous: per stage, the unit index of each sampled position.
    std::vector<std::vector<int>> lists;
    if (heterogeneous && errors.empty()) {
        const QJsonValue mode = fcit.value(QStringLiteral("het_lists"));
        if (mode.isUndefined() || mode == QJsonValue(QStringLiteral("official"))) {
            const int official = capability ? 4 : 8;
            if (unitCount != official || perRound != 5) {
                errors.push_back({field(QStringLiteral("het_lists")),
                                  QStringLiteral("the official lists are for %1 %2 and 5 clients "
                                                 "a round (here %3 and %4): use \"seeded\" or "
                                                 "give the lists")
                                      .arg(official)
                                      .arg(unitWord)
                                      .arg(unitCount)
                                      .arg(perRound)});
            }
            lists = capability ? fcitOfficialCapabilityLists() : fcitOfficialHetLists();
        } else if (mode == QJsonValue(QStringLiteral("seeded"))) {
            // As FCIT's generator: per stage, per_round draws with replacement, sorted.
            for (int t = 0; t < unitCount; ++t) {
                Rng rng(deriveSeed(seed, {61, static_cast<std::uint64_t>(t)}));
                std::vector<int> list;
                for (int i = 0; i < perRound; ++i) {
                    list.push_back(
                        static_cast<int>(uniformIndex(rng, static_cast<std::uint64_t>(unitCount))));
                }
                std::sort(list.begin(), list.end());
                lists.push_back(std::move(list));
            }
        } else if (mode.isArray() && !mode.toArray().isEmpty()) {
            const QJsonArray stages = mode.toArray();
            for (int t = 0; t < stages.size(); ++t) {
                const QJsonArray positions = stages.at(t).toArray();
                if (positions.size() != perRound) {
                    errors.push_back({field(QStringLiteral("het_lists[%1]").arg(t)),
                                      QStringLiteral("expected %1 %2, one per client of a round "
                                                     "(fcit.per_round), got %3")
                                          .arg(perRound)
                                          .arg(unitWord)
                                          .arg(positions.size())});
                }
                std::vector<int> list;
                for (int i = 0; i < positions.size(); ++i) {
                    const QJsonValue at = positions.at(i);
                    const auto named =
                        std::find_if(units.begin(), units.end(), [&](const auto &unit) {
                            return !capability && unit.front() == at.toString();
                        });
                    if (at.isString() && named != units.end()) {
                        list.push_back(static_cast<int>(named - units.begin()));
                    } else if (at.isDouble() && at.toDouble() >= 0 && at.toDouble() < unitCount &&
                               at.toDouble() == std::floor(at.toDouble())) {
                        list.push_back(at.toInt());
                    } else {
                        errors.push_back({field(QStringLiteral("het_lists[%1][%2]").arg(t).arg(i)),
                                          capability
                                              ? QStringLiteral("expected the index of a group of "
                                                               "fcit.groups, 0 to %1")
                                                    .arg(unitCount - 1)
                                              : QStringLiteral("expected a task of fcit.tasks (its "
                                                               "id, or its index 0 to %1)")
                                                    .arg(unitCount - 1)});
                    }
                }
                lists.push_back(std::move(list));
            }
        } else {
            errors.push_back({field(QStringLiteral("het_lists")),
                              QStringLiteral("expected \"official\", \"seeded\" or an array of "
                                             "lists, one per stage")});
        }
    } else if (fcit.contains(QStringLiteral("het_lists")) && !heterogeneous) {
        errors.push_back({field(QStringLiteral("het_lists")),
                          QStringLiteral("only the heterogeneous setting uses it")});
    }
    // Q1: the official code passes beta where the minimum size goes.
    const bool faithful = variant == QLatin1String("faithful");
    const int minimum = faithful ? static_cast<int>(std::ceil(beta)) : minSize;
    const int perClient = centralized ? samples : samples / std::max(clients, 1);
    if (errors.empty() && perClient < minimum) {
        errors.push_back(
            {faithful ? field(QStringLiteral("beta")) : field(QStringLiteral("min_size")),
             QStringLiteral("every client must get %1 samples, but %2 samples over "
                            "%3 clients average %4")
                 .arg(minimum)
                 .arg(samples)
                 .arg(clients)
                 .arg(perClient)});
    }
    if (!errors.empty()) {
        return errors;
    }

    // Unit i as a stage or position entry: a task id, or an array of them.
    const auto unitJson = [&](std::size_t i) -> QJsonValue {
        if (!capability) {
            return units[i].front();
        }
        QJsonArray group;
        for (const QString &task : units[i]) {
            group.append(task);
        }
        return group;
    };
    QJsonObject expanded = root;
    expanded.remove(kBlock);
    QJsonObject federated = root.value(QStringLiteral("federated")).toObject();
    QJsonArray clientArray;
    QJsonArray stages;
    if (centralized) {
        // The upper bound: one client holds every task's data and learns it all mixed in one
        // stage, with about the federated run's sample-steps (a round is one pass over it all).
        clientArray.append(QJsonObject{{QStringLiteral("name"), QStringLiteral("central")},
                                       {QStringLiteral("samples_per_task"), samples}});
        QJsonArray all;
        for (const QString &task : allTasks) {
            all.append(task);
        }
        stages.append(QJsonObject{{QStringLiteral("mix"), all}});
        const int rounds = federated.value(QStringLiteral("rounds_per_stage")).toInt(5);
        federated.insert(QStringLiteral("rounds_per_stage"),
                         std::max(1, static_cast<int>(std::lround(static_cast<double>(rounds) *
                                                                  perRound / clients))));
        federated.insert(QStringLiteral("participation"), 1.0);
    } else {
        const int digits = clients >= 100 ? (clients >= 1000 ? 4 : 3) : 2;
        for (int c = 0; c < clients; ++c) {
            clientArray.append(
                QJsonObject{{QStringLiteral("name"),
                             QStringLiteral("c%1").arg(c + 1, digits, 10, QLatin1Char('0'))},
                            {QStringLiteral("samples_per_task"), perClient}});
        }
        if (heterogeneous) {
            for (const auto &list : lists) {
                QJsonArray positions;
                for (int index : list) {
                    positions.append(unitJson(static_cast<std::size_t>(index)));
                }
                stages.append(QJsonObject{{QStringLiteral("positional"), positions}});
            }
        } else {
            for (std::size_t i = 0; i < units.size(); ++i) {
                stages.append(capability
                                  ? QJsonValue(QJsonObject{{QStringLiteral("mix"), unitJson(i)}})
                                  : unitJson(i));
            }
        }
        federated.insert(QStringLiteral("participation"),
                         static_cast<double>(perRound) / static_cast<double>(clients));
    }
    expanded.insert(QStringLiteral("clients"), clientArray);
    expanded.insert(QStringLiteral("stages"), stages);
    expanded.insert(
        QStringLiteral("partition"),
        QJsonObject{{QStringLiteral("method"), QStringLiteral("quantity")},
                    {QStringLiteral("beta"), beta},
                    {QStringLiteral("min_samples_per_client"), minimum},
                    {QStringLiteral("max_draws"), maxDraws},
                    {QStringLiteral("rounding"),
                     faithful ? QStringLiteral("floor") : QStringLiteral("apportion")}});
    expanded.insert(QStringLiteral("federated"), federated);
    return expanded;
}

} // namespace fcl
