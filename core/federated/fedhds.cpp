// SPDX-License-Identifier: MIT
// FedHDS: federated hierarchical data selection (Qin et al. 2024, "Federated data-efficient
// instruction tuning for large language models"). Before local training, each sampled client
// embeds its samples (the hidden states of every layer at the last token, concatenated), reduces
// them to 2-D (t-SNE, or PCA as the deterministic fast option), clusters them with HDBSCAN and
// uploads only the clusters' 2-D centroids. The server clusters all centroids again (HDBSCAN,
// min cluster size 2), keeps per global cluster the upload nearest its centroid, and each kept
// upload's client trains on one real sample: the member of that local cluster nearest its
// centroid. Then plain FedAvg over the selected samples (weights: how many each client trained).
// `selection: random` is the baseline: the same FedAvg on a random share of each shard.
#include "core/federated/embedding_2d.h"
#include "core/federated/fed_avg_p.h"
#include "core/federated/hdbscan.h"

#include <QtGlobal>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

namespace fcl::detail {

namespace {

struct FedHdsSettings {
    bool random = false;       ///< selection: random (the baseline), else hierarchical
    bool pca = false;          ///< reducer: pca, else tsne
    bool globalModel = false;  ///< features_model: global, else base (the untrained model)
    bool meanToken = false;    ///< feature_token: avg, else last
    int clientMinCluster = 5;  ///< HDBSCAN min_cluster_size on a client
    int serverMinCluster = 2;  ///< HDBSCAN min_cluster_size on the server
    double perplexity = 0;     ///< t-SNE; 0: min(30, n - 1) as FedHDS sets it
    double fraction = 0.05;    ///< selection: random
    int tsneMaxPoints = 2000;  ///< above: PCA (exact t-SNE is O(n^2) per iteration)
    bool featureSpace = false; ///< server_space: features, else 2d
    double dpNoise = 0;        ///< > 0: uploads are tanh(c) + N(0, dpNoise^2), as FedHDS's DP
};

/// One client's side of a round: its samples in 2-D, their clusters, each cluster's centroid and
/// the member nearest it (a position in the client's shard).
struct LocalClusters {
    std::vector<double> points; ///< n x 2
    HdbscanResult clusters;
    std::vector<double> centroids; ///< clusters x 2
    std::vector<int> nearest;      ///< per cluster
    /// server_space features: each cluster's weighted centroid in the fused feature space.
    std::vector<double> featureCentroids; ///< clusters x featureDim
    int featureDim = 0;
};

/// Bytes of one uploaded coordinate (float64) and of one selected cluster's id (int32).
constexpr std::int64_t kCoordinateBytes = 8;
constexpr std::int64_t kClusterIdBytes = 4;

class FedHdsStrategy : public FedAvgStrategy {
public:
    explicit FedHdsStrategy(const FedHdsSettings &settings) : m_settings(settings) {}

    void attach(const StrategyContext &context) override { m_context = context; }

    void initialize(const TensorList &initialShared, int clients) override
    {
        FedAvgStrategy::initialize(initialShared, clients);
        m_initial = cloneList(initialShared);
        m_coreset.assign(static_cast<std::size_t>(clients), {});
    }

    void beginRound(RoundPlan &plan) override
    {
        m_traffic = {};
        m_last = RoundSummary{};
        for (auto &coreset : m_coreset) {
            coreset.clear();
        }
        if (plan.returning.empty()) {
            return;
        }
        m_last.clients = static_cast<int>(plan.returning.size());
        m_last.firstClient = plan.returning.front();
        if (m_settings.random) {
            selectRandomly(plan);
        } else {
            selectHierarchically(plan);
        }
        std::vector<int> training;
        for (int c : plan.returning) {
            const auto cs = static_cast<std::size_t>(c);
            m_last.shardSamples += static_cast<std::int64_t>(shard(plan.stage, c).size());
            m_last.selectedSamples += static_cast<std::int64_t>(m_coreset[cs].size());
            if (!m_coreset[cs].empty()) {
                training.push_back(c);
            }
        }
        m_last.training = static_cast<int>(training.size());
        plan.returning = std::move(training);
    }

    const std::vector<int> *samplesFor(const RoundPlan &, int client) const override
    {
        return &m_coreset[static_cast<std::size_t>(client)];
    }

    Traffic extraTraffic() const override { return m_traffic; }

