// SPDX-License-Identifier: MIT
// PCFT: personalized collaborative fine-tuning (Wagner, Fan and Jaggi 2024). There is no server
// model: every client keeps its own LoRA and, on trust rounds, replaces it by a trust-weighted
// mix of its peers' (theta_i := sum_j W[i][j] theta_j, all at once). Trust comes from the
// similarity of the weights, from each peer model's perplexity on the learner's validation data,
// or from how alike the peers predict on a shared reference set; `none` (local only) and `naive`
// (uniform) bracket them, and `oracle` (the same task = trusted) is the upper reference. The
// trust matrices themselves are trust.cpp; this file is the protocol and its bookkeeping.
#include "core/common/method_descriptor.h"
#include "core/federated/aggregator_p.h"
#include "core/federated/trust_p.h"
#include "core/model/method_api_p.h"

#include <QSet>

#include <algorithm>
#include <cmath>
#include <limits>

namespace fcl::detail {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

enum class Scheme { None, Naive, Weights, Validation, Prediction, Oracle };

Scheme schemeFromName(const QString &name)
{
    if (name == QLatin1String("none")) {
        return Scheme::None;
    }
    if (name == QLatin1String("naive")) {
        return Scheme::Naive;
    }
    if (name == QLatin1String("validation")) {
        return Scheme::Validation;
    }
    if (name == QLatin1String("prediction")) {
        return Scheme::Prediction;
    }
    if (name == QLatin1String("oracle")) {
        return Scheme::Oracle;
    }
    return Scheme::Weights;
}

struct PcftSettings {
    Scheme scheme = Scheme::Weights;
    TrustVariant selection = TrustVariant::Softmax;
    int topK = 3;
    double threshold = 0.5;
    double temperature = 1;
    int trustEvery = 1;
    double warmupFraction = 0.2;
    double valFraction = 0.1;
    int valBatches = 12;
    int refBatches = 4;
    int topLogits = 100;
    bool countTrustSignal = true;
    bool faithful = false;
};

class PcftStrategy : public Strategy {
public:
    explicit PcftStrategy(PcftSettings settings) : m_settings(settings) {}

    Topology topology() const override { return Topology::PeerToPeer; }
    bool isPersonalised() const override { return true; }
    Traffic extraTraffic() const override { return m_traffic; }
    void beginRound(RoundPlan &) override { m_traffic = {}; }

    void initialize(const TensorList &initialShared, int clients) override
    {
        Strategy::initialize(initialShared, clients);
        m_models.clear();
        for (int c = 0; c < clients; ++c) {
            m_models.push_back(cloneList(initialShared));
        }
    }

    void attach(const StrategyContext &context) override
    {
        m_context = context;
        holdOutValidation();
    }

    Payload configure(const RoundPlan &, int client) const override
    {
        Payload payload;
        payload.tensors = m_models[static_cast<std::size_t>(client)];
        return payload;
    }

    const TensorList &modelFor(int client, int) const override
    {
        return client < 0 ? m_global : m_models[static_cast<std::size_t>(client)];
    }

    void aggregate(const RoundPlan &plan, std::vector<ClientResult> &results) override
    {
        m_traffic = {};
        m_trust = torch::Tensor();
        for (ClientResult &result : results) {
            m_models[static_cast<std::size_t>(result.client)] = std::move(result.upload.tensors);
        }
        m_participants.clear();
        for (const ClientResult &result : results) {
            m_participants.push_back(result.client);
        }
        if (isTrustRound(plan) && m_participants.size() > 1) {
            m_trust = trustMatrix(plan);
            std::vector<TensorList> models;
            for (int c : m_participants) {
                models.push_back(m_models[static_cast<std::size_t>(c)]);
            }
            std::vector<TensorList> mixed = mixModels(m_trust, models);
            for (std::size_t k = 0; k < m_participants.size(); ++k) {
                m_models[static_cast<std::size_t>(m_participants[k])] = std::move(mixed[k]);
            }
            countTraffic();
        }
        updateMean();
    }

