// SPDX-License-Identifier: MIT
// Experience replay (ER) with a per-client reservoir buffer: Chaudhry et al. 2019, "On Tiny
// Episodic Memories in Continual Learning"; reservoir sampling: Vitter 1985, algorithm R, over the
// stream of distinct samples (each sample is offered once per stage, not once per epoch and round,
// which would fill the buffer with repeats of the last stage). `replay_ratio` replayed samples per
// new sample (CoIN mixes old and new data by a ratio); `selection: class_balanced` keeps the
// buffer's classes balanced (CBRS, Chrysakis & Moens 2020).
#include "core/common/method_descriptor.h"
#include "core/model/method_api_p.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <unordered_set>

namespace fcl::detail {
namespace {

std::int64_t sampleKey(const SampleRef &ref)
{
    return (static_cast<std::int64_t>(ref.column) << 32) | static_cast<std::uint32_t>(ref.index);
}

class ReplayPlugin : public ClientPlugin {
public:
    ReplayPlugin(int capacity, double ratio, bool balanced)
        : m_buffer(capacity), m_ratio(ratio), m_balanced(balanced)
    {
    }

    void augmentBatch(LocalTraining &training, Batch &batch, int current) override
    {
        const int count = static_cast<int>(std::lround(m_ratio * current));
        if (m_buffer.size() == 0 || count == 0) {
            return;
        }
        appendBatch(*training.data, batch,
                    makeBatch(*training.data, m_buffer.sample(count, *training.rng)));
    }

    void afterStep(LocalTraining &training, const std::vector<SampleRef> &trained) override
    {
        if (training.stage != m_offeredStage) {
            m_offered.clear();
            m_offeredStage = training.stage;
        }
        const SharedData &data = *training.data;
        auto classOf = [&data](const SampleRef &ref) {
            const TaskData &task = data.tasks[static_cast<std::size_t>(ref.column)];
            // The class is the answer; tasks whose answer is not the class's (captions, pairs)
            // balance the source class, text tasks their sample group.
            if (task.spec->isText()) {
                return ref.index % 10;
            }
            if (task.spec->isUser()) {
                return task.trainSourceLabels[static_cast<std::size_t>(ref.index)];
            }
            const int label = data.fashionMnist->train.labels[static_cast<std::size_t>(ref.index)];
            const int answer = task.answerOfLabel[static_cast<std::size_t>(label)];
            return answer >= 0 ? answer : label;
        };
        for (const SampleRef &ref : trained) {
            if (!m_offered.insert(sampleKey(ref)).second) {
                continue; // already offered in this stage
            }
            if (m_balanced) {
                m_buffer.offerBalanced(ref, classOf(ref), classOf, *training.rng);
            } else {
                m_buffer.offer(ref, *training.rng);
            }
        }
    }

    void save(TensorArchive &archive, const std::string &prefix) const override
    {
        const auto &items = m_buffer.items();
        torch::Tensor refs =
            torch::empty({static_cast<std::int64_t>(items.size()), 2}, torch::kInt32);
        for (std::size_t i = 0; i < items.size(); ++i) {
            refs[static_cast<std::int64_t>(i)][0] = items[i].column;
            refs[static_cast<std::int64_t>(i)][1] = items[i].index;
        }
        archive.put(prefix + "buffer", refs);
        archive.put(prefix + "seen", torch::tensor(m_buffer.seen()));
        std::vector<std::int64_t> offered(m_offered.begin(), m_offered.end());
        std::sort(offered.begin(), offered.end());
        archive.put(prefix + "offered", torch::tensor(offered, torch::kInt64));
        archive.put(prefix + "offered_stage", torch::tensor(std::int64_t(m_offeredStage)));
        std::vector<std::int64_t> perClass;
        for (const auto &[c, n] : m_buffer.seenPerClass()) {
            perClass.push_back(c);
            perClass.push_back(n);
        }
        archive.put(prefix + "seen_per_class", torch::tensor(perClass, torch::kInt64));
        const std::vector<std::int64_t> full(m_buffer.fullClasses().begin(),
                                             m_buffer.fullClasses().end());
        archive.put(prefix + "full_classes", torch::tensor(full, torch::kInt64));
    }