    void observe(const RoundPlan &plan, const std::vector<ClientResult> &,
                 std::vector<Observation> &observations) override
    {
        Observation fraction;
        fraction.kind = QStringLiteral("fedhds.data_fraction");
        fraction.title = QStringLiteral("FedHDS: share of the sampled clients' data trained on");
        fraction.labels = {QStringLiteral("data used")};
        fraction.values = {m_last.shardSamples > 0 ? static_cast<double>(m_last.selectedSamples) /
                                                         static_cast<double>(m_last.shardSamples)
                                                   : 0.0};
        observations.push_back(std::move(fraction));
        if (m_settings.random) {
            return;
        }
        Observation counts;
        counts.kind = QStringLiteral("fedhds.clusters");
        counts.title = QStringLiteral("FedHDS: clusters and clients per round");
        counts.labels = {QStringLiteral("local clusters"), QStringLiteral("global clusters"),
                         QStringLiteral("clients sampled"), QStringLiteral("clients training")};
        counts.values = {static_cast<double>(m_last.localClusters),
                         static_cast<double>(m_last.globalClusters),
                         static_cast<double>(m_last.clients), static_cast<double>(m_last.training)};
        observations.push_back(std::move(counts));
        if (!m_last.clientScatter.values.empty()) {
            Observation scatter = m_last.clientScatter;
            scatter.title =
                QStringLiteral("FedHDS: %1's samples in 2-D, its clusters and the "
                               "selected ones")
                    .arg(plan.clientNames != nullptr
                             ? (*plan.clientNames)[static_cast<std::size_t>(m_last.firstClient)]
                             : QString::number(m_last.firstClient + 1));
            observations.push_back(std::move(scatter));
        }
        if (!m_last.serverScatter.values.empty()) {
            observations.push_back(m_last.serverScatter);
        }
    }

private:
    struct RoundSummary {
        int clients = 0;
        int training = 0;
        int firstClient = -1;
        int localClusters = 0;
        int globalClusters = 0;
        std::int64_t shardSamples = 0;
        std::int64_t selectedSamples = 0;
        Observation clientScatter;
        Observation serverScatter;
    };

    const std::vector<int> &shard(int stage, int client) const
    {
        return (*m_context
                     .indicesOf)[static_cast<std::size_t>(stage)][static_cast<std::size_t>(client)];
    }

    void selectRandomly(const RoundPlan &plan)
    {
        for (int c : plan.returning) {
            std::vector<int> samples = shard(plan.stage, c);
            if (samples.empty()) {
                continue;
            }
            Rng rng(deriveSeed(m_context.seed, {71, static_cast<std::uint64_t>(plan.stage),
                                                static_cast<std::uint64_t>(plan.round),
                                                static_cast<std::uint64_t>(c)}));
            shuffleInPlace(samples, rng);
            const auto keep = static_cast<std::size_t>(std::clamp<long>(
                std::lround(m_settings.fraction * static_cast<double>(samples.size())), 1,
                static_cast<long>(samples.size())));
            samples.resize(keep);
            m_coreset[static_cast<std::size_t>(c)] = std::move(samples);
        }
    }

    /// The hidden states of every layer at the feature token, concatenated: n x ((L+1)·d).
    std::vector<double> features(WorkerModel &model, int stage, int client, int *dim) const
    {
        const std::vector<int> &samples = shard(stage, client);
        const int column = (*m_context.columnOf)[static_cast<std::size_t>(stage)]
                                                [static_cast<std::size_t>(client)];
        model.load(*m_context.layout, m_settings.globalModel ? m_global : m_initial, {});
        HiddenQuery query;
        query.token = m_settings.meanToken ? HiddenQuery::Token::Mean : HiddenQuery::Token::Last;
        std::vector<double> out;
        constexpr std::size_t kChunk = 64;
        for (std::size_t start = 0; start < samples.size(); start += kChunk) {
            std::vector<SampleRef> refs;
            for (std::size_t i = start; i < std::min(samples.size(), start + kChunk); ++i) {
                refs.push_back({column, samples[i]});
            }
            const Batch batch = makeBatch(*m_context.data, refs);
            const torch::Tensor states =
                model.network().hiddenStates(batch, query).to(torch::kFloat64).contiguous();
            const auto rows = states.size(0);
            *dim = static_cast<int>(states.numel() / rows);
            const double *values = states.data_ptr<double>();
            out.insert(out.end(), values, values + states.numel());
        }
        return out;
    }

