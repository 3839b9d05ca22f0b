// SPDX-License-Identifier: MIT
#include "core/metrics/run_metrics.h"

namespace fcl {

QString runStatusName(RunStatus status)
{
    switch (status) {
    case RunStatus::Running:
        return QStringLiteral("running");
    case RunStatus::Completed:
        return QStringLiteral("completed");
    case RunStatus::Cancelled:
        return QStringLiteral("cancelled");
    case RunStatus::Failed:
        return QStringLiteral("failed");
    case RunStatus::Interrupted:
        return QStringLiteral("interrupted");
    }
    return QStringLiteral("unknown");
}

RunStatus runStatusFromName(const QString &name)
{
    for (RunStatus status : {RunStatus::Running, RunStatus::Completed, RunStatus::Cancelled,
                             RunStatus::Failed, RunStatus::Interrupted}) {
        if (runStatusName(status) == name) {
            return status;
        }
    }
    return RunStatus::Failed;
}

} // namespace fcl
