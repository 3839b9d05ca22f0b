// SPDX-License-Identifier: MIT
#pragma once

#include "ui/models/run_series.h"

#include <QSet>
#include <QTabWidget>
#include <QTimer>

#include <map>

class QCustomPlot;
class QLabel;
class QSlider;
class QToolButton;

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
    /// Token F1 per task: a tab only while the series is a generative run's (null otherwise).
    QCustomPlot *tokenF1Plot() const;
    /// The format-accuracy tab's plot, or nullptr when the run is not generative.
    QCustomPlot *formatPlot() const;
    /// The five fixed plots (and token F1 when shown), then one per observation kind.
    QList<QCustomPlot *> plots() const;
    /// The plot of an observation kind, or null while the series has none of that kind.
    QCustomPlot *observationPlot(const QString &kind) const;
    /// The slider over the snapshots of an observation kind (one per round it was emitted), or
    /// null. It follows the newest snapshot while it sits at its end; dragged back, it shows
    /// that round's snapshot until moved again. Hidden for series, which show every round.
    QSlider *observationSlider(const QString &kind) const;
    /// Plays the snapshots of an observation kind from the slider's position (or from the first
    /// when at the end), one every playInterval ms; pressing again pauses.
    QToolButton *observationPlayButton(const QString &kind) const;
    static constexpr int kPlayInterval = 600;
    /// Makes the tab that shows `plot` current (observation plots sit in a tab with a slider).
    void showPlot(QCustomPlot *plot);
    int redrawCount() const { return m_redraws; }
    /// Rebuilds every plot from the series and replots the visible one synchronously.
    void redrawNow();

protected:
    void resizeEvent(QResizeEvent *event) override;

private:
    void rebuild(QCustomPlot *plot);
    /// The plot shown by the current tab (observation tabs hold it beside their slider).
    QCustomPlot *currentPlot() const;
    struct ObservationTab {
        QWidget *page = nullptr; ///< the tab: the plot above the slider bar
        QCustomPlot *plot = nullptr;
        QWidget *bar = nullptr;
        QSlider *slider = nullptr;
        QLabel *roundLabel = nullptr;
        QToolButton *play = nullptr;
    };
    ObservationTab makeObservationTab(const QString &kind, const QString &title);
    /// Brings a tab's slider range to its kind's snapshot count (keeping it at the end while it
    /// follows) and its label to the shown snapshot's round.
    void syncSlider(const QString &kind, const ObservationTab &tab);
    /// The snapshot a tab shows, or null when its kind has none.
    const Observation *shownSnapshot(const QString &kind) const;
    void stepPlayback();
    /// One curve per task over the evaluated rounds (accuracy or token F1).
    void drawPerTask(QCustomPlot *plot, const std::vector<QVector<double>> &values);
    /// Shows the token F1 tab (second) while the series has F1 curves, hides it otherwise.
    void syncTokenF1Tab();
    void drawAverage();
    void drawClients();
    /// Past kClientCurvesDrawn clients: mean, 10-90 % band and three named clients.
    void drawClientSummary(const QSet<QString> &hidden);
    static constexpr std::size_t kClientCurvesDrawn = 50;
    void drawCommunication();
    void drawMatrix();
    /// Adds a tab for every observation kind the series has and drops the others.
    void syncObservationTabs();
    QCustomPlot *addPlotTab(const QString &title);
    /// A plot with the panel's context menu, not yet in a tab.
    QCustomPlot *makeMenuPlot();
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
    QCustomPlot *m_f1;     ///< owned by the panel; a tab only for generative runs
    QCustomPlot *m_format; ///< likewise
    std::map<QString, ObservationTab> m_observationTabs; ///< by observation kind
    QTimer m_redrawTimer;
    QTimer m_playTimer;
    QString m_playing;           ///< the kind being played, or empty
    QSet<QCustomPlot *> m_stale; ///< hidden tabs whose data changed since they were drawn
    bool m_dirty = false;
    int m_redraws = 0;
};

} // namespace fcl::ui
