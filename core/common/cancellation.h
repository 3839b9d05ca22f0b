// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>

namespace fcl {

/// A flag the front end sets and the engine polls between batches and between clients.
/// Any thread may call any member; requestCancel() is async-signal-safe (lock-free atomic).
class CancellationToken {
public:
    void requestCancel() noexcept { m_cancelled.store(true, std::memory_order_relaxed); }
    bool isCancelled() const noexcept { return m_cancelled.load(std::memory_order_relaxed); }
    void reset() noexcept { m_cancelled.store(false, std::memory_order_relaxed); }

private:
    std::atomic_bool m_cancelled{false};
};

} // namespace fcl
