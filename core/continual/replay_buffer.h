// SPDX-License-Identifier: MIT
#pragma once

#include "core/common/rng.h"

#include <cstdint>
#include <functional>
#include <map>
#include <set>
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
    /// Class-balanced reservoir sampling (CBRS, Chrysakis & Moens 2020, Algorithm 1): once the
    /// buffer is full, a class that is or has been the largest in it is "full". A sample of a
    /// class that is not full replaces a random member of a (randomly chosen) largest class; a
    /// sample of a full class replaces a random member of its own class with probability (its
    /// class's size in the buffer) / (samples of that class seen). `classOf` gives a sample's
    /// class (its answer). Do not mix with offer() on one buffer.
    void offerBalanced(const SampleRef &sample, int sampleClass,
                       const std::function<int(const SampleRef &)> &classOf, Rng &rng);
    /// `count` samples drawn uniformly with replacement; empty if the buffer is.
    std::vector<SampleRef> sample(int count, Rng &rng) const;

    int capacity() const { return m_capacity; }
    int size() const { return static_cast<int>(m_items.size()); }
    std::int64_t seen() const { return m_seen; }
    const std::vector<SampleRef> &items() const { return m_items; }
    /// Samples of each class offered so far, and the full classes (offerBalanced only).
    const std::map<int, std::int64_t> &seenPerClass() const { return m_seenPerClass; }
    const std::set<int> &fullClasses() const { return m_fullClasses; }
    void restoreFullClasses(std::set<int> classes) { m_fullClasses = std::move(classes); }
    /// Restores a saved state (items beyond the capacity are dropped).
    void restore(std::vector<SampleRef> items, std::int64_t seen,
                 std::map<int, std::int64_t> seenPerClass = {});

private:
    int m_capacity = 0;
    std::int64_t m_seen = 0;
    std::vector<SampleRef> m_items;
    std::map<int, std::int64_t> m_seenPerClass;
    std::set<int> m_fullClasses;
};

} // namespace fcl
