// SPDX-License-Identifier: MIT
#include "ui/plots/plots_panel.h"

#include "ui/plots/observation_plot.h"
#include "ui/plots/plot_style.h"

#include <QApplication>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QMessageBox>
#include <QPalette>
#include <QSlider>
#include <QToolButton>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

namespace fcl::ui {

namespace {
QCustomPlot *makePlot(QWidget *parent)
{
    auto *plot = new QCustomPlot(parent);
    plot->setMinimumSize(300, 180);
    plot->setContextMenuPolicy(Qt::CustomContextMenu);
    return plot;
}
} // namespace

PlotsPanel::PlotsPanel(QWidget *parent)
    : QTabWidget(parent), m_tasks(addPlotTab(tr("Accuracy per task"))),
      m_average(addPlotTab(tr("Average / forgetting"))),
      m_matrix(addPlotTab(tr("Accuracy matrix"))), m_clients(addPlotTab(tr("Per client"))),
      m_communication(addPlotTab(tr("Communication"))), m_f1(makeMenuPlot()),
      m_format(makeMenuPlot())
{
    m_f1->hide();
    m_format->hide();
    stylePlot(m_tasks, tr("round"), tr("accuracy"));
    stylePlot(m_f1, tr("round"), tr("token F1"));
    stylePlot(m_format, tr("round"), tr("format accuracy"));
    stylePlot(m_average, tr("round"), tr("value"));
    stylePlot(m_clients, tr("round"), tr("local accuracy"));
    stylePlot(m_communication, tr("round"), tr("MB (cumulative)"));
    stylePlot(m_matrix, tr("task"), tr("after stage"));
    m_matrix->legend->setVisible(false);
    placeLegendBelow(m_tasks, 3);
    placeLegendBelow(m_f1, 3);
    placeLegendBelow(m_format, 3);
    placeLegendBelow(m_clients, 4);
    placeLegendBelow(m_average, 2);
    // Method observations add tabs: scroll rather than elide the fixed ones to "Ac…".
    setElideMode(Qt::ElideNone);
    setUsesScrollButtons(true);
    m_redrawTimer.setInterval(50);
    connect(&m_redrawTimer, &QTimer::timeout, this, [this] {
        if (m_dirty) {
            redrawNow();
        }
    });
    m_redrawTimer.start();
    m_playTimer.setInterval(kPlayInterval);
    connect(&m_playTimer, &QTimer::timeout, this, &PlotsPanel::stepPlayback);
    m_matrix->setMouseTracking(true);
    connect(m_matrix, &QCustomPlot::mouseMove, this, [this](QMouseEvent *event) {
        showPlotToolTip(m_matrix, event, heatmapToolTip(m_matrix, event->position()));
    });
    connect(this, &QTabWidget::currentChanged, this, [this] {
        QCustomPlot *plot = currentPlot();
        if (plot != nullptr && m_stale.remove(plot)) {
            rebuild(plot);
            plot->replot();
        }
    });
    redrawNow(); // empty axes with their final ranges, not QCustomPlot's 0..5 defaults
}

QCustomPlot *PlotsPanel::makeMenuPlot()
{
    QCustomPlot *plot = makePlot(this);
    connect(plot, &QWidget::customContextMenuRequested, this, [this, plot](const QPoint &pos) {
        QMenu menu;
        menu.addAction(tr("Save plot as PNG or PDF…"), this, &PlotsPanel::saveCurrent);
        menu.exec(plot->mapToGlobal(pos));
    });
    return plot;
}

QCustomPlot *PlotsPanel::addPlotTab(const QString &title)
{
    QCustomPlot *plot = makeMenuPlot();
    const int index = addTab(plot, title);
    setTabToolTip(index, title);
    return plot;
}

QCustomPlot *PlotsPanel::tokenF1Plot() const
{
    return indexOf(m_f1) >= 0 ? m_f1 : nullptr;
}

QCustomPlot *PlotsPanel::formatPlot() const
{
    return indexOf(m_format) >= 0 ? m_format : nullptr;
}

void PlotsPanel::syncTokenF1Tab()
{
    // Generative runs: token F1 and format accuracy tabs after "Accuracy per task".
    const auto sync = [this](QCustomPlot *plot, bool wanted, int at, const QString &title,
                             const QString &tip) {
        const bool shown = indexOf(plot) >= 0;
        if (wanted && !shown) {
            const int index = insertTab(at, plot, title);
            setTabToolTip(index, tip);
        } else if (!wanted && shown) {
            m_stale.remove(plot);
            removeTab(indexOf(plot));
            plot->hide();
        }
    };
    sync(m_f1, !m_series.taskF1.empty(), 1, tr("Token F1 per task"),
         tr("Token-level F1 of the generated answers (partial credit for free-text answers; exact "
            "match is the accuracy)"));
    sync(m_format, !m_series.taskFormat.empty(), 2, tr("Format per task"),
         tr("Share of answers in the form the instruction asks for (a class name, yes/no, a "
            "number), right or wrong: CoIN's instruction-following check. Knowledge accuracy "
            "(right content in any form) is printed by `fcl show`."));
}

QCustomPlot *PlotsPanel::currentPlot() const
{
    if (auto *plot = qobject_cast<QCustomPlot *>(currentWidget())) {
        return plot;
    }
    for (const auto &[kind, tab] : m_observationTabs) {
        if (tab.page == currentWidget()) {
            return tab.plot;
        }
    }
    return nullptr;
}

void PlotsPanel::showPlot(QCustomPlot *plot)
{
    for (const auto &[kind, tab] : m_observationTabs) {
        if (tab.plot == plot) {
            setCurrentWidget(tab.page);
            return;
        }
    }
    if (indexOf(plot) >= 0) {
        setCurrentWidget(plot);
    }
}

QList<QCustomPlot *> PlotsPanel::plots() const
{
    QList<QCustomPlot *> list{m_tasks, m_average, m_matrix, m_clients, m_communication};
    if (indexOf(m_f1) >= 0) {
        list.insert(1, m_f1);
    }
    if (indexOf(m_format) >= 0) {
        list.insert(indexOf(m_f1) >= 0 ? 2 : 1, m_format);
    }
    for (const auto &[kind, tab] : m_observationTabs) {
        list << tab.plot;
    }
    return list;
}

QCustomPlot *PlotsPanel::observationPlot(const QString &kind) const
{
    const auto found = m_observationTabs.find(kind);
    return found == m_observationTabs.end() ? nullptr : found->second.plot;
}

QSlider *PlotsPanel::observationSlider(const QString &kind) const
{
    const auto found = m_observationTabs.find(kind);
    return found == m_observationTabs.end() ? nullptr : found->second.slider;
}

QToolButton *PlotsPanel::observationPlayButton(const QString &kind) const
{
    const auto found = m_observationTabs.find(kind);
    return found == m_observationTabs.end() ? nullptr : found->second.play;
}

PlotsPanel::ObservationTab PlotsPanel::makeObservationTab(const QString &kind, const QString &title)
{
    ObservationTab tab;
    tab.page = new QWidget(this);
    auto *layout = new QVBoxLayout(tab.page);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);
    tab.plot = makeMenuPlot();
    tab.plot->setParent(tab.page);
    layout->addWidget(tab.plot, 1);
    tab.bar = new QWidget(tab.page);
    auto *bar = new QHBoxLayout(tab.bar);
    bar->setContentsMargins(6, 0, 6, 4);
    tab.play = new QToolButton(tab.bar);
    tab.play->setCheckable(true);
    tab.play->setText(tr("Play"));
    tab.play->setToolTip(tr("Play the rounds one after another"));
    tab.slider = new QSlider(Qt::Horizontal, tab.bar);
    tab.slider->setRange(0, 0);
    tab.slider->setPageStep(1);
    tab.slider->setToolTip(tr("The round whose snapshot is shown; at the right end the plot "
                              "follows the newest round"));
    tab.roundLabel = new QLabel(tab.bar);
    tab.roundLabel->setMinimumWidth(tab.roundLabel->fontMetrics().horizontalAdvance(
        tr("round %1 of %2 (stage %3)").arg(9999).arg(9999).arg(99)));
    bar->addWidget(tab.play);
    bar->addWidget(tab.slider, 1);
    bar->addWidget(tab.roundLabel);
    layout->addWidget(tab.bar);
    const int index = addTab(tab.page, title.size() > 32 ? title.left(31) + QChar(0x2026) : title);
    setTabToolTip(index, title);
    stylePlot(tab.plot, QString(), QString());
    placeLegendBelow(tab.plot, 4);

