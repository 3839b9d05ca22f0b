// SPDX-License-Identifier: MIT
#pragma once

#include "ui/models/run_series.h"

#include <QSet>
#include <QTabWidget>
#include <QTimer>

#include <map>

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
    /// The five fixed plots, then one per observation kind of the series.
    QList<QCustomPlot *> plots() const;
    /// The plot of an observation kind, or null while the series has none of that kind.
    QCustomPlot *observationPlot(const QString &kind) const;
    int redrawCount() const { return m_redraws; }
    /// Rebuilds every plot from the series and replots the visible one synchronously.
    void redrawNow();

private:
    void rebuild(QCustomPlot *plot);
    void drawTasks();
    void drawAverage();
    void drawClients();
    void drawCommunication();
    void drawMatrix();
    /// Adds a tab for every observation kind the series has and drops the others.
    void syncObservationTabs();
    QCustomPlot *addPlotTab(const QString &title);
    void saveCurrent();
    void drawStageLines(QCustomPlot *plot);
    /// Stage lines, the x range of every round and the given y range.
    void finishRoundAxes(QCustomPlot *plot, double yLow, double yHigh);

    RunSeries m_series;
    QCustomPlot *m_tasks;
    QCustomPlot *m_average;
    QCustomPlot *m_matrix;
    QCustomPlot *m_clients;
    QCustomPlot *m_communication;
    std::map<QString, QCustomPlot *> m_observationPlots; ///< by observation kind
    QTimer m_redrawTimer;
    QSet<QCustomPlot *> m_stale; ///< hidden tabs whose data changed since they were drawn
    bool m_dirty = false;
    int m_redraws = 0;
};

} // namespace fcl::ui
