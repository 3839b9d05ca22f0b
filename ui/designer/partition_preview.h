// SPDX-License-Identifier: MIT
#pragma once

#include "core/sim/experiment.h"

#include <QWidget>

#include <optional>

class QCustomPlot;
class QSpinBox;
class QLabel;

namespace fcl::ui {

/// Each client's label and quantity distribution in one stage as stacked bars, computed with the
/// engine's own partition function and seeds on the catalog's pool sizes, so it updates instantly
/// as alpha, sizes or the timeline change.
class PartitionPreview : public QWidget {
    Q_OBJECT

public:
    explicit PartitionPreview(QWidget *parent = nullptr);
    void setExperiment(const Experiment *experiment); ///< null: nothing valid to preview
    QCustomPlot *plot() const { return m_plot; }

private:
    void redraw();

    QCustomPlot *m_plot;
    QSpinBox *m_stage;
    QLabel *m_note;
    std::optional<Experiment> m_experiment;
};

} // namespace fcl::ui
