// SPDX-License-Identifier: MIT
#pragma once

#include <QString>
#include <QStringList>
#include <QVariant>

#include <vector>

namespace fcl {

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

/// A backbone, federated method, continual method or partition scheme.
struct MethodDescriptor {
    QString category;    ///< "model", "federated", "continual", "partition"
    QString id;          ///< the value of the section's selector field, e.g. "fedprox"
    QString title;       ///< display name, e.g. "FedProx"
    QString summary;     ///< one line
    QString explanation; ///< a few sentences a lecturer can read out
    std::vector<ParamDescriptor> params;
};

/// One object of the experiment file whose content depends on a chosen method.
struct SectionDescriptor {
    QString key;         ///< JSON key, e.g. "federated"
    QString selectorKey; ///< the field naming the method, e.g. "method" or "backbone"
    QString defaultMethod;
    std::vector<ParamDescriptor> commonParams; ///< fields every method of the section has
};

/// The registry: every selectable method with its parameters. Immutable; any thread.
/// Validation, `fcl --help` and the GUI read it, so adding a method touches no front end.
const std::vector<MethodDescriptor> &methodRegistry();
const std::vector<SectionDescriptor> &sectionRegistry();
const MethodDescriptor *findMethod(const QString &category, const QString &id);
const SectionDescriptor *findSection(const QString &key);
QStringList methodIds(const QString &category);

/// Fields of each entry of "clients", and of "evaluation".
const std::vector<ParamDescriptor> &clientParams();
const std::vector<ParamDescriptor> &evaluationParams();

} // namespace fcl
