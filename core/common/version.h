// SPDX-License-Identifier: MIT
#pragma once

#include <QString>

namespace fcl {

/// The project version, e.g. "0.1.0", stored with every run.
QString versionString();

} // namespace fcl
