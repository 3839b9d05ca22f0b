// SPDX-License-Identifier: MIT
// Private header: where client jobs run.
#pragma once

#include <QString>

#include <exception>
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

/// The error text of a job's exception: its first line, or exactly kOutOfMemory when it was an
/// allocation failure (std::bad_alloc, LibTorch's "can't allocate memory"), which the runner
/// turns into a message saying what the run needs.
QString jobErrorText(const std::exception &e);
inline const QString kOutOfMemory = QStringLiteral("out of memory");

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
