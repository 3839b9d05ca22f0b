// SPDX-License-Identifier: MIT
#pragma once

#include "core/common/rng.h"

#include <cstdint>
#include <vector>

namespace fcl {

/// A reference to one shared training sample: the task column and the index into the shared
/// Fashion-MNIST training set. Eight bytes: a buffer of 200 costs a client 1.6 KB.
struct SampleRef {
    std::int32_t column = 0;
    std::int32_t index = 0;
};

/// A client's experience-replay memory: reservoir sampling (Vitter's algorithm R) over every
/// sample the client has trained on, so each seen sample is kept with equal probability
/// capacity / seen. Owned by one client; not thread-safe (a client trains on one thread at a time).
class ReplayBuffer {
public:
    explicit ReplayBuffer(int capacity = 0) : m_capacity(capacity) {}

    void offer(const SampleRef &sample, Rng &rng);
    /// `count` samples drawn uniformly with replacement; empty if the buffer is.
    std::vector<SampleRef> sample(int count, Rng &rng) const;

    int capacity() const { return m_capacity; }
    int size() const { return static_cast<int>(m_items.size()); }
    std::int64_t seen() const { return m_seen; }
    const std::vector<SampleRef> &items() const { return m_items; }
    /// Restores a saved state (items beyond the capacity are dropped).
    void restore(std::vector<SampleRef> items, std::int64_t seen);

private:
    int m_capacity = 0;
    std::int64_t m_seen = 0;
    std::vector<SampleRef> m_items;
};

} // namespace fcl
