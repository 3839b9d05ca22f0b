// SPDX-License-Identifier: MIT
#pragma once

#include "ui/models/run_series.h"

#include <QSet>
#include <QTabWidget>
#include <QTimer>

class QCustomPlot;

namespace fcl::ui {

/// The live plots of one run: accuracy per task with stage boundaries, average accuracy and
/// forgetting, the accuracy-matrix heatmap, per-client accuracy and communication. New data only
/// marks the panel dirty; a 50 ms timer redraws at most ~20 times a second. GUI thread.
class PlotsPanel : public QTabWidget {
    Q_OBJECT

public:
    explicit PlotsPanel(QWidget *parent = nullptr);

    /// Shows `series` (a copy is kept); redraws soon, or now with immediate.
    void setSeries(const RunSeries &series, bool immediate = false);
    RunSeries &series() { return m_series; }
    /// Marks the held series changed (after appending to series()).
    void markDirty();

    QCustomPlot *taskPlot() const { return m_tasks; }
    QCustomPlot *averagePlot() const { return m_average; }
    QCustomPlot *matrixPlot() const { return m_matrix; }
    QCustomPlot *clientPlot() const { return m_clients; }
    QCustomPlot *communicationPlot() const { return m_communication; }
    QList<QCustomPlot *> plots() const;
    int redrawCount() const { return m_redraws; }
    /// Rebuilds every plot from the series and replots the visible one synchronously.
    void redrawNow();

private:
    void rebuild(QCustomPlot *plot);
    void saveCurrent();
    void drawStageLines(QCustomPlot *plot);

    RunSeries m_series;
    QCustomPlot *m_tasks;
    QCustomPlot *m_average;
    QCustomPlot *m_matrix;
    QCustomPlot *m_clients;
    QCustomPlot *m_communication;
    QTimer m_redrawTimer;
    QSet<QCustomPlot *> m_stale; ///< hidden tabs whose data changed since they were drawn
    bool m_dirty = false;
    int m_redraws = 0;
};

} // namespace fcl::ui