    void observe(const RoundPlan &plan, const std::vector<ClientResult> &,
                 std::vector<Observation> &observations) override
    {
        if (!m_trust.defined()) {
            return;
        }
        const int n = plan.clients;
        QStringList names;
        for (const QString &name : *plan.clientNames) {
            names << name;
        }
        Observation matrix;
        matrix.kind = QStringLiteral("pcft.trust");
        matrix.title = QStringLiteral("PCFT: trust (row learns from column)");
        matrix.shape = ObservationShape::Matrix;
        matrix.labels = names;
        matrix.columnLabels = names;
        matrix.values.assign(static_cast<std::size_t>(n) * static_cast<std::size_t>(n), kNaN);
        Observation graph;
        graph.kind = QStringLiteral("pcft.trust_graph");
        graph.title = QStringLiteral("PCFT: who learns from whom (arrow: source to learner)");
        graph.shape = ObservationShape::Graph;
        graph.labels = names;
        const std::vector<int> &columns =
            (*m_context.columnOf)[static_cast<std::size_t>(plan.stage)];
        Observation group;
        group.kind = QStringLiteral("pcft.in_group_trust");
        group.title = QStringLiteral("PCFT: share of trust on peers with the same task");
        group.shape = ObservationShape::Series;
        group.labels << QStringLiteral("mean") << QStringLiteral("chance") << names;
        std::vector<double> shares(static_cast<std::size_t>(n), kNaN);
        double shareSum = 0;
        double chanceSum = 0;
        int counted = 0;
        const auto p = static_cast<std::int64_t>(m_participants.size());
        for (std::int64_t a = 0; a < p; ++a) {
            const int i = m_participants[static_cast<std::size_t>(a)];
            double peers = 0;
            double same = 0;
            int sameClients = 0;
            for (std::int64_t b = 0; b < p; ++b) {
                const int j = m_participants[static_cast<std::size_t>(b)];
                const double w = m_trust[a][b].item<double>();
                matrix.values[static_cast<std::size_t>(i * n + j)] = w;
                if (i == j) {
                    continue;
                }
                if (w > 0) {
                    graph.values.insert(graph.values.end(), {double(j), double(i), w});
                }
                peers += w;
                const bool sameTask =
                    columns[static_cast<std::size_t>(i)] == columns[static_cast<std::size_t>(j)];
                same += sameTask ? w : 0;
                sameClients += sameTask ? 1 : 0;
            }
            if (peers > 0) {
                shares[static_cast<std::size_t>(i)] = same / peers;
                shareSum += same / peers;
                chanceSum += double(sameClients) / double(p - 1);
                ++counted;
            }
        }
        group.values.push_back(counted > 0 ? shareSum / counted : kNaN);
        group.values.push_back(counted > 0 ? chanceSum / counted : kNaN);
        group.values.insert(group.values.end(), shares.begin(), shares.end());
        observations.push_back(std::move(matrix));
        observations.push_back(std::move(graph));
        observations.push_back(std::move(group));
    }

    void save(TensorArchive &archive) const override
    {
        Strategy::save(archive);
        for (std::size_t c = 0; c < m_models.size(); ++c) {
            saveTensorList(archive, "strategy/client/" + std::to_string(c) + "/", m_models[c]);
        }
    }

    void load(const TensorArchive &archive) override
    {
        Strategy::load(archive);
        for (std::size_t c = 0; c < m_models.size(); ++c) {
            m_models[c] = loadTensorList(archive, "strategy/client/" + std::to_string(c) + "/");
        }
    }

private:
    bool isTrustRound(const RoundPlan &plan) const
    {
        // As the original's `it % F == 0 and it >= P`, with it = the 0-based round of the stage
        // and P = the warm-up's rounds; the original tests `it >= P - 1`, one round early.
        const int it = plan.round;
        const int warmup =
            static_cast<int>(std::lround(m_settings.warmupFraction * m_context.roundsPerStage));
        const int from = m_settings.faithful ? warmup - 1 : warmup;
        return it >= from && it % m_settings.trustEvery == 0;
    }

    torch::Tensor trustMatrix(const RoundPlan &plan)
    {
        const auto p = static_cast<std::int64_t>(m_participants.size());
        switch (m_settings.scheme) {
        case Scheme::None:
            return torch::eye(p, torch::kFloat64);
        case Scheme::Naive:
            return torch::full({p, p}, 1.0 / double(p), torch::kFloat64);
        case Scheme::Oracle: {
            const std::vector<int> &columns =
                (*m_context.columnOf)[static_cast<std::size_t>(plan.stage)];
            torch::Tensor w = torch::zeros({p, p}, torch::kFloat64);
            for (std::int64_t a = 0; a < p; ++a) {
                for (std::int64_t b = 0; b < p; ++b) {
                    const auto i =
                        static_cast<std::size_t>(m_participants[static_cast<std::size_t>(a)]);
                    const auto j =
                        static_cast<std::size_t>(m_participants[static_cast<std::size_t>(b)]);
                    w[a][b] = columns[i] == columns[j] ? 1.0 : 0.0;
                }
            }
            return w / w.sum(1, true);
        }
        case Scheme::Weights: {
            std::vector<TensorList> models;
            for (int c : m_participants) {
                models.push_back(m_models[static_cast<std::size_t>(c)]);
            }
            return select(weightSimilarity(models));
        }
        case Scheme::Validation:
            return select(validationScores(validationLosses(plan)));
        case Scheme::Prediction:
            return select(predictionScores(referenceLogits(plan), m_settings.topLogits));
        }
        return {};
    }

