// SPDX-License-Identifier: MIT
#include "core/sim/client_executor_p.h"

#include <atomic>
#include <exception>
#include <new>
#include <thread>

namespace fcl::detail {

QString jobErrorText(const std::exception &e)
{
    const QString what = QString::fromUtf8(e.what());
    if (dynamic_cast<const std::bad_alloc *>(&e) != nullptr ||
        what.contains(QLatin1String("can't allocate memory"))) {
        return kOutOfMemory;
    }
    return what.section(QLatin1Char('\n'), 0, 0);
}

std::vector<QString> ThreadPoolExecutor::run(int jobs, const std::function<void(int, int)> &job)
{
    std::vector<QString> errors(static_cast<std::size_t>(std::max(0, jobs)));
    auto guarded = [&](int worker, int j) {
        try {
            job(worker, j);
        } catch (const std::exception &e) {
            errors[static_cast<std::size_t>(j)] = jobErrorText(e);
        }
    };
    if (m_threads <= 1 || jobs <= 1) {
        for (int j = 0; j < jobs; ++j) {
            guarded(0, j);
        }
        return errors;
    }
    std::atomic_int next{0};
    std::vector<std::thread> pool;
    const int count = std::min(m_threads, jobs);
    for (int worker = 0; worker < count; ++worker) {
        pool.emplace_back([&, worker] {
            for (int j = next++; j < jobs; j = next++) {
                guarded(worker, j);
            }
        });
    }
    for (auto &thread : pool) {
        thread.join();
    }
    return errors;
}

} // namespace fcl::detail
