// SPDX-License-Identifier: MIT
// DISCO (Guo et al., "Federated continual instruction tuning", ICCV 2025): dynamic knowledge
// organisation and subspace selective activation. The LoRA of rank r is cut into S slots of rank
// r / S. Each client computes an identity token (the mean, over its samples, of the frozen base's
// final hidden state at the separator, text only) and trains one slot. The server clusters the
// clients' tokens (greedy, cosine >= tau), averages each cluster's trained slices into one slot,
// and keeps per slot a token (a sample-weighted running mean). At inference every prompt weighs
// the slots by softmax(cos(identity, slot token) / epsilon). The arithmetic is in disco_math.cpp.
#include "core/federated/disco_math.h"
#include "core/federated/fed_avg_p.h"

#include <QtGlobal>

#include <algorithm>
#include <map>
#include <optional>

namespace fcl::detail {

namespace {

/// What a client's identity token describes: its instructions (FCIT's CLIP-text), its images
/// (CLIP-image) or both (the L2-normalised pair concatenated: its cosine is the mean of the two).
enum class Identity { Text, Image, Both };

/// What encodes the instruction: the frozen base's final state at the separator (the analogue of
/// CLIP's pooled end-of-text state), or the mean of the base's input embeddings over the prompt.
enum class Encoder { BaseLast, MeanEmbedding };

struct DiscoSettings {
    int slots = 8;
    double tau = 0.9;
    double epsilon = 0.05;
    disco::Activation activation = disco::Activation::Ssa;
    double singletonShare = 1e-3;
    bool faithful = false;
    Identity identity = Identity::Text;
    Encoder encoder = Encoder::BaseLast;
    bool uploadAll = false; ///< upload the whole LoRA (the original's bytes), not the slot
};

const std::string kTokenName = "disco/token";
const std::string kSlotTokens = "disco/tokens";
const std::string kSlotCounts = "disco/counts";

/// The identity tokens of a batch as float64 [B, d] (both: [B, 2d]), LoRA switched off for the
/// passes. Text: the final hidden state (after the norm) at the separator with the image slots
/// left out, or the mean input embedding over the prompt's text. Image: the final hidden states
/// of a pass over the image slots alone, averaged (a row without an image gives zeros).
torch::Tensor identities(Network &network, const ModelInput &input, const DiscoSettings &settings)
{
    struct Restore {
        Network &network;
        ~Restore() { network.setLoraEnabled(true); }
    } restore{network};
    network.setLoraEnabled(false);
    torch::Tensor text;
    torch::Tensor image;
    if (settings.identity != Identity::Image) {
        HiddenQuery query;
        query.textOnly = true;
        const bool embedding = settings.encoder == Encoder::MeanEmbedding;
        query.token = embedding ? HiddenQuery::Token::Mean : HiddenQuery::Token::Separator;
        query.promptOnly = embedding;
        const torch::Tensor states = network.hiddenStates(input, query);
        text = states.select(1, embedding ? 0 : states.size(1) - 1).to(torch::kFloat64);
    }
    if (settings.identity != Identity::Text) {
        HiddenQuery query;
        query.imageOnly = true;
        query.token = HiddenQuery::Token::Mean;
        const torch::Tensor states = network.hiddenStates(input, query);
        image = states.select(1, states.size(1) - 1).to(torch::kFloat64);
    }
    if (settings.identity == Identity::Both) {
        namespace F = torch::nn::functional;
        const auto unit = F::NormalizeFuncOptions().dim(1).eps(1e-12);
        return torch::cat({F::normalize(text, unit), F::normalize(image, unit)}, 1).contiguous();
    }
    return (text.defined() ? text : image).contiguous();
}

disco::Vector rowOf(const torch::Tensor &matrix, std::int64_t row)
{
    const torch::Tensor r = matrix[row].contiguous();
    return {r.data_ptr<double>(), r.data_ptr<double>() + r.numel()};
}

std::vector<disco::Vector> rowsOf(const torch::Tensor &matrix)
{
    std::vector<disco::Vector> rows;
    for (std::int64_t i = 0; i < matrix.size(0); ++i) {
        rows.push_back(rowOf(matrix, i));
    }
    return rows;
}

const torch::Tensor *findTensor(const TensorList &list, const std::string &name)
{
    for (const NamedTensor &t : list) {
        if (t.name == name) {
            return &t.value;
        }
    }
    return nullptr;
}

bool endsWith(const std::string &text, const std::string &suffix)
{
    return text.size() >= suffix.size() &&
           text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// Slot s of a LoRA tensor: rows of A [r, in], columns of B [out, r]; any other tensor whole.
torch::Tensor sliceOf(const std::string &name, const torch::Tensor &tensor, int slot, int width)
{
    if (endsWith(name, "lora_A")) {
        return tensor.narrow(0, static_cast<std::int64_t>(slot) * width, width);
    }
    if (endsWith(name, "lora_B")) {
        return tensor.narrow(1, static_cast<std::int64_t>(slot) * width, width);
    }
    return tensor;
}

/// [r] weights: 1 on the slot's rank rows, 0 elsewhere.
torch::Tensor oneSlot(int slot, int slots, int rank)
{
    torch::Tensor w = torch::zeros({rank});
    const int width = rank / slots;
    w.narrow(0, static_cast<std::int64_t>(slot) * width, width).fill_(1);
    return w;
}

/// The client side: picks the slot (the server's, or by similarity in a stage's first round),
/// trains only it, and uploads its slices, its identity token and its sample count.
class DiscoPlugin : public ClientPlugin {
public:
    explicit DiscoPlugin(const DiscoSettings &settings) : m_settings(settings) {}

    void beforeTraining(LocalTraining &training) override
    {
        Network &network = training.model->network();
        const std::vector<int> &samples = *training.indices;
        torch::NoGradGuard noGrad;
        torch::Tensor sum;
        constexpr std::size_t kChunk = 64;
        for (std::size_t start = 0; start < samples.size(); start += kChunk) {
            std::vector<SampleRef> refs;
            for (std::size_t i = start; i < std::min(samples.size(), start + kChunk); ++i) {
                refs.push_back(
                    {training.columns != nullptr ? (*training.columns)[i] : training.column,
                     samples[i]});
            }
            const torch::Tensor ids =
                identities(network, makeBatch(*training.data, refs), m_settings).sum(0);
            sum = sum.defined() ? sum + ids : ids;
        }
        m_token = sum.defined() ? sum / static_cast<double>(samples.size())
                                : torch::zeros({0}, torch::kFloat64); // no sample: left out
        m_samples = static_cast<double>(samples.size());
        const int assigned =
            training.download->meta.value(QStringLiteral("disco.slot"), -1).toInt();
        m_slot = assigned;
        m_choice.reset();
        m_batchSlots.clear();
        const torch::Tensor *tokens = findTensor(training.download->tensors, kSlotTokens);
        const torch::Tensor *counts = findTensor(training.download->tensors, kSlotCounts);
        if (assigned < 0 && tokens == nullptr) {
            m_slot = 0; // nothing learned yet: every slot is empty, the first is chosen
        } else if (assigned < 0) {
            const torch::Tensor c = counts->contiguous();
            m_choice.emplace(rowsOf(*tokens),
                             disco::Vector(c.data_ptr<double>(), c.data_ptr<double>() + c.numel()),
                             m_settings.tau,
                             m_settings.faithful && training.stage > 0 && training.round == 0);
            m_slot = m_choice->forClient(rowOf(m_token.unsqueeze(0), 0));
        }
        m_rank = rankOf(training);
        network.setLoraSlotWeights(oneSlot(m_slot, m_settings.slots, m_rank));
    }

    void augmentBatch(LocalTraining &training, Batch &batch, int current) override
    {
        if (!m_choice || !m_choice->perBatch()) {
            return;
        }
        Network &network = training.model->network();
        const torch::Tensor mean =
            identities(network, batch, m_settings).narrow(0, 0, current).mean(0);
        m_slot = m_choice->forBatch(rowOf(mean.unsqueeze(0), 0));
        network.setLoraSlotWeights(oneSlot(m_slot, m_settings.slots, m_rank));
        m_batchSlots.resize(static_cast<std::size_t>(m_settings.slots), 0);
        ++m_batchSlots[static_cast<std::size_t>(m_slot)];
    }

    void afterTraining(LocalTraining &training, Payload &upload) override
    {
        training.model->network().setLoraSlotWeights({});
        const int width = m_rank / m_settings.slots;
        TensorList slices;
        for (const NamedTensor &t : upload.tensors) {
            slices.push_back({t.name, m_settings.uploadAll
                                          ? t.value
                                          : sliceOf(t.name, t.value, m_slot, width).clone()});
        }
        slices.push_back({kTokenName, m_token});
        upload.tensors = std::move(slices);
        upload.meta.insert(QStringLiteral("disco.slot"), m_slot);
        upload.meta.insert(QStringLiteral("disco.samples"), m_samples);
        if (!m_batchSlots.empty()) {
            QVariantList counts;
            for (int n : m_batchSlots) {
                counts << n;
            }
            upload.meta.insert(QStringLiteral("disco.batch_slots"), counts);
        }
    }

private:
    static int rankOf(const LocalTraining &training)
    {
        for (std::size_t k = 0; k < training.layout->names.size(); ++k) {
            if (endsWith(training.layout->names[k], "lora_A")) {
                return static_cast<int>(training.model->parameters()[k].size(0));
            }
        }
        return 0;
    }

    DiscoSettings m_settings;
    torch::Tensor m_token;
    std::optional<disco::SlotChoice> m_choice; ///< set when the client chooses its slot
    std::vector<int> m_batchSlots;             ///< faithful Q4: batches that chose each slot
    double m_samples = 0;
    int m_slot = 0;
    int m_rank = 0;
};

/// SSA at evaluation: each prompt's identity against the slot tokens gives its slot weights. Reads
/// the strategy's state through pointers (it outlives every evaluation); safe to call from
/// several workers at once.
/// Test prompts per task behind the disco.ssa_weights observation.
constexpr std::int64_t kSsaPrompts = 32;

class DiscoRouter : public EvaluationRouter {
public:
    DiscoRouter(const DiscoSettings *settings, const torch::Tensor *tokens,
                const torch::Tensor *counts, const int *rank)
        : m_settings(settings), m_tokens(tokens), m_counts(counts), m_rank(rank)
    {
    }

    void route(Network &network, const ModelInput &prompts) const override
    {
        network.setLoraSlotWeights(weights(network, prompts));
    }

    void clear(Network &network) const override { network.setLoraSlotWeights({}); }

    /// [B, r] float weights for the prompts (each slot's weight on its rank rows); all zero
    /// before any slot was trained (the base model).
    torch::Tensor weights(Network &network, const ModelInput &prompts) const
    {
        torch::NoGradGuard noGrad;
        const int rank = *m_rank;
        const int slots = m_settings->slots;
        torch::Tensor out = torch::zeros({prompts.tokens.size(0), rank});
        if (!m_tokens->defined()) {
            return out;
        }
        const torch::Tensor ids = identities(network, prompts, *m_settings);
        const std::vector<disco::Vector> tokens = rowsOf(*m_tokens);
        const torch::Tensor c = m_counts->contiguous();
        const disco::Vector counts(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
        const int width = rank / slots;
        for (std::int64_t b = 0; b < ids.size(0); ++b) {
            const disco::Vector id = rowOf(ids, b);
            disco::Vector cosines;
            for (const disco::Vector &token : tokens) {
                cosines.push_back(disco::cosine(id, token));
            }
            const disco::Vector alpha =
                disco::activationWeights(cosines, counts, m_settings->epsilon,
                                         m_settings->activation, !m_settings->faithful);
            for (int s = 0; s < slots; ++s) {
                out[b]
                    .narrow(0, static_cast<std::int64_t>(s) * width, width)
                    .fill_(alpha[static_cast<std::size_t>(s)]);
            }
        }
        return out;
    }

private:
    const DiscoSettings *m_settings;
    const torch::Tensor *m_tokens;
    const torch::Tensor *m_counts;
    const int *m_rank;
};

class DiscoStrategy : public Strategy {
public:
    explicit DiscoStrategy(const DiscoSettings &settings)
        : m_settings(settings), m_router(&m_settings, &m_tokens, &m_counts, &m_rank)
    {
    }

    void initialize(const TensorList &initialShared, int clients) override
    {
        Strategy::initialize(initialShared, clients);
        m_clientSlot.assign(static_cast<std::size_t>(clients), -1);
        m_clientColumn.assign(static_cast<std::size_t>(clients), -1);
        for (const NamedTensor &t : m_global) {
            if (endsWith(t.name, "lora_A")) {
                m_rank = static_cast<int>(t.value.size(0));
            }
        }
    }

    void beginRound(RoundPlan &plan) override
    {
        if (plan.round == 0) {
            std::fill(m_clientSlot.begin(), m_clientSlot.end(), -1); // a new stage: choose
            std::fill(m_clientColumn.begin(), m_clientColumn.end(), -1);
            m_positionSlot.clear();
            m_clustered = false;
        }
    }

    void attach(const StrategyContext &context) override { m_context = context; }

    Payload configure(const RoundPlan &plan, int client) const override
    {
        Payload payload;
        payload.tensors = m_global;
        if (m_tokens.defined()) { // none before the first aggregation: every slot is empty
            payload.tensors.push_back({kSlotTokens, m_tokens});
            payload.tensors.push_back({kSlotCounts, m_counts});
        }
        // A client told its group's slot keeps it while it trains the same task; one that meets
        // another task (a positional stage reassigns tasks every round) chooses by its identity.
        const auto c = static_cast<std::size_t>(client);
        const bool sameTask = m_clientColumn[c] == columnOf(plan.stage, client);
        int slot = sameTask ? m_clientSlot[c] : -1;
        if (m_settings.faithful && m_clustered) {
            // Q5: the original tells the i-th selected client of a later round the slot of the
            // i-th selected client of the stage's first round, whoever it is.
            const auto position = static_cast<std::size_t>(
                std::find(plan.sampled.begin(), plan.sampled.end(), client) - plan.sampled.begin());
            slot = position < m_positionSlot.size() ? m_positionSlot[position] : -1;
        }
        payload.meta.insert(QStringLiteral("disco.slot"), slot);
        return payload;
    }

    void aggregate(const RoundPlan &plan, std::vector<ClientResult> &results) override
    {
        m_batchSlots.clear();
        for (const ClientResult &r : results) {
            const QVariantList counts =
                r.upload.meta.value(QStringLiteral("disco.batch_slots")).toList();
            if (!counts.isEmpty()) {
                m_batchSlots.emplace_back(r.client, counts);
            }
        }
        // Clients that trained on no sample carry no identity and no update.
        std::vector<std::size_t> used;
        for (std::size_t i = 0; i < results.size(); ++i) {
            if (results[i].upload.meta.value(QStringLiteral("disco.samples")).toDouble() > 0) {
                used.push_back(i);
            }
        }
        if (used.empty()) {
            return;
        }
        const std::size_t k = used.size();
        if (!m_tokens.defined()) {
            const auto width =
                findTensor(results[used.front()].upload.tensors, kTokenName)->size(0);
            m_tokens = torch::zeros({m_settings.slots, width}, torch::kFloat64);
            m_counts = torch::zeros({m_settings.slots}, torch::kFloat64);
        }
        std::vector<disco::Vector> tokens;
        disco::Vector samples;
        std::vector<int> trained;
        for (std::size_t i : used) {
            const ClientResult &r = results[i];
            tokens.push_back(rowOf(findTensor(r.upload.tensors, kTokenName)->unsqueeze(0), 0));
            samples.push_back(r.upload.meta.value(QStringLiteral("disco.samples")).toDouble());
            trained.push_back(r.upload.meta.value(QStringLiteral("disco.slot")).toInt());
        }
        // Per target slot: the share of each used result's slice in its new value, and the
        // samples behind it (clusters that land in one slot are averaged by their samples).
        std::map<int, std::pair<disco::Vector, double>> perSlot;
        const auto addTo = [&](int slot, const disco::Vector &share, double total) {
            auto &[w, n] = perSlot[slot];
            w.resize(k, 0.0);
            for (std::size_t i = 0; i < k; ++i) {
                w[i] += share[i] * total;
            }
            n += total;
        };
        const bool firstAggregation = !m_clustered;
        if (firstAggregation) {
            // The stage's first aggregation: group the clients, one slot per group.
            const auto clusters = disco::greedyThresholdClusters(
                tokens, samples, m_settings.tau, m_settings.singletonShare, m_settings.faithful);
            const auto share = disco::slotAverageWeights(clusters, samples, static_cast<int>(k),
                                                         m_settings.faithful);
            std::vector<bool> claimed(static_cast<std::size_t>(m_settings.slots), false);
            const torch::Tensor countsBefore = m_counts.clone();
            m_positionSlot.assign(plan.sampled.size(), -1);
            for (std::size_t g = 0; g < clusters.size(); ++g) {
                const int slot =
                    slotForCluster(clusters[g], trained, tokens, countsBefore, claimed);
                claimed[static_cast<std::size_t>(slot)] = true;
                disco::Vector weighted(tokens.front().size(), 0.0);
                double added = 0;
                for (int i : clusters[g]) {
                    const auto ci = static_cast<std::size_t>(i);
                    for (std::size_t d = 0; d < weighted.size(); ++d) {
                        weighted[d] += samples[ci] * tokens[ci][d];
                    }
                    added += samples[ci];
                    const int client = results[used[ci]].client;
                    m_clientSlot[static_cast<std::size_t>(client)] = slot;
                    m_clientColumn[static_cast<std::size_t>(client)] = columnOf(plan.stage, client);
                    const auto position = static_cast<std::size_t>(
                        std::find(plan.sampled.begin(), plan.sampled.end(), client) -
                        plan.sampled.begin());
                    if (position < m_positionSlot.size()) {
                        m_positionSlot[position] = slot;
                    }
                }
                addTo(slot, share[g], added);
                foldInto(slot, weighted, added, m_settings.faithful);
            }
            m_clustered = true;
        } else {
            // Later rounds: every client trained its group's slot; per slot the sample-weighted
            // mean, and each client's token folds into the slot it trained (faithful: into the
            // most similar one). The running mean is the correct one here in both variants.
            for (std::size_t i = 0; i < k; ++i) {
                disco::Vector one(k, 0.0);
                one[i] = 1;
                addTo(trained[i], one, samples[i]);
                disco::Vector weighted = tokens[i];
                for (double &v : weighted) {
                    v *= samples[i];
                }
                const int fold = m_settings.faithful ? mostSimilarSlot(tokens[i]) : trained[i];
                foldInto(fold, weighted, samples[i], false);
            }
        }
        std::vector<int> target;
        std::vector<disco::Vector> weights; // per target slot: a weight per result
        for (const auto &[slot, entry] : perSlot) {
            disco::Vector w(results.size(), 0.0);
            for (std::size_t i = 0; i < k; ++i) {
                w[used[i]] = entry.second > 0 ? entry.first[i] / entry.second : 0.0;
            }
            target.push_back(slot);
            weights.push_back(std::move(w));
        }
        writeSlots(results, target, weights);
        // The slot each update went to: its group's in the stage's first aggregation, else the
        // one it trained.
        m_lastAssignment.clear();
        for (std::size_t i = 0; i < k; ++i) {
            const int client = results[used[i]].client;
            m_lastAssignment.emplace_back(
                client,
                firstAggregation ? m_clientSlot[static_cast<std::size_t>(client)] : trained[i]);
        }
    }

    const EvaluationRouter *router() const override { return &m_router; }

    void observe(const RoundPlan &plan, const std::vector<ClientResult> &,
                 std::vector<Observation> &observations) override
    {
        QStringList slotNames;
        for (int s = 0; s < m_settings.slots; ++s) {
            slotNames << QStringLiteral("slot %1").arg(s + 1);
        }
        Observation assignment;
        assignment.kind = QStringLiteral("disco.assignment");
        assignment.title = QStringLiteral("DISCO: the slot each client's update went to");
        assignment.shape = ObservationShape::Assignment;
        assignment.columnLabels = slotNames;
        for (const auto &[client, slot] : m_lastAssignment) {
            assignment.labels << (*plan.clientNames)[static_cast<std::size_t>(client)];
            assignment.values.push_back(slot);
        }
        observations.push_back(std::move(assignment));

        if (!m_batchSlots.empty()) {
            Observation batches;
            batches.kind = QStringLiteral("disco.batch_slots");
            batches.title =
                QStringLiteral("DISCO (faithful): the slot each client's batches chose");
            batches.shape = ObservationShape::Matrix;
            batches.columnLabels = slotNames;
            for (const auto &[client, counts] : m_batchSlots) {
                batches.labels << (*plan.clientNames)[static_cast<std::size_t>(client)];
                for (const QVariant &n : counts) {
                    batches.values.push_back(n.toDouble());
                }
            }
            observations.push_back(std::move(batches));
        }

        Observation similarity;
        similarity.kind = QStringLiteral("disco.slot_similarity");
        similarity.title = QStringLiteral("DISCO: cosine between slot tokens (empty slots blank)");
        similarity.shape = ObservationShape::Matrix;
        similarity.labels = slotNames;
        similarity.columnLabels = slotNames;
        const std::vector<disco::Vector> rows = rowsOf(m_tokens);
        for (int a = 0; a < m_settings.slots; ++a) {
            for (int b = 0; b < m_settings.slots; ++b) {
                const bool empty =
                    m_counts[a].item<double>() <= 0 || m_counts[b].item<double>() <= 0;
                similarity.values.push_back(empty
                                                ? std::nan("")
                                                : disco::cosine(rows[static_cast<std::size_t>(a)],
                                                                rows[static_cast<std::size_t>(b)]));
            }
        }
        observations.push_back(std::move(similarity));

        // At a stage's end, the SSA weights per test task: the mean weight each slot gets over
        // the task's first prompts (what routes each task's questions).
        if (m_context.run && m_context.data != nullptr && m_tokens.defined() &&
            plan.round + 1 == m_context.roundsPerStage) {
            const std::vector<TaskData> &tasks = m_context.data->tasks;
            std::vector<disco::Vector> means(tasks.size());
            const int width = m_rank / m_settings.slots;
            m_context.run(QStringLiteral("DISCO's slot weights per task"),
                          static_cast<int>(tasks.size()), [&](WorkerModel &model, int j) {
                              const TaskData &task = tasks[static_cast<std::size_t>(j)];
                              const auto n = std::min<std::int64_t>(
                                  kSsaPrompts, static_cast<std::int64_t>(task.testPrompts.size()));
                              disco::Vector &mean = means[static_cast<std::size_t>(j)];
                              mean.assign(static_cast<std::size_t>(m_settings.slots), 0.0);
                              if (n == 0) {
                                  return;
                              }
                              const torch::Tensor w = m_router.weights(
                                  model.network(), testPrompts(*m_context.data, task, 0, n));
                              for (int slot = 0; slot < m_settings.slots; ++slot) {
                                  mean[static_cast<std::size_t>(slot)] =
                                      w.select(1, slot * width).mean().item<double>();
                              }
                          });
            Observation ssa;
            ssa.kind = QStringLiteral("disco.ssa_weights");
            ssa.title = QStringLiteral("DISCO: mean slot weight of each task's test prompts");
            ssa.shape = ObservationShape::Matrix;
            ssa.columnLabels = slotNames;
            for (std::size_t j = 0; j < tasks.size(); ++j) {
                ssa.labels << tasks[j].spec->id;
                ssa.values.insert(ssa.values.end(), means[j].begin(), means[j].end());
            }
            observations.push_back(std::move(ssa));
        }
    }

    void save(TensorArchive &archive) const override
    {
        Strategy::save(archive);
        if (m_tokens.defined()) {
            archive.put("strategy/disco/tokens", m_tokens);
            archive.put("strategy/disco/counts", m_counts);
        }
        std::vector<std::int64_t> slots(m_clientSlot.begin(), m_clientSlot.end());
        archive.put("strategy/disco/client_slot", torch::tensor(slots, torch::kInt64));
        std::vector<std::int64_t> columns(m_clientColumn.begin(), m_clientColumn.end());
        archive.put("strategy/disco/client_column", torch::tensor(columns, torch::kInt64));
        if (!m_positionSlot.empty()) {
            std::vector<std::int64_t> positions(m_positionSlot.begin(), m_positionSlot.end());
            archive.put("strategy/disco/position_slot", torch::tensor(positions, torch::kInt64));
        }
        archive.put("strategy/disco/clustered",
                    torch::tensor(std::int64_t(m_clustered ? 1 : 0), torch::kInt64));
    }

    void load(const TensorArchive &archive) override
    {
        Strategy::load(archive);
        m_tokens = archive.get("strategy/disco/tokens");
        m_counts = archive.get("strategy/disco/counts");
        const torch::Tensor slots = archive.get("strategy/disco/client_slot");
        if (slots.defined()) {
            const torch::Tensor values = slots.contiguous();
            m_clientSlot.assign(values.data_ptr<std::int64_t>(),
                                values.data_ptr<std::int64_t>() + values.numel());
        }
        const torch::Tensor columns = archive.get("strategy/disco/client_column");
        if (columns.defined()) {
            const torch::Tensor values = columns.contiguous();
            m_clientColumn.assign(values.data_ptr<std::int64_t>(),
                                  values.data_ptr<std::int64_t>() + values.numel());
        }
        const torch::Tensor positions = archive.get("strategy/disco/position_slot");
        m_positionSlot.clear();
        if (positions.defined()) {
            const torch::Tensor values = positions.contiguous();
            m_positionSlot.assign(values.data_ptr<std::int64_t>(),
                                  values.data_ptr<std::int64_t>() + values.numel());
        }
        const torch::Tensor clustered = archive.get("strategy/disco/clustered");
        m_clustered = clustered.defined() && clustered.item<std::int64_t>() != 0;
    }

private:
    int columnOf(int stage, int client) const
    {
        return m_context.columnOf == nullptr
                   ? -1
                   : (*m_context.columnOf)[static_cast<std::size_t>(stage)]
                                          [static_cast<std::size_t>(client)];
    }

    int mostSimilarSlot(const disco::Vector &token) const
    {
        const std::vector<disco::Vector> rows = rowsOf(m_tokens);
        int best = 0;
        double bestCosine = -2;
        for (int s = 0; s < m_settings.slots; ++s) {
            if (m_counts[s].item<double>() <= 0) {
                continue;
            }
            const double c = disco::cosine(token, rows[static_cast<std::size_t>(s)]);
            if (c > bestCosine) {
                bestCosine = c;
                best = s;
            }
        }
        return best;
    }

    /// A stage's first round: a cluster goes to the slot its first member trained, unless that
    /// slot was empty and an earlier cluster of this round already took it (two new tasks both
    /// chose the first empty slot): then the next empty, unclaimed slot, or with none left the
    /// most similar slot.
    int slotForCluster(const std::vector<int> &members, const std::vector<int> &trained,
                       const std::vector<disco::Vector> &tokens, const torch::Tensor &countsBefore,
                       const std::vector<bool> &claimed) const
    {
        const int wanted = trained[static_cast<std::size_t>(members.front())];
        const bool wasEmpty = countsBefore[wanted].item<double>() <= 0;
        if (!wasEmpty || !claimed[static_cast<std::size_t>(wanted)]) {
            return wanted;
        }
        for (int s = 0; s < m_settings.slots; ++s) {
            if (countsBefore[s].item<double>() <= 0 && !claimed[static_cast<std::size_t>(s)]) {
                return s;
            }
        }
        return mostSimilarSlot(tokens[static_cast<std::size_t>(members.front())]);
    }

    static int reportedSlot(const ClientResult &result)
    {
        return result.upload.meta.value(QStringLiteral("disco.slot")).toInt();
    }

    /// slip: the original's precedence slip (Q3), which it has in a stage's first round only.
    void foldInto(int slot, const disco::Vector &weighted, double added, bool slip)
    {
        const disco::Vector token = rowOf(m_tokens, slot);
        const double count = m_counts[slot].item<double>();
        const disco::Vector next =
            disco::foldToken(token, count, weighted, added, slip && count > 0);
        m_tokens[slot].copy_(torch::tensor(next, torch::kFloat64));
        m_counts[slot] = count + added;
    }

    /// Slot target[t] of every LoRA tensor := sum_i weights[t][i] * result i's uploaded slice.
    void writeSlots(const std::vector<ClientResult> &results, const std::vector<int> &target,
                    const std::vector<disco::Vector> &weights)
    {
        torch::NoGradGuard noGrad;
        const int width = m_rank / m_settings.slots;
        TensorList next = cloneList(m_global);
        for (std::size_t t = 0; t < target.size(); ++t) {
            for (std::size_t p = 0; p < next.size(); ++p) {
                torch::Tensor slice = sliceOf(next[p].name, next[p].value, target[t], width);
                torch::Tensor mean = torch::zeros_like(slice);
                for (std::size_t i = 0; i < results.size(); ++i) {
                    if (weights[t][i] != 0) {
                        const NamedTensor &up = results[i].upload.tensors[p];
                        mean.add_(m_settings.uploadAll
                                      ? sliceOf(up.name, up.value, reportedSlot(results[i]), width)
                                      : up.value,
                                  weights[t][i]);
                    }
                }
                slice.copy_(mean);
            }
        }
        m_global = std::move(next);
    }

    DiscoSettings m_settings;
    torch::Tensor m_tokens; ///< [S, d] float64, zero rows for empty slots
    torch::Tensor m_counts; ///< [S] float64: samples folded into each slot
    std::vector<int> m_clientSlot;
    std::vector<int> m_clientColumn; ///< the task column each m_clientSlot was given for
    std::vector<int> m_positionSlot; ///< faithful Q5: the slot of each position of the first round
    StrategyContext m_context;
    std::vector<std::pair<int, int>> m_lastAssignment;
    std::vector<std::pair<int, QVariantList>> m_batchSlots; ///< this round's, faithful Q4
    bool m_clustered = false; ///< this stage's clients were grouped (its first aggregation)
    int m_rank = 0;
    DiscoRouter m_router; ///< reads the members above: declared after them
};

} // namespace

MethodDescriptor discoMethod()
{
    MethodDescriptor method = describeMethod(
        "federated", "disco", "DISCO (FCIT)",
        "Sliced LoRA: clients with similar tasks share a slot; prompts pick slots by similarity.",
        "DISCO (Guo et al., federated continual instruction tuning, ICCV 2025): the LoRA is cut "
        "into slots. Each client describes its data by an identity token (the frozen base's "
        "state at the end of its instructions) and trains one slot; the server groups clients "
        "whose tokens are alike and averages each group into its own slot, so different tasks do "
        "not overwrite each other. At test time each prompt weighs the slots by how similar its "
        "identity is to each slot's token (subspace selective activation).",
        {intParam("slots", 1, 64, 8, "LoRA slots S (lora_rank must be a multiple of it)."),
         doubleParam("tau", -1, 1, 0.9, "Cosine threshold for grouping clients and slots."),
         doubleParam("epsilon", 0, 100, 0.05, "SSA softmax temperature.", true),
         choiceParam("activation", {"ssa", "concat", "cosine", "argmax"},
                     "How a prompt weighs the slots: SSA softmax(cos / epsilon), every slot 1 "
                     "(concatenation), the raw cosines, or only the most similar slot."),
         doubleParam("singleton_share", 0, 1, 1e-3,
                     "A client alone in its group with less than this share of the round's "
                     "samples joins the most similar group."),
         choiceParam("identity", {"text", "image", "both"},
                     "What a client's identity token describes: its instructions, its images, "
                     "or both (the two normalised halves side by side)."),
         choiceParam("encoder", {"base_last", "mean_embedding"},
                     "The instruction encoder: the frozen base's final state at the end of the "
                     "instruction, or the mean of its input embeddings over the instruction."),
         choiceParam("upload", {"slot", "all"},
                     "What a client sends up: the slot it trained, or the whole LoRA as the "
                     "original code does (the server reads the same slot; only the bytes "
                     "differ)."),
         choiceParam("variant", {"fixed", "faithful"},
                     "faithful: the original code's quirks (overlapping groups, the token "
                     "precedence slip, the slot chosen again for every batch, empty slots take "
                     "softmax mass, tokens fold into the most similar slot); fixed: corrected "
                     "(docs/methods.md).")},
        [](const QVariantMap &params) {
            DiscoSettings s;
            s.slots = params.value(QStringLiteral("slots")).toInt();
            s.tau = params.value(QStringLiteral("tau")).toDouble();
            s.epsilon = params.value(QStringLiteral("epsilon")).toDouble();
            const QString activation = params.value(QStringLiteral("activation")).toString();
            s.activation = activation == QLatin1String("concat")   ? disco::Activation::Concat
                           : activation == QLatin1String("cosine") ? disco::Activation::Cosine
                           : activation == QLatin1String("argmax") ? disco::Activation::Argmax
                                                                   : disco::Activation::Ssa;
            s.singletonShare = params.value(QStringLiteral("singleton_share")).toDouble();
            s.faithful =
                params.value(QStringLiteral("variant")).toString() == QLatin1String("faithful");
            const QString identity = params.value(QStringLiteral("identity")).toString();
            s.identity = identity == QLatin1String("image")  ? Identity::Image
                         : identity == QLatin1String("both") ? Identity::Both
                                                             : Identity::Text;
            s.encoder = params.value(QStringLiteral("encoder")).toString() ==
                                QLatin1String("mean_embedding")
                            ? Encoder::MeanEmbedding
                            : Encoder::BaseLast;
            s.uploadAll = params.value(QStringLiteral("upload")).toString() == QLatin1String("all");
            auto parts = std::make_unique<MethodParts>();
            parts->strategy = std::make_unique<DiscoStrategy>(s);
            parts->clientPlugin = [s] {
                return std::make_unique<DiscoPlugin>(s);
            };
            parts->adjustModel = [s](QVariantMap &model) -> QString {
                if (model.value(QStringLiteral("tuning")).toString() != QLatin1String("lora")) {
                    return QStringLiteral("model.tuning: DISCO slices a LoRA; set it to \"lora\"");
                }
                const int rank = model.value(QStringLiteral("lora_rank")).toInt();
                if (rank % s.slots != 0) {
                    return QStringLiteral("model.lora_rank: %1 is not a multiple of "
                                          "federated.slots %2")
                        .arg(rank)
                        .arg(s.slots);
                }
                if (model.value(QStringLiteral("lora_targets")).toString().isEmpty()) {
                    model.insert(QStringLiteral("lora_targets"), QStringLiteral("mlp\\."));
                }
                return {};
            };
            return parts;
        });
    method.requiresBackbone = QStringLiteral("tiny-vlm");
    method.readsImagesThrough = [](const QVariantMap &params) {
        const QString identity = params.value(QStringLiteral("identity")).toString();
        return identity == QLatin1String("image") || identity == QLatin1String("both")
                   ? QStringLiteral("identity")
                   : QString();
    };
    return method;
}

} // namespace fcl::detail