    void load(const TensorArchive &archive, const std::string &prefix) override
    {
        const torch::Tensor refs = archive.get(prefix + "buffer").contiguous();
        const torch::Tensor seen = archive.get(prefix + "seen");
        if (!refs.defined() || !seen.defined() || refs.dim() != 2 || refs.size(1) != 2 ||
            refs.scalar_type() != torch::kInt32 || seen.numel() != 1 ||
            (refs.numel() > 0 && refs.min().item<std::int32_t>() < 0)) {
            throw std::runtime_error("checkpoint: malformed replay buffer under " + prefix);
        }
        std::vector<SampleRef> items(static_cast<std::size_t>(refs.size(0)));
        const auto *data = refs.data_ptr<std::int32_t>();
        for (std::size_t i = 0; i < items.size(); ++i) {
            items[i] = {data[2 * i], data[2 * i + 1]};
        }
        std::map<int, std::int64_t> perClass;
        const torch::Tensor classes = archive.get(prefix + "seen_per_class");
        for (std::int64_t i = 0; classes.defined() && i + 1 < classes.numel(); i += 2) {
            perClass[static_cast<int>(classes[i].item<std::int64_t>())] =
                classes[i + 1].item<std::int64_t>();
        }
        m_buffer.restore(std::move(items), seen.item<std::int64_t>(), std::move(perClass));
        std::set<int> full;
        const torch::Tensor fullClasses = archive.get(prefix + "full_classes");
        for (std::int64_t i = 0; fullClasses.defined() && i < fullClasses.numel(); ++i) {
            full.insert(static_cast<int>(fullClasses[i].item<std::int64_t>()));
        }
        m_buffer.restoreFullClasses(std::move(full));
        m_offered.clear();
        const torch::Tensor offered = archive.get(prefix + "offered");
        for (std::int64_t i = 0; offered.defined() && i < offered.numel(); ++i) {
            m_offered.insert(offered[i].item<std::int64_t>());
        }
        const torch::Tensor stage = archive.get(prefix + "offered_stage");
        m_offeredStage = stage.defined() ? static_cast<int>(stage.item<std::int64_t>()) : -1;
    }

private:
    ReplayBuffer m_buffer;
    double m_ratio;
    bool m_balanced;
    std::unordered_set<std::int64_t> m_offered; ///< samples offered in m_offeredStage
    int m_offeredStage = -1;
};

} // namespace

MethodDescriptor replayMethod()
{
    return describeMethod(
        "continual", "replay", "Experience replay",
        "Each client keeps a small reservoir of past samples and mixes them into every batch.",
        "Experience replay (ER): every client keeps a fixed-size buffer filled by reservoir "
        "sampling over the distinct samples it has trained on. Each training batch is extended "
        "by replay_ratio times as many samples drawn from the buffer, so old tasks keep being "
        "rehearsed. "
        "The buffer stays on the client: nothing extra is communicated.",
        {intParam("buffer_per_client", 1, 100000, 200, "Samples each client may keep."),
         doubleParam("replay_ratio", 0, 10, 1.0,
                     "Replayed samples per new sample in each batch (1: as many old as new)."),
         choiceParam("selection", {QStringLiteral("reservoir"), QStringLiteral("class_balanced")},
                     "reservoir: every distinct sample seen is kept with equal probability; "
                     "class_balanced: the buffer's answer classes are kept balanced (CBRS).")},
        [](const QVariantMap &params) {
            auto parts = std::make_unique<MethodParts>();
            const int capacity = params.value(QStringLiteral("buffer_per_client")).toInt();
            const double ratio = params.value(QStringLiteral("replay_ratio")).toDouble();
            const bool balanced = params.value(QStringLiteral("selection")).toString() ==
                                  QLatin1String("class_balanced");
            parts->clientPlugin = [capacity, ratio, balanced] {
                return std::make_unique<ReplayPlugin>(capacity, ratio, balanced);
            };
            return parts;
        });
}

} // namespace fcl::detail
