// SPDX-License-Identifier: MIT
// Experience replay (ER) with a per-client reservoir buffer: Chaudhry et al. 2019, "On Tiny
// Episodic Memories in Continual Learning"; reservoir sampling: Vitter 1985, algorithm R.
#include "core/common/method_descriptor.h"
#include "core/model/method_api_p.h"

namespace fcl::detail {
namespace {

class ReplayPlugin : public ClientPlugin {
public:
    explicit ReplayPlugin(int capacity) : m_buffer(capacity) {}

    void augmentBatch(LocalTraining &training, Batch &batch, int current) override
    {
        if (m_buffer.size() == 0) {
            return;
        }
        const Batch replay = makeBatch(*training.data, m_buffer.sample(current, *training.rng));
        batch.images = torch::cat({batch.images, replay.images});
        batch.instructions = torch::cat({batch.instructions, replay.instructions});
        batch.answers = torch::cat({batch.answers, replay.answers});
    }

    void afterStep(LocalTraining &training, const std::vector<SampleRef> &trained) override
    {
        for (const SampleRef &ref : trained) {
            m_buffer.offer(ref, *training.rng);
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
    }

    void load(const TensorArchive &archive, const std::string &prefix) override
    {
        const torch::Tensor refs = archive.get(prefix + "buffer").contiguous();
        const torch::Tensor seen = archive.get(prefix + "seen");
        std::vector<SampleRef> items(static_cast<std::size_t>(refs.size(0)));
        const auto *data = refs.data_ptr<std::int32_t>();
        for (std::size_t i = 0; i < items.size(); ++i) {
            items[i] = {data[2 * i], data[2 * i + 1]};
        }
        m_buffer.restore(std::move(items), seen.item<std::int64_t>());
    }

private:
    ReplayBuffer m_buffer;
};

} // namespace

MethodDescriptor replayMethod()
{
    return describeMethod(
        "continual", "replay", "Experience replay",
        "Each client keeps a small reservoir of past samples and mixes them into every batch.",
        "Experience replay (ER): every client keeps a fixed-size buffer filled by reservoir "
        "sampling over everything it has trained on. Each training batch is doubled with an "
        "equal number of samples drawn from the buffer, so old tasks keep being rehearsed. "
        "The buffer stays on the client: nothing extra is communicated.",
        {intParam("buffer_per_client", 1, 100000, 200, "Samples each client may keep.")},
        [](const QVariantMap &params) {
            auto parts = std::make_unique<MethodParts>();
            const int capacity = params.value(QStringLiteral("buffer_per_client")).toInt();
            parts->clientPlugin = [capacity] {
                return std::make_unique<ReplayPlugin>(capacity);
            };
            return parts;
        });
}

} // namespace fcl::detail
