// SPDX-License-Identifier: MIT
// Private header: where client jobs run.
#pragma once

#include <QString>

#include <functional>
#include <vector>

namespace fcl::detail {

/// Runs a batch of independent jobs (one per client) and returns when all are done. Job j may run
/// on any worker; `worker` in [0, workers()) names the model replica it may use. An exception in a
/// job becomes that job's error text (first line); the others still run. Today's implementation is
/// a thread pool; a multi-process one (c10d) plugs in here.
class ClientExecutor {
public:
    virtual ~ClientExecutor() = default;
    virtual int workers() const = 0;
    /// Errors in job order (empty strings for jobs that succeeded).
    virtual std::vector<QString> run(int jobs,
                                     const std::function<void(int worker, int job)> &job) = 0;
};

/// std::thread workers, one model replica each, created per batch of jobs.
class ThreadPoolExecutor : public ClientExecutor {
public:
    explicit ThreadPoolExecutor(int threads) : m_threads(threads) {}
    int workers() const override { return m_threads; }
    std::vector<QString> run(int jobs,
                             const std::function<void(int worker, int job)> &job) override;

private:
    int m_threads;
};

} // namespace fcl::detail
