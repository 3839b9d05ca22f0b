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

void ReplayBuffer::offerBalanced(const SampleRef &sample, int sampleClass,
                                 const std::function<int(const SampleRef &)> &classOf, Rng &rng)
{
    ++m_seen;
    const std::int64_t seenOfClass = ++m_seenPerClass[sampleClass];
    if (static_cast<int>(m_items.size()) < m_capacity) {
        m_items.push_back(sample);
        return;
    }
    std::map<int, std::vector<std::size_t>> members;
    for (std::size_t i = 0; i < m_items.size(); ++i) {
        members[classOf(m_items[i])].push_back(i);
    }
    std::size_t largest = 0;
    for (const auto &[c, list] : members) {
        largest = std::max(largest, list.size());
    }
    std::vector<int> largestClasses;
    for (const auto &[c, list] : members) {
        if (list.size() == largest) {
            largestClasses.push_back(c);
            m_fullClasses.insert(c);
        }
    }
    if (m_fullClasses.count(sampleClass) == 0) {
        const int victim = largestClasses[uniformIndex(rng, largestClasses.size())];
        const std::vector<std::size_t> &list = members[victim];
        m_items[list[uniformIndex(rng, list.size())]] = sample;
        return;
    }
    const auto own = members.find(sampleClass);
    const std::size_t ownSize = own == members.end() ? 0 : own->second.size();
    const std::uint64_t slot = uniformIndex(rng, static_cast<std::uint64_t>(seenOfClass));
    if (slot < ownSize) {
        m_items[own->second[slot]] = sample;
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

void ReplayBuffer::restore(std::vector<SampleRef> items, std::int64_t seen,
                           std::map<int, std::int64_t> seenPerClass)
{
    m_seenPerClass = std::move(seenPerClass);
    if (static_cast<int>(items.size()) > m_capacity) {
        items.resize(static_cast<std::size_t>(m_capacity));
    }
    m_items = std::move(items);
    m_seen = std::max<std::int64_t>(seen, static_cast<std::int64_t>(m_items.size()));
}

} // namespace fcl
