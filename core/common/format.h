// SPDX-License-Identifier: MIT
#pragma once

#include <QString>

namespace fcl {

/// Bytes in decimal units as people read them: "812 B", "12.3 kB", "4.5 MB", "3.21 GB".
QString formatBytes(double bytes);

} // namespace fcl
