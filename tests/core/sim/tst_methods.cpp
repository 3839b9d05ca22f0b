// SPDX-License-Identifier: MIT
// The plug-in methods end to end (issue 6): every federated method runs and learns, traffic is
// counted from the payloads actually sent, observations reach the observer and the store, and a
// run stopped after any round resumes to exactly the metrics of an uninterrupted run.
#include "core/sim/ask.h"
#include "core/sim/engine.h"
#include "core/store/run_store.h"
#include "tests/support/test_support.h"

#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <map>

using namespace fcl;

namespace {

Experiment experimentWith(const char *federated, const QString &continual = {}, int clients = 3,
                          int stages = 3)
{
    QByteArray json = test::tinyExperimentJson(continual, clients, stages, 2, 150);
    json.replace(R"("method": "fedavg")", QByteArray(R"("method": ")") + federated + "\"");
    if (QByteArray(federated) == "feddat") { // adapter trios
        json.replace(R"("layers": 1})", R"("layers": 1, "tuning": "adapter", "adapter_width": 8})");
    }
    if (QByteArray(federated) == "disco") { // sliced LoRA on tiny-vlm, 2 slots of rank 2
        json.replace(R"("backbone": "mlp", "hidden": 64, "layers": 1})",
                     R"("backbone": "tiny-vlm", "tuning": "lora", "lora_rank": 4})");
        json.replace(R"("method": "disco")", R"("method": "disco", "slots": 2,
                     "optimizer": "adam")");
        json.replace(R"("lr": 0.05)", R"("lr": 0.003)");
    }
    if (QByteArray(federated) == "fedhds") { // token features: tiny-vlm; the global model's
        json.replace(R"("backbone": "mlp", "hidden": 64, "layers": 1})",
                     R"("backbone": "tiny-vlm", "tuning": "lora", "lora_rank": 4})");
        json.replace(R"("method": "fedhds")", R"("method": "fedhds", "features_model": "global",
                     "client_min_cluster": 3, "optimizer": "adam")");
        json.replace(R"("lr": 0.05)", R"("lr": 0.003)");
    }
    auto parsed = parseExperiment(json);
    if (!parsed) {
        qFatal("%s", qPrintable(parsed.errorString()));
    }
    return parsed.value();
}

std::int64_t firstRoundBytes(const Experiment &experiment, bool up)
{
    test::RecordingObserver observer;
    test::runToCompletion(experiment, observer);
    return up ? observer.rounds.front().bytesUp : observer.rounds.front().bytesDown;
}

/// Three clients learn vl-feet, then vl-dark, with DISCO (4 slots of rank 2).
QByteArray discoFeetThenDark(const char *extra = "")
{
    QByteArray json = R"({
  "name": "disco", "seed": 3,
  "model": {"backbone": "tiny-vlm", "tuning": "lora", "lora_rank": 8, "lora_alpha": 16},
  "federated": {"method": "disco", "slots": 4, "rounds_per_stage": 3, "lr": 0.003,
            "batch_size": 8, "optimizer": "adam"EXTRA},
  "clients": [{"name": "a", "samples_per_task": 80}, {"name": "b", "samples_per_task": 80},
          {"name": "c", "samples_per_task": 80}],
  "stages": ["vl-feet", "vl-dark"],
  "evaluation": {"every_rounds": 3, "test_samples_per_task": 60}
})";
    return json.replace("EXTRA", extra);
}

} // namespace

class TestMethods : public QObject {
    Q_OBJECT

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<RunStore> m_store;

    RunOutcome run(const Experiment &experiment, test::RecordingObserver &observer,
                   CancellationToken &cancel, int checkpointEvery = 0)
    {
        RunOptions options;
        options.threads = 2;
        options.checkpointEveryRounds = checkpointEvery;
        return runExperiment(experiment, m_store.get(), observer, cancel, options);
    }

private Q_SLOTS:
    void init()
    {
        m_dir = std::make_unique<QTemporaryDir>();
        auto store = RunStore::open(m_dir->filePath(QStringLiteral("runs.sqlite")));
        QVERIFY(store);
        m_store = std::move(store).value();
    }

    void cleanup()
    {
        m_store.reset();
        m_dir.reset();
    }

    void everyFederatedMethodLearnsTheFirstTask_data()
    {
        QTest::addColumn<QString>("method");
        for (const char *method : {"fedavgm", "fedadam", "fedyogi", "scaffold", "fedper"}) {
            QTest::newRow(method) << QString::fromLatin1(method);
        }
    }

    void everyFederatedMethodLearnsTheFirstTask()
    {
        QFETCH(QString, method);
        // The paper's defaults throughout (FedAdam/FedYogi: server_lr 0.01).
        const Experiment experiment = experimentWith(method.toLatin1().constData(), {}, 3, 1);
        test::RecordingObserver observer;
        CancellationToken cancel;
        const RunOutcome outcome = run(experiment, observer, cancel);
        QCOMPARE(outcome.status, RunStatus::Completed);
        const double before = outcome.summary.matrix.baseline(0);
        const double after = outcome.summary.matrix.at(0, 0);
        qDebug("%s: task 1 untrained %.3f, after stage 1 %.3f", qPrintable(method), before, after);
        // Two classes: chance is 0.5. FedPer's personal heads were trained against their own
        // body, then evaluated on the averaged one: after two rounds that mismatch still costs
        // it (0.69 here, against 0.93 for the shared-head methods).
        QVERIFY(after > 0.5 + (method == QLatin1String("fedper") ? 0.15 : 0.2));
    }

    void trafficIsCountedFromThePayloadsSent()
    {
        // mlp 800 -> 64 -> 12 as in the tiny experiment; three clients each way.
        const std::int64_t model = ((800 * 64 + 64) + (64 * 12 + 12)) * 4;
        const std::int64_t head = (64 * 12 + 12) * 4;
        QCOMPARE(firstRoundBytes(experimentWith("fedavg", {}, 3, 1), true), 3 * model);
        // SCAFFOLD: the model and the control variate each way.
        QCOMPARE(firstRoundBytes(experimentWith("scaffold", {}, 3, 1), true), 3 * 2 * model);
        QCOMPARE(firstRoundBytes(experimentWith("scaffold", {}, 3, 1), false), 3 * 2 * model);
        // FedPer: the personal heads never travel.
        QCOMPARE(firstRoundBytes(experimentWith("fedper", {}, 3, 1), true), 3 * (model - head));
    }

