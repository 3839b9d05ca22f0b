// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <random>
#include <utility>

namespace fcl {

/// The splitmix64 finalizer: a well-mixed 64-bit hash of `z`.
inline std::uint64_t splitMix64(std::uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/// A deterministic hash of a sample index, salted by `offset` (each use its own salt, so that
/// unrelated per-sample choices do not correlate).
inline std::uint64_t mixIndex(std::int64_t index, std::uint64_t offset)
{
    return splitMix64(static_cast<std::uint64_t>(index) + offset);
}

/// Derives independent, reproducible seeds from a root seed and a path of integers (stage, round,
/// client, ...), so that every client gets its own RNG stream whatever thread runs it.
inline std::uint64_t deriveSeed(std::uint64_t root, std::initializer_list<std::uint64_t> path)
{
    // splitmix64 finalizer applied along the path.
    std::uint64_t state = splitMix64(root ^ 0x9E3779B97F4A7C15ULL);
    for (std::uint64_t step : path) {
        state = splitMix64(state + 0x9E3779B97F4A7C15ULL + step);
    }
    return state;
}

using Rng = std::mt19937_64;

/// Uniform double in [0, 1) computed the same way on every standard library (unlike
/// std::uniform_real_distribution, whose algorithm is implementation-defined).
inline double uniform01(Rng &rng)
{
    return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
}

/// A standard normal draw by Box-Muller from two uniform01 draws (1 - u keeps the logarithm
/// finite): the same on every standard library, unlike std::normal_distribution.
inline double standardNormal(Rng &rng)
{
    const double u1 = 1.0 - uniform01(rng);
    const double u2 = uniform01(rng);
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

/// Uniform integer in [0, n), n > 0 (rejection-free modulo is fine for our small n).
inline std::uint64_t uniformIndex(Rng &rng, std::uint64_t n)
{
    return rng() % n;
}

/// Fisher-Yates with our portable index source (std::shuffle is implementation-defined).
template <typename T> void shuffleInPlace(T &values, Rng &rng)
{
    for (std::size_t i = values.size(); i > 1; --i) {
        std::swap(values[i - 1], values[uniformIndex(rng, i)]);
    }
}

} // namespace fcl