    torch::Tensor select(const torch::Tensor &scores) const
    {
        return trustFromScores(scores, m_settings.selection, m_settings.topK, m_settings.threshold,
                               m_settings.temperature);
    }

    /// Holds a seeded val_fraction of every client's samples out of its training, per stage (for
    /// every scheme, so that all of them train on the same data).
    void holdOutValidation()
    {
        auto &indicesOf = *m_context.indicesOf;
        m_holdout.assign(indicesOf.size(), {});
        for (std::size_t s = 0; s < indicesOf.size(); ++s) {
            m_holdout[s].resize(indicesOf[s].size());
            for (std::size_t c = 0; c < indicesOf[s].size(); ++c) {
                std::vector<int> &mine = indicesOf[s][c];
                const auto n = static_cast<std::int64_t>(mine.size());
                if (m_settings.valFraction <= 0 || n < 2) {
                    continue;
                }
                const std::int64_t held = std::clamp<std::int64_t>(
                    std::llround(m_settings.valFraction * static_cast<double>(n)), 1, n - 1);
                std::vector<int> shuffled = mine;
                Rng rng(deriveSeed(m_context.seed, {40, s, c}));
                shuffleInPlace(shuffled, rng);
                m_holdout[s][c].assign(shuffled.begin(), shuffled.begin() + held);
                const QSet<int> out(m_holdout[s][c].begin(), m_holdout[s][c].end());
                std::vector<int> kept;
                for (int index : mine) {
                    if (!out.contains(index)) {
                        kept.push_back(index);
                    }
                }
                mine = std::move(kept);
            }
        }
    }

    std::vector<SampleRef> holdoutRefs(int stage, int client, std::size_t limit) const
    {
        const auto s = static_cast<std::size_t>(stage);
        const auto c = static_cast<std::size_t>(client);
        const int column = (*m_context.columnOf)[s][c];
        std::vector<SampleRef> refs;
        for (int index : m_holdout[s][c]) {
            if (refs.size() >= limit) {
                break;
            }
            refs.push_back({column, index});
        }
        return refs;
    }

    /// losses[i][j]: model j's mean cross-entropy on client i's validation samples (the same
    /// samples for every j). One job per model.
    torch::Tensor validationLosses(const RoundPlan &plan)
    {
        const auto p = static_cast<std::int64_t>(m_participants.size());
        const int batch = m_context.config->batchSize;
        const auto limit = static_cast<std::size_t>(m_settings.valBatches * batch);
        std::vector<std::vector<SampleRef>> sets;
        for (int c : m_participants) {
            sets.push_back(holdoutRefs(plan.stage, c, limit));
        }
        std::vector<double> losses(static_cast<std::size_t>(p * p), 0.0);
        m_context.run(
            QStringLiteral("PCFT's validation trust"), static_cast<int>(p),
            [&](WorkerModel &model, int b) {
                torch::NoGradGuard noGrad;
                model.load(
                    *m_context.layout,
                    m_models[static_cast<std::size_t>(m_participants[static_cast<std::size_t>(b)])],
                    {});
                for (std::int64_t a = 0; a < p; ++a) {
                    losses[static_cast<std::size_t>(a * p + b)] =
                        meanLoss(model, sets[static_cast<std::size_t>(a)], batch);
                }
            });
        return torch::tensor(losses, torch::kFloat64).reshape({p, p});
    }

