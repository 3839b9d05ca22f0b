// SPDX-License-Identifier: MIT
// Private (torch) header: include only from core .cpp files.
#pragma once

#include <torch/torch.h>

#include <QString>
#include <QVariantMap>

#include <memory>
#include <vector>

namespace fcl::detail {

/// What the networks are built from: the image, a fixed code of the instruction text, and one
/// output score per answer word.
struct NetworkShape {
    int imagePixels = 784;
    int imageSide = 28;
    int instructionDim = 16;
    int outputs = 12;
};

/// A model as the engine sees it: a frozen shared base plus trainable parts. For the mlp and cnn
/// backbones with full tuning the base is empty and every parameter is trainable; PEFT backbones
/// (LoRA, adapters) will return only their adapters from trainableParameters(). Federated methods
/// exchange and average exactly trainableParameters(), in this order.
class Network : public torch::nn::Module {
public:
    /// images: [B, imagePixels] floats in [0, 1]; instructions: [B, instructionDim].
    /// Returns logits [B, outputs].
    virtual torch::Tensor forward(const torch::Tensor &images,
                                  const torch::Tensor &instructions) = 0;

    std::vector<torch::Tensor> trainableParameters() const
    {
        std::vector<torch::Tensor> result;
        for (const auto &p : parameters()) {
            if (p.requires_grad()) {
                result.push_back(p);
            }
        }
        return result;
    }

    /// The parameter-name prefix of the output layer (the "head" personalised methods keep).
    virtual std::string headPrefix() const { return "output."; }

    /// Approximate multiply-adds of one forward pass per sample (for FLOP/s reporting).
    virtual double forwardMacsPerSample() const = 0;
};

/// Builds a backbone by registry id ("mlp", "cnn") with its registry parameters. The caller seeds
/// torch's generator first: construction draws the initial weights.
std::shared_ptr<Network> makeNetwork(const QString &backbone, const QVariantMap &params,
                                     const NetworkShape &shape);

/// Bytes that sending these tensors costs (element count x element size).
std::int64_t byteSize(const std::vector<torch::Tensor> &tensors);

} // namespace fcl::detail
