// SPDX-License-Identifier: MIT
#pragma once

#include <QDialog>
#include <QJsonObject>

class QComboBox;
class QDialogButtonBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QSpinBox;

namespace fcl::ui {

/// "FCIT scenario…": FCIT's scenarios (Guo et al., ICCV 2025) as a form. It edits an "fcit" block
/// (setting, granularity, tasks or groups, heterogeneous lists, clients, clients per round,
/// samples per task, Dirichlet beta, minimum size, variant) and says live what it generates, or
/// the first error, with OK disabled until it is valid. GUI thread.
class FcitDialog : public QDialog {
    Q_OBJECT

public:
    /// `document`: the experiment the scenario will replace the clients and stages of (its seed
    /// draws seeded lists).
    explicit FcitDialog(const QJsonObject &document, QWidget *parent = nullptr);

    /// The "fcit" block the form describes.
    QJsonObject scenario() const;
    /// `document` with its clients, stages, partition and participation replaced by what the
    /// scenario generates (empty when it is invalid).
    QJsonObject expanded() const;
    /// What the scenario generates ("50 clients, 5 a round, 8 stages ..."), or its first error.
    QString summary() const;

    QComboBox *setting() const { return m_setting; }
    QComboBox *granularity() const { return m_granularity; }
    QLineEdit *units() const { return m_units; }
    QSpinBox *clients() const { return m_clients; }
    QSpinBox *perRound() const { return m_perRound; }
    QDialogButtonBox *buttons() const { return m_buttons; }

private:
    void update();

    QJsonObject m_document;
    QComboBox *m_setting;
    QComboBox *m_granularity;
    QLineEdit *m_units;
    QComboBox *m_lists;
    QSpinBox *m_clients;
    QSpinBox *m_perRound;
    QSpinBox *m_samples;
    QDoubleSpinBox *m_beta;
    QSpinBox *m_minSize;
    QComboBox *m_variant;
    QLabel *m_summary;
    QDialogButtonBox *m_buttons;
    QJsonObject m_expanded;
};

/// The document with an "fcit" scenario block in place of its clients, stages, partition and
/// federated.participation (what expandFcitScenario expects).
QJsonObject withScenario(QJsonObject document, const QJsonObject &scenario);

} // namespace fcl::ui
