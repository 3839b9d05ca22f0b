// SPDX-License-Identifier: MIT
// Private (torch) header: the FedAvg server, which other strategies build on.
#pragma once

#include "core/common/method_descriptor.h"
#include "core/model/method_api_p.h"

namespace fcl::detail {

/// The sample-weighted mean of the first `count` uploaded tensors of each result, in result order.
std::vector<torch::Tensor> weightedMeanOfUploads(const std::vector<ClientResult> &results,
                                                 std::size_t count);

/// FedAvg's server: the global shared parameters become the weighted mean of the uploads.
class FedAvgStrategy : public Strategy {
public:
    void aggregate(const RoundPlan &plan, std::vector<ClientResult> &results) override;
};

} // namespace fcl::detail
