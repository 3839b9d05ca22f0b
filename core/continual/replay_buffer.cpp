// SPDX-License-Identifier: MIT
// Experience replay with a reservoir buffer (Chaudhry et al. 2019, "On Tiny Episodic Memories").
#include "core/continual/replay_buffer.h"

#include <algorithm>

namespace fcl {

void ReplayBuffer::offer(const SampleRef &sample, Rng &rng)
{
    ++m_seen;
    if (static_cast<int>(m_items.size()) < m_capacity) {
        m_items.push_back(sample);
        return;
    }
    const std::uint64_t slot = uniformIndex(rng, static_cast<std::uint64_t>(m_seen));
    if (slot < static_cast<std::uint64_t>(m_capacity)) {
        m_items[slot] = sample;
    }
}

std::vector<SampleRef> ReplayBuffer::sample(int count, Rng &rng) const
{
    std::vector<SampleRef> drawn;
    if (m_items.empty()) {
        return drawn;
    }
    drawn.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
        drawn.push_back(m_items[uniformIndex(rng, m_items.size())]);
    }
    return drawn;
}

void ReplayBuffer::restore(std::vector<SampleRef> items, std::int64_t seen)
{
    if (static_cast<int>(items.size()) > m_capacity) {
        items.resize(static_cast<std::size_t>(m_capacity));
    }
    m_items = std::move(items);
    m_seen = std::max<std::int64_t>(seen, static_cast<std::int64_t>(m_items.size()));
}

} // namespace fcl
