// SPDX-License-Identifier: MIT
#include "core/federated/trust_p.h"

#include <algorithm>
#include <numeric>

namespace fcl::detail {

namespace {

/// [columns, length] float64: the columns of a 2-D tensor as rows, or a 1-D tensor as one row.
torch::Tensor columnsOf(const torch::Tensor &t)
{
    const torch::Tensor d = t.detach().to(torch::kFloat64);
    return d.dim() >= 2 ? d.reshape({d.size(0), -1}).t() : d.reshape({1, -1});
}

/// The positions of a row's entries in descending order; ties keep the lower index first.
std::vector<std::int64_t> descendingOrder(const double *row, std::int64_t n)
{
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [row](std::int64_t a, std::int64_t b) {
        return row[a] > row[b];
    });
    return order;
}

} // namespace

torch::Tensor weightSimilarity(const std::vector<TensorList> &models)
{
    torch::NoGradGuard noGrad;
    const auto n = static_cast<std::int64_t>(models.size());
    torch::Tensor sum = torch::zeros({n, n}, torch::kFloat64);
    std::int64_t rows = 0;
    if (n == 0) {
        return sum;
    }
    for (std::size_t t = 0; t < models.front().size(); ++t) {
        std::vector<torch::Tensor> columns;
        for (const TensorList &model : models) {
            columns.push_back(columnsOf(model[t].value));
        }
        rows += columns.front().size(0);
        for (std::int64_t i = 0; i < n; ++i) {
            for (std::int64_t j = i; j < n; ++j) {
                const double s =
                    torch::nn::functional::cosine_similarity(
                        columns[static_cast<std::size_t>(i)], columns[static_cast<std::size_t>(j)],
                        torch::nn::functional::CosineSimilarityFuncOptions().dim(1))
                        .sum()
                        .item<double>();
                sum[i][j] += s;
                if (j != i) {
                    sum[j][i] += s;
                }
            }
        }
    }
    return rows > 0 ? sum / static_cast<double>(rows) : sum;
}

torch::Tensor validationScores(const torch::Tensor &losses)
{
    return -losses.to(torch::kFloat64).exp();
}

torch::Tensor keepTopLogits(const torch::Tensor &logits, int k)
{
    const torch::Tensor z = logits.detach().to(torch::kFloat64);
    const std::int64_t width = z.size(-1);
    if (k >= width) {
        return z;
    }
    const torch::Tensor kth = std::get<0>(z.topk(k, -1)).select(-1, k - 1).unsqueeze(-1);
    return torch::where(z >= kth, z, torch::zeros_like(z));
}

torch::Tensor predictionScores(const std::vector<torch::Tensor> &logits, int topLogits,
                               double scale)
{
    torch::NoGradGuard noGrad;
    const auto n = static_cast<std::int64_t>(logits.size());
    std::vector<torch::Tensor> kept;
    for (const torch::Tensor &z : logits) {
        kept.push_back(keepTopLogits(z, topLogits));
    }
    torch::Tensor dist = torch::zeros({n, n}, torch::kFloat64);
    for (std::int64_t i = 0; i < n; ++i) {
        for (std::int64_t j = i + 1; j < n; ++j) {
            const torch::Tensor &a = kept[static_cast<std::size_t>(i)];
            const double d = (a - kept[static_cast<std::size_t>(j)]).abs().sum().item<double>() /
                             static_cast<double>(std::max<std::int64_t>(1, a.size(0)));
            dist[i][j] = d;
            dist[j][i] = d;
        }
    }
    const torch::Tensor norms = dist.abs().sum(1, true).clamp_min(1e-12);
    return -scale * (dist / norms);
}

torch::Tensor trustFromScores(const torch::Tensor &scores, TrustVariant variant, int k,
                              double threshold, double temperature)
{
    constexpr double kOff = -1e9;
    torch::Tensor s = scores.detach().to(torch::kFloat64).contiguous().clone();
    const std::int64_t n = s.size(0);
    const std::int64_t width = s.size(1);
    auto *data = s.data_ptr<double>();
    for (std::int64_t i = 0; i < n; ++i) {
        double *row = data + i * width;
        const std::vector<std::int64_t> order = descendingOrder(row, width);
        if (variant == TrustVariant::TopK) {
            for (std::int64_t r = std::max(k, 1); r < width; ++r) {
                row[order[static_cast<std::size_t>(r)]] = kOff;
            }
        } else if (variant == TrustVariant::Threshold) {
            const std::int64_t keep = std::min<std::int64_t>(2, width);
            std::vector<double> best;
            for (std::int64_t r = 0; r < keep; ++r) {
                best.push_back(row[order[static_cast<std::size_t>(r)]]);
            }
            for (std::int64_t j = 0; j < width; ++j) {
                if (row[j] <= threshold) {
                    row[j] = kOff;
                }
            }
            for (std::int64_t r = 0; r < keep; ++r) {
                row[order[static_cast<std::size_t>(r)]] = best[static_cast<std::size_t>(r)];
            }
        }
        // Entries left out become exactly 0 after the softmax (exp(-1e9 - max) underflows).
        for (std::int64_t j = 0; j < width; ++j) {
            if (row[j] != kOff) {
                row[j] /= temperature;
            }
        }
    }
    return torch::softmax(s, 1);
}

std::vector<TensorList> mixModels(const torch::Tensor &trust, const std::vector<TensorList> &models)
{
    torch::NoGradGuard noGrad;
    const torch::Tensor w = trust.to(torch::kFloat64).contiguous();
    std::vector<TensorList> mixed;
    for (std::size_t i = 0; i < models.size(); ++i) {
        TensorList out;
        for (const NamedTensor &tensor : models[i]) {
            out.push_back({tensor.name, torch::zeros_like(tensor.value)});
        }
        for (std::size_t j = 0; j < models.size(); ++j) {
            const double share =
                w[static_cast<std::int64_t>(i)][static_cast<std::int64_t>(j)].item<double>();
            if (share == 0) {
                continue;
            }
            for (std::size_t t = 0; t < out.size(); ++t) {
                out[t].value.add_(models[j][t].value, share);
            }
        }
        mixed.push_back(std::move(out));
    }
    return mixed;
}

int usedEdges(const torch::Tensor &trust)
{
    int edges = 0;
    for (std::int64_t i = 0; i < trust.size(0); ++i) {
        for (std::int64_t j = 0; j < trust.size(1); ++j) {
            edges += i != j && trust[i][j].item<double>() > 0 ? 1 : 0;
        }
    }
    return edges;
}

} // namespace fcl::detail