    double meanLoss(WorkerModel &model, const std::vector<SampleRef> &refs, int batch) const
    {
        double sum = 0;
        std::int64_t rows = 0;
        for (std::size_t start = 0; start < refs.size(); start += static_cast<std::size_t>(batch)) {
            const std::vector<SampleRef> part(
                refs.begin() + static_cast<std::ptrdiff_t>(start),
                refs.begin() + static_cast<std::ptrdiff_t>(
                                   std::min(refs.size(), start + static_cast<std::size_t>(batch))));
            const Batch input = makeBatch(*m_context.data, part);
            const Outputs outputs = model.network().predict(input);
            const torch::Tensor loss = torch::nn::functional::cross_entropy(
                outputs.logits, outputs.targets,
                torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
            sum += loss.item<double>();
            rows += outputs.targets.size(0);
        }
        return rows > 0 ? sum / static_cast<double>(rows) : 0.0;
    }

    /// Every model's logits on one reference set drawn (seeded by stage and round) from the
    /// participants' validation samples.
    std::vector<torch::Tensor> referenceLogits(const RoundPlan &plan)
    {
        std::vector<SampleRef> pool;
        for (int c : m_participants) {
            const std::vector<SampleRef> mine =
                holdoutRefs(plan.stage, c, std::numeric_limits<std::size_t>::max());
            pool.insert(pool.end(), mine.begin(), mine.end());
        }
        Rng rng(deriveSeed(m_context.seed, {41, static_cast<std::uint64_t>(plan.stage),
                                            static_cast<std::uint64_t>(plan.round)}));
        shuffleInPlace(pool, rng);
        pool.resize(std::min(pool.size(), static_cast<std::size_t>(m_settings.refBatches *
                                                                   m_context.config->batchSize)));
        m_referenceRows = 0;
        std::vector<torch::Tensor> logits(m_participants.size());
        if (pool.empty()) {
            for (auto &z : logits) {
                z = torch::zeros({1, 1}, torch::kFloat64);
            }
            return logits;
        }
        const Batch input = makeBatch(*m_context.data, pool);
        m_context.run(
            QStringLiteral("PCFT's prediction trust"), static_cast<int>(m_participants.size()),
            [&](WorkerModel &model, int b) {
                torch::NoGradGuard noGrad;
                model.load(
                    *m_context.layout,
                    m_models[static_cast<std::size_t>(m_participants[static_cast<std::size_t>(b)])],
                    {});
                logits[static_cast<std::size_t>(b)] =
                    model.network().predict(input).logits.to(torch::kFloat64);
            });
        m_referenceRows = logits.front().size(0);
        m_vocabulary = logits.front().size(1);
        return logits;
    }

    void countTraffic()
    {
        const std::int64_t bytes = byteSize(m_models[static_cast<std::size_t>(m_participants[0])]);
        const auto p = static_cast<std::int64_t>(m_participants.size());
        const std::int64_t pairs = p * (p - 1);
        std::int64_t total = usedEdges(m_trust) * bytes;
        if (m_settings.countTrustSignal) {
            if (m_settings.scheme == Scheme::Weights || m_settings.scheme == Scheme::Validation) {
                total = pairs * bytes; // every peer's model had to reach every learner
            } else if (m_settings.scheme == Scheme::Prediction) {
                // each peer's top logits on the reference rows: a float32 value + int32 index
                total += pairs * m_referenceRows *
                         std::min<std::int64_t>(m_settings.topLogits, m_vocabulary) * 8;
            }
        }
        m_traffic = {total, total};
    }

    /// The global model (only shape checks and "ask" without a client read it): the plain mean.
    void updateMean()
    {
        std::vector<std::vector<torch::Tensor>> all;
        for (const TensorList &model : m_models) {
            all.push_back(valuesOf(model));
        }
        m_global = withNames(m_global, federatedAverage(all, std::vector<double>(all.size(), 1.0)));
    }

    PcftSettings m_settings;
    StrategyContext m_context;
    std::vector<TensorList> m_models;
    /// m_holdout[stage][client]: the validation samples held out of its training.
    std::vector<std::vector<std::vector<int>>> m_holdout;
    std::vector<int> m_participants; ///< the last round's returning clients, in order
    torch::Tensor m_trust;           ///< over m_participants; undefined when no trust round
    Traffic m_traffic;
    std::int64_t m_referenceRows = 0;
    std::int64_t m_vocabulary = 0;
};

} // namespace

MethodDescriptor pcftMethod()
{
    ParamDescriptor trust = choiceParam(
        "trust", {"weights", "validation", "prediction", "naive", "none", "oracle"},
        "How a client weighs its peers: weight similarity, their perplexity on its validation "
        "data, agreement of predictions on a shared reference set, uniform (naive), only itself "
        "(none), or the same task (oracle, an upper reference).");
    ParamDescriptor selection =
        choiceParam("selection", {"all", "top_k", "threshold"},
                    "Which peers a client mixes: all (softmax), its top_k, or those above the "
                    "scheme's threshold (the two best always).");
    ParamDescriptor variant = choiceParam(
        "variant", {"fixed", "faithful"},
        "faithful: as the original code (mixes from round P-1 of a warm-up of P rounds, one "
        "early; prediction threshold -50, which keeps every peer); fixed: from round P, "
        "threshold -5.");
    MethodDescriptor method = describeMethod(
        "federated", "pcft", "PCFT (peer-to-peer trust)",
        "No server: each client mixes its peers' models by how much it trusts them.",
        "Personalized collaborative fine-tuning (Wagner, Fan and Jaggi 2024): every client keeps "
        "its own model and, every few rounds, replaces it by a weighted mix of its peers' models. "
        "The weights (the trust matrix) come from how similar the models' weights are, how well "
        "each peer's model predicts the client's own validation data, or how alike the models "
        "answer a shared reference set. Clients with the same task should come to trust each "
        "other; accuracy is each client's own model on its own task. Traffic is counted per "
        "directed edge actually used.",
        {trust, selection,
         intParam("top_k", 1, 1000, 3, "top_k selection: peers kept per row, the client included."),
         doubleParam("weight_threshold", -1, 1, 0.5, "threshold selection with weights trust."),
         doubleParam("validation_threshold", -1e9, 0, -30,
                     "threshold selection with validation trust (scores are minus perplexity)."),
         doubleParam("prediction_threshold", -10, 0, -5,
                     "threshold selection with prediction trust (scores lie in [-10, 0]); the "
                     "faithful variant uses -50."),
         doubleParam("temperature", 0, 100, 1, "softmax temperature over the scores.", true),
         intParam("trust_every", 1, 100000, 1, "Rounds between trust-weighted mixes."),
         doubleParam("warmup_fraction", 0, 1, 0.2,
                     "Share of a stage's first rounds trained locally before any mixing."),
         doubleParam("val_fraction", 0, 0.9, 0.1,
                     "Share of each client's samples held out as its validation data (for every "
                     "scheme, so that all train on the same data)."),
         intParam("val_batches", 1, 1000, 12, "Validation batches per client (validation trust)."),
         intParam("ref_batches", 1, 1000, 4, "Reference batches (prediction trust)."),
         intParam("top_logits", 1, 100000, 100,
                  "Logits kept per row before comparing predictions."),
         boolParam("count_trust_signal", true,
                   "Count what trust itself needs to travel (peers' models or top logits)."),
         variant},
        [](const QVariantMap &params) {
            PcftSettings s;
            s.scheme = schemeFromName(params.value(QStringLiteral("trust")).toString());
            const QString chosen = params.value(QStringLiteral("selection")).toString();
            s.selection = chosen == QLatin1String("top_k")       ? TrustVariant::TopK
                          : chosen == QLatin1String("threshold") ? TrustVariant::Threshold
                                                                 : TrustVariant::Softmax;
            s.topK = params.value(QStringLiteral("top_k")).toInt();
            s.faithful =
                params.value(QStringLiteral("variant")).toString() == QLatin1String("faithful");
            switch (s.scheme) {
            case Scheme::Validation:
                s.threshold = params.value(QStringLiteral("validation_threshold")).toDouble();
                break;
            case Scheme::Prediction:
                s.threshold = s.faithful
                                  ? -50
                                  : params.value(QStringLiteral("prediction_threshold")).toDouble();
                break;
            default:
                s.threshold = params.value(QStringLiteral("weight_threshold")).toDouble();
            }
            s.temperature = params.value(QStringLiteral("temperature")).toDouble();
            s.trustEvery = params.value(QStringLiteral("trust_every")).toInt();
            s.warmupFraction = params.value(QStringLiteral("warmup_fraction")).toDouble();
            s.valFraction = params.value(QStringLiteral("val_fraction")).toDouble();
            s.valBatches = params.value(QStringLiteral("val_batches")).toInt();
            s.refBatches = params.value(QStringLiteral("ref_batches")).toInt();
            s.topLogits = params.value(QStringLiteral("top_logits")).toInt();
            s.countTrustSignal = params.value(QStringLiteral("count_trust_signal")).toBool();
            auto parts = std::make_unique<MethodParts>();
            parts->strategy = std::make_unique<PcftStrategy>(s);
            return parts;
        });
    method.oneTaskPerStage = true;
    return method;
}

} // namespace fcl::detail