    void fedPerEvaluatesEachClientOnItsOwnModel()
    {
        test::RecordingObserver observer;
        CancellationToken cancel;
        const RunOutcome outcome = run(experimentWith("fedper", {}, 3, 2), observer, cancel);
        QCOMPARE(outcome.status, RunStatus::Completed);
        std::vector<const Observation *> matrices;
        for (const Observation &o : observer.observations) {
            if (o.kind == QLatin1String("personal.accuracy")) {
                matrices.push_back(&o);
            }
        }
        QCOMPARE(matrices.size(), std::size_t(4)); // every evaluated round
        const Observation &last = *matrices.back();
        QCOMPARE(last.shape, ObservationShape::Matrix);
        QCOMPARE(last.labels, (QStringList{"client-1", "client-2", "client-3"}));
        QCOMPARE(last.columnLabels, (QStringList{"fmnist-split-1", "fmnist-split-2"}));
        QCOMPARE(last.values.size(), std::size_t(6));
        // Every client learned both tasks, so a task's score is the mean of its clients' scores.
        for (int j = 0; j < 2; ++j) {
            const double mean = (last.values[static_cast<std::size_t>(j)] +
                                 last.values[static_cast<std::size_t>(2 + j)] +
                                 last.values[static_cast<std::size_t>(4 + j)]) /
                                3;
            QVERIFY(test::fuzzyCompare(outcome.summary.matrix.at(1, j), mean, 1e-12));
        }
        // Heads differ between clients: their personal scores on the new task are not all equal.
        qDebug() << "personal accuracy (client-major)" << last.values;
        QVERIFY(last.values[1] != last.values[3] || last.values[3] != last.values[5]);
        auto stored = m_store->observations(outcome.runId);
        QVERIFY(stored);
        QCOMPARE(stored->size(), observer.observations.size());
        QCOMPARE(stored->back().values, last.values);
        QCOMPARE(stored->back().globalRound, 3);
    }

    void scaffoldReportsEachClientsControlVariateNorm()
    {
        test::RecordingObserver observer;
        CancellationToken cancel;
        QByteArray json = test::tinyExperimentJson({}, 4, 1, 3, 150);
        json.replace(R"("method": "fedavg")", R"("method": "scaffold", "participation": 0.5)");
        const RunOutcome outcome = run(parseExperiment(json).value(), observer, cancel);
        QCOMPARE(outcome.status, RunStatus::Completed);
        QCOMPARE(observer.observations.size(), std::size_t(3)); // one series point per round
        const Observation &first = observer.observations.front();
        QCOMPARE(first.kind, QStringLiteral("scaffold.control_variate_norm"));
        QCOMPARE(first.shape, ObservationShape::Series);
        QCOMPARE(first.labels.size(), 5); // the server's c and four clients
        int trained = 0;
        for (int c = 1; c <= 4; ++c) {
            trained += std::isnan(first.values[static_cast<std::size_t>(c)]) ? 0 : 1;
        }
        QCOMPARE(trained, 2); // half the clients trained in round 1; the others have no c_i yet
        QVERIFY(first.values[0] > 0);
    }

    void pcftTrustFindsTheClientsWithTheSameTask_data()
    {
        QTest::addColumn<QString>("trust");
        for (const char *trust : {"weights", "validation", "prediction", "oracle"}) {
            QTest::newRow(trust) << QString::fromLatin1(trust);
        }
    }

