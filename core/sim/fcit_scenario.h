// SPDX-License-Identifier: MIT
#pragma once

#include "core/common/error.h"

#include <QJsonObject>

#include <cstdint>
#include <vector>

namespace fcl {

/// FCIT's official heterogeneous task lists (Guo et al., ICCV 2025, `seq_dyn_list`): in stage t
/// the i-th sampled client trains task kFcitHetTaskLists[t][i] of the 8 tasks.
const std::vector<std::vector<int>> &fcitOfficialHetLists();

/// FCIT's official heterogeneous capability lists (`cap_dyn_list`): indices of the 4 groups.
const std::vector<std::vector<int>> &fcitOfficialCapabilityLists();

/// Expands an experiment document's `"fcit"` block (FCIT's scenarios) into what the engine runs:
/// `clients` (c01 ... with samples_per_task = samples_per_task / clients), `stages` (one task, or
/// with granularity "capability" one `{"mix": group}`, per stage for every client in the
/// homogeneous setting; `{"positional": [...]}` stages in the heterogeneous one; one client
/// "central" on a single `{"mix": all tasks}` stage with about the same sample-steps in the
/// centralized upper bound), the quantity `partition` (Dirichlet(beta) sizes per task over all
/// clients, min_size, max_draws, the rounding of the variant) and `federated.participation`
/// (per_round / clients). The block itself is removed: the stored experiment is its expansion.
/// A document without `"fcit"` is returned unchanged. Errors name the field (`fcit.beta`, ...).
/// `seed` is the experiment's seed (seeded heterogeneous lists). Pure function; any thread.
Result<QJsonObject> expandFcitScenario(const QJsonObject &root, std::uint64_t seed);

} // namespace fcl
