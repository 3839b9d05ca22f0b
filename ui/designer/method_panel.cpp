// SPDX-License-Identifier: MIT
#include "ui/designer/method_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QSpinBox>
#include <QVBoxLayout>

#include <cmath>

namespace fcl::ui {

SectionForm::SectionForm(ExperimentDocument *document, const QString &sectionKey,
                         const QString &title, QWidget *parent)
    : QGroupBox(title, parent), m_document(document), m_key(sectionKey),
      m_section(findSection(sectionKey))
{
    auto *layout = new QVBoxLayout(this);
    if (m_section != nullptr) {
        m_selector = new QComboBox(this);
        for (const MethodDescriptor &method : methodRegistry()) {
            if (method.category == m_key) {
                m_selector->addItem(method.title, method.id);
                m_selector->setItemData(m_selector->count() - 1, method.summary, Qt::ToolTipRole);
            }
        }
        layout->addWidget(m_selector);
        m_explanation = new QLabel(this);
        m_explanation->setWordWrap(true);
        m_explanation->setTextInteractionFlags(Qt::TextSelectableByMouse);
        QFont font = m_explanation->font();
        font.setPointSizeF(font.pointSizeF() * 0.92);
        m_explanation->setFont(font);
        m_explanation->setForegroundRole(QPalette::PlaceholderText);
        layout->addWidget(m_explanation);
        connect(m_selector, &QComboBox::activated, this, [this] {
            m_document->setSectionMethod(m_key, m_selector->currentData().toString());
        });
    }
    m_form = new QFormLayout;
    m_form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    layout->addLayout(m_form);
    refresh();
}

QJsonObject SectionForm::sectionJson() const
{
    return m_document->json().value(m_key).toObject();
}

std::vector<ParamDescriptor> SectionForm::currentParams() const
{
    if (m_section == nullptr) {
        return evaluationParams();
    }
    std::vector<ParamDescriptor> params = m_section->commonParams;
    if (const MethodDescriptor *method = findMethod(m_key, m_method)) {
        params.insert(params.end(), method->params.begin(), method->params.end());
    }
    return params;
}

QWidget *SectionForm::makeEditor(const ParamDescriptor &param)
{
    using Type = ParamDescriptor::Type;
    QWidget *editor = nullptr;
    switch (param.type) {
    case Type::Int: {
        auto *spin = new QSpinBox(this);
        spin->setRange(static_cast<int>(param.minimum),
                       static_cast<int>(std::min(param.maximum, 2e9)));
        spin->setKeyboardTracking(false);
        connect(spin, &QSpinBox::valueChanged, this, [this, name = param.name](int value) {
            if (!m_updating) {
                m_document->setSectionValue(m_key, name, value);
            }
        });
        editor = spin;
        break;
    }
    case Type::Double: {
        auto *spin = new QDoubleSpinBox(this);
        spin->setDecimals(param.maximum <= 1 ? 3 : 4);
        const double step = param.maximum <= 1 ? 0.01 : param.maximum <= 100 ? 0.1 : 1.0;
        spin->setSingleStep(step);
        spin->setRange(param.minExclusive ? param.minimum + std::pow(10.0, -spin->decimals())
                                          : param.minimum,
                       param.maximum);
        spin->setKeyboardTracking(false);
        connect(spin, &QDoubleSpinBox::valueChanged, this, [this, name = param.name](double value) {
            if (!m_updating) {
                m_document->setSectionValue(m_key, name, value);
            }
        });
        editor = spin;
        break;
    }
    case Type::Choice: {
        auto *combo = new QComboBox(this);
        combo->addItems(param.choices);
        connect(combo, &QComboBox::activated, this, [this, combo, name = param.name] {
            m_document->setSectionValue(m_key, name, combo->currentText());
        });
        editor = combo;
        break;
    }
    case Type::Bool: {
        auto *check = new QCheckBox(this);
        connect(check, &QCheckBox::toggled, this, [this, name = param.name](bool on) {
            if (!m_updating) {
                m_document->setSectionValue(m_key, name, on);
            }
        });
        editor = check;
        break;
    }
    case Type::Text: {
        auto *line = new QLineEdit(this);
        connect(line, &QLineEdit::editingFinished, this,
                [this, line, name = param.name, fallback = param.defaultValue.toString()] {
                    // Compared with what the field shows (the default when the key is missing), so
                    // that leaving an untouched field changes nothing.
                    const QJsonValue stored = sectionJson().value(name);
                    if (!m_updating &&
                        line->text() != (stored.isUndefined() ? fallback : stored.toString())) {
                        m_document->setSectionValue(m_key, name, line->text());
                    }
                });
        editor = line;
        break;
    }
    }
    editor->setToolTip(
        QStringLiteral("<b>%1</b> %2<br>%3")
            .arg(param.name, param.rangeText().toHtmlEscaped(), param.help.toHtmlEscaped()));
    editor->setObjectName(m_key + QLatin1Char('.') + param.name);
    return editor;
}

void SectionForm::rebuild()
{
    while (m_form->rowCount() > 0) {
        m_form->removeRow(0);
    }
    m_editors.clear();
    for (const ParamDescriptor &param : currentParams()) {
        QWidget *editor = makeEditor(param);
        auto *label =
            new QLabel(QString(param.name).replace(QLatin1Char('_'), QLatin1Char(' ')), this);
        label->setToolTip(param.help);
        m_form->addRow(label, editor);
        m_editors.emplace_back(param, editor);
    }
}

void SectionForm::refresh()
{
    m_updating = true;
    const QJsonObject json = sectionJson();
    if (m_section != nullptr) {
        const QString method =
            json.value(m_section->selectorKey).toString(m_section->defaultMethod);
        if (method != m_method || m_editors.empty()) {
            m_method = method;
            rebuild();
        }
        m_selector->setCurrentIndex(std::max(0, m_selector->findData(m_method)));
        if (const MethodDescriptor *descriptor = findMethod(m_key, m_method)) {
            m_explanation->setText(descriptor->explanation);
        }
    } else if (m_editors.empty()) {
        rebuild();
    }
    for (auto &[param, editor] : m_editors) {
        const QJsonValue value = json.value(param.name);
        const QVariant current = value.isUndefined() ? param.defaultValue : value.toVariant();
        if (auto *spin = qobject_cast<QSpinBox *>(editor)) {
            spin->setValue(current.toInt());
        } else if (auto *dspin = qobject_cast<QDoubleSpinBox *>(editor)) {
            dspin->setValue(current.toDouble());
        } else if (auto *combo = qobject_cast<QComboBox *>(editor)) {
            combo->setCurrentText(current.toString());
        } else if (auto *check = qobject_cast<QCheckBox *>(editor)) {
            check->setChecked(current.toBool());
        } else if (auto *line = qobject_cast<QLineEdit *>(editor)) {
            if (line->text() != current.toString()) {
                line->setText(current.toString());
            }
        }
    }
    m_updating = false;
}

MethodPanel::MethodPanel(ExperimentDocument *document, QWidget *parent)
    : QWidget(parent), m_document(document)
{
    auto *layout = new QVBoxLayout(this);
    auto *general = new QGroupBox(tr("Experiment"), this);
    auto *form = new QFormLayout(general);
    m_name = new QLineEdit(general);
    m_seed = new QSpinBox(general);
    m_seed->setRange(0, 2000000000);
    m_seed->setKeyboardTracking(false);
    m_seed->setToolTip(
        tr("The same experiment and seed give the same metrics, whatever the thread count."));
    form->addRow(tr("name"), m_name);
    form->addRow(tr("seed"), m_seed);
    layout->addWidget(general);
    connect(m_name, &QLineEdit::editingFinished, this, [this] {
        m_document->setTopLevel(QStringLiteral("name"), m_name->text());
    });
    connect(m_seed, &QSpinBox::valueChanged, this, [this](int seed) {
        m_document->setTopLevel(QStringLiteral("seed"), seed);
    });
    const std::pair<const char *, QString> sections[] = {{"model", tr("Model")},
                                                         {"federated", tr("Federated learning")},
                                                         {"continual", tr("Continual learning")},
                                                         {"partition", tr("Data partition")},
                                                         {"evaluation", tr("Evaluation")}};
    for (const auto &[key, title] : sections) {
        auto *section = new SectionForm(document, QString::fromLatin1(key), title, this);
        m_sections.push_back(section);
        layout->addWidget(section);
    }
    layout->addStretch(1);
    refresh();
}

void MethodPanel::refresh()
{
    const QSignalBlocker blockName(m_name);
    const QSignalBlocker blockSeed(m_seed);
    m_name->setText(m_document->json().value(QStringLiteral("name")).toString());
    m_seed->setValue(m_document->json().value(QStringLiteral("seed")).toInt(1));
    for (SectionForm *section : m_sections) {
        section->refresh();
    }
}

SectionForm *MethodPanel::section(const QString &key) const
{
    for (SectionForm *section : m_sections) {
        if (section->key() == key) {
            return section;
        }
    }
    return nullptr;
}

} // namespace fcl::ui