    LocalClusters clusterLocally(WorkerModel &model, int stage, int client) const
    {
        LocalClusters local;
        const int n = static_cast<int>(shard(stage, client).size());
        if (n < 3) {
            local.clusters.labels.assign(static_cast<std::size_t>(n), -1);
            local.points.assign(static_cast<std::size_t>(2 * n), 0.0);
            return local; // too few samples to embed or cluster: all noise
        }
        int dim = 0;
        const std::vector<double> x = features(model, stage, client, &dim);
        if (m_settings.pca || n > m_settings.tsneMaxPoints) {
            local.points = pca2d(x, n, dim).points;
        } else {
            TsneOptions options;
            options.perplexity = m_settings.perplexity;
            local.points = tsne2d(x, n, dim, options).points;
        }
        local.clusters = hdbscan(local.points, n, 2, {m_settings.clientMinCluster, 0, false});
        local.centroids = weightedCentroids(local.points, 2, local.clusters);
        local.nearest = nearestMembers(local.points, 2, local.clusters, local.centroids);
        if (m_settings.featureSpace) {
            local.featureDim = dim;
            local.featureCentroids = weightedCentroids(x, dim, local.clusters);
        }
        return local;
    }

    void selectHierarchically(const RoundPlan &plan)
    {
        const std::vector<int> &clients = plan.returning;
        if (m_cache.size() > 4096) {
            m_cache.clear(); // a bound, not a policy: entries are recomputed identically
        }
        m_scratch.clear();
        std::vector<const LocalClusters *> local(clients.size(), nullptr);
        std::vector<int> missing;
        for (std::size_t k = 0; k < clients.size(); ++k) {
            // The untrained model's features of a shard never change within a stage.
            const auto cached = m_cache.find({plan.stage, clients[k]});
            if (!m_settings.globalModel && cached != m_cache.end()) {
                local[k] = &cached->second;
            } else {
                missing.push_back(static_cast<int>(k));
            }
        }
        std::vector<LocalClusters> computed(missing.size());
        m_context.run(QStringLiteral("FedHDS's client-side clustering"),
                      static_cast<int>(missing.size()), [&](WorkerModel &model, int j) {
                          const int k = missing[static_cast<std::size_t>(j)];
                          computed[static_cast<std::size_t>(j)] = clusterLocally(
                              model, plan.stage, clients[static_cast<std::size_t>(k)]);
                      });
        for (std::size_t j = 0; j < missing.size(); ++j) {
            const auto k = static_cast<std::size_t>(missing[j]);
            if (m_settings.globalModel) {
                m_scratch[clients[k]] = std::move(computed[j]);
                local[k] = &m_scratch[clients[k]];
            } else {
                local[k] = &(m_cache[{plan.stage, clients[k]}] = std::move(computed[j]));
            }
        }

        // Uploads: every local cluster's centroid (2-D, or in the feature space), in client
        // order; with DP, each coordinate squashed by tanh and noised from the client's stream.
        std::vector<double> uploads;
        std::vector<std::pair<std::size_t, int>> owner; // (position in clients, local cluster)
        int dim = 2;
        for (std::size_t k = 0; k < clients.size(); ++k) {
            const LocalClusters &mine = *local[k];
            const bool features = m_settings.featureSpace && mine.featureDim > 0;
            const std::vector<double> &centroids =
                features ? mine.featureCentroids : mine.centroids;
            if (features) {
                dim = mine.featureDim;
            }
            Rng rng(deriveSeed(m_context.seed, {73, static_cast<std::uint64_t>(plan.stage),
                                                static_cast<std::uint64_t>(plan.round),
                                                static_cast<std::uint64_t>(clients[k])}));
            for (double value : centroids) {
                uploads.push_back(m_settings.dpNoise > 0
                                      ? std::tanh(value) + m_settings.dpNoise * standardNormal(rng)
                                      : value);
            }
            for (int j = 0; j < mine.clusters.clusters; ++j) {
                owner.emplace_back(k, j);
            }
            m_traffic.up += kCoordinateBytes * static_cast<std::int64_t>(centroids.size());
        }
        m_last.localClusters = static_cast<int>(owner.size());
        const int count = static_cast<int>(owner.size());
        HdbscanResult global;
        std::vector<int> kept;
        if (count >= 2) {
            global = hdbscan(uploads, count, dim, {m_settings.serverMinCluster, 0, false});
            kept = nearestMembers(uploads, dim, global, weightedCentroids(uploads, dim, global));
        } else {
            global.labels.assign(static_cast<std::size_t>(count), -1);
        }
        m_last.globalClusters = global.clusters;
        std::vector<bool> isKept(owner.size(), false);
        for (int u : kept) {
            isKept[static_cast<std::size_t>(u)] = true;
            const auto [k, j] = owner[static_cast<std::size_t>(u)];
            const int c = clients[k];
            const int position = local[k]->nearest[static_cast<std::size_t>(j)];
            m_coreset[static_cast<std::size_t>(c)].push_back(
                shard(plan.stage, c)[static_cast<std::size_t>(position)]);
            m_traffic.down += kClusterIdBytes;
        }
        for (int c : clients) {
            auto &coreset = m_coreset[static_cast<std::size_t>(c)];
            std::sort(coreset.begin(), coreset.end());
        }
        recordScatters(*local.front(), dim == 2 ? uploads : pca2d(uploads, count, dim).points,
                       global, isKept);
    }

