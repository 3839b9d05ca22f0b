// SPDX-License-Identifier: MIT
#pragma once

#include <QString>
#include <QStringList>
#include <QVariant>
#include <QVariantMap>

#include <functional>
#include <memory>
#include <vector>

namespace fcl {

namespace detail {
struct MethodParts; // core/model/method_api_p.h: the implementation a method contributes
}

/// One tunable parameter: what validation checks, what `fcl --help` prints and what the GUI turns
/// into a spin box or combo box. Ranges are inclusive unless `minExclusive` is set.
struct ParamDescriptor {
    enum class Type { Int, Double, Choice, Bool, Text };
    QString name;
    Type type = Type::Double;
    double minimum = 0;
    double maximum = 0;
    bool minExclusive = false;
    QVariant defaultValue;
    QString help;
    QStringList choices;   ///< for Type::Choice
    bool optional = false; ///< may be absent with no default (e.g. a per-client override)

    /// "(0, 10]" / "one of sgd, adam" for messages and help.
    QString rangeText() const;
};

/// Creates a method's implementation from its parameters (defaults filled in, validated).
using MethodFactory =
    std::function<std::unique_ptr<detail::MethodParts>(const QVariantMap &params)>;

/// A backbone, federated method, continual method or partition scheme.
struct MethodDescriptor {
    QString category;    ///< "model", "federated", "continual", "partition"
    QString id;          ///< the value of the section's selector field, e.g. "fedprox"
    QString title;       ///< display name, e.g. "FedProx"
    QString summary;     ///< one line
    QString explanation; ///< a few sentences a lecturer can read out
    std::vector<ParamDescriptor> params;
    MethodFactory create; ///< federated and continual methods; empty for the others
    /// The model.backbone the method needs (empty: any); validation names the field otherwise.
    QString requiresBackbone;
    /// The method keeps a client's samples or own model by one task for a whole stage, so it
    /// cannot train a mixed or positional stage (validation refuses those, naming the method).
    bool oneTaskPerStage = false;
    /// Given the method's parameters: the one that makes it read every task's images (empty:
    /// none does). Validation then refuses tasks without images, naming that parameter.
    std::function<QString(const QVariantMap &params)> readsImagesThrough;
};

ParamDescriptor intParam(const char *name, int minimum, int maximum, int defaultValue,
                         const char *help);
ParamDescriptor doubleParam(const char *name, double minimum, double maximum, double defaultValue,
                            const char *help, bool minExclusive = false);
ParamDescriptor choiceParam(const char *name, QStringList choices, const char *help);
ParamDescriptor textParam(const char *name, const char *defaultValue, const char *help);
ParamDescriptor boolParam(const char *name, bool defaultValue, const char *help);
MethodDescriptor describeMethod(const char *category, const char *id, const char *title,
                                const char *summary, const char *explanation,
                                std::vector<ParamDescriptor> params = {},
                                MethodFactory create = {});

} // namespace fcl
