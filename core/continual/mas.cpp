// SPDX-License-Identifier: MIT
// MAS: Aljundi et al. 2018, "Memory Aware Synapses". A weight's importance is the mean, over a
// task's samples, of |d ||F(x)||^2 / d w|: how much the output's squared L2 norm moves with it.
// Unlike EWC's Fisher it needs no labels. Per sample (Aljundi), not CLMM's batch-mean gradient,
// which cancels signs. Federated and penalised exactly as EWC (ewc.cpp): the clients upload the
// importance after each stage, the server averages it by samples and folds it into a running sum.
#include "core/common/method_descriptor.h"
#include "core/continual/regularizers_p.h"
#include "core/model/method_api_p.h"

namespace fcl::detail {

MethodDescriptor masMethod()
{
    return describeMethod(
        "continual", "mas", "MAS",
        "Penalise changes to weights the output is sensitive to (Memory Aware Synapses).",
        "Memory Aware Synapses (Aljundi et al. 2018): after each stage every participating "
        "client measures how much the squared norm of the model's output moves with each weight "
        "(the mean absolute gradient over its samples, no labels needed); the server averages "
        "these, and later training pays (lambda/2)·Σ Ω·(w - w*)² for moving important weights. "
        "The importance upload is counted in the communication cost.",
        {doubleParam("lambda", 0, 1e7, 10,
                     "Penalty strength (with importance_normalization max each stage's importance "
                     "is at most 1)."),
         intParam("importance_samples", 1, 60000, 200,
                  "Samples per client used to estimate the importance."),
         doubleParam("gamma", 0, 1, 1.0,
                     "The running importance decays by gamma each stage (1: a plain sum)."),
         choiceParam("importance_normalization",
                     {QStringLiteral("max"), QStringLiteral("mean"), QStringLiteral("sum"),
                      QStringLiteral("none")},
                     "Divide each stage's importance by its max, mean or sum over all parameters "
                     "(none: raw, as Aljundi et al.).")},
        [](const QVariantMap &params) {
            return importanceRegularizerParts(
                params.value(QStringLiteral("lambda")).toDouble(),
                params.value(QStringLiteral("importance_samples")).toInt(),
                params.value(QStringLiteral("gamma")).toDouble(),
                importanceNormalizationFromName(
                    params.value(QStringLiteral("importance_normalization")).toString()),
                Importance::Mas);
        });
}

} // namespace fcl::detail
