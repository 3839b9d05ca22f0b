// SPDX-License-Identifier: MIT
#pragma once

#include <QString>

namespace fcl {

/// The shipped tiny-vlm base: $FCL_BASE_DIR, else share/fcl-workbench/base/tiny-vlm beside the
/// executable's prefix, else the source tree's resources/base/tiny-vlm.
QString builtinBaseDir();
/// The directory model.base names: "builtin" is builtinBaseDir(); anything else is a path.
QString baseDirFor(const QString &base);

} // namespace fcl
