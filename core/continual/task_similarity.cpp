// SPDX-License-Identifier: MIT
#include "core/continual/task_similarity_p.h"

#include <cmath>
#include <limits>

namespace fcl::detail {

std::vector<double> toDoubles(const torch::Tensor &t)
{
    const torch::Tensor c = t.to(torch::kFloat64).contiguous();
    return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

namespace {

torch::Tensor named(Network &base, const std::string &name)
{
    for (const auto &item : base.named_parameters()) {
        if (item.key() == name) {
            return item.value().detach().to(torch::kFloat64).clone();
        }
    }
    return {};
}

/// The mean token-embedding row of each sequence's tokens (a zero row for no tokens).
torch::Tensor meanTokenRows(const torch::Tensor &embedding,
                            const std::vector<const std::vector<int> *> &sequences)
{
    std::vector<torch::Tensor> rows;
    rows.reserve(sequences.size());
    for (const std::vector<int> *tokens : sequences) {
        if (tokens->empty()) {
            rows.push_back(torch::zeros({embedding.size(1)}, embedding.options()));
            continue;
        }
        const torch::Tensor ids =
            torch::tensor(std::vector<std::int64_t>(tokens->begin(), tokens->end()), torch::kInt64)
                .clamp(0, embedding.size(0) - 1);
        rows.push_back(embedding.index_select(0, ids).mean(0));
    }
    return torch::stack(rows);
}

} // namespace

TaskEncoder::TaskEncoder(Network &base)
{
    torch::NoGradGuard noGrad;
    m_generative = base.generative();
    if (m_generative) {
        m_tokenEmbedding = named(base, "token_embedding.weight");
        m_patchWeight = named(base, "patch_proj.weight");
        m_patchBias = named(base, "patch_proj.bias");
        m_patchPos = named(base, "patch_pos");
        m_valid = m_tokenEmbedding.defined() && m_patchWeight.defined() && m_patchPos.defined();
        if (m_valid) {
            m_patchSide = static_cast<int>(std::lround(std::sqrt(m_patchWeight.size(1))));
        }
    } else {
        m_valid = true;
    }
}

tasksim::TaskEmbedding TaskEncoder::embed(const SharedData &data, int column,
                                          const std::vector<int> *indices,
                                          const std::vector<int> *columns, int maxSamples) const
{
    torch::NoGradGuard noGrad;
    tasksim::TaskEmbedding embedding;
    if (!m_valid || column < 0 || column >= static_cast<int>(data.tasks.size())) {
        return embedding;
    }
    const TaskData &task = data.tasks[static_cast<std::size_t>(column)];
    const std::vector<int> &pool = indices != nullptr ? *indices : task.trainIndices;
    const auto size = static_cast<std::int64_t>(pool.size());
    if (size == 0) {
        return embedding;
    }
    const std::int64_t stride = std::max<std::int64_t>(1, size / std::max(1, maxSamples));
    std::vector<SampleRef> refs;
    for (std::int64_t i = 0; i < size && static_cast<int>(refs.size()) < maxSamples; i += stride) {
        const auto at = static_cast<std::size_t>(i);
        refs.push_back(
            {indices != nullptr && columns != nullptr ? (*columns)[at] : column, pool[at]});
    }
    torch::Tensor img;
    torch::Tensor inst;
    torch::Tensor ans;
    std::int64_t imageRows = 0;
    constexpr std::size_t kChunk = 250;
    for (std::size_t start = 0; start < refs.size(); start += kChunk) {
        const std::vector<SampleRef> chunk(
            refs.begin() + static_cast<std::ptrdiff_t>(start),
            refs.begin() + static_cast<std::ptrdiff_t>(std::min(refs.size(), start + kChunk)));
        const Batch batch = makeBatch(data, chunk);
        torch::Tensor chunkImg;
        torch::Tensor chunkInst;
        torch::Tensor chunkAns;
        torch::Tensor hasImage;
        if (m_generative) {
            std::vector<const std::vector<int> *> prompts;
            std::vector<const std::vector<int> *> answers;
            std::vector<std::uint8_t> withImage;
            for (const SequenceSample &sample : batch.sequences) {
                prompts.push_back(&sample.prompt);
                answers.push_back(&sample.answer);
                withImage.push_back(sample.hasImage ? 1 : 0);
            }
            chunkInst = meanTokenRows(m_tokenEmbedding, prompts).sum(0);
            chunkAns = meanTokenRows(m_tokenEmbedding, answers).sum(0);
            hasImage = torch::tensor(std::vector<std::int64_t>(withImage.begin(), withImage.end()),
                                     torch::kInt64)
                           .to(torch::kBool);
            const torch::Tensor images = batch.images.to(torch::kFloat64);
            const auto b = images.size(0);
            const int side = static_cast<int>(std::lround(std::sqrt(images.size(1))));
            const int grid = side / m_patchSide;
            const torch::Tensor patches = images.view({b, grid, m_patchSide, grid, m_patchSide})
                                              .permute({0, 1, 3, 2, 4})
                                              .reshape({b, grid * grid, m_patchSide * m_patchSide});
            const torch::Tensor perSample =
                (torch::matmul(patches, m_patchWeight.t()) + m_patchBias + m_patchPos).mean(1);
            chunkImg = perSample.index({hasImage}).sum(0);
        } else {
            const torch::Tensor images = batch.images.to(torch::kFloat64);
            hasImage = images.abs().sum(1).gt(0);
            chunkImg = images.index({hasImage}).sum(0);
            chunkInst = batch.instructions.to(torch::kFloat64).sum(0);
            chunkAns = torch::one_hot(batch.answers, data.answerCount).to(torch::kFloat64).sum(0);
        }
        imageRows += hasImage.sum().item<std::int64_t>();
        img = img.defined() ? img + chunkImg : chunkImg;
        inst = inst.defined() ? inst + chunkInst : chunkInst;
        ans = ans.defined() ? ans + chunkAns : chunkAns;
    }
    // Means over the samples; normalising makes the division by the count irrelevant, but a task
    // without images keeps a zero image vector.
    embedding.img = tasksim::normalized(
        imageRows > 0 ? toDoubles(img)
                      : std::vector<double>(static_cast<std::size_t>(img.numel())));
    embedding.inst = tasksim::normalized(toDoubles(inst));
    embedding.ans = tasksim::normalized(toDoubles(ans));
    return embedding;
}

std::vector<Observation>
taskSimilarityObservations(const std::vector<tasksim::TaskEmbedding> &tasks,
                           const QStringList &labels)
{
    std::vector<Observation> out;
    if (tasks.size() < 2) {
        return out;
    }
    Observation product;
    product.kind = QStringLiteral("task_similarity.product");
    product.title = QStringLiteral("Task similarity, He et al. (standardised product)");
    product.shape = ObservationShape::Matrix;
    product.labels = labels;
    product.columnLabels = labels;
    product.values = tasksim::similarityMatrix(tasks, tasksim::Variant::Fixed);
    out.push_back(product);
    // The plain cosine of each modality, averaged: easier to read than the relative product.
    Observation cosine = product;
    cosine.kind = QStringLiteral("task_similarity.cosine");
    cosine.title = QStringLiteral("Task similarity (mean cosine of the embeddings)");
    const std::size_t t = tasks.size();
    cosine.values.assign(t * t, std::numeric_limits<double>::quiet_NaN());
    for (std::size_t i = 0; i < t; ++i) {
        for (std::size_t j = 0; j < t; ++j) {
            if (i == j) {
                continue;
            }
            double sum = 0;
            int present = 0;
            const auto add = [&](const std::vector<double> &a, const std::vector<double> &b) {
                if (tasksim::dot(a, a) > 0 && tasksim::dot(b, b) > 0) { // text tasks: no image
                    sum += tasksim::dot(a, b);
                    ++present;
                }
            };
            add(tasks[i].img, tasks[j].img);
            add(tasks[i].inst, tasks[j].inst);
            add(tasks[i].ans, tasks[j].ans);
            cosine.values[i * t + j] = present > 0 ? sum / present : 0.0;
        }
    }
    out.push_back(std::move(cosine));
    return out;
}

} // namespace fcl::detail