    QCustomPlot *plot = tab.plot;
    connect(tab.slider, &QSlider::valueChanged, this, [this, kind, plot] {
        const auto found = m_observationTabs.find(kind);
        if (found != m_observationTabs.end()) {
            syncSlider(kind, found->second);
        }
        rebuild(plot);
        plot->replot();
        m_stale.remove(plot);
    });
    connect(tab.play, &QToolButton::toggled, this, [this, kind](bool on) {
        for (auto &[other, otherTab] : m_observationTabs) {
            if (other != kind) {
                const QSignalBlocker block(otherTab.play);
                otherTab.play->setChecked(false);
                otherTab.play->setText(tr("Play"));
            }
        }
        ObservationTab &playing = m_observationTabs.at(kind);
        playing.play->setText(on ? tr("Pause") : tr("Play"));
        if (!on) {
            m_playing.clear();
            m_playTimer.stop();
            return;
        }
        m_playing = kind;
        if (playing.slider->value() == playing.slider->maximum()) {
            playing.slider->setValue(0); // from the first round, as "play" promises
        }
        m_playTimer.start();
    });
    plot->setMouseTracking(true);
    connect(plot, &QCustomPlot::mouseMove, this, [this, kind, plot](QMouseEvent *event) {
        const Observation *shown = shownSnapshot(kind);
        if (shown == nullptr || !isSnapshotShape(shown->shape)) {
            return; // a series: the generic nearest-point tooltip of stylePlot
        }
        showPlotToolTip(plot, event, observationToolTip(plot, *shown, event->position()));
    });
    return tab;
}

