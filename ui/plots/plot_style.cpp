// SPDX-License-Identifier: MIT
#include "ui/plots/plot_style.h"

#include <QApplication>
#include <QPalette>
#include <QToolTip>
#include <qcustomplot.h>

#include <cmath>
#include <limits>

namespace fcl::ui {

QColor seriesColor(int index)
{
    static const QColor colors[] = {QColor(0x00, 0x72, 0xb2), QColor(0xd5, 0x5e, 0x00),
                                    QColor(0x00, 0x9e, 0x73), QColor(0xcc, 0x79, 0xa7),
                                    QColor(0xe6, 0x9f, 0x00), QColor(0x56, 0xb4, 0xe9),
                                    QColor(0x88, 0x88, 0x88), QColor(0x8c, 0x56, 0x4b),
                                    QColor(0x6a, 0x3d, 0x9a), QColor(0xb1, 0x59, 0x28)};
    return colors[static_cast<std::size_t>(index) % (sizeof colors / sizeof colors[0])];
}

namespace {

/// Colours from the plot's palette (light or dark), so plots match the rest of the window.
void applyPalette(QCustomPlot *plot)
{
    const QPalette palette = plot->palette();
    const QColor background = palette.color(QPalette::Base);
    const QColor text = palette.color(QPalette::Text);
    QColor grid = text;
    grid.setAlpha(40);
    plot->setBackground(background);
    for (QCPAxis *axis : {plot->xAxis, plot->yAxis}) {
        axis->setBasePen(QPen(text));
        axis->setTickPen(QPen(text));
        axis->setSubTickPen(QPen(text));
        axis->setTickLabelColor(text);
        axis->setLabelColor(text);
        axis->grid()->setPen(QPen(grid, 1, Qt::DotLine));
    }
    plot->legend->setBrush(QBrush(background));
    plot->legend->setTextColor(text);
    plot->legend->setBorderPen(QPen(grid));
}

/// Re-applies the palette when the system switches between light and dark.
class PaletteFollower : public QObject {
public:
    using QObject::QObject;
    bool eventFilter(QObject *watched, QEvent *event) override
    {
        if (event->type() == QEvent::PaletteChange) {
            auto *plot = static_cast<QCustomPlot *>(watched);
            applyPalette(plot);
            plot->replot(QCustomPlot::rpQueuedReplot);
        }
        return false;
    }
};

} // namespace

void stylePlot(QCustomPlot *plot, const QString &xLabel, const QString &yLabel)
{
    applyPalette(plot);
    plot->installEventFilter(new PaletteFollower(plot));
    plot->xAxis->setLabel(xLabel);
    plot->yAxis->setLabel(yLabel);
    plot->legend->setVisible(true);
    plot->legend->setSelectableParts(QCPLegend::spItems);
    plot->setInteractions(QCP::iSelectLegend);

    // Click a legend entry to hide or show its curve.
    QObject::connect(plot, &QCustomPlot::legendClick, plot,
                     [plot](QCPLegend *, QCPAbstractLegendItem *item, QMouseEvent *) {
                         if (auto *plottableItem = qobject_cast<QCPPlottableLegendItem *>(item)) {
                             QCPAbstractPlottable *plottable = plottableItem->plottable();
                             plottable->setVisible(!plottable->visible());
                             plottableItem->setTextColor(
                                 plottable->visible()
                                     ? plot->palette().color(QPalette::Text)
                                     : plot->palette().color(QPalette::Disabled, QPalette::Text));
                             plot->replot(QCustomPlot::rpQueuedReplot);
                         }
                     });
    // Hover: the nearest point of any visible graph, with its exact value.
    plot->setMouseTracking(true);
    QObject::connect(plot, &QCustomPlot::mouseMove, plot, [plot](QMouseEvent *event) {
        double bestDistance = std::numeric_limits<double>::max();
        QString tip;
        for (int g = 0; g < plot->graphCount(); ++g) {
            QCPGraph *graph = plot->graph(g);
            if (!graph->visible() || graph->data()->isEmpty()) {
                continue;
            }
            const double x = plot->xAxis->pixelToCoord(event->pos().x());
            auto it = graph->data()->findBegin(x, true);
            for (int k = 0; k < 2 && it != graph->data()->constEnd(); ++k, ++it) {
                if (std::isnan(it->value)) {
                    continue;
                }
                const QPointF pixel(plot->xAxis->coordToPixel(it->key),
                                    plot->yAxis->coordToPixel(it->value));
                const double distance = QLineF(pixel, event->position()).length();
                if (distance < bestDistance && distance < 24) {
                    bestDistance = distance;
                    tip = QStringLiteral("%1\n%2 = %3\n%4 = %5")
                              .arg(graph->property("fclFullName").isValid()
                                       ? graph->property("fclFullName").toString()
                                       : graph->name(),
                                   plot->xAxis->label())
                              .arg(it->key)
                              .arg(plot->yAxis->label())
                              .arg(it->value, 0, 'f', 4);
                }
            }
        }
        showPlotToolTip(plot, event, tip);
    });
}

void placeLegendBelow(QCustomPlot *plot, int columns)
{
    if (plot->plotLayout()->rowCount() == 1) {
        auto *sub = new QCPLayoutGrid;
        plot->plotLayout()->addElement(1, 0, sub);
        plot->plotLayout()->setRowStretchFactor(1, 0.001);
        sub->addElement(0, 0, plot->legend);
        // A grid's widest size is the sum of its columns' widest, and an empty legend's is 0: on
        // its own it would squeeze the axis rect above it to the legend's width before a run.
        // An empty element beside it (given no stretch) lifts that bound.
        sub->addElement(0, 1, new QCPLayoutElement(plot));
        sub->setColumnStretchFactor(0, 1);
        sub->setColumnStretchFactor(1, 0.001);
        sub->setMargins(QMargins(6, 0, 6, 6));
    }
    plot->legend->setFillOrder(QCPLegend::foColumnsFirst);
    plot->legend->setWrap(columns);
}

void showPlotToolTip(QCustomPlot *plot, const QMouseEvent *event, const QString &text)
{
    if (text.isEmpty()) {
        QToolTip::hideText();
    } else {
        QToolTip::showText(event->globalPosition().toPoint(), text, plot);
    }
}

QString legendLabel(QCustomPlot *plot, const QString &name, int minimumPixels)
{
    const int columns = std::max(1, plot->legend->wrap());
    const int room = std::max(minimumPixels, (plot->width() - 24) / columns -
                                                 plot->legend->iconSize().width() - 24);
    return QFontMetrics(plot->legend->font()).elidedText(name, Qt::ElideMiddle, room);
}

void useRoundTicks(QCustomPlot *plot)
{
    QSharedPointer<QCPAxisTickerFixed> ticks(new QCPAxisTickerFixed);
    ticks->setTickStep(1.0);
    ticks->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    ticks->setTickCount(8);
    plot->xAxis->setTicker(ticks);
}

void addEmptyHint(QCustomPlot *plot, const QString &text)
{
    auto *hint = new QCPItemText(plot);
    hint->position->setType(QCPItemPosition::ptAxisRectRatio);
    hint->position->setCoords(0.5, 0.5);
    hint->setPositionAlignment(Qt::AlignCenter);
    hint->setTextAlignment(Qt::AlignCenter);
    hint->setText(text);
    hint->setColor(plot->palette().color(QPalette::PlaceholderText));
    hint->setSelectable(false);
    plot->legend->setVisible(false);
}

bool savePlot(QCustomPlot *plot, const QString &path, QString *error)
{
    const bool ok = path.endsWith(QLatin1String(".pdf"), Qt::CaseInsensitive)
                        ? plot->savePdf(path, 900, 560)
                        : plot->savePng(path, 900, 560, 2.0);
    if (!ok) {
        *error = QStringLiteral("could not write %1").arg(path);
    }
    return ok;
}

} // namespace fcl::ui
