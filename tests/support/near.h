// SPDX-License-Identifier: MIT
// Tolerance comparisons for hand-computed values in tests.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

namespace fcl::test {

/// |actual - expected| <= tolerance (absolute: hand-computed values are of order 1).
inline bool near(double actual, double expected, double tolerance = 1e-6)
{
    return std::abs(actual - expected) <= tolerance;
}

/// Same sizes and every element near().
inline bool near(const std::vector<double> &actual, const std::vector<double> &expected,
                 double tolerance = 1e-6)
{
    if (actual.size() != expected.size()) {
        return false;
    }
    for (std::size_t k = 0; k < actual.size(); ++k) {
        if (!near(actual[k], expected[k], tolerance)) {
            return false;
        }
    }
    return true;
}

} // namespace fcl::test