    /// Scatter roles: noise (the first group) under the clusters, the selection (the last) on top.
    static QStringList groupRoles(int groups)
    {
        QStringList roles;
        for (int g = 0; g < groups; ++g) {
            roles << (g == 0            ? QStringLiteral("background")
                      : g == groups - 1 ? QStringLiteral("highlight")
                                        : QString());
        }
        return roles;
    }

    /// The first client's samples (noise, cluster j, or selected) and the server's uploads
    /// (noise, global cluster g, or kept), as Points observations.
    void recordScatters(const LocalClusters &first, const std::vector<double> &uploads,
                        const HdbscanResult &global, const std::vector<bool> &isKept)
    {
        Observation &client = m_last.clientScatter;
        client.kind = QStringLiteral("fedhds.client_scatter");
        client.shape = ObservationShape::Points;
        client.client = m_last.firstClient;
        client.labels = {QStringLiteral("noise")};
        for (int j = 0; j < first.clusters.clusters; ++j) {
            client.labels.push_back(QStringLiteral("cluster %1").arg(j + 1));
        }
        client.labels.push_back(QStringLiteral("selected"));
        client.columnLabels = groupRoles(static_cast<int>(client.labels.size()));
        const int selectedGroup = static_cast<int>(client.labels.size()) - 1;
        // The first client's uploads come first: upload j is its local cluster j.
        std::vector<bool> selected(first.clusters.labels.size(), false);
        for (std::size_t j = 0; j < first.nearest.size(); ++j) {
            selected[static_cast<std::size_t>(first.nearest[j])] = isKept[j];
        }
        for (std::size_t i = 0; i < first.clusters.labels.size(); ++i) {
            client.values.push_back(first.points[2 * i]);
            client.values.push_back(first.points[2 * i + 1]);
            client.values.push_back(selected[i] ? selectedGroup : first.clusters.labels[i] + 1);
        }

        Observation &server = m_last.serverScatter;
        server.kind = QStringLiteral("fedhds.server_scatter");
        server.shape = ObservationShape::Points;
        server.title = m_settings.featureSpace
                           ? QStringLiteral("FedHDS: every uploaded centroid (feature space, "
                                            "shown by PCA), the global clusters and the kept ones")
                           : QStringLiteral("FedHDS: every uploaded centroid, the global clusters "
                                            "and the kept ones");
        server.labels = {QStringLiteral("noise")};
        for (int g = 0; g < global.clusters; ++g) {
            server.labels.push_back(QStringLiteral("global %1").arg(g + 1));
        }
        server.labels.push_back(QStringLiteral("kept"));
        server.columnLabels = groupRoles(static_cast<int>(server.labels.size()));
        const int keptGroup = static_cast<int>(server.labels.size()) - 1;
        for (std::size_t u = 0; u < isKept.size(); ++u) {
            server.values.push_back(uploads[2 * u]);
            server.values.push_back(uploads[2 * u + 1]);
            server.values.push_back(isKept[u] ? keptGroup : global.labels[u] + 1);
        }
    }

