// SPDX-License-Identifier: MIT
// FCIT's scenarios: the "fcit" block's expansion, positional (heterogeneous) stages, the
// per-task quantity split, and what a positional stage trains.
#include "core/data/partition.h"
#include "core/sim/engine.h"
#include "core/sim/experiment.h"
#include "core/sim/fcit_scenario.h"
#include "core/sim/timeline.h"
#include "tests/support/test_support.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

using namespace fcl;

namespace {

const QStringList kEightTasks = {"vl-what-item", "vl-feet",     "vl-category",    "vl-dark",
                                 "vl-upper",     "vl-brighter", "vl-count-shoes", "vl-left-item"};

/// A tiny-vlm experiment with `fcit` as its scenario block.
QByteArray fcitDocument(const QJsonObject &fcit, const QJsonObject &extra = {})
{
    QJsonObject root{
        {"name", "fcit"},
        {"seed", 9},
        {"model", QJsonObject{{"backbone", "tiny-vlm"}, {"tuning", "lora"}}},
        {"federated", QJsonObject{{"method", "fedavg"}, {"rounds_per_stage", 2}}},
        {"fcit", fcit},
        {"evaluation", QJsonObject{{"test_samples_per_task", 50}}},
    };
    for (auto it = extra.begin(); it != extra.end(); ++it) {
        root.insert(it.key(), it.value());
    }
    return QJsonDocument(root).toJson();
}

QJsonObject hetBlock()
{
    return QJsonObject{{"setting", "heterogeneous"},
                       {"tasks", QJsonArray::fromStringList(kEightTasks)},
                       {"samples_per_task", 3000}};
}

/// A stage's units as one task id each (groups joined by "+").
std::vector<QString> unitsOf(const Experiment &e, std::size_t s)
{
    std::vector<QString> ids;
    for (const TaskGroup &group : e.stageUnits[s].units) {
        ids.push_back(QStringList(group.begin(), group.end()).join(QLatin1Char('+')));
    }
    return ids;
}

std::vector<QString> joined(const std::vector<TaskGroup> &groups)
{
    std::vector<QString> ids;
    for (const TaskGroup &group : groups) {
        ids.push_back(QStringList(group.begin(), group.end()).join(QLatin1Char('+')));
    }
    return ids;
}

/// The first error's field and message, or "" when it parses.
QString firstError(const QByteArray &json)
{
    auto parsed = parseExperiment(json);
    return parsed ? QString() : parsed.errors().front().toString();
}

/// Two clients, one positional stage [split-1, split-2] (or, with `homogeneous`, split-1 for
/// both), then split-3; the MLP in task-incremental mode.
QByteArray twoTaskStage(bool homogeneous)
{
    const QString first =
        homogeneous ? QStringLiteral(R"("fmnist-split-1")")
                    : QStringLiteral(R"({"positional": ["fmnist-split-1", "fmnist-split-2"]})");
    return QStringLiteral(R"({
  "name": "positional", "seed": 5,
  "model": {"backbone": "mlp", "hidden": 64, "layers": 1},
  "federated": {"method": "fedavg", "rounds_per_stage": 3, "lr": 0.05, "batch_size": 32},
  "clients": [{"name": "a", "samples_per_task": 300}, {"name": "b", "samples_per_task": 300}],
  "stages": [%1, "fmnist-split-3"],
  "evaluation": {"test_samples_per_task": 300, "mode": "task_incremental"}
})")
        .arg(first)
        .toUtf8();
}

} // namespace

