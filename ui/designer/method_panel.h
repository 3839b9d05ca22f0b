// SPDX-License-Identifier: MIT
#pragma once

#include "core/sim/registry.h"
#include "ui/models/experiment_document.h"

#include <QGroupBox>
#include <QWidget>

class QComboBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QSpinBox;

namespace fcl::ui {

/// One section of the experiment (model, federated, continual, partition, evaluation) as a form
/// generated from the engine's registry: a method selector, a short explanation and one editor per
/// parameter with its help as tooltip. A method added to the registry appears here with no UI code.
class SectionForm : public QGroupBox {
    Q_OBJECT

public:
    SectionForm(ExperimentDocument *document, const QString &sectionKey, const QString &title,
                QWidget *parent = nullptr);

    /// Rebuilds the editors if the method changed; otherwise refreshes their values.
    void refresh();
    QString currentMethod() const { return m_method; }
    QString key() const { return m_key; }

private:
    void rebuild();
    std::vector<ParamDescriptor> currentParams() const;
    QWidget *makeEditor(const ParamDescriptor &param);
    QJsonObject sectionJson() const;

    ExperimentDocument *m_document;
    QString m_key;
    const SectionDescriptor *m_section; ///< null for "evaluation" (no selector)
    QComboBox *m_selector = nullptr;
    QLabel *m_explanation = nullptr;
    QFormLayout *m_form = nullptr;
    QString m_method;
    std::vector<std::pair<ParamDescriptor, QWidget *>> m_editors;
    bool m_updating = false;
};

/// All section forms plus the experiment's name and seed, in a scrollable column.
class MethodPanel : public QWidget {
    Q_OBJECT

public:
    explicit MethodPanel(ExperimentDocument *document, QWidget *parent = nullptr);
    void refresh();
    SectionForm *section(const QString &key) const;

private:
    ExperimentDocument *m_document;
    std::vector<SectionForm *> m_sections;
    QLineEdit *m_name;
    QSpinBox *m_seed;
};

} // namespace fcl::ui
