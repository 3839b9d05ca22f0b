// SPDX-License-Identifier: MIT
#include "core/federated/embedding_2d.h"

#include <algorithm>
#include <cmath>
#include <limits>

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

namespace detail {

std::vector<double> tsneConditional(const std::vector<double> &squaredDistances, int n,
                                    double perplexity, std::vector<double> *betas)
{
    const auto un = static_cast<std::size_t>(n);
    std::vector<double> p(un * un, 0.0);
    if (betas != nullptr) {
        betas->assign(un, 0.0);
    }
    const double desired = std::log(perplexity);
    for (std::size_t i = 0; i < un; ++i) {
        double beta = 1.0;
        double low = -std::numeric_limits<double>::infinity();
        double high = std::numeric_limits<double>::infinity();
        for (int step = 0; step < 100; ++step) {
            double sum = 0;
            for (std::size_t j = 0; j < un; ++j) {
                p[i * un + j] = j == i ? 0.0 : std::exp(-squaredDistances[i * un + j] * beta);
                sum += p[i * un + j];
            }
            if (sum == 0.0) {
                sum = 1e-8; // as scikit-learn's EPSILON_DBL
            }
            double weighted = 0;
            for (std::size_t j = 0; j < un; ++j) {
                p[i * un + j] /= sum;
                weighted += squaredDistances[i * un + j] * p[i * un + j];
            }
            const double difference = std::log(sum) + beta * weighted - desired;
            if (std::abs(difference) <= 1e-5) {
                break;
            }
            if (difference > 0) {
                low = beta;
                beta =
                    high == std::numeric_limits<double>::infinity() ? beta * 2 : (beta + high) / 2;
            } else {
                high = beta;
                beta =
                    low == -std::numeric_limits<double>::infinity() ? beta / 2 : (beta + low) / 2;
            }
        }
        if (betas != nullptr) {
            (*betas)[i] = beta;
        }
    }
    return p;
}

double tsneKlGradient(const std::vector<double> &joint, const std::vector<double> &y, int n,
                      std::vector<double> &gradient)
{
    constexpr double kEpsilon = std::numeric_limits<double>::epsilon();
    const auto un = static_cast<std::size_t>(n);
    std::vector<double> w(un * un, 0.0);
    double sum = 0;
    for (std::size_t i = 0; i < un; ++i) {
        for (std::size_t j = i + 1; j < un; ++j) {
            const double dx = y[i * 2] - y[j * 2];
            const double dy = y[i * 2 + 1] - y[j * 2 + 1];
            const double value = 1.0 / (1.0 + dx * dx + dy * dy);
            w[i * un + j] = value;
            w[j * un + i] = value;
            sum += 2 * value;
        }
    }
    gradient.assign(un * 2, 0.0);
    double kl = 0;
    for (std::size_t i = 0; i < un; ++i) {
        for (std::size_t j = 0; j < un; ++j) {
            if (i == j) {
                continue;
            }
            const double q = std::max(w[i * un + j] / sum, kEpsilon);
            const double pij = std::max(joint[i * un + j], kEpsilon);
            kl += pij * std::log(pij / q);
            const double factor = 4.0 * (pij - q) * w[i * un + j];
            gradient[i * 2] += factor * (y[i * 2] - y[j * 2]);
            gradient[i * 2 + 1] += factor * (y[i * 2 + 1] - y[j * 2 + 1]);
        }
    }
    return kl;
}

} // namespace detail

Embedding2d tsne2d(const std::vector<double> &points, int n, int dim, const TsneOptions &options)
{
    Embedding2d out;
    const auto un = static_cast<std::size_t>(std::max(0, n));
    const auto ud = static_cast<std::size_t>(std::max(0, dim));
    out.points.assign(un * 2, 0.0);
    if (n < 3 || dim < 1) {
        return out; // nothing to arrange
    }
    std::vector<double> squared(un * un, 0.0);
    for (std::size_t i = 0; i < un; ++i) {
        for (std::size_t j = i + 1; j < un; ++j) {
            double sum = 0;
            for (std::size_t k = 0; k < ud; ++k) {
                const double d = points[i * ud + k] - points[j * ud + k];
                sum += d * d;
            }
            squared[i * un + j] = sum;
            squared[j * un + i] = sum;
        }
    }
    const double perplexity =
        options.perplexity > 0 ? options.perplexity : std::min(30.0, static_cast<double>(n - 1));
    std::vector<double> joint = detail::tsneConditional(squared, n, perplexity);
    double total = 0;
    for (std::size_t i = 0; i < un; ++i) {
        for (std::size_t j = i + 1; j < un; ++j) {
            const double value = joint[i * un + j] + joint[j * un + i];
            joint[i * un + j] = value;
            joint[j * un + i] = value;
            total += 2 * value;
        }
    }
    total = std::max(total, std::numeric_limits<double>::epsilon());
    for (std::size_t i = 0; i < un * un; ++i) {
        joint[i] = std::max(joint[i] / total, std::numeric_limits<double>::epsilon());
    }
    // PCA start, scaled so that the first coordinate's standard deviation is 1e-4.
    std::vector<double> y = pca2d(points, n, dim).points;
    double mean = 0;
    for (std::size_t i = 0; i < un; ++i) {
        mean += y[i * 2];
    }
    mean /= static_cast<double>(n);
    double variance = 0;
    for (std::size_t i = 0; i < un; ++i) {
        variance += (y[i * 2] - mean) * (y[i * 2] - mean);
    }
    const double deviation = std::sqrt(variance / static_cast<double>(n));
    for (double &v : y) {
        v = deviation > 0 ? v / deviation * 1e-4 : 0.0;
    }
    const double rate = std::max(static_cast<double>(n) / 48.0, 50.0);
    constexpr int kExploration = 250;
    auto descend = [&](const std::vector<double> &p, int first, int last, double momentum,
                       int patience) {
        std::vector<double> update(un * 2, 0.0);
        std::vector<double> gains(un * 2, 1.0);
        std::vector<double> gradient;
        double bestError = std::numeric_limits<double>::max();
        int bestIteration = first;
        int done = last - 1; // the last iteration run, as scikit-learn's loop variable
        for (int i = first; i < last; ++i) {
            const double error = detail::tsneKlGradient(p, y, n, gradient);
            for (std::size_t k = 0; k < un * 2; ++k) {
                gains[k] = update[k] * gradient[k] < 0.0 ? gains[k] + 0.2 : gains[k] * 0.8;
                gains[k] = std::max(gains[k], 0.01);
                gradient[k] *= gains[k];
                update[k] = momentum * update[k] - rate * gradient[k];
                y[k] += update[k];
            }
            if ((i + 1) % 50 == 0) {
                double norm = 0;
                for (double g : gradient) {
                    norm += g * g;
                }
                if (error < bestError) {
                    bestError = error;
                    bestIteration = i;
                } else if (i - bestIteration > patience) {
                    done = i;
                    break;
                }
                if (std::sqrt(norm) <= 1e-7) {
                    done = i;
                    break;
                }
            }
        }
        return done;
    };
    std::vector<double> exaggerated = joint;
    for (double &v : exaggerated) {
        v *= 12.0;
    }
    const int reached =
        descend(exaggerated, 0, std::min(kExploration, options.iterations), 0.5, kExploration);
    if (options.iterations > kExploration) {
        descend(joint, reached + 1, options.iterations, 0.8, 300);
    }
    out.points = y;
    return out;
}

} // namespace fcl
