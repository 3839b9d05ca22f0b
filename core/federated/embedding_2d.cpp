// SPDX-License-Identifier: MIT
#include "core/federated/embedding_2d.h"

#include <algorithm>
#include <cmath>

namespace fcl {

namespace {

using Vector = std::vector<double>;

double dot(const Vector &a, const Vector &b)
{
    double sum = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        sum += a[i] * b[i];
    }
    return sum;
}

/// Orthonormalises v against u (if given) and itself; false when nothing is left of it.
bool orthonormalise(Vector &v, const Vector *u)
{
    if (u != nullptr) {
        const double along = dot(v, *u);
        for (std::size_t i = 0; i < v.size(); ++i) {
            v[i] -= along * (*u)[i];
        }
    }
    const double norm = std::sqrt(dot(v, v));
    if (!(norm > 1e-300)) {
        return false;
    }
    for (double &x : v) {
        x /= norm;
    }
    return true;
}

} // namespace

Embedding2d pca2d(const std::vector<double> &points, int n, int dim)
{
    Embedding2d out;
    const auto un = static_cast<std::size_t>(std::max(0, n));
    const auto ud = static_cast<std::size_t>(std::max(0, dim));
    out.points.assign(un * 2, 0.0);
    if (n < 2 || dim < 1) {
        return out;
    }
    // Centre.
    Vector centred(points.begin(), points.begin() + static_cast<std::ptrdiff_t>(un * ud));
    for (std::size_t k = 0; k < ud; ++k) {
        double mean = 0;
        for (std::size_t p = 0; p < un; ++p) {
            mean += centred[p * ud + k];
        }
        mean /= static_cast<double>(n);
        for (std::size_t p = 0; p < un; ++p) {
            centred[p * ud + k] -= mean;
        }
    }
    const double total = dot(centred, centred) / static_cast<double>(n - 1);
    // C v = X^T (X v) / (n - 1), never forming C.
    auto multiply = [&](const Vector &v) {
        Vector projected(un, 0.0);
        for (std::size_t p = 0; p < un; ++p) {
            for (std::size_t k = 0; k < ud; ++k) {
                projected[p] += centred[p * ud + k] * v[k];
            }
        }
        Vector result(ud, 0.0);
        for (std::size_t p = 0; p < un; ++p) {
            for (std::size_t k = 0; k < ud; ++k) {
                result[k] += centred[p * ud + k] * projected[p];
            }
        }
        for (double &x : result) {
            x /= static_cast<double>(n - 1);
        }
        return result;
    };
    // A fixed, generic start: no seed, the same result everywhere.
    Vector u(ud);
    Vector w(ud);
    for (std::size_t k = 0; k < ud; ++k) {
        u[k] = 1.0 + 0.37 * std::sin(1.0 + static_cast<double>(k));
        w[k] = std::cos(2.0 + 1.7 * static_cast<double>(k));
    }
    orthonormalise(u, nullptr);
    if (!orthonormalise(w, &u)) {
        w.assign(ud, 0.0);
    }
    const int components = std::min(2, dim);
    for (int iteration = 0; iteration < 5000; ++iteration) {
        Vector nu = multiply(u);
        Vector nw = components > 1 ? multiply(w) : Vector(ud, 0.0);
        if (!orthonormalise(nu, nullptr)) {
            break; // no variance at all
        }
        const bool second = components > 1 && orthonormalise(nw, &nu);
        if (!second) {
            nw.assign(ud, 0.0);
        }
        const double change = std::abs(std::abs(dot(nu, u)) - 1.0) +
                              (second ? std::abs(std::abs(dot(nw, w)) - 1.0) : 0.0);
        u = nu;
        w = nw;
        if (change < 1e-15) {
            break;
        }
    }
    // Rayleigh-Ritz in span(u, w): the 2x2 projection of C, diagonalised.
    const Vector cu = multiply(u);
    const Vector cw = multiply(w);
    const double a = dot(u, cu);
    const double b = dot(u, cw);
    const double c = dot(w, cw);
    const double theta = 0.5 * std::atan2(2 * b, a - c);
    const double cs = std::cos(theta);
    const double sn = std::sin(theta);
    Vector axes[2] = {Vector(ud), Vector(ud)};
    for (std::size_t k = 0; k < ud; ++k) {
        axes[0][k] = cs * u[k] + sn * w[k];
        axes[1][k] = -sn * u[k] + cs * w[k];
    }
    double variance[2] = {dot(axes[0], multiply(axes[0])), dot(axes[1], multiply(axes[1]))};
    if (variance[1] > variance[0]) {
        std::swap(axes[0], axes[1]);
        std::swap(variance[0], variance[1]);
    }
    for (int axis = 0; axis < 2; ++axis) {
        Vector &v = axes[axis];
        std::size_t largest = 0;
        for (std::size_t k = 1; k < ud; ++k) {
            if (std::abs(v[k]) > std::abs(v[largest]) + 1e-12) {
                largest = k;
            }
        }
        if (v[largest] < 0) {
            for (double &x : v) {
                x = -x;
            }
        }
        out.explainedRatio[axis] = total > 0 ? variance[axis] / total : 0.0;
        for (std::size_t p = 0; p < un; ++p) {
            double sum = 0;
            for (std::size_t k = 0; k < ud; ++k) {
                sum += centred[p * ud + k] * v[k];
            }
            out.points[p * 2 + static_cast<std::size_t>(axis)] = sum;
        }
    }
    return out;
}

} // namespace fcl