    /// PCFT (issue 10): clients a and b learn "is it footwear?", c and d "is it upper-body
    /// clothing?" on the same kind of images, so their answers conflict. Every trust scheme must
    /// trust the same-task peer more than either conflicting one.
    void pcftTrustFindsTheClientsWithTheSameTask()
    {
        QFETCH(QString, trust);
        const QByteArray json = QStringLiteral(R"({
  "name": "pcft groups", "seed": 5,
  "model": {"backbone": "mlp", "hidden": 64, "layers": 1},
  "federated": {"method": "pcft", "trust": "%1", "warmup_fraction": 0.5, "rounds_per_stage": 4,
                "lr": 0.05, "batch_size": 32},
  "continual": {"method": "finetune"},
  "clients": [{"name": "a", "samples_per_task": 200}, {"name": "b", "samples_per_task": 200},
              {"name": "c", "samples_per_task": 200}, {"name": "d", "samples_per_task": 200}],
  "stages": [{"a": "fmnist-is-footwear", "b": "fmnist-is-footwear",
              "c": "fmnist-is-upper-body", "d": "fmnist-is-upper-body"}],
  "evaluation": {"test_samples_per_task": 200, "every_rounds": 2}
})")
                                    .arg(trust)
                                    .toUtf8();
        auto experiment = parseExperiment(json);
        QVERIFY2(experiment, qPrintable(experiment.errorString()));
        test::RecordingObserver observer;
        CancellationToken cancel;
        const RunOutcome outcome = run(experiment.value(), observer, cancel);
        QVERIFY2(outcome.status == RunStatus::Completed, qPrintable(outcome.error));
        // Warm-up: rounds 1 and 2 are local only, nothing travels; rounds 3 and 4 mix.
        QCOMPARE(observer.rounds[0].bytesUp, std::int64_t(0));
        QCOMPARE(observer.rounds[1].bytesDown, std::int64_t(0));
        QVERIFY(observer.rounds[2].bytesUp > 0);
        std::vector<const Observation *> matrices;
        const Observation *share = nullptr;
        const Observation *own = nullptr;
        for (const Observation &o : observer.observations) {
            if (o.kind == QLatin1String("pcft.trust")) {
                matrices.push_back(&o);
            } else if (o.kind == QLatin1String("pcft.in_group_trust")) {
                share = &o;
            } else if (o.kind == QLatin1String("personal.own_task")) {
                own = &o;
            }
        }
        QCOMPARE(matrices.size(), std::size_t(2));
        const std::vector<double> &w = matrices.front()->values;
        const auto at = [&](int i, int j) {
            return w[static_cast<std::size_t>(i * 4 + j)];
        };
        qDebug() << trust << "first trust matrix" << w;
        for (int i = 0; i < 4; ++i) {
            const int peer = i ^ 1; // a-b, c-d
            for (int other : {i < 2 ? 2 : 0, i < 2 ? 3 : 1}) {
                QVERIFY2(at(i, peer) > at(i, other),
                         qPrintable(QStringLiteral("%1 trusts %2 %3, %4 %5")
                                        .arg(i)
                                        .arg(peer)
                                        .arg(at(i, peer))
                                        .arg(other)
                                        .arg(at(i, other))));
            }
        }
        QVERIFY(share != nullptr && share->values[0] > share->values[1]); // above chance (1/3)
        // The headline: each client's own model on its own task, with the mean and the worst.
        QVERIFY(own != nullptr);
        QCOMPARE(own->labels.size(), 6);
        double sum = 0;
        double worst = 1;
        for (int c = 2; c < 6; ++c) {
            sum += own->values[static_cast<std::size_t>(c)];
            worst = std::min(worst, own->values[static_cast<std::size_t>(c)]);
        }
        QVERIFY(test::fuzzyCompare(own->values[0], sum / 4, 1e-12));
        QCOMPARE(own->values[1], worst);
        qDebug() << trust << "own-task accuracy (mean, worst, clients)" << own->values;
        if (trust == QLatin1String("weights")) {
            // The paper's weight trust is softmax(S) with S a mean cosine in [-1, 1] and no
            // temperature: models grown from one start stay at cosines near 1, so W is close to
            // uniform (here within 0.01 of 1/4), the conflicting tasks are mixed, and the own-task
            // accuracy drops to FedAvg's level (0.60 here). docs/methods.md reports it.
            for (double value : w) {
                QVERIFY(std::abs(value - 0.25) < 0.01);
            }
        } else {
            QVERIFY(own->values[0] > 0.9); // sharp trust keeps each pair to its own question
        }
        auto stored = m_store->observations(outcome.runId);
        QVERIFY2(stored, qPrintable(stored.errorString()));
        QCOMPARE(stored->size(), observer.observations.size());
        std::int64_t bytes = 0;
        for (const RoundMetrics &round : observer.rounds) {
            bytes += round.bytesUp;
        }
        QCOMPARE(m_store->run(outcome.runId)->bytesUp, bytes);
    }

    /// FedDAT (issue 10), end to end on the mlp: only the shared adapter travels (each way, per
    /// client and round), every client keeps its own adapter and head, the mutual distillation
    /// learns, and a wrong tuning mode is refused with the field's name.
    void fedDatSendsOnlyTheSharedAdapter()
    {
        QByteArray trios = test::tinyExperimentJson({}, 2, 1, 10, 150);
        trios.replace(R"("method": "fedavg")", R"("method": "feddat")");
        trios.replace(R"("layers": 1})",
                      R"("layers": 1, "tuning": "adapter", "adapter_width": 8})");
        const auto experiment = parseExperiment(trios);
        QVERIFY2(experiment, qPrintable(experiment.errorString()));
        test::RecordingObserver observer;
        CancellationToken cancel;
        const RunOutcome outcome = run(experiment.value(), observer, cancel);
        QVERIFY2(outcome.status == RunStatus::Completed, qPrintable(outcome.error));
        // A_s of one slot: down 64 -> 8 (512 + 8) and up 8 -> 64 (512 + 64) floats, 4 bytes each.
        const std::int64_t shared = (64 * 8 + 8 + 8 * 64 + 64) * 4;
        for (const RoundMetrics &round : observer.rounds) {
            QCOMPARE(round.bytesUp, 2 * shared);
            QCOMPARE(round.bytesDown, 2 * shared);
        }
        const Observation *own = nullptr;
        for (const Observation &o : observer.observations) {
            if (o.kind == QLatin1String("personal.own_task")) {
                own = &o;
            }
        }
        QVERIFY(own != nullptr);
        qDebug() << "feddat own-task accuracy (mean, worst, clients)" << own->values;
        // Untrained: 0.42 (T-shirt vs trouser); the adapters (up starts at zero) on a frozen random
        // layer learn slowly: 0.80 after 10 rounds (FedPer with one adapter: 0.85).
        QVERIFY(own->values[0] > 0.7);

        QByteArray json = test::tinyExperimentJson({}, 2, 1, 2, 150);
        json.replace(R"("method": "fedavg")", R"("method": "feddat")");
        auto lora = parseExperiment(json);
        QVERIFY(lora);
        test::RecordingObserver refused;
        const RunOutcome failed = run(lora.value(), refused, cancel);
        QVERIFY(failed.status != RunStatus::Completed);
        QVERIFY2(failed.error.contains(QLatin1String("model.tuning")), qPrintable(failed.error));
    }

    /// FedHDS (issue 9) on the shipped tiny-vlm base: each sampled client trains only on the
    /// samples the two-level clustering picked (one per kept global cluster), the traffic adds
    /// exactly the centroids up and the picked ids down, the scatters agree with the counts,
    /// the random baseline trains on exactly its fraction, and results do not depend on threads.
    void fedHdsTrainsOnTheSelectedCoreset()
    {
        const QString json = QStringLiteral(R"({
  "name": "fedhds", "seed": 3,
  "model": {"backbone": "tiny-vlm", "tuning": "lora", "lora_rank": 4, "lora_alpha": 8},
  "federated": {"method": "fedhds", "selection": "%1", "fraction": 0.1, "reducer": "%2",
                "rounds_per_stage": 2, "lr": 0.003, "batch_size": 8, "optimizer": "adam"},
  "clients": [{"name": "a", "samples_per_task": 40}, {"name": "b", "samples_per_task": 40},
              {"name": "c", "samples_per_task": 40}, {"name": "d", "samples_per_task": 40},
              {"name": "e", "samples_per_task": 40}, {"name": "f", "samples_per_task": 40}],
  "stages": [{"a": "vl-feet", "b": "vl-upper", "c": "vl-feet", "d": "vl-dark",
              "e": "vl-upper", "f": "vl-dark"}],
  "evaluation": {"every_rounds": 2, "test_samples_per_task": 40}
})");
        // LoRA rank 4 on q, v (128 -> 128) and up (128 -> 512), down (512 -> 128) of 4 blocks.
        const std::int64_t lora = 4 * (2 * 4 * (128 + 128) + 4 * (128 + 512) * 2) * 4;
        for (const char *reducer : {"tsne", "pca"}) {
            auto experiment = parseExperiment(
                json.arg(QStringLiteral("hierarchical"), QString::fromLatin1(reducer)).toUtf8());
            QVERIFY2(experiment, qPrintable(experiment.errorString()));
            test::RecordingObserver observer;
            CancellationToken cancel;
            const RunOutcome outcome = run(experiment.value(), observer, cancel);
            QVERIFY2(outcome.status == RunStatus::Completed, qPrintable(outcome.error));
            std::map<QString, std::vector<const Observation *>> byKind;
            for (const Observation &o : observer.observations) {
                byKind[o.kind].push_back(&o);
            }
            QCOMPARE(byKind[QStringLiteral("fedhds.data_fraction")].size(), std::size_t(2));
            QCOMPARE(byKind[QStringLiteral("fedhds.clusters")].size(), std::size_t(2));
            for (int r = 0; r < 2; ++r) {
                const RoundMetrics &round = observer.rounds[static_cast<std::size_t>(r)];
                const auto &counts = byKind[QStringLiteral("fedhds.clusters")][r]->values;
                const double fraction =
                    byKind[QStringLiteral("fedhds.data_fraction")][r]->values[0];
                const auto local = static_cast<std::int64_t>(counts[0]);
                const int global = static_cast<int>(counts[1]);
                const int training = static_cast<int>(counts[3]);
                qDebug("%s round %d: %lld local clusters, %d global, %d of %d train, data %.4f",
                       reducer, r + 1, static_cast<long long>(local), global, training,
                       static_cast<int>(counts[2]), fraction);
                QCOMPARE(static_cast<int>(counts[2]), 6);
                QCOMPARE(round.clientsSampled, 6);
                QCOMPARE(round.clientsReturned, 6); // none dropped out; `training` trained
                // One sample per kept global cluster, out of 6 x 40 samples. (Measured: 3 global
                // clusters of 21-22 local ones; the untrained base's features do not change, so
                // both rounds select the same.)
                QVERIFY(global >= 1 && global <= local);
                QVERIFY(test::fuzzyCompare(fraction, global / 240.0, 1e-12));
                QVERIFY(fraction < 0.1);
                QCOMPARE(round.bytesUp, training * lora + 16 * local);
                QCOMPARE(round.bytesDown, 6 * lora + 4 * global);
                // The scatters: the server's kept points are one per global cluster; the first
                // client's selected points are at most one per local cluster of its own.
                const Observation &server = *byKind[QStringLiteral("fedhds.server_scatter")][r];
                QCOMPARE(server.shape, ObservationShape::Points);
                QCOMPARE(server.values.size(), std::size_t(3 * local));
                QCOMPARE(server.labels.size(), global + 2); // noise, global 1.., kept
                int kept = 0;
                for (std::size_t i = 2; i < server.values.size(); i += 3) {
                    kept += server.values[i] == global + 1 ? 1 : 0;
                }
                QCOMPARE(kept, global);
                const Observation &client = *byKind[QStringLiteral("fedhds.client_scatter")][r];
                QCOMPARE(client.values.size(), std::size_t(3 * 40));
                const int clusters = static_cast<int>(client.labels.size()) - 2;
                int selected = 0;
                for (std::size_t i = 2; i < client.values.size(); i += 3) {
                    selected += client.values[i] == clusters + 1 ? 1 : 0;
                }
                QVERIFY(selected <= clusters);
            }
            // The same run on one thread: bit-identical metrics.
            RunOptions options;
            options.threads = 1;
            test::RecordingObserver single;
            const RunOutcome again =
                runExperiment(experiment.value(), m_store.get(), single, cancel, options);
            QCOMPARE(again.status, RunStatus::Completed);
            QCOMPARE(again.summary.matrix.at(0, 0), outcome.summary.matrix.at(0, 0));
            for (std::size_t r = 0; r < observer.rounds.size(); ++r) {
                QCOMPARE(single.rounds[r].trainLoss, observer.rounds[r].trainLoss);
                QCOMPARE(single.rounds[r].bytesUp, observer.rounds[r].bytesUp);
            }
        }
        // The random baseline: exactly its fraction of each shard (4 of 40), nothing extra sent.
        auto random =
            parseExperiment(json.arg(QStringLiteral("random"), QStringLiteral("tsne")).toUtf8());
        QVERIFY(random);
        test::RecordingObserver observer;
        CancellationToken cancel;
        QCOMPARE(run(random.value(), observer, cancel).status, RunStatus::Completed);
        for (const RoundMetrics &round : observer.rounds) {
            QCOMPARE(round.bytesUp, 6 * lora);
            QCOMPARE(round.bytesDown, 6 * lora);
        }
        for (const Observation &o : observer.observations) {
            if (o.kind == QLatin1String("fedhds.data_fraction")) {
                QVERIFY(test::fuzzyCompare(o.values[0], 0.1, 1e-12));
            }
        }
        // A classifier backbone is refused by validation, naming the field.
        QByteArray mlp = test::tinyExperimentJson({}, 2, 1, 1, 50);
        mlp.replace(R"("method": "fedavg")", R"("method": "fedhds")");
        const auto refused = parseExperiment(mlp);
        QVERIFY(!refused);
        QVERIFY2(refused.errorString().contains(QLatin1String(
                     R"(federated.method: "fedhds" needs model.backbone "tiny-vlm")")),
                 qPrintable(refused.errorString()));
    }

    /// FedHDS's two upload variants. In the feature space a centroid is the fused hidden states'
    /// width (5 layers x 128) instead of 2 coordinates, from the same local clusters; with DP
    /// noise every coordinate is squashed by tanh into (-1, 1) before the noise, as the original
    /// does. Both keep the bytes exact and the run bit-identical on one thread.
    void fedHdsUploadsInFeatureSpaceOrWithNoise()
    {
        const QString json = QStringLiteral(R"({
  "name": "fedhds", "seed": 3,
  "model": {"backbone": "tiny-vlm", "tuning": "lora", "lora_rank": 4, "lora_alpha": 8},
  "federated": {"method": "fedhds", "reducer": "pca", "rounds_per_stage": 2, "lr": 0.003,
                "batch_size": 8, "optimizer": "adam"%1},
  "clients": [{"name": "a", "samples_per_task": 40}, {"name": "b", "samples_per_task": 40},
              {"name": "c", "samples_per_task": 40}, {"name": "d", "samples_per_task": 40}],
  "stages": [{"a": "vl-feet", "b": "vl-upper", "c": "vl-feet", "d": "vl-dark"}],
  "evaluation": {"every_rounds": 2, "test_samples_per_task": 20}
})");
        const std::int64_t lora = 4 * (2 * 4 * (128 + 128) + 4 * (128 + 512) * 2) * 4;
        struct Seen {
            std::vector<std::int64_t> local, training, bytesUp;
            double largest = 0; // the largest |coordinate| the server clustered
        };
        const auto runWith = [&](const char *extra, int threads) {
            Seen seen;
            auto experiment = parseExperiment(json.arg(QString::fromLatin1(extra)).toUtf8());
            if (!experiment) {
                QTest::qFail(qPrintable(experiment.errorString()), __FILE__, __LINE__);
                return seen;
            }
            test::RecordingObserver observer;
            CancellationToken cancel;
            RunOptions options;
            options.threads = threads;
            const RunOutcome outcome =
                runExperiment(experiment.value(), m_store.get(), observer, cancel, options);
            if (outcome.status != RunStatus::Completed) {
                QTest::qFail(qPrintable(outcome.error), __FILE__, __LINE__);
                return seen;
            }
            for (const Observation &o : observer.observations) {
                if (o.kind == QLatin1String("fedhds.clusters")) {
                    seen.local.push_back(static_cast<std::int64_t>(o.values[0]));
                    seen.training.push_back(static_cast<std::int64_t>(o.values[3]));
                } else if (o.kind == QLatin1String("fedhds.server_scatter") &&
                           !QByteArray(extra).contains("features")) {
                    for (std::size_t i = 0; i < o.values.size(); i += 3) {
                        seen.largest = std::max(
                            {seen.largest, std::abs(o.values[i]), std::abs(o.values[i + 1])});
                    }
                }
            }
            for (const RoundMetrics &round : observer.rounds) {
                seen.bytesUp.push_back(round.bytesUp);
            }
            return seen;
        };
        const Seen plain = runWith("", 0);
        const Seen features = runWith(R"(, "server_space": "features")", 0);
        QCOMPARE(plain.local.size(), std::size_t(2));
        QCOMPARE(plain.bytesUp.size(), std::size_t(2));
        QCOMPARE(features.local, plain.local); // the same clients' clusters
        for (std::size_t r = 0; r < 2; ++r) {
            QCOMPARE(plain.bytesUp[r], plain.training[r] * lora + 2 * 8 * plain.local[r]);
            QCOMPARE(features.bytesUp[r],
                     features.training[r] * lora + 5 * 128 * 8 * features.local[r]);
        }
        const Seen tiny = runWith(R"(, "dp_noise": 1e-9)", 0);
        qDebug("largest |coordinate| the server clusters: %.3f plain, %.6f with tanh and DP",
               plain.largest, tiny.largest);
        QVERIFY(plain.largest > 1);
        QVERIFY(tiny.largest < 1 + 1e-6);
        QCOMPARE(tiny.local, plain.local);
        const Seen noisy = runWith(R"(, "dp_noise": 0.5)", 0);
        const Seen noisyOneThread = runWith(R"(, "dp_noise": 0.5)", 1);
        QCOMPARE(noisyOneThread.bytesUp, noisy.bytesUp);
        QCOMPARE(noisyOneThread.largest, noisy.largest);
    }

    /// DISCO (issue 9) end to end on the shipped tiny-vlm base: clients of one task share a
    /// slot; a new, dissimilar task opens the next slot; the slot tokens of the two tasks are
    /// not alike; only the trained slot and the identity token travel up, the model and the slot
    /// tokens down.
    void discoGivesANewTaskItsOwnSlot()
    {
        const QByteArray json = discoFeetThenDark();
        auto experiment = parseExperiment(json);
        QVERIFY2(experiment, qPrintable(experiment.errorString()));
        test::RecordingObserver observer;
        CancellationToken cancel;
        const RunOutcome outcome = run(experiment.value(), observer, cancel);
        QVERIFY2(outcome.status == RunStatus::Completed, qPrintable(outcome.error));
        std::vector<const Observation *> assignments;
        std::vector<const Observation *> ssa;
        const Observation *similarity = nullptr;
        for (const Observation &o : observer.observations) {
            if (o.kind == QLatin1String("disco.assignment")) {
                assignments.push_back(&o);
            } else if (o.kind == QLatin1String("disco.slot_similarity")) {
                similarity = &o; // the last
            } else if (o.kind == QLatin1String("disco.ssa_weights")) {
                ssa.push_back(&o);
            }
        }
        // At each stage's end, the tasks' mean slot weights: every row sums to 1 (SSA is a
        // softmax over the learned slots), and each task's prompts go mostly to its own slot.
        QCOMPARE(ssa.size(), std::size_t(2));
        const Observation &weights = *ssa.back();
        QCOMPARE(weights.labels, (QStringList{"vl-feet", "vl-dark"}));
        QCOMPARE(weights.values.size(), std::size_t(2 * 4));
        for (int row = 0; row < 2; ++row) {
            double sum = 0;
            for (int slot = 0; slot < 4; ++slot) {
                sum += weights.values[static_cast<std::size_t>(row * 4 + slot)];
            }
            QVERIFY(std::abs(sum - 1.0) < 1e-5);
        }
        QCOMPARE(ssa.front()->values[0], 1.0); // one learned slot: it takes every prompt
        qDebug("own-slot weight: feet %.3f, dark %.3f", weights.values[0], weights.values[5]);
        QVERIFY(weights.values[0] > 0.5 && weights.values[5] > 0.5);
        QCOMPARE(assignments.size(), std::size_t(6));
        for (std::size_t r = 0; r < 6; ++r) {
            QCOMPARE(assignments[r]->labels.size(), 3);
            for (double slot : assignments[r]->values) {
                QCOMPARE(slot, r < 3 ? 0.0 : 1.0); // stage 1 in slot 1, stage 2 in slot 2
            }
        }
        QVERIFY(similarity != nullptr);
        QCOMPARE(similarity->values.size(), std::size_t(16));
        qDebug("slot tokens' cosine, feet vs dark: %.4f", similarity->values[1]);
        QVERIFY(similarity->values[1] < 0.9);                   // why the new task got its own slot
        QVERIFY(std::abs(similarity->values[0] - 1.0) < 1e-12); // a slot with itself
        QVERIFY(std::isnan(similarity->values[2]));             // slot 3 is empty
        // mlp.up and mlp.down of 4 blocks, rank 8: 4 x 8 x (128 + 512) x 2 floats; one slot is a
        // quarter. Up: the slot and a 128-wide float64 token; down: the LoRA and, once learned,
        // the 4 x 128 slot tokens and 4 counts (float64).
        const std::int64_t lora = 4 * 8 * (128 + 512) * 2 * 4;
        QCOMPARE(observer.rounds[0].bytesUp, 3 * (lora / 4 + 128 * 8));
        QCOMPARE(observer.rounds[0].bytesDown, 3 * lora);
        QCOMPARE(observer.rounds[1].bytesDown, 3 * (lora + (4 * 128 + 4) * 8));
        // The base scores 0 on both. Stage 2 trains only slot 2, so slot 1 is bit-identical, and
        // feet prompts weigh slot 2 by softmax(cos / 0.05) with cosines ~1 against ~0.14: the
        // first task is not forgotten at all (measured: 0.400 after both stages; FedAvg on the
        // same sequence forgets most of it, docs/papers-in-miniature.md).
        const AccuracyMatrix &m = outcome.summary.matrix;
        qDebug("disco: feet %.3f after stage 1, %.3f after stage 2; dark %.3f", m.at(0, 0),
               m.at(1, 0), m.at(1, 1));
        QVERIFY(m.at(0, 0) > 0.2);
        QCOMPARE(m.at(1, 0), m.at(0, 0));
        QVERIFY(m.at(1, 1) > 0.2);
        // fcl ask routes each question as evaluation does: asked one by one, the stage-2 model
        // answers the first task's test questions exactly as well as the stored accuracy says.
        AskQuery query;
        query.sampleTask = QStringLiteral("vl-feet");
        query.stages = {1};
        query.includeUntrained = false;
        int correct = 0;
        for (int i = 0; i < 60; ++i) {
            query.sampleIndex = i;
            auto answer = askRun(outcome.runId, *m_store, query);
            QVERIFY2(answer, qPrintable(answer.errorString()));
            correct += answer->answers.front().answer == answer->expected ? 1 : 0;
        }
        QCOMPARE(correct / 60.0, m.at(1, 0));
        // A rank that the slots do not divide is refused, naming the field.
        QByteArray odd = json;
        odd.replace(R"("lora_rank": 8)", R"("lora_rank": 6)");
        test::RecordingObserver refused;
        const RunOutcome failed = run(parseExperiment(odd).value(), refused, cancel);
        QVERIFY(failed.status != RunStatus::Completed);
        QVERIFY2(failed.error.contains(QLatin1String("model.lora_rank")), qPrintable(failed.error));
    }

    /// DISCO's ablations of its identity and its upload (issue 9). Uploading the whole LoRA, as
    /// the original does, changes the bytes and not one bit of the result (the server reads the
    /// slot each client trained). The image identity is refused for a task without images.
    void discoUploadAllChangesOnlyTheBytes()
    {
        CancellationToken cancel;
        test::RecordingObserver slot;
        const RunOutcome a = run(parseExperiment(discoFeetThenDark()).value(), slot, cancel);
        test::RecordingObserver all;
        const RunOutcome b =
            run(parseExperiment(discoFeetThenDark(R"(, "upload": "all")")).value(), all, cancel);
        QVERIFY2(a.status == RunStatus::Completed, qPrintable(a.error));
        QVERIFY2(b.status == RunStatus::Completed, qPrintable(b.error));
        for (int stage = 0; stage < 2; ++stage) {
            for (int task = 0; task < 2; ++task) {
                QCOMPARE(b.summary.matrix.at(stage, task), a.summary.matrix.at(stage, task));
            }
        }
        QCOMPARE(all.rounds.size(), slot.rounds.size());
        // Up: the whole LoRA (4 x 8 x (128 + 512) x 2 floats) instead of a quarter of it.
        const std::int64_t lora = 4 * 8 * (128 + 512) * 2 * 4;
        for (std::size_t r = 0; r < all.rounds.size(); ++r) {
            QCOMPARE(all.rounds[r].bytesUp, slot.rounds[r].bytesUp + 3 * (lora - lora / 4));
            QCOMPARE(all.rounds[r].bytesDown, slot.rounds[r].bytesDown);
            QCOMPARE(all.rounds[r].trainLoss, slot.rounds[r].trainLoss);
        }
        auto text = parseExperiment(R"({"name": "t", "model": {"backbone": "tiny-vlm",
            "tuning": "lora", "lora_rank": 8},
            "federated": {"method": "disco", "slots": 4, "identity": "image"},
            "clients": [{"name": "a"}], "stages": ["vl-feet", "text-copy"]})");
        QVERIFY(!text);
        QVERIFY2(text.errorString().contains(QLatin1String(
                     R"(federated.identity: "image" reads each task's images, and task )"
                     R"("text-copy" (stage 2) has none)")),
                 qPrintable(text.errorString()));
    }

    /// The identity ablations end to end on feet, then dark: two questions about the same
    /// Fashion-MNIST images. From the instruction (the default, the mean embedding, or both
    /// halves) the dark questions open slot 2; from the image alone the two tasks look alike,
    /// dark trains feet's slot, and feet is forgotten. With the final state at the separator
    /// (alone or beside the image) the feet answers stay exactly as they were; the mean embedding
    /// routes less sharply (its slot tokens' cosine is higher), so some feet prompts lean on
    /// slot 2. Faithful opens slot 2 too.
    void discoIdentityAblationsRun_data()
    {
        QTest::addColumn<QString>("extra");
        QTest::addColumn<int>("darkSlot");
        QTest::addColumn<bool>("feetKept");
        QTest::newRow("image") << R"(, "identity": "image")" << 0 << false;
        QTest::newRow("both") << R"(, "identity": "both")" << 1 << true;
        QTest::newRow("mean_embedding") << R"(, "encoder": "mean_embedding")" << 1 << false;
        QTest::newRow("faithful") << R"(, "variant": "faithful")" << 1 << true;
    }

    void discoIdentityAblationsRun()
    {
        QFETCH(QString, extra);
        QFETCH(int, darkSlot);
        QFETCH(bool, feetKept);
        CancellationToken cancel;
        test::RecordingObserver observer;
        auto experiment = parseExperiment(discoFeetThenDark(extra.toUtf8().constData()));
        QVERIFY2(experiment, qPrintable(experiment.errorString()));
        const RunOutcome outcome = run(experiment.value(), observer, cancel);
        QVERIFY2(outcome.status == RunStatus::Completed, qPrintable(outcome.error));
        const Observation *similarity = nullptr;
        int stage2Rounds = 0;
        for (const Observation &o : observer.observations) {
            if (o.kind == QLatin1String("disco.slot_similarity")) {
                similarity = &o;
            } else if (o.kind == QLatin1String("disco.assignment") && o.stage == 1) {
                ++stage2Rounds;
                for (double slot : o.values) {
                    QCOMPARE(slot, double(darkSlot));
                }
            }
        }
        QCOMPARE(stage2Rounds, 3);
        QVERIFY(similarity != nullptr);
        const AccuracyMatrix &m = outcome.summary.matrix;
        qDebug("feet-dark slot cosine %.4f; feet %.3f then %.3f, dark %.3f", similarity->values[1],
               m.at(0, 0), m.at(1, 0), m.at(1, 1));
        QVERIFY(m.at(0, 0) > 0.2);
        QVERIFY(m.at(1, 1) > 0.2);
        if (darkSlot == 0) {
            QVERIFY(std::isnan(similarity->values[1])); // slot 2 stayed empty
            QVERIFY(m.at(1, 0) < m.at(0, 0) - 0.2);
        } else {
            QVERIFY(similarity->values[1] < 0.9);
        }
        // The text identity's slot tokens have cosine 0.137 (discoGivesANewTaskItsOwnSlot): the
        // image half of `both` (alike for the two tasks) and the mean embedding raise it.
        if (extra.contains(QLatin1String("both")) || extra.contains(QLatin1String("mean_"))) {
            QVERIFY(similarity->values[1] > 0.4);
        }
        if (extra.contains(QLatin1String("mean_"))) {
            QVERIFY(m.at(1, 0) < m.at(0, 0)); // some feet prompts lean on slot 2
        }
        if (feetKept) {
            QCOMPARE(m.at(1, 0), m.at(0, 0)); // slot 1 untouched, feet routed to it
        }
    }

    /// Q4 end to end: after a stage of feet, three clients train feet and dark pooled, in batches
    /// of 2. Faithful chooses a slot for every batch (feet-like batches take feet's slot,
    /// dark-like ones a new one), and `disco.batch_slots` shows it in that round only; fixed
    /// chooses once per client and has no such observation.
    void discoQuirkQ4ChoosesPerBatch()
    {
        for (const bool faithful : {false, true}) {
            QByteArray json = discoFeetThenDark(faithful ? R"(, "variant": "faithful")" : "");
            json.replace(R"("stages": ["vl-feet", "vl-dark"])",
                         R"("stages": ["vl-feet", {"mix": ["vl-feet", "vl-dark"]}])");
            json.replace(R"("batch_size": 8)", R"("batch_size": 2)");
            auto experiment = parseExperiment(json);
            QVERIFY2(experiment, qPrintable(experiment.errorString()));
            test::RecordingObserver observer;
            CancellationToken cancel;
            const RunOutcome outcome = run(experiment.value(), observer, cancel);
            QVERIFY2(outcome.status == RunStatus::Completed, qPrintable(outcome.error));
            std::vector<const Observation *> batches;
            for (const Observation &o : observer.observations) {
                if (o.kind == QLatin1String("disco.batch_slots")) {
                    batches.push_back(&o);
                }
            }
            if (!faithful) {
                QVERIFY(batches.empty());
                continue;
            }
            QCOMPARE(batches.size(), std::size_t(1));
            const Observation &o = *batches.front();
            QCOMPARE(o.stage, 1);
            QCOMPARE(o.round, 0);
            QCOMPARE(o.labels, (QStringList{"a", "b", "c"}));
            QCOMPARE(o.values.size(), std::size_t(3 * 4));
            int split = 0; // clients whose batches went to more than one slot
            for (int c = 0; c < 3; ++c) {
                double sum = 0;
                int used = 0;
                for (int slot = 0; slot < 4; ++slot) {
                    const double n = o.values[static_cast<std::size_t>(c * 4 + slot)];
                    sum += n;
                    used += n > 0 ? 1 : 0;
                }
                QCOMPARE(sum, 80.0); // 80 samples of each task pooled, in batches of 2
                split += used > 1 ? 1 : 0;
                qDebug("client %d: batches per slot %g %g %g %g", c, o.values[c * 4],
                       o.values[c * 4 + 1], o.values[c * 4 + 2], o.values[c * 4 + 3]);
            }
            QVERIFY(split > 0);
        }
    }

    /// Q5: the original tells the i-th sampled client of a later round the slot of the i-th
    /// client of the stage's first round, whoever it is; fixed, a client keeps its own group's
    /// slot. Two clients ask feet, two dark, two are sampled a round.
    void discoQuirkQ5SlotsByPosition()
    {
        const QByteArray json = R"({
  "name": "q5", "seed": 5,
  "model": {"backbone": "tiny-vlm", "tuning": "lora", "lora_rank": 8, "lora_alpha": 16},
  "federated": {"method": "disco", "slots": 4, "rounds_per_stage": 5, "lr": 0.003,
                "batch_size": 8, "optimizer": "adam", "participation": 0.5VARIANT},
  "clients": [{"name": "a", "samples_per_task": 40}, {"name": "b", "samples_per_task": 40},
              {"name": "c", "samples_per_task": 40}, {"name": "d", "samples_per_task": 40}],
  "stages": [{"a": "vl-feet", "b": "vl-dark", "c": "vl-feet", "d": "vl-dark"}],
  "evaluation": {"every_rounds": 5, "test_samples_per_task": 20}
})";
        const QMap<QString, QString> taskOf = {
            {"a", "feet"}, {"b", "dark"}, {"c", "feet"}, {"d", "dark"}};
        for (const char *variant : {"", R"(, "variant": "faithful")"}) {
            QByteArray text = json;
            auto experiment = parseExperiment(text.replace("VARIANT", variant));
            QVERIFY2(experiment, qPrintable(experiment.errorString()));
            test::RecordingObserver observer;
            CancellationToken cancel;
            const RunOutcome outcome = run(experiment.value(), observer, cancel);
            QVERIFY2(outcome.status == RunStatus::Completed, qPrintable(outcome.error));
            std::vector<const Observation *> rounds;
            for (const Observation &o : observer.observations) {
                if (o.kind == QLatin1String("disco.assignment")) {
                    rounds.push_back(&o);
                }
            }
            QCOMPARE(rounds.size(), std::size_t(5));
            QMap<QString, double> slotOfTask; // from the first round's groups
            for (int i = 0; i < rounds.front()->labels.size(); ++i) {
                slotOfTask[taskOf[rounds.front()->labels[i]]] = rounds.front()->values[i];
            }
            int strangers = 0; // later-round updates that went to another task's slot
            QString trace;
            for (const Observation *round : rounds) {
                for (int i = 0; i < round->labels.size(); ++i) {
                    const QString task = taskOf[round->labels[i]];
                    trace += QStringLiteral("%1:%2 ").arg(round->labels[i]).arg(round->values[i]);
                    if (round != rounds.front() && slotOfTask.contains(task) &&
                        round->values[i] != slotOfTask[task]) {
                        ++strangers;
                    }
                    if (*variant != '\0' && round != rounds.front()) {
                        QCOMPARE(round->values[i], rounds.front()->values[i]); // by position
                    }
                }
                trace += QLatin1String("| ");
            }
            qDebug("%s: %s", *variant != '\0' ? "faithful" : "fixed", qPrintable(trace));
            if (*variant == '\0') {
                QCOMPARE(strangers, 0);
            } else {
                QVERIFY(strangers > 0);
            }
        }
    }

    void tirWithoutSimilarityIsMas()
    {
        // TIR's ablation without similarity, with MAS importance and lambda/2, is MAS over two
        // stages (one stage of importance: the max-merge is the sum): the same metrics, bit for
        // bit; only the traffic differs (TIR also sends owners and task embeddings).
        const auto rowsOf = [this](const QString &continual, int stages) {
            test::RecordingObserver observer;
            CancellationToken cancel;
            const RunOutcome outcome =
                run(experimentWith("fedavg", continual, 1, stages), observer, cancel);
            [&] {
                QCOMPARE(outcome.status, RunStatus::Completed);
            }();
            QByteArray text;
            for (const QByteArray &line :
                 test::metricRowsText(m_store->metrics(outcome.runId).value()).split('\n')) {
                if (!line.contains("bytes_")) {
                    text += line + '\n';
                }
            }
            return text;
        };
        const QByteArray mas = rowsOf(
            QStringLiteral(R"({"method": "mas", "lambda": 20, "importance_samples": 30})"), 2);
        const QByteArray tir = rowsOf(QStringLiteral(R"({"method": "tir", "lambda": 20,
            "importance_samples": 30, "use_similarity": false, "half": true})"),
                                      2);
        const QByteArray finetune = rowsOf(QStringLiteral(R"({"method": "finetune"})"), 2);
        QCOMPARE(tir, mas);
        QVERIFY(mas != finetune); // the penalty changed the second stage
    }

    void tirRelaxesTheWeightsOfASimilarTask()
    {
        // The same task again in stage 2 is as similar as a task can be (with two tasks the
        // product of the three clamped cosines, near 1): TIR lifts almost all protection and
        // trains nearly like fine-tuning, while MAS holds the weights.
        const auto lossesOf = [this](const QString &continual) {
            QByteArray json = test::tinyExperimentJson(continual, 1, 2, 2, 150);
            json.replace(R"("fmnist-split-2")", R"("fmnist-split-1")");
            auto experiment = parseExperiment(json);
            [&] {
                QVERIFY2(experiment, qPrintable(experiment.errorString()));
            }();
            test::RecordingObserver observer;
            CancellationToken cancel;
            [&] {
                QCOMPARE(run(experiment.value(), observer, cancel).status, RunStatus::Completed);
            }();
            std::vector<double> losses;
            for (const RoundMetrics &round : observer.rounds) {
                losses.push_back(round.trainLoss);
            }
            return losses;
        };
        const std::vector<double> finetune = lossesOf(QStringLiteral(R"({"method": "finetune"})"));
        const std::vector<double> tir = lossesOf(
            QStringLiteral(R"({"method": "tir", "lambda": 30, "importance_samples": 30})"));
        const std::vector<double> mas = lossesOf(
            QStringLiteral(R"({"method": "mas", "lambda": 30, "importance_samples": 30})"));
        QCOMPARE(tir.size(), std::size_t(4));
        qDebug("stage-2 losses: finetune %.6f %.6f, tir %.6f %.6f, mas %.6f %.6f", finetune[2],
               finetune[3], tir[2], tir[3], mas[2], mas[3]);
        // Measured: TIR 0.0125 from fine-tuning, MAS 0.455 (the client's second shard of the
        // task embeds slightly differently from its first: the similarity is just below 1).
        QVERIFY(std::abs(mas[3] - finetune[3]) > 0.1 * finetune[3]);
        QVERIFY(std::abs(tir[3] - finetune[3]) < 0.1 * std::abs(mas[3] - finetune[3]));
    }

    void resumedRunEqualsUninterruptedRun_data()
    {
        QTest::addColumn<QString>("federated");
        QTest::addColumn<QString>("continual");
        QTest::addColumn<int>("stopAfterRounds");
        QTest::addColumn<int>("checkpointEvery");
        const QString replay = QStringLiteral(R"({"method": "replay", "buffer_per_client": 40})");
        const QString ewc =
            QStringLiteral(R"({"method": "ewc", "lambda": 50, "fisher_samples": 30})");
        const QString lwf = QStringLiteral(R"({"method": "lwf"})");
        QTest::newRow("replay, cancelled after stage 2") << "fedavg" << replay << 4 << 0;
        QTest::newRow("replay, cancelled in stage 3") << "fedavg" << replay << 5 << 0;
        QTest::newRow("ewc, cancelled after stage 2") << "fedavg" << ewc << 4 << 0;
        QTest::newRow("mas, cancelled after stage 2")
            << "fedavg"
            << QStringLiteral(R"({"method": "mas", "lambda": 20, "importance_samples": 30})") << 4
            << 0;
        QTest::newRow("tir, cancelled in stage 3")
            << "fedavg"
            << QStringLiteral(R"({"method": "tir", "lambda": 10, "importance_samples": 30})") << 5
            << 1;
        QTest::newRow("lwf, cancelled in stage 3") << "fedprox" << lwf << 5 << 0;
        QTest::newRow("fedadam, cancelled after stage 1") << "fedadam" << QString() << 2 << 0;
        QTest::newRow("scaffold, cancelled in stage 2") << "scaffold" << replay << 3 << 0;
        QTest::newRow("fedper, cancelled after stage 2") << "fedper" << QString() << 4 << 0;
        QTest::newRow("pcft, cancelled in stage 2") << "pcft" << QString() << 3 << 0;
        QTest::newRow("feddat, replay, cancelled in stage 2") << "feddat" << replay << 3 << 0;
        QTest::newRow("fedhds, replay, cancelled in stage 2") << "fedhds" << replay << 3 << 0;
        QTest::newRow("disco, mid-stage checkpoint") << "disco" << QString() << 3 << 1;
        QTest::newRow("fedavgm, mid-stage checkpoint") << "fedavgm" << replay << 5 << 1;
        QTest::newRow("nothing saved yet") << "fedavg" << replay << 1 << 0;
    }

    void resumedRunEqualsUninterruptedRun()
    {
        QFETCH(QString, federated);
        QFETCH(QString, continual);
        QFETCH(int, stopAfterRounds);
        QFETCH(int, checkpointEvery);
        const Experiment experiment = experimentWith(federated.toLatin1().constData(), continual);

        test::RecordingObserver whole;
        CancellationToken uninterrupted;
        const RunOutcome reference = run(experiment, whole, uninterrupted);
        QCOMPARE(reference.status, RunStatus::Completed);

        test::RecordingObserver first;
        CancellationToken cancel;
        first.cancelToken = &cancel;
        first.cancelAfterRounds = stopAfterRounds;
        const RunOutcome stopped = run(experiment, first, cancel, checkpointEvery);
        QCOMPARE(stopped.status, RunStatus::Cancelled);
        QCOMPARE(first.rounds.size(), std::size_t(stopAfterRounds));

        test::RecordingObserver second;
        CancellationToken again;
        RunOptions options;
        options.threads = 1; // and a different thread count
        const RunOutcome resumed = resumeRun(stopped.runId, *m_store, second, again, options);
        QVERIFY2(resumed.status == RunStatus::Completed, qPrintable(resumed.error));
        QCOMPARE(resumed.runId, stopped.runId);
        const int checkpointed = checkpointEvery > 0 ? stopAfterRounds : stopAfterRounds / 2 * 2;
        QCOMPARE(second.info.resumedAtRound, checkpointed);
        QCOMPARE(second.rounds.size(), std::size_t(6 - checkpointed));

        const QByteArray expected = test::metricRowsText(m_store->metrics(reference.runId).value());
        const QByteArray actual = test::metricRowsText(m_store->metrics(stopped.runId).value());
        QCOMPARE(actual, expected);
        const auto expectedObservations = m_store->observations(reference.runId).value();
        const auto actualObservations = m_store->observations(stopped.runId).value();
        QCOMPARE(actualObservations.size(), expectedObservations.size());
        for (std::size_t i = 0; i < expectedObservations.size(); ++i) {
            QCOMPARE(actualObservations[i].globalRound, expectedObservations[i].globalRound);
            QCOMPARE(QByteArray::number(actualObservations[i].values.size()),
                     QByteArray::number(expectedObservations[i].values.size()));
        }
        const RunRecord record = m_store->run(stopped.runId).value();
        QCOMPARE(record.status, RunStatus::Completed);
        QCOMPARE(record.finalAverageAccuracy, reference.summary.finalAverageAccuracy);
        QCOMPARE(record.bytesUp, reference.summary.totalBytesUp);
        QCOMPARE(m_store->checkpoints(stopped.runId).value().size(), std::size_t(3));
    }

    void resumeRefusesACompletedRun()
    {
        test::RecordingObserver observer;
        CancellationToken cancel;
        const RunOutcome done = run(experimentWith("fedavg", {}, 2, 1), observer, cancel);
        QCOMPARE(done.status, RunStatus::Completed);
        test::RecordingObserver second;
        const RunOutcome refused = resumeRun(done.runId, *m_store, second, cancel);
        QCOMPARE(refused.status, RunStatus::Failed);
        QVERIFY(refused.badInput);
        QCOMPARE(refused.error, QStringLiteral("run %1 is already completed").arg(done.runId));
        QCOMPARE(m_store->run(done.runId)->status, RunStatus::Completed); // untouched
        const RunOutcome unknown = resumeRun(999, *m_store, second, cancel);
        QVERIFY(unknown.badInput);
    }

    void personalParametersAndAGlobalStagePluginAreRefused()
    {
        // EWC's anchor and LwF's teacher are one global model; with FedPer's personal heads they
        // would anchor every head to its untrained weights, so the run is refused up front.
        test::RecordingObserver observer;
        CancellationToken cancel;
        const RunOutcome outcome =
            run(experimentWith("fedper", QStringLiteral(R"({"method": "ewc"})"), 2, 2), observer,
                cancel);
        QCOMPARE(outcome.status, RunStatus::Failed);
        QVERIFY(outcome.badInput);
        QVERIFY2(outcome.error.startsWith(QStringLiteral(
                     "continual.method: \"ewc\" keeps one global copy of the model and cannot "
                     "be combined with federated.method \"fedper\"")),
                 qPrintable(outcome.error));
        QVERIFY(observer.rounds.empty());
    }
};

QTEST_GUILESS_MAIN(TestMethods)
#include "tst_methods.moc"
