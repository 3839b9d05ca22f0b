// SPDX-License-Identifier: MIT
// The one list of built-in federated and continual methods. A new method is its own file(s) in
// core/federated or core/continual defining `MethodDescriptor <name>Method()`, plus one line here
// (and its file names in that folder's CMakeLists.txt). Static libraries drop self-registering
// objects, so registration is explicit.
#include "core/common/method_descriptor.h"

#define FCL_BUILTIN_METHODS(X)                                                                     \
    X(fedAvgMethod)                                                                                \
    X(fedProxMethod)                                                                               \
    X(fedAvgMMethod)                                                                               \
    X(fedAdamMethod)                                                                               \
    X(fedYogiMethod)                                                                               \
    X(scaffoldMethod)                                                                              \
    X(fedPerMethod)                                                                                \
    X(pcftMethod)                                                                                  \
    X(fedDatMethod)                                                                                \
    X(fedHdsMethod)                                                                                \
    X(discoMethod)                                                                                 \
    X(finetuneMethod)                                                                              \
    X(replayMethod)                                                                                \
    X(ewcMethod)                                                                                   \
    X(masMethod)                                                                                   \
    X(tirMethod)                                                                                   \
    X(lwfMethod)

namespace fcl {

namespace detail {
#define FCL_DECLARE_METHOD(name) MethodDescriptor name();
FCL_BUILTIN_METHODS(FCL_DECLARE_METHOD)
#undef FCL_DECLARE_METHOD
} // namespace detail

std::vector<MethodDescriptor> registerBuiltinMethods()
{
    std::vector<MethodDescriptor> methods;
#define FCL_REGISTER_METHOD(name) methods.push_back(detail::name());
    FCL_BUILTIN_METHODS(FCL_REGISTER_METHOD)
#undef FCL_REGISTER_METHOD
    return methods;
}

} // namespace fcl