void PlotsPanel::stepPlayback()
{
    const auto found = m_observationTabs.find(m_playing);
    if (found == m_observationTabs.end()) {
        m_playTimer.stop();
        return;
    }
    QSlider *slider = found->second.slider;
    if (slider->value() >= slider->maximum()) {
        found->second.play->setChecked(false); // the last round reached: stop there
        return;
    }
    slider->setValue(slider->value() + 1);
}

const Observation *PlotsPanel::shownSnapshot(const QString &kind) const
{
    const std::vector<const Observation *> history = m_series.observationsOf(kind);
    const auto found = m_observationTabs.find(kind);
    if (history.empty() || found == m_observationTabs.end()) {
        return nullptr;
    }
    const int at =
        std::clamp(found->second.slider->value(), 0, static_cast<int>(history.size()) - 1);
    return history[static_cast<std::size_t>(at)];
}

void PlotsPanel::syncSlider(const QString &kind, const ObservationTab &tab)
{
    const std::vector<const Observation *> history = m_series.observationsOf(kind);
    const int last = std::max(0, static_cast<int>(history.size()) - 1);
    {
        const QSignalBlocker block(tab.slider);
        const bool following = tab.slider->value() >= tab.slider->maximum();
        tab.slider->setMaximum(last);
        if (following) {
            tab.slider->setValue(last);
        }
    }
    const bool snapshots = !history.empty() && isSnapshotShape(history.front()->shape);
    tab.bar->setVisible(snapshots);
    tab.slider->setEnabled(history.size() > 1);
    tab.play->setEnabled(history.size() > 1);
    if (const Observation *shown = shownSnapshot(kind)) {
        tab.roundLabel->setText(tr("round %1 of %2 (stage %3)")
                                    .arg(shown->globalRound + 1)
                                    .arg(std::max(m_series.stages * m_series.roundsPerStage,
                                                  history.back()->globalRound + 1))
                                    .arg(shown->stage + 1));
    }
}

void PlotsPanel::syncObservationTabs()
{
    const QStringList kinds = m_series.observationKinds();
    for (auto it = m_observationTabs.begin(); it != m_observationTabs.end();) {
        if (!kinds.contains(it->first)) {
            if (m_playing == it->first) {
                m_playing.clear();
                m_playTimer.stop();
            }
            m_stale.remove(it->second.plot);
            removeTab(indexOf(it->second.page));
            delete it->second.page;
            it = m_observationTabs.erase(it);
        } else {
            ++it;
        }
    }
    for (const QString &kind : kinds) {
        if (m_observationTabs.count(kind) == 0) {
            const Observation &first = *m_series.observationsOf(kind).front();
            m_observationTabs[kind] =
                makeObservationTab(kind, first.title.isEmpty() ? kind : first.title);
        }
        syncSlider(kind, m_observationTabs.at(kind));
    }
}

void PlotsPanel::setSeries(const RunSeries &series, bool immediate)
{
    m_series = series;
    if (immediate) {
        redrawNow();
    } else {
        markDirty();
    }
}

