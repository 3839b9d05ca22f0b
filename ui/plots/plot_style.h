// SPDX-License-Identifier: MIT
#pragma once

#include <QColor>
#include <QString>

class QCustomPlot;
class QMouseEvent;

namespace fcl::ui {

/// A colour-blind-friendly palette (Okabe-Ito + extras), cycled by index.
QColor seriesColor(int index);
/// Applies the application palette (light or dark) to a plot: background, axes, grid, legend;
/// enables legend click-to-toggle and hover tooltips with exact values.
void stylePlot(QCustomPlot *plot, const QString &xLabel, const QString &yLabel);
/// Moves the legend below the axis rect, in `columns` columns, so it never hides a curve.
void placeLegendBelow(QCustomPlot *plot, int columns);
/// `name` cut in the middle to the width of one column of the plot's legend (its wrap), at least
/// `minimumPixels`: "fmnist…split-3" keeps the part that tells entries apart.
QString legendLabel(QCustomPlot *plot, const QString &name, int minimumPixels);
/// Shows `text` as the plot's tooltip at the pointer, or hides the tooltip when it is empty.
void showPlotToolTip(QCustomPlot *plot, const QMouseEvent *event, const QString &text);
/// Integer ticks (1, 2, 3 … or every 2nd, 5th …) for an axis of rounds: never "2.5".
void useRoundTicks(QCustomPlot *plot);
/// A grey line in the middle of the axis rect saying what will appear there and how (an empty
/// plot is not broken); hides the legend. Removed with the plot's items.
void addEmptyHint(QCustomPlot *plot, const QString &text);
/// Saves as PNG or PDF by the file's suffix; false with `error` set on failure.
bool savePlot(QCustomPlot *plot, const QString &path, QString *error);

} // namespace fcl::ui
