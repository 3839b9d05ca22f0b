// SPDX-License-Identifier: MIT
#pragma once

#include <QString>

namespace fcl {

/// A shipped resource directory `relative` (e.g. "presets", "base/tiny-vlm"): the environment
/// variable `override` when set, else share/fcl-workbench/<relative> beside the executable's
/// prefix (an installed package) when it holds `probe`, else the source tree's resources/.
QString resourceDir(const char *override, const QString &relative, const QString &probe);

} // namespace fcl