class TestFcit : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void officialListsGiveFcitsColumnsAndStages()
    {
        auto parsed = parseExperiment(fcitDocument(hetBlock()));
        QVERIFY2(parsed, qPrintable(parsed.errorString()));
        const Experiment &e = parsed.value();
        QCOMPARE(e.clients.size(), std::size_t(50));
        QCOMPARE(e.clients.front().name, QStringLiteral("c01"));
        QCOMPARE(e.clients.back().name, QStringLiteral("c50"));
        QCOMPARE(e.clients.front().samplesPerTask(), 60); // 3000 / 50
        QCOMPARE(e.stages.size(), std::size_t(8));
        QVERIFY(e.isPositional(0) && e.isPositional(7));
        // seq_dyn_list's first stage [1,2,4,5,6] and second [3,4,5,7,7].
        QCOMPARE(unitsOf(e, 0), (std::vector<QString>{"vl-feet", "vl-category", "vl-upper",
                                                      "vl-brighter", "vl-count-shoes"}));
        QCOMPARE(unitsOf(e, 1), (std::vector<QString>{"vl-dark", "vl-upper", "vl-brighter",
                                                      "vl-left-item", "vl-left-item"}));
        // Columns in order of first appearance: t1 t2 t4 t5 t6 t3 t7 t0; learned at
        // 0,0,0,0,0,1,1,2.
        QCOMPARE(e.taskColumns(), (std::vector<QString>{"vl-feet", "vl-category", "vl-upper",
                                                        "vl-brighter", "vl-count-shoes", "vl-dark",
                                                        "vl-left-item", "vl-what-item"}));
        QCOMPARE(e.learnedAtStage(), (std::vector<int>{0, 0, 0, 0, 0, 1, 1, 2}));
        QCOMPARE(e.partition.method, QStringLiteral("quantity"));
        QCOMPARE(e.partition.number("beta"), 1.0);
        QCOMPARE(e.partition.integer("min_samples_per_client"), 1);
        QCOMPARE(e.partition.integer("max_draws"), 10000);
        QCOMPARE(e.partition.text("rounding"), QStringLiteral("apportion"));
        QCOMPARE(e.federated.number("participation"), 0.1);
    }

    void theIthSampledClientTrainsTheIthTask()
    {
        auto parsed = parseExperiment(fcitDocument(hetBlock()));
        QVERIFY(parsed);
        const Experiment &e = parsed.value();
        // Sampled (0-based) clients 4, 12, 27, 33, 48 in stage 0 train t1 t2 t4 t5 t6 in order.
        QCOMPARE(joined(positionalUnits(e, 0, {4, 12, 27, 33, 48})),
                 (std::vector<QString>{"vl-feet", "vl-category", "vl-upper", "vl-brighter",
                                       "vl-count-shoes"}));
        // A dropped-out client keeps its position: the list is over the sampled, not the returned.
        QCOMPARE(joined(positionalUnits(e, 1, {0, 1})),
                 (std::vector<QString>{"vl-dark", "vl-upper"}));
        // More sampled clients than positions wrap around.
        QCOMPARE(joined(positionalUnits(e, 7, {1, 2, 3, 4, 5, 6})).back(),
                 QStringLiteral("vl-brighter"));
    }

    void expansionRoundTripsThroughToJson()
    {
        auto parsed = parseExperiment(fcitDocument(hetBlock()));
        QVERIFY(parsed);
        const QJsonObject stored = parsed.value().toJson();
        QVERIFY(!stored.contains("fcit")); // the stored experiment is the expansion
        QCOMPARE(
            stored.value("stages").toArray().at(0).toObject().value("positional").toArray().size(),
            5);
        auto again = parseExperiment(QJsonDocument(stored).toJson());
        QVERIFY2(again, qPrintable(again.errorString()));
        QCOMPARE(unitsOf(again.value(), 3), unitsOf(parsed.value(), 3));
        QCOMPARE(again.value().stages, parsed.value().stages);
        QCOMPARE(again.value().toJson(), stored);
    }

    void homogeneousGivesEveryClientTheStagesTask()
    {
        QJsonObject block = hetBlock();
        block.insert("setting", "homogeneous");
        block.insert("clients", 20);
        block.insert("per_round", 4);
        block.insert("samples_per_task", 1000);
        block.insert("beta", 0.5);
        auto parsed = parseExperiment(fcitDocument(block));
        QVERIFY2(parsed, qPrintable(parsed.errorString()));
        const Experiment &e = parsed.value();
        QVERIFY(e.stageUnits.empty());
        QCOMPARE(e.stages.size(), std::size_t(8));
        for (std::size_t s = 0; s < 8; ++s) {
            QCOMPARE(std::count(e.stages[s].begin(), e.stages[s].end(), kEightTasks[int(s)]),
                     std::ptrdiff_t(20));
        }
        QCOMPARE(e.federated.number("participation"), 0.2);
        QCOMPARE(e.clients.front().samplesPerTask(), 50);
    }

    void seededListsAreSortedDrawsFromTheTasks()
    {
        QJsonObject block = hetBlock();
        block.insert("het_lists", "seeded");
        block.insert("per_round", 3);
        block.insert("tasks", QJsonArray{"vl-feet", "vl-upper", "vl-dark"});
        auto a = parseExperiment(fcitDocument(block));
        auto b = parseExperiment(fcitDocument(block));
        QVERIFY2(a, qPrintable(a.errorString()));
        QCOMPARE(unitsOf(a.value(), 2), unitsOf(b.value(), 2));
        QCOMPARE(a.value().stageUnits.size(), std::size_t(3)); // one stage per task
        const std::vector<QString> order = {"vl-feet", "vl-upper", "vl-dark"};
        for (std::size_t st = 0; st < 3; ++st) {
            const std::vector<QString> units = unitsOf(a.value(), st);
            QCOMPARE(units.size(), std::size_t(3));
            std::vector<std::ptrdiff_t> indices;
            for (const QString &task : units) {
                indices.push_back(std::find(order.begin(), order.end(), task) - order.begin());
            }
            QVERIFY(std::is_sorted(indices.begin(), indices.end()));
        }
        // Explicit lists by id or index.
        block.insert("het_lists", QJsonArray{QJsonArray{0, "vl-dark", 1}, QJsonArray{2, 2, 2}});
        auto given = parseExperiment(fcitDocument(block));
        QVERIFY2(given, qPrintable(given.errorString()));
        QCOMPARE(unitsOf(given.value(), 0),
                 (std::vector<QString>{"vl-feet", "vl-dark", "vl-upper"}));
        QCOMPARE(unitsOf(given.value(), 1),
                 (std::vector<QString>{"vl-dark", "vl-dark", "vl-dark"}));
        // One entry per client of a round.
        block.insert("het_lists", QJsonArray{QJsonArray{0, 1}});
        QVERIFY(firstError(fcitDocument(block))
                    .startsWith("fcit.het_lists[0]: expected 3 tasks, one per client of a round"));
    }

    void badScenariosNameTheField_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("expected");
        QJsonObject cap = hetBlock();
        cap.insert("granularity", "capability");
        QTest::newRow("capability without groups")
            << fcitDocument(cap) << "fcit.tasks: capability scenarios take fcit.groups";
        cap.remove("tasks");
        cap.insert("groups", QJsonArray{QJsonArray{"vl-feet", "vl-upper"}, QJsonArray{"vl-feet"}});
        QTest::newRow("task in two groups")
            << fcitDocument(cap) << "fcit.groups[1][0]: \"vl-feet\" is listed twice";
        QJsonObject fedhds = hetBlock();
        fedhds.insert("setting", "centralized");
        QTest::newRow("fedhds on a mixed stage")
            << fcitDocument(fedhds, {{"federated", QJsonObject{{"method", "fedhds"}}}})
            << "federated.method: \"fedhds\" cannot train stage 1: it is mixed";
        QJsonObject pcft = hetBlock();
        QTest::newRow("pcft on a positional stage")
            << fcitDocument(pcft, {{"federated", QJsonObject{{"method", "pcft"}}}})
            << "federated.method: \"pcft\" cannot train stage 1: it is positional";
        QJsonObject unknown = hetBlock();
        unknown.insert("tasks", QJsonArray{"vl-feet", "vl-nothing"});
        QTest::newRow("unknown task")
            << fcitDocument(unknown) << "fcit.tasks[1]: unknown task \"vl-nothing\"";
        QJsonObject six = hetBlock();
        six.insert("tasks", QJsonArray{"vl-feet", "vl-upper", "vl-dark"});
        QTest::newRow("official lists need 8 tasks")
            << fcitDocument(six) << "fcit.het_lists: the official lists are for 8 tasks";
        QTest::newRow("clients beside fcit")
            << fcitDocument(hetBlock(), {{"clients", QJsonArray{}}})
            << "clients: the \"fcit\" block generates clients";
        QTest::newRow("participation beside fcit")
            << fcitDocument(hetBlock(), {{"federated", QJsonObject{{"method", "fedavg"},
                                                                   {"participation", 0.5}}}})
            << "federated.participation: the \"fcit\" block sets it";
        QJsonObject faithful = hetBlock();
        faithful.insert("variant", "faithful"); // Q1: beta 5 is the minimum size
        faithful.insert("setting", "homogeneous");
        faithful.insert("beta", 5);
        faithful.insert("clients", 4);
        faithful.insert("per_round", 2);
        faithful.insert("samples_per_task", 10);
        QTest::newRow("faithful min size is beta")
            << fcitDocument(faithful) << "fcit.beta: every client must get 5 samples";
        QJsonObject typo = hetBlock();
        typo.insert("betta", 1);
        QTest::newRow("unknown field") << fcitDocument(typo) << "fcit.betta: unknown field";
        QJsonObject many = hetBlock();
        many.insert("per_round", 60);
        QTest::newRow("per round above clients")
            << fcitDocument(many) << "fcit.per_round: 60 clients a round, but only 50";
    }

    void badScenariosNameTheField()
    {
        QFETCH(QByteArray, json);
        QFETCH(QString, expected);
        const QString error = firstError(json);
        QVERIFY2(error.startsWith(expected), qPrintable(error));
    }

    void capabilityGroupsAreMixedStagesOrPositionalGroups()
    {
        QJsonObject block{
            {"setting", "homogeneous"},
            {"granularity", "capability"},
            {"groups",
             QJsonArray{QJsonArray{"vl-feet", "vl-upper"}, QJsonArray{"vl-dark", "vl-brighter"},
                        QJsonArray{"vl-what-item"}, QJsonArray{"vl-category", "vl-count-shoes"}}},
            {"samples_per_task", 1000}};
        auto hom = parseExperiment(fcitDocument(block));
        QVERIFY2(hom, qPrintable(hom.errorString()));
        QCOMPARE(hom.value().stages.size(), std::size_t(4));
        QCOMPARE(hom.value().stageKind(0), StageUnits::Kind::Mixed);
        QCOMPARE(unitsOf(hom.value(), 0), (std::vector<QString>{"vl-feet+vl-upper"}));
        QCOMPARE(hom.value().learnedAtStage(), (std::vector<int>{0, 0, 1, 1, 2, 3, 3}));
        QCOMPARE(hom.value().toJson().value("stages").toArray().at(1).toObject().value("mix"),
                 QJsonValue(QJsonArray{"vl-dark", "vl-brighter"}));
        // cap_dyn_list: stage 1 positions train groups 0, 1, 1, 3, 3.
        block.insert("setting", "heterogeneous");
        auto het = parseExperiment(fcitDocument(block));
        QVERIFY2(het, qPrintable(het.errorString()));
        QCOMPARE(
            unitsOf(het.value(), 0),
            (std::vector<QString>{"vl-feet+vl-upper", "vl-dark+vl-brighter", "vl-dark+vl-brighter",
                                  "vl-category+vl-count-shoes", "vl-category+vl-count-shoes"}));
        QCOMPARE(unitsOf(het.value(), 3).front(), QStringLiteral("vl-feet+vl-upper"));
        auto again = parseExperiment(QJsonDocument(het.value().toJson()).toJson());
        QVERIFY2(again, qPrintable(again.errorString()));
        QCOMPARE(unitsOf(again.value(), 1), unitsOf(het.value(), 1));

        // A group pools samples_per_task x clients of each task, then splits them.
        const std::vector<int> sizes = {6000, 6000};
        auto pool = groupPool(hom.value(), {"vl-feet", "vl-upper"}, sizes);
        QVERIFY(pool);
        QCOMPARE(pool.value().size(), std::size_t(2000)); // 1000 of each
        QCOMPARE(std::count_if(pool.value().begin(), pool.value().end(),
                               [](const GroupSample &g) {
                                   return g.task == 1;
                               }),
                 std::ptrdiff_t(1000));
        const std::vector<int> labelsA(6000, 3);
        const std::vector<int> labelsB(6000, 3);
        const std::vector<int> pooled = pooledLabels(pool.value(), {&labelsA, &labelsB});
        QCOMPARE(pooled.front(), 3);
        QCOMPARE(pooled.back(), 1000003); // the second task's classes stay apart
        std::vector<std::size_t> members;
        const PartitionRequest request =
            groupShardRequest(hom.value(), {"vl-feet", "vl-upper"}, pooled, members);
        QCOMPARE(members.size(), std::size_t(50));
        QCOMPARE(request.requested.front(), 40); // 20 samples per task, two tasks
        auto parts = partitionSamples(request);
        QVERIFY2(parts, qPrintable(parts.errorString()));
        std::size_t total = 0;
        for (const auto &mine : parts.value()) {
            total += mine.size();
        }
        QCOMPARE(total, std::size_t(2000));
        QVERIFY(!groupPool(hom.value(), {"vl-feet", "vl-upper"}, {6000, 999}));
    }

    void centralizedIsOneClientOnEverything()
    {
        QJsonObject block = hetBlock();
        block.insert("setting", "centralized");
        QJsonObject federated{{"method", "fedavg"}, {"rounds_per_stage", 20}};
        auto parsed = parseExperiment(fcitDocument(block, {{"federated", federated}}));
        QVERIFY2(parsed, qPrintable(parsed.errorString()));
        const Experiment &e = parsed.value();
        QCOMPARE(e.clients.size(), std::size_t(1));
        QCOMPARE(e.clients.front().name, QStringLiteral("central"));
        QCOMPARE(e.clients.front().samplesPerTask(), 3000);
        QCOMPARE(e.stages.size(), std::size_t(1));
        QCOMPARE(e.stageKind(0), StageUnits::Kind::Mixed);
        QCOMPARE(e.stageUnits[0].units.front().size(), std::size_t(8));
        // 20 rounds x 5 of 50 clients = 2 passes over every task's samples.
        QCOMPARE(e.roundsPerStage(), 2);
        QCOMPARE(e.federated.number("participation"), 1.0);
    }

    void aMixedStageTrainsEveryTaskOfItsGroup()
    {
        QByteArray json = twoTaskStage(true);
        json.replace(R"("fmnist-split-1", "fmnist-split-3")",
                     R"({"mix": ["fmnist-split-1", "fmnist-split-2"]}, "fmnist-split-3")");
        auto mixed = parseExperiment(json);
        QVERIFY2(mixed, qPrintable(mixed.errorString()));
        QCOMPARE(mixed.value().learnedAtStage(), (std::vector<int>{0, 0, 1}));
        test::RecordingObserver observer;
        const RunOutcome outcome = test::runToCompletion(mixed.value(), observer);
        QVERIFY2(outcome.summary.matrix.at(0, 0) > 0.85,
                 qPrintable(QString::number(outcome.summary.matrix.at(0, 0))));
        QVERIFY2(outcome.summary.matrix.at(0, 1) > 0.85,
                 qPrintable(QString::number(outcome.summary.matrix.at(0, 1))));
        QVERIFY(outcome.summary.matrix.at(0, 2) < 0.75); // split-3 is not trained yet
    }

    void positionalStagesParseAndRefuseBadLists()
    {
        const QByteArray ok = twoTaskStage(false);
        auto parsed = parseExperiment(ok);
        QVERIFY2(parsed, qPrintable(parsed.errorString()));
        QCOMPARE(parsed.value().learnedAtStage(), (std::vector<int>{0, 0, 1}));
        // The static view: client c shows task c mod 2.
        QCOMPARE(parsed.value().stages[0],
                 (std::vector<QString>{"fmnist-split-1", "fmnist-split-2"}));
        QByteArray bad = ok;
        bad.replace(R"("fmnist-split-2"]})", R"("fmnist-nothing"]})");
        QCOMPARE(firstError(bad).section(QLatin1Char(':'), 0, 0),
                 QStringLiteral("stages[0].positional[1]"));
        QByteArray text = ok;
        text.replace(R"(["fmnist-split-1", "fmnist-split-2"])",
                     R"(["fmnist-split-1", ["fmnist-split-2", "text-reverse"]])");
        QVERIFY2(firstError(text).startsWith(
                     R"(stages[0].positional: task "text-reverse" has free-text answers)"),
                 qPrintable(firstError(text)));
        QByteArray empty = ok;
        empty.replace(R"(["fmnist-split-1", "fmnist-split-2"])", "[]");
        QVERIFY(firstError(empty).startsWith("stages[0].positional: expected a non-empty array"));
    }

    void perTaskSplitsCoverTheTaskOverEveryClient_data()
    {
        QTest::addColumn<double>("beta");
        QTest::newRow("beta 0.5") << 0.5;
        QTest::newRow("beta 1") << 1.0;
        QTest::newRow("beta 5") << 5.0;
    }

    void perTaskSplitsCoverTheTaskOverEveryClient()
    {
        QFETCH(double, beta);
        QJsonObject block = hetBlock();
        block.insert("beta", beta);
        auto parsed = parseExperiment(fcitDocument(block));
        QVERIFY(parsed);
        const Experiment &e = parsed.value();
        const std::vector<int> labels(6000, 0);
        std::vector<std::size_t> members;
        // vl-upper (column 2) recurs in stages 0, 1, 4: one split for all of them.
        const PartitionRequest request = groupShardRequest(e, {"vl-upper"}, labels, members);
        QCOMPARE(members.size(), std::size_t(50));
        QCOMPARE(request.maxQuantityDraws, 10000);
        auto parts = partitionSamples(request);
        QVERIFY2(parts, qPrintable(parts.errorString()));
        std::set<int> seen;
        std::size_t total = 0;
        for (const auto &mine : parts.value()) {
            QVERIFY(!mine.empty());
            total += mine.size();
            seen.insert(mine.begin(), mine.end());
        }
        QCOMPARE(total, std::size_t(3000));
        QCOMPARE(seen.size(), std::size_t(3000)); // disjoint
        QCOMPARE(partitionSamples(request).value(), parts.value());
        // A per-client stage never uses it; a positional stage has no per-stage split.
        QVERIFY(stagePartitionRequest(e, 0, 2, labels, members).requested.empty());
        QVERIFY(members.empty());
    }

    void floorRoundingGivesIntOfShareTimesTotal()
    {
        // Q7: int(p_k N) as FCIT's code, replayed from the same stream.
        PartitionRequest request;
        request.method = PartitionMethod::Quantity;
        request.labels.assign(3000, 0);
        request.requested.assign(50, 60);
        request.quantityBeta = 5;
        request.minPerClient = 1;
        request.seed = 9;
        request.rounding = QuantityRounding::Floor;
        Rng replay(request.seed);
        const std::vector<double> shares = sampleDirichlet(replay, 50, 5);
        auto parts = partitionSamples(request);
        QVERIFY2(parts, qPrintable(parts.errorString()));
        std::size_t total = 0;
        for (std::size_t c = 0; c < 50; ++c) {
            QCOMPARE(parts.value()[c].size(), std::size_t(shares[c] * 3000));
            total += parts.value()[c].size();
        }
        QVERIFY(total <= 3000 && total > 3000 - 50);
        QVERIFY(total < 3000); // this draw leaves samples unused
        request.rounding = QuantityRounding::Apportion;
        const auto apportioned = partitionSamples(request);
        std::size_t all = 0;
        for (const auto &mine : apportioned.value()) {
            all += mine.size();
        }
        QCOMPARE(all, std::size_t(3000));
        // Too few draws for the minimum: the error says how many were tried.
        request.quantityBeta = 0.5;
        request.minPerClient = 30;
        request.maxQuantityDraws = 7;
        const auto refused = partitionSamples(request);
        QVERIFY(!refused);
        QVERIFY2(refused.errorString().contains("in 7 draws"), qPrintable(refused.errorString()));
    }

    void aPositionalStageTrainsEveryPositionsTask()
    {
        // Stage 1 of the positional run trains split-1 on client a and split-2 on client b; the
        // homogeneous one trains split-1 only. Task-incremental accuracy of split-2 after stage 1
        // tells them apart (chance 0.5).
        auto positional = parseExperiment(twoTaskStage(false));
        auto homogeneous = parseExperiment(twoTaskStage(true));
        QVERIFY(positional && homogeneous);
        test::RecordingObserver a;
        test::RecordingObserver b;
        const RunOutcome het = test::runToCompletion(positional.value(), a);
        const RunOutcome hom = test::runToCompletion(homogeneous.value(), b);
        // Columns: split-1, split-2, split-3 (positional) and split-1, split-3 (homogeneous).
        QCOMPARE(het.summary.taskIds.size(), std::size_t(3));
        QVERIFY2(het.summary.matrix.at(0, 1) > 0.85,
                 qPrintable(QString::number(het.summary.matrix.at(0, 1))));
        QVERIFY(het.summary.matrix.at(0, 0) > 0.85);
        QCOMPARE(hom.summary.taskIds.size(), std::size_t(2));
        // Every stage-1 round sampled both clients: each trained its position's task.
        for (const RoundMetrics &round : a.rounds) {
            QCOMPARE(round.clientsReturned, 2);
        }
        // Deterministic whatever the thread count.
        test::RecordingObserver one;
        CancellationToken cancel;
        RunOptions options;
        options.threads = 1;
        const RunOutcome single = runExperiment(positional.value(), nullptr, one, cancel, options);
        QCOMPARE(single.summary.matrix.stages(), 2);
        for (int stage = 0; stage < 2; ++stage) {
            for (int task = 0; task < 3; ++task) {
                QCOMPARE(single.summary.matrix.at(stage, task), het.summary.matrix.at(stage, task));
            }
        }
    }
};

QTEST_GUILESS_MAIN(TestFcit)
#include "tst_fcit.moc"