    FedHdsSettings m_settings;
    StrategyContext m_context;
    TensorList m_initial;
    std::vector<std::vector<int>> m_coreset; ///< per client: this round's selected samples
    std::map<std::pair<int, int>, LocalClusters> m_cache; ///< (stage, client), base features
    std::map<int, LocalClusters> m_scratch;               ///< this round's, global features
    Traffic m_traffic;
    RoundSummary m_last;
};

} // namespace

MethodDescriptor fedHdsMethod()
{
    MethodDescriptor method = describeMethod(
        "federated", "fedhds", "FedHDS (data selection)",
        "Each client trains only on a few representative samples, chosen in two levels.",
        "Federated hierarchical data selection (Qin et al. 2024): before training, every "
        "sampled client embeds its instruction samples with the frozen base model (the hidden "
        "state of every layer at the last token), maps them to 2-D with t-SNE and groups them "
        "with HDBSCAN. Only the groups' 2-D centres travel to the server, which groups all "
        "centres again and keeps one per global group; each kept centre's client then trains "
        "on its one nearest real sample. So a round trains on a small, diverse coreset instead "
        "of all data, and raw data never leaves a client. Then FedAvg. selection random is the "
        "baseline: a random share of each client's data.",
        {choiceParam("selection", {"hierarchical", "random"},
                     "hierarchical: FedHDS's two-level clustering; random: a random share "
                     "(fraction) of each sampled client's data, the baseline."),
         choiceParam("reducer", {"tsne", "pca"},
                     "How features become 2-D: exact t-SNE (as FedHDS) or PCA (fast, linear)."),
         choiceParam("features_model", {"base", "global"},
                     "Which model embeds the samples: the untrained base (features computed "
                     "once per stage) or the current global model (FedHDS's default; every "
                     "round)."),
         choiceParam("feature_token", {"last", "avg"},
                     "The hidden states at the sample's last token, or their mean over tokens."),
         intParam("client_min_cluster", 2, 100000, 5,
                  "HDBSCAN min_cluster_size on a client (FedHDS: 5)."),
         intParam("server_min_cluster", 2, 100000, 2,
                  "HDBSCAN min_cluster_size on the server (FedHDS: 2)."),
         doubleParam("perplexity", 0, 1000, 0, "t-SNE perplexity; 0: min(30, n - 1) as FedHDS."),
         intParam("tsne_max_points", 3, 100000, 2000,
                  "Clients with more samples are reduced with PCA (exact t-SNE costs n^2)."),
         doubleParam("fraction", 0, 1, 0.015,
                     "selection random: the share of each client's data trained on (at least "
                     "one sample).",
                     true),
         choiceParam("server_space", {"2d", "features"},
                     "What clients upload and the server clusters: the 2-D centroids (FedHDS), "
                     "or the centroids in the hidden-state feature space (each client's t-SNE "
                     "has coordinates of its own; these share one space, at more bytes)."),
         doubleParam("dp_noise", 0, 1000, 0,
                     "FedHDS's optional privacy noise: every uploaded coordinate becomes "
                     "tanh(c) + N(0, dp_noise^2); 0: off (no tanh).")},
        [](const QVariantMap &params) {
            FedHdsSettings s;
            s.random =
                params.value(QStringLiteral("selection")).toString() == QLatin1String("random");
            s.pca = params.value(QStringLiteral("reducer")).toString() == QLatin1String("pca");
            s.globalModel = params.value(QStringLiteral("features_model")).toString() ==
                            QLatin1String("global");
            s.meanToken =
                params.value(QStringLiteral("feature_token")).toString() == QLatin1String("avg");
            s.clientMinCluster = params.value(QStringLiteral("client_min_cluster")).toInt();
            s.serverMinCluster = params.value(QStringLiteral("server_min_cluster")).toInt();
            s.perplexity = params.value(QStringLiteral("perplexity")).toDouble();
            s.tsneMaxPoints = params.value(QStringLiteral("tsne_max_points")).toInt();
            s.fraction = params.value(QStringLiteral("fraction")).toDouble();
            s.featureSpace = params.value(QStringLiteral("server_space")).toString() ==
                             QLatin1String("features");
            s.dpNoise = params.value(QStringLiteral("dp_noise")).toDouble();
            auto parts = std::make_unique<MethodParts>();
            parts->strategy = std::make_unique<FedHdsStrategy>(s);
            return parts;
        });
    method.requiresBackbone = QStringLiteral("tiny-vlm");
    method.oneTaskPerStage = true;
    return method;
}

} // namespace fcl::detail