void PlotsPanel::markDirty()
{
    m_dirty = true;
}

void PlotsPanel::resizeEvent(QResizeEvent *event)
{
    QTabWidget::resizeEvent(event);
    markDirty(); // legends and stage labels are cut to the plot's width: cut them again
}

void PlotsPanel::redrawNow()
{
    m_dirty = false;
    syncTokenF1Tab();
    syncObservationTabs();
    // Only the visible tab is rebuilt and painted now; the others when they are shown. Hidden
    // panels (reports) rebuild everything, since each plot may be rendered.
    for (QCustomPlot *plot : plots()) {
        if (plot == currentPlot() || !isVisible()) {
            rebuild(plot);
            plot->replot();
            m_stale.remove(plot);
        } else {
            m_stale.insert(plot);
        }
    }
    ++m_redraws;
}

void PlotsPanel::finishRoundAxes(QCustomPlot *plot, double yLow, double yHigh)
{
    drawStageLines(plot);
    plot->xAxis->setRange(0.5, std::max(1, m_series.stages * m_series.roundsPerStage) + 0.5);
    plot->yAxis->setRange(yLow, yHigh);
    useRoundTicks(plot);
    if (m_series.rounds.isEmpty()) {
        addEmptyHint(plot, m_series.stages == 0
                               ? tr("No run yet.\nPress Run (F5) to train the experiment, or\n"
                                    "double-click a run in History to show it.")
                               : tr("Loading data and evaluating the untrained model…\nThe "
                                    "curves appear here round by round."));
    } else {
        if (plot != m_clients) { // which draws a legend only for few clients or a summary
            plot->legend->setVisible(true);
        }
    }
}

void PlotsPanel::drawStageLines(QCustomPlot *plot)
{
    QColor color = plot->palette().color(QPalette::Text);
    color.setAlpha(110);
    for (double end : m_series.stageEnds) {
        if (end >= m_series.stages * m_series.roundsPerStage) {
            continue;
        }
        auto *line = new QCPItemStraightLine(plot);
        line->point1->setCoords(end + 0.5, 0);
        line->point2->setCoords(end + 0.5, 1);
        line->setPen(QPen(color, 1, Qt::DashLine));
    }
    // Each stage's band is labelled at the top with the task(s) it brings, elided to the band.
    const int total = m_series.stages * m_series.roundsPerStage;
    if (m_series.stages < 2 || total <= 0) {
        return;
    }
    QFont font = plot->font();
    font.setPointSizeF(font.pointSizeF() * 0.85);
    const QFontMetrics metrics(font);
    const double bandPixels =
        std::max(20, plot->axisRect()->width()) * m_series.roundsPerStage / double(total) - 6;
    QColor labelColor = plot->palette().color(QPalette::Text);
    labelColor.setAlpha(170);
    for (int stage = 0; stage < m_series.stages; ++stage) {
        QStringList tasks;
        for (std::size_t j = 0; j < m_series.taskIds.size() && j < m_series.learnedAt.size(); ++j) {
            if (m_series.learnedAt[j] == stage) {
                tasks << m_series.taskIds[j];
            }
        }
        if (tasks.isEmpty()) {
            continue;
        }
        auto *label = new QCPItemText(plot);
        label->position->setTypeX(QCPItemPosition::ptPlotCoords);
        label->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
        label->position->setCoords(
            stage * m_series.roundsPerStage + (m_series.roundsPerStage + 1) / 2.0, 0.0);
        label->setPositionAlignment(Qt::AlignTop | Qt::AlignHCenter);
        label->setFont(font);
        label->setColor(labelColor);
        label->setText(metrics.elidedText(tasks.join(QStringLiteral(", ")), Qt::ElideMiddle,
                                          static_cast<int>(bandPixels)));
        label->setSelectable(false);
    }
}

