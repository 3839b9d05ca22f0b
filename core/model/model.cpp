// SPDX-License-Identifier: MIT
#include "core/model/model_p.h"

namespace fcl::detail {
namespace {

class MlpNetwork : public Network {
public:
    MlpNetwork(int hidden, int layers, const NetworkShape &shape)
    {
        int width = shape.imagePixels + shape.instructionDim;
        m_macs = 0;
        for (int l = 0; l < layers; ++l) {
            m_hidden.push_back(
                register_module("hidden" + std::to_string(l), torch::nn::Linear(width, hidden)));
            m_macs += double(width) * hidden;
            width = hidden;
        }
        m_output = register_module("output", torch::nn::Linear(width, shape.outputs));
        m_macs += double(width) * shape.outputs;
        m_useInstructions = shape.instructionDim > 0;
    }

    torch::Tensor forward(const torch::Tensor &images, const torch::Tensor &instructions) override
    {
        torch::Tensor x = m_useInstructions ? torch::cat({images, instructions}, 1) : images;
        for (auto &layer : m_hidden) {
            x = torch::relu(layer->forward(x));
        }
        return m_output->forward(x);
    }

    double forwardMacsPerSample() const override { return m_macs; }

private:
    std::vector<torch::nn::Linear> m_hidden;
    torch::nn::Linear m_output{nullptr};
    double m_macs = 0;
    bool m_useInstructions = true;
};

class CnnNetwork : public Network {
public:
    CnnNetwork(int channels, int hidden, const NetworkShape &shape) : m_side(shape.imageSide)
    {
        using torch::nn::Conv2dOptions;
        m_conv1 = register_module(
            "conv1", torch::nn::Conv2d(Conv2dOptions(1, channels, /*kernel_size=*/5).padding(2)));
        m_conv2 = register_module(
            "conv2",
            torch::nn::Conv2d(Conv2dOptions(channels, 2 * channels, /*kernel_size=*/5).padding(2)));
        const int pooled = (m_side / 2) / 2;
        const int features = 2 * channels * pooled * pooled;
        m_fc = register_module("fc", torch::nn::Linear(features + shape.instructionDim, hidden));
        m_output = register_module("output", torch::nn::Linear(hidden, shape.outputs));
        const double side2 = double(m_side) * m_side;
        m_macs = side2 * channels * 25 + side2 / 4 * channels * 2 * channels * 25 +
                 double(features + shape.instructionDim) * hidden + double(hidden) * shape.outputs;
    }

    torch::Tensor forward(const torch::Tensor &images, const torch::Tensor &instructions) override
    {
        torch::Tensor x = images.view({-1, 1, m_side, m_side});
        x = torch::max_pool2d(torch::relu(m_conv1->forward(x)), 2);
        x = torch::max_pool2d(torch::relu(m_conv2->forward(x)), 2);
        x = torch::cat({x.flatten(1), instructions}, 1);
        return m_output->forward(torch::relu(m_fc->forward(x)));
    }

    double forwardMacsPerSample() const override { return m_macs; }

private:
    int m_side;
    torch::nn::Conv2d m_conv1{nullptr};
    torch::nn::Conv2d m_conv2{nullptr};
    torch::nn::Linear m_fc{nullptr};
    torch::nn::Linear m_output{nullptr};
    double m_macs = 0;
};

} // namespace

std::shared_ptr<Network> makeNetwork(const QString &backbone, const QVariantMap &params,
                                     const NetworkShape &shape)
{
    if (backbone == QLatin1String("cnn")) {
        return std::make_shared<CnnNetwork>(params.value(QStringLiteral("channels"), 16).toInt(),
                                            params.value(QStringLiteral("hidden"), 128).toInt(),
                                            shape);
    }
    Q_ASSERT(backbone == QLatin1String("mlp"));
    return std::make_shared<MlpNetwork>(params.value(QStringLiteral("hidden"), 256).toInt(),
                                        params.value(QStringLiteral("layers"), 2).toInt(), shape);
}

std::int64_t byteSize(const std::vector<torch::Tensor> &tensors)
{
    std::int64_t bytes = 0;
    for (const auto &t : tensors) {
        bytes += t.numel() * static_cast<std::int64_t>(t.element_size());
    }
    return bytes;
}

} // namespace fcl::detail
