// SPDX-License-Identifier: MIT
#include "ui/plots/plots_panel.h"

#include "ui/plots/plot_style.h"

#include <QApplication>
#include <QFileDialog>
#include <QMenu>
#include <QMessageBox>
#include <QPalette>
#include <qcustomplot.h>

#include <cmath>

namespace fcl::ui {

namespace {
QCustomPlot *makePlot(QWidget *parent)
{
    auto *plot = new QCustomPlot(parent);
    plot->setMinimumSize(320, 220);
    plot->setContextMenuPolicy(Qt::CustomContextMenu);
    return plot;
}
} // namespace

PlotsPanel::PlotsPanel(QWidget *parent)
    : QTabWidget(parent), m_tasks(makePlot(this)), m_average(makePlot(this)),
      m_matrix(makePlot(this)), m_clients(makePlot(this)), m_communication(makePlot(this))
{
    addTab(m_tasks, tr("Accuracy per task"));
    addTab(m_average, tr("Average / forgetting"));
    addTab(m_matrix, tr("Accuracy matrix"));
    addTab(m_clients, tr("Per client"));
    addTab(m_communication, tr("Communication"));
    stylePlot(m_tasks, tr("round"), tr("accuracy"));
    stylePlot(m_average, tr("round"), tr("value"));
    stylePlot(m_clients, tr("round"), tr("local accuracy"));
    stylePlot(m_communication, tr("round"), tr("MB (cumulative)"));
    stylePlot(m_matrix, tr("task"), tr("after stage"));
    m_matrix->legend->setVisible(false);
    placeLegendBelow(m_tasks, 3);
    placeLegendBelow(m_clients, 4);
    placeLegendBelow(m_average, 2);
    for (QCustomPlot *plot : plots()) {
        connect(plot, &QWidget::customContextMenuRequested, this, [this, plot](const QPoint &pos) {
            QMenu menu;
            menu.addAction(tr("Save plot as PNG or PDF…"), this, &PlotsPanel::saveCurrent);
            menu.exec(plot->mapToGlobal(pos));
        });
    }
    m_redrawTimer.setInterval(50);
    connect(&m_redrawTimer, &QTimer::timeout, this, [this] {
        if (m_dirty) {
            redrawNow();
        }
    });
    m_redrawTimer.start();
    connect(this, &QTabWidget::currentChanged, this, [this] {
        auto *plot = qobject_cast<QCustomPlot *>(currentWidget());
        if (plot != nullptr && m_stale.remove(plot)) {
            rebuild(plot);
            plot->replot();
        }
    });
    redrawNow(); // empty axes with their final ranges, not QCustomPlot's 0..5 defaults
}

QList<QCustomPlot *> PlotsPanel::plots() const
{
    return {m_tasks, m_average, m_matrix, m_clients, m_communication};
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

void PlotsPanel::redrawNow()
{
    m_dirty = false;
    // Only the visible tab is rebuilt and painted now; the others when they are shown. Hidden
    // panels (reports) rebuild everything, since each plot may be rendered.
    for (QCustomPlot *plot : plots()) {
        if (plot == currentWidget() || !isVisible()) {
            rebuild(plot);
            plot->replot();
            m_stale.remove(plot);
        } else {
            m_stale.insert(plot);
        }
    }
    ++m_redraws;
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
}

void PlotsPanel::rebuild(QCustomPlot *plot)
{
    const RunSeries &s = m_series;
    const double lastRound = std::max(1, s.stages * s.roundsPerStage);
    auto resetPlot = [](QCustomPlot *target) {
        // Keep hidden/shown choices of the legend across rebuilds.
        QSet<QString> hidden;
        for (int g = 0; g < target->graphCount(); ++g) {
            if (!target->graph(g)->visible()) {
                hidden.insert(target->graph(g)->name());
            }
        }
        target->clearGraphs();
        target->clearItems();
        return hidden;
    };
    auto addGraph = [](QCustomPlot *target, const QString &name, const QVector<double> &x,
                       const QVector<double> &y, const QColor &color, const QSet<QString> &hidden,
                       Qt::PenStyle style = Qt::SolidLine) {
        QCPGraph *graph = target->addGraph();
        graph->setName(name);
        graph->setPen(QPen(color, 2, style));
        graph->setScatterStyle(x.size() > 60 ? QCPScatterStyle(QCPScatterStyle::ssNone)
                                             : QCPScatterStyle(QCPScatterStyle::ssCircle, 4));
        graph->setData(x, y, true);
        // Antialiased polylines cost ~10x more to paint; past a few thousand points the
        // difference cannot be seen anyway.
        graph->setAntialiased(x.size() <= 2000);
        graph->setVisible(!hidden.contains(name));
        return graph;
    };

    QSet<QString> hidden;
    if (plot == m_tasks) {
        hidden = resetPlot(m_tasks);
        for (std::size_t j = 0; j < s.taskAccuracy.size(); ++j) {
            addGraph(m_tasks, s.taskIds[j], s.evaluatedRounds, s.taskAccuracy[j],
                     seriesColor(static_cast<int>(j)), hidden);
        }
        drawStageLines(m_tasks);
        m_tasks->xAxis->setRange(0.5, lastRound + 0.5);
        m_tasks->yAxis->setRange(-0.02, 1.02);
    }
    if (plot == m_average) {
        hidden = resetPlot(m_average);
        addGraph(m_average, tr("average accuracy (seen tasks)"), s.evaluatedRounds,
                 s.averageAccuracy, seriesColor(0), hidden);
        addGraph(m_average, tr("average forgetting"), s.evaluatedRounds, s.averageForgetting,
                 seriesColor(1), hidden, Qt::DashLine);
        drawStageLines(m_average);
        m_average->xAxis->setRange(0.5, lastRound + 0.5);
        m_average->yAxis->setRange(-0.02, 1.02);
    }
    if (plot == m_clients) {
        hidden = resetPlot(m_clients);
        for (std::size_t c = 0; c < s.clientAccuracy.size(); ++c) {
            addGraph(m_clients, s.clientNames[c], s.clientRounds[c], s.clientAccuracy[c],
                     seriesColor(static_cast<int>(c)), hidden);
        }
        drawStageLines(m_clients);
        m_clients->xAxis->setRange(0.5, lastRound + 0.5);
        m_clients->yAxis->setRange(-0.02, 1.02);
        m_clients->legend->setVisible(s.clientAccuracy.size() <= 12);
    }
    if (plot == m_communication) {
        hidden = resetPlot(m_communication);
        addGraph(m_communication, tr("sent up (clients → server)"), s.rounds, s.cumulativeUpMB,
                 seriesColor(2), hidden);
        addGraph(m_communication, tr("sent down (server → clients)"), s.rounds, s.cumulativeDownMB,
                 seriesColor(4), hidden, Qt::DashLine);
        drawStageLines(m_communication);
        m_communication->xAxis->setRange(0.5, lastRound + 0.5);
        const double maxMB =
            std::max(s.cumulativeUpMB.isEmpty() ? 1.0 : s.cumulativeUpMB.last(),
                     s.cumulativeDownMB.isEmpty() ? 1.0 : s.cumulativeDownMB.last());
        m_communication->yAxis->setRange(0, maxMB * 1.05);
        m_communication->axisRect()->insetLayout()->setInsetAlignment(0,
                                                                      Qt::AlignTop | Qt::AlignLeft);
    }
    if (plot != m_matrix) {
        return;
    }
    // Heatmap: x = task, y = stage (stage 1 on top), value in each cell.
    m_matrix->clearPlottables();
    m_matrix->clearItems();
    const int tasks = static_cast<int>(s.taskIds.size());
    const int stages = std::max(1, s.stages);
    if (tasks > 0) {
        auto *map = new QCPColorMap(m_matrix->xAxis, m_matrix->yAxis);
        map->data()->setSize(tasks, stages);
        map->data()->setRange(QCPRange(1, tasks), QCPRange(1, stages));
        for (int j = 0; j < tasks; ++j) {
            for (int i = 0; i < stages; ++i) {
                const double value = i < s.matrix.stages() ? s.matrix.at(i, j) : std::nan("");
                map->data()->setCell(j, i, std::isnan(value) ? std::nan("") : value);
                if (!std::isnan(value)) {
                    auto *label = new QCPItemText(m_matrix);
                    label->position->setCoords(j + 1, i + 1);
                    label->setText(QString::number(value, 'f', 2));
                    label->setColor(value > 0.55 ? Qt::black : Qt::white);
                    QFont font = label->font();
                    font.setBold(true);
                    label->setFont(font);
                }
            }
        }
        // Viridis (perceptually uniform, colour-blind safe); this QCustomPlot has no preset for it.
        QCPColorGradient gradient;
        gradient.setColorStopAt(0.0, QColor(0x44, 0x01, 0x54));
        gradient.setColorStopAt(0.25, QColor(0x3b, 0x52, 0x8b));
        gradient.setColorStopAt(0.5, QColor(0x21, 0x91, 0x8c));
        gradient.setColorStopAt(0.75, QColor(0x5e, 0xc9, 0x62));
        gradient.setColorStopAt(1.0, QColor(0xfd, 0xe7, 0x25));
        gradient.setNanHandling(QCPColorGradient::nhTransparent);
        map->setGradient(gradient);
        map->setDataRange(QCPRange(0, 1));
        map->setInterpolate(false);
        QSharedPointer<QCPAxisTickerText> xTicks(new QCPAxisTickerText);
        for (int j = 0; j < tasks; ++j) {
            xTicks->addTick(j + 1, s.taskIds[static_cast<std::size_t>(j)]);
        }
        QSharedPointer<QCPAxisTickerText> yTicks(new QCPAxisTickerText);
        for (int i = 0; i < stages; ++i) {
            yTicks->addTick(i + 1, tr("stage %1").arg(i + 1));
        }
        m_matrix->xAxis->setTicker(xTicks);
        m_matrix->yAxis->setTicker(yTicks);
        m_matrix->xAxis->setTickLabelRotation(tasks > 4 ? 20 : 0);
        m_matrix->xAxis->setRange(0.5, tasks + 0.5);
        m_matrix->yAxis->setRange(0.5, stages + 0.5);
        m_matrix->yAxis->setRangeReversed(true); // stage 1 on top, as the matrix is written
        // Room on the right for the last rotated task label.
        m_matrix->axisRect()->setAutoMargins(QCP::msLeft | QCP::msTop | QCP::msBottom);
        m_matrix->axisRect()->setMargins(QMargins(0, 0, 60, 0));
        m_matrix->xAxis->grid()->setVisible(false);
        m_matrix->yAxis->grid()->setVisible(false);
    }
}

void PlotsPanel::saveCurrent()
{
    auto *plot = qobject_cast<QCustomPlot *>(currentWidget());
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