namespace {

/// Clears a plot's curves, remembering which ones the user hid through the legend.
QSet<QString> resetPlot(QCustomPlot *target)
{
    QSet<QString> hidden;
    for (int g = 0; g < target->graphCount(); ++g) {
        if (!target->graph(g)->visible()) {
            hidden.insert(target->graph(g)->property("fclFullName").toString());
        }
    }
    target->clearGraphs();
    target->clearItems();
    return hidden;
}

QCPGraph *addGraph(QCustomPlot *target, const QString &name, const QVector<double> &x,
                   const QVector<double> &y, const QColor &color, const QSet<QString> &hidden,
                   Qt::PenStyle style = Qt::SolidLine)
{
    QCPGraph *graph = target->addGraph();
    // The legend shows the name cut in the middle to its column's width: "fmnist…split-3" keeps
    // the part that tells the curves apart. Hover and hidden-curve memory use the whole name.
    // Only on screen: a hidden plot (a report's) is drawn at its own size later.
    graph->setName(target->isVisible() ? legendLabel(target, name, 50) : name);
    graph->setProperty("fclFullName", name);
    graph->setPen(QPen(color, 2, style));
    graph->setScatterStyle(x.size() > 60 ? QCPScatterStyle(QCPScatterStyle::ssNone)
                                         : QCPScatterStyle(QCPScatterStyle::ssCircle, 4));
    graph->setData(x, y, true);
    // Antialiased polylines cost ~10x more to paint; past a few thousand points the
    // difference cannot be seen anyway.
    graph->setAntialiased(x.size() <= 2000);
    graph->setVisible(!hidden.contains(name));
    if (!graph->visible()) { // hidden through the legend before this redraw: keep it grey there
        if (QCPPlottableLegendItem *item = target->legend->itemWithPlottable(graph)) {
            item->setTextColor(target->palette().color(QPalette::Disabled, QPalette::Text));
        }
    }
    return graph;
}

} // namespace

void PlotsPanel::rebuild(QCustomPlot *plot)
{
    if (plot == m_tasks) {
        drawPerTask(m_tasks, m_series.taskAccuracy);
    } else if (plot == m_f1) {
        drawPerTask(m_f1, m_series.taskF1);
    } else if (plot == m_format) {
        drawPerTask(m_format, m_series.taskFormat);
    } else if (plot == m_average) {
        drawAverage();
    } else if (plot == m_clients) {
        drawClients();
    } else if (plot == m_communication) {
        drawCommunication();
    } else if (plot == m_matrix) {
        drawMatrix();
    } else {
        for (const auto &[kind, tab] : m_observationTabs) {
            if (tab.plot == plot) {
                drawObservations(plot, m_series.observationsOf(kind), tab.slider->value(),
                                 m_series.stages * m_series.roundsPerStage);
            }
        }
    }
}

void PlotsPanel::drawPerTask(QCustomPlot *plot, const std::vector<QVector<double>> &values)
{
    const RunSeries &s = m_series;
    const QSet<QString> hidden = resetPlot(plot);
    for (std::size_t j = 0; j < values.size(); ++j) {
        addGraph(plot, s.taskIds[j], s.evaluatedRounds, values[j], seriesColor(static_cast<int>(j)),
                 hidden);
    }
    finishRoundAxes(plot, -0.02, 1.02);
}

void PlotsPanel::drawAverage()
{
    const RunSeries &s = m_series;
    const QSet<QString> hidden = resetPlot(m_average);
    addGraph(m_average, tr("average accuracy (seen tasks)"), s.evaluatedRounds, s.averageAccuracy,
             seriesColor(0), hidden);
    addGraph(m_average, tr("average forgetting"), s.evaluatedRounds, s.averageForgetting,
             seriesColor(1), hidden, Qt::DashLine);
    finishRoundAxes(m_average, -0.02, 1.02);
}

void PlotsPanel::drawClients()
{
    const RunSeries &s = m_series;
    const QSet<QString> hidden = resetPlot(m_clients);
    if (s.clientAccuracy.size() > kClientCurvesDrawn) {
        drawClientSummary(hidden);
        return;
    }
    for (std::size_t c = 0; c < s.clientAccuracy.size(); ++c) {
        addGraph(m_clients, s.clientNames[c], s.clientRounds[c], s.clientAccuracy[c],
                 seriesColor(static_cast<int>(c)), hidden);
    }
    finishRoundAxes(m_clients, -0.02, 1.02);
    m_clients->legend->setVisible(s.clientAccuracy.size() <= 12);
}

