// SPDX-License-Identifier: MIT
#pragma once

#include "core/common/method_descriptor.h"

#include <QString>
#include <QStringList>
#include <QVariant>

#include <vector>

namespace fcl {

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
