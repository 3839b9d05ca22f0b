// SPDX-License-Identifier: MIT
#pragma once

#include "core/metrics/observation.h"

#include <QStringList>

#include <vector>

class QCustomPlot;
class QPointF;

namespace fcl::ui {

/// Draws a heatmap: rows top to bottom, columns left to right, `values` row-major (NaN cells
/// stay empty), a viridis scale over [minimum, maximum], each cell labelled with its value when
/// there is room. Replaces whatever `plot` showed.
void drawHeatmap(QCustomPlot *plot, const QStringList &rowLabels, const QStringList &columnLabels,
                 const std::vector<double> &values, double minimum, double maximum);

/// Draws the history of one observation kind on `plot`, chosen by its shape and with no
/// knowledge of the method that emitted it: a Series as one line per label over the rounds;
/// a Matrix as a heatmap; Points as a scatter coloured by group; an Assignment as an item x group
/// grid; a Graph as nodes on a circle with edges as wide as their weight. The last four show
/// snapshot `snapshot` of `history` (-1: the latest). `roundsTotal` fixes the x range of series.
void drawObservations(QCustomPlot *plot, const std::vector<const Observation *> &history,
                      int snapshot = -1, int roundsTotal = 0);

/// Whether a shape shows one snapshot at a time (and so gets a slider over rounds): every shape
/// but Series, which draws its whole history.
bool isSnapshotShape(ObservationShape shape);

/// What the pointer at `pixel` points at on a heatmap drawn by drawHeatmap: "row / column: value"
/// with the axes' labels; empty outside the cells or on an empty cell.
QString heatmapToolTip(QCustomPlot *plot, const QPointF &pixel);

/// What the pointer at `pixel` points at on `shown` as drawObservations drew it: a heatmap cell;
/// a graph's node (its strongest edges out and in) or edge (the weight each way); a scatter
/// point's group and position. Empty when it points at nothing.
QString observationToolTip(QCustomPlot *plot, const Observation &shown, const QPointF &pixel);

} // namespace fcl::ui