void PlotsPanel::drawClientSummary(const QSet<QString> &hidden)
{
    // Thousands of curves are unreadable, and QCustomPlot removes legend entries one by one
    // (10,000 clients took 11 minutes per redraw): the clients that trained each round are
    // summarised by their mean and 10th-90th percentile band, plus the first three by name.
    const RunSeries &s = m_series;
    std::map<double, std::vector<double>> byRound;
    for (std::size_t c = 0; c < s.clientAccuracy.size(); ++c) {
        for (qsizetype i = 0; i < s.clientRounds[c].size(); ++i) {
            byRound[s.clientRounds[c][i]].push_back(s.clientAccuracy[c][i]);
        }
    }
    QVector<double> x;
    QVector<double> mean;
    QVector<double> low;
    QVector<double> high;
    for (auto &[round, values] : byRound) {
        std::sort(values.begin(), values.end());
        const auto quantile = [&values](double q) {
            return values[static_cast<std::size_t>(q * static_cast<double>(values.size() - 1))];
        };
        x.append(round);
        mean.append(std::accumulate(values.begin(), values.end(), 0.0) /
                    static_cast<double>(values.size()));
        low.append(quantile(0.1));
        high.append(quantile(0.9));
    }
    QColor band = seriesColor(0);
    QCPGraph *lowGraph =
        addGraph(m_clients, tr("10th percentile"), x, low, band, hidden, Qt::DotLine);
    QCPGraph *highGraph =
        addGraph(m_clients, tr("90th percentile"), x, high, band, hidden, Qt::DotLine);
    band.setAlpha(50);
    highGraph->setBrush(QBrush(band));
    highGraph->setChannelFillGraph(lowGraph);
    addGraph(m_clients, tr("mean of %1 clients").arg(s.clientAccuracy.size()), x, mean,
             seriesColor(0), hidden);
    for (std::size_t c = 0; c < 3; ++c) {
        addGraph(m_clients, s.clientNames[c], s.clientRounds[c], s.clientAccuracy[c],
                 seriesColor(static_cast<int>(c) + 1), hidden, Qt::DashLine);
    }
    finishRoundAxes(m_clients, -0.02, 1.02);
    m_clients->legend->setVisible(true);
}

void PlotsPanel::drawCommunication()
{
    const RunSeries &s = m_series;
    const QSet<QString> hidden = resetPlot(m_communication);
    // "Sent" and "received" by the clients hold for both topologies: up to the server and down
    // from it, or between peers (PCFT), where every byte one client sends another receives.
    addGraph(m_communication, tr("sent by clients"), s.rounds, s.cumulativeUpMB, seriesColor(2),
             hidden);
    addGraph(m_communication, tr("received by clients"), s.rounds, s.cumulativeDownMB,
             seriesColor(4), hidden, Qt::DashLine);
    const double maxMB = std::max(s.cumulativeUpMB.isEmpty() ? 1.0 : s.cumulativeUpMB.last(),
                                  s.cumulativeDownMB.isEmpty() ? 1.0 : s.cumulativeDownMB.last());
    finishRoundAxes(m_communication, 0, maxMB * 1.05);
    m_communication->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignLeft);
}

void PlotsPanel::drawMatrix()
{
    // Heatmap: x = task, y = stage (stage 1 on top), value in each cell.
    const RunSeries &s = m_series;
    const int stages = std::max(1, s.stages);
    QStringList rows;
    for (int i = 0; i < stages; ++i) {
        rows << tr("stage %1").arg(i + 1);
    }
    QStringList columns;
    for (const QString &task : s.taskIds) {
        columns << task;
    }
    std::vector<double> values;
    for (int i = 0; i < stages; ++i) {
        for (int j = 0; j < static_cast<int>(columns.size()); ++j) {
            values.push_back(i < s.matrix.stages() ? s.matrix.at(i, j) : std::nan(""));
        }
    }
    drawHeatmap(m_matrix, rows, columns, values, 0, 1);
    if (s.matrix.stages() == 0) {
        m_matrix->xAxis->setTickLabels(!columns.isEmpty());
        m_matrix->yAxis->setTickLabels(!columns.isEmpty());
        addEmptyHint(m_matrix, s.stages == 0
                                   ? tr("No run yet.\nAfter each stage, a row of accuracy per "
                                        "task appears here.")
                                   : tr("After each stage, a row of accuracy per task\nappears "
                                        "here (row: after stage; column: task)."));
    }
}

void PlotsPanel::saveCurrent()
{
    QCustomPlot *plot = currentPlot();
    if (plot == nullptr) {
        return;
    }
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Save plot"), tabText(currentIndex()) + QStringLiteral(".png"),
        tr("PNG image (*.png);;PDF document (*.pdf)"));
    QString error;
    if (!path.isEmpty() && !savePlot(plot, path, &error)) {
        QMessageBox::warning(this, tr("Save plot"), error);
    }
}

} // namespace fcl::ui
