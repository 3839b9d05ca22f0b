// SPDX-License-Identifier: MIT
// Sequential fine-tuning: the lower bound of continual learning (no plugin at all).
#include "core/common/method_descriptor.h"
#include "core/model/method_api_p.h"

namespace fcl::detail {

MethodDescriptor finetuneMethod()
{
    return describeMethod(
        "continual", "finetune", "Fine-tune",
        "Train on each new task with no protection of old ones.",
        "Plain sequential fine-tuning: the lower bound. Each stage simply trains on the new "
        "task, so the model overwrites what it knew: this is catastrophic forgetting.",
        {}, [](const QVariantMap &) {
            return std::make_unique<MethodParts>();
        });
}

} // namespace fcl::detail
