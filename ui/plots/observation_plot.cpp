// SPDX-License-Identifier: MIT
#include "ui/plots/observation_plot.h"

#include "ui/plots/plot_style.h"

#include <qcustomplot.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace fcl::ui {
namespace {

constexpr double kPi = 3.14159265358979323846;

/// Where drawGraph puts node `node` of `nodes`: on the unit circle, the first at the top.
QPointF nodePosition(int node, int nodes)
{
    const double angle = 2 * kPi * node / std::max(1, nodes) + kPi / 2;
    return {std::cos(angle), std::sin(angle)};
}

/// A graph's edges that drawGraph draws: valid node indices, finite non-zero weight, no loops.
struct Edge {
    int from;
    int to;
    double weight;
};
std::vector<Edge> drawnEdges(const Observation &o)
{
    const int nodes = static_cast<int>(o.labels.size());
    std::vector<Edge> edges;
    for (std::size_t i = 0; i + 2 < o.values.size(); i += 3) {
        const double weight = o.values[i + 2];
        if (!std::isfinite(o.values[i]) || !std::isfinite(o.values[i + 1]) ||
            !std::isfinite(weight) || o.values[i] < 0 || o.values[i + 1] < 0 ||
            o.values[i] >= nodes || o.values[i + 1] >= nodes) {
            continue;
        }
        const int from = static_cast<int>(o.values[i]);
        const int to = static_cast<int>(o.values[i + 1]);
        if (from != to && weight != 0) {
            edges.push_back({from, to, weight});
        }
    }
    return edges;
}

void clearPlot(QCustomPlot *plot)
{
    plot->clearPlottables();
    plot->clearItems();
    plot->xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    plot->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    plot->xAxis->setTickLabelRotation(0);
    plot->yAxis->setRangeReversed(false);
    plot->xAxis->grid()->setVisible(true);
    plot->yAxis->grid()->setVisible(true);
    plot->xAxis->setLabel(QString());
    plot->yAxis->setLabel(QString());
    plot->axisRect()->setAutoMargins(QCP::msAll);
    plot->legend->setVisible(false);
}

QSharedPointer<QCPAxisTickerText> textTicks(const QStringList &labels)
{
    QSharedPointer<QCPAxisTickerText> ticks(new QCPAxisTickerText);
    for (int i = 0; i < labels.size(); ++i) {
        ticks->addTick(i + 1, labels[i]);
    }
    return ticks;
}

void drawSeries(QCustomPlot *plot, const std::vector<const Observation *> &history, int roundsTotal)
{
    const Observation &last = *history.back();
    double low = 0;
    double high = 0;
    bool any = false;
    for (int k = 0; k < last.labels.size(); ++k) {
        QVector<double> x;
        QVector<double> y;
        for (const Observation *o : history) {
            if (static_cast<std::size_t>(k) < o->values.size()) {
                const double v = o->values[static_cast<std::size_t>(k)];
                x.append(o->globalRound + 1);
                y.append(v);
                if (std::isfinite(v)) {
                    low = any ? std::min(low, v) : v;
                    high = any ? std::max(high, v) : v;
                    any = true;
                }
            }
        }
        QCPGraph *graph = plot->addGraph();
        graph->setName(last.labels[k]);
        graph->setPen(QPen(seriesColor(k), 2));
        graph->setScatterStyle(x.size() > 60 ? QCPScatterStyle(QCPScatterStyle::ssNone)
                                             : QCPScatterStyle(QCPScatterStyle::ssCircle, 4));
        graph->setData(x, y, true);
    }
    plot->xAxis->setLabel(QObject::tr("round"));
    // "SCAFFOLD: control-variate norm per client" -> "control-variate norm per client"
    plot->yAxis->setLabel(last.title.contains(QLatin1Char(':'))
                              ? last.title.section(QLatin1Char(':'), 1).trimmed()
                              : last.title);
    plot->xAxis->setRange(0.5, std::max(roundsTotal, history.back()->globalRound + 1) + 0.5);
    const double pad = any && high > low ? (high - low) * 0.05 : 0.5;
    plot->yAxis->setRange(any ? low - pad : 0, any ? high + pad : 1);
    plot->legend->setVisible(last.labels.size() <= 12);
}

void drawPoints(QCustomPlot *plot, const Observation &o)
{
    const int groups = std::max<int>(1, static_cast<int>(o.labels.size()));
    std::vector<QVector<double>> xs(static_cast<std::size_t>(groups));
    std::vector<QVector<double>> ys(static_cast<std::size_t>(groups));
    for (std::size_t i = 0; i + 2 < o.values.size(); i += 3) {
        if (!std::isfinite(o.values[i]) || !std::isfinite(o.values[i + 1]) ||
            !std::isfinite(o.values[i + 2]) || o.values[i + 2] < 0 || o.values[i + 2] >= groups) {
            continue; // a point without a valid group or position is not drawn
        }
        const int group = static_cast<int>(o.values[i + 2]);
        xs[static_cast<std::size_t>(group)].append(o.values[i]);
        ys[static_cast<std::size_t>(group)].append(o.values[i + 1]);
    }
    // Background groups first (under the rest), highlighted ones last (on top); the legend keeps
    // the label order.
    const auto role = [&](int g) {
        return g < o.columnLabels.size() ? o.columnLabels[g] : QString();
    };
    std::vector<int> order(static_cast<std::size_t>(groups));
    std::iota(order.begin(), order.end(), 0);
    const auto rank = [&](int g) {
        return role(g) == QLatin1String("background")  ? 0
               : role(g) == QLatin1String("highlight") ? 2
                                                       : 1;
    };
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
        return rank(a) < rank(b);
    });
    std::vector<QColor> colours(static_cast<std::size_t>(groups));
    int coloured = 0;
    for (int g = 0; g < groups; ++g) { // colours in label order; background groups are grey
        colours[static_cast<std::size_t>(g)] =
            rank(g) == 0 ? QColor(150, 150, 150) : seriesColor(coloured++);
    }
    std::vector<QCPGraph *> graphs(static_cast<std::size_t>(groups), nullptr);
    for (int g : order) { // created in drawing order
        const QColor &colour = colours[static_cast<std::size_t>(g)];
        QCPGraph *graph = plot->addGraph();
        graph->setName(g < o.labels.size() ? o.labels[g] : QString::number(g));
        graph->setLineStyle(QCPGraph::lsNone);
        if (rank(g) == 2) {
            graph->setScatterStyle(
                QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(Qt::black, 2), colour, 11));
        } else {
            graph->setScatterStyle(
                QCPScatterStyle(QCPScatterStyle::ssDisc, colour, rank(g) == 0 ? 4 : 6));
        }
        graph->setData(xs[static_cast<std::size_t>(g)], ys[static_cast<std::size_t>(g)]);
        graphs[static_cast<std::size_t>(g)] = graph;
    }
    for (QCPGraph *graph : graphs) {
        graph->removeFromLegend();
    }
    for (QCPGraph *graph : graphs) { // the legend in label order
        graph->addToLegend();
    }
    plot->rescaleAxes();
    for (QCPAxis *axis : {plot->xAxis, plot->yAxis}) {
        const QCPRange range = axis->range();
        const double pad = range.size() > 0 ? range.size() * 0.05 : 0.5;
        axis->setRange(range.lower - pad, range.upper + pad);
    }
    plot->legend->setVisible(groups <= 12);
}

void drawAssignment(QCustomPlot *plot, const Observation &o)
{
    std::vector<double> cells(static_cast<std::size_t>(o.labels.size() * o.columnLabels.size()),
                              std::nan(""));
    for (int item = 0; item < o.labels.size() && static_cast<std::size_t>(item) < o.values.size();
         ++item) {
        const double value = o.values[static_cast<std::size_t>(item)];
        const int group = std::isfinite(value) && value >= 0 && value < o.columnLabels.size()
                              ? static_cast<int>(value)
                              : -1;
        if (group >= 0) {
            cells[static_cast<std::size_t>(item * o.columnLabels.size() + group)] = 1;
        }
    }
    drawHeatmap(plot, o.labels, o.columnLabels, cells, 0, 1);
}

void drawGraph(QCustomPlot *plot, const Observation &o)
{
    const int nodes = static_cast<int>(o.labels.size());
    auto position = [&](int node) {
        return nodePosition(node, nodes);
    };
    const std::vector<Edge> edges = drawnEdges(o);
    double strongest = 0;
    for (const Edge &e : edges) {
        strongest = std::max(strongest, std::abs(e.weight));
    }
    QColor edgeColor = plot->palette().color(QPalette::Text);
    for (const Edge &e : edges) {
        auto *edge = new QCPItemLine(plot);
        edge->start->setCoords(position(e.from));
        edge->end->setCoords(position(e.to));
        QColor color = edgeColor;
        color.setAlpha(150);
        edge->setPen(QPen(color, 0.5 + 5.5 * std::abs(e.weight) / std::max(1e-12, strongest)));
        edge->setHead(QCPLineEnding::esSpikeArrow);
        edge->setSelectable(false);
    }
    QCPGraph *points = plot->addGraph();
    points->setLineStyle(QCPGraph::lsNone);
    points->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, seriesColor(0), 14));
    for (int node = 0; node < nodes; ++node) {
        const QPointF at = position(node);
        points->addData(at.x(), at.y());
        auto *label = new QCPItemText(plot);
        label->position->setCoords(at.x() * 1.22, at.y() * 1.15);
        label->setText(o.labels[node]);
        label->setColor(plot->palette().color(QPalette::Text));
    }
    plot->xAxis->setRange(-1.5, 1.5);
    plot->yAxis->setRange(-1.4, 1.4);
    plot->xAxis->setTickLabels(false);
    plot->yAxis->setTickLabels(false);
    plot->xAxis->grid()->setVisible(false);
    plot->yAxis->grid()->setVisible(false);
}

} // namespace

void drawHeatmap(QCustomPlot *plot, const QStringList &rowLabels, const QStringList &columnLabels,
                 const std::vector<double> &values, double minimum, double maximum)
{
    clearPlot(plot);
    plot->xAxis->setTickLabels(true);
    plot->yAxis->setTickLabels(true);
    const int columns = static_cast<int>(columnLabels.size());
    const int rows = std::max<int>(1, static_cast<int>(rowLabels.size()));
    if (columns == 0) {
        return;
    }
    auto *map = new QCPColorMap(plot->xAxis, plot->yAxis);
    map->data()->setSize(columns, rows);
    map->data()->setRange(QCPRange(1, columns), QCPRange(1, rows));
    // Cell labels only while they fit: a "0.00" needs about 30 x 14 px (smaller type below 44 px
    // a cell); the values are on hover anyway. The axis rect's size is the last layout's.
    const QRect area =
        plot->axisRect()->rect().width() > 50
            ? plot->axisRect()->rect()
            : QRect(0, 0, std::max(200, plot->width() - 160), std::max(120, plot->height() - 90));
    const double cellWidth = area.width() / double(columns);
    const double cellHeight = area.height() / double(rows);
    const bool labelCells = cellWidth >= 30 && cellHeight >= 14;
    QFont cellFont = plot->font();
    cellFont.setBold(true);
    if (cellWidth < 44 || cellHeight < 20) {
        cellFont.setPointSizeF(cellFont.pointSizeF() * 0.8);
    }
    for (int j = 0; j < columns; ++j) {
        for (int i = 0; i < rows; ++i) {
            const std::size_t at = static_cast<std::size_t>(i * columns + j);
            const double value = at < values.size() ? values[at] : std::nan("");
            map->data()->setCell(j, i, value);
            if (labelCells && !std::isnan(value)) {
                auto *label = new QCPItemText(plot);
                label->position->setCoords(j + 1, i + 1);
                label->setText(QString::number(value, 'f', 2));
                const double share = (value - minimum) / std::max(1e-12, maximum - minimum);
                label->setColor(share > 0.55 ? Qt::black : Qt::white);
                label->setFont(cellFont);
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
    map->setDataRange(QCPRange(minimum, maximum));
    map->setInterpolate(false);
    // A colour scale beside the map, made once per plot and reused by later draws.
    QCPColorScale *scale = nullptr;
    for (int i = 0; i < plot->plotLayout()->elementCount() && scale == nullptr; ++i) {
        scale = qobject_cast<QCPColorScale *>(plot->plotLayout()->elementAt(i));
    }
    if (scale == nullptr) {
        scale = new QCPColorScale(plot);
        plot->plotLayout()->addElement(0, 1, scale);
        plot->plotLayout()->setColumnStretchFactor(1, 0.01);
        scale->setBarWidth(10);
        auto *group = new QCPMarginGroup(plot);
        plot->axisRect()->setMarginGroup(QCP::msTop | QCP::msBottom, group);
        scale->setMarginGroup(QCP::msTop | QCP::msBottom, group);
        scale->axis()->setTickLabelColor(plot->palette().color(QPalette::Text));
        scale->axis()->setBasePen(QPen(plot->palette().color(QPalette::Text)));
        scale->axis()->setTickPen(QPen(plot->palette().color(QPalette::Text)));
        scale->axis()->setSubTickPen(QPen(plot->palette().color(QPalette::Text)));
    }
    map->setColorScale(scale);
    scale->setGradient(gradient);
    scale->setDataRange(QCPRange(minimum, maximum));
    // Long names are cut in the middle, where prefixes shared by every task ("fmnist-split-")
    // would otherwise hide the part that differs.
    const QFontMetrics metrics(plot->xAxis->tickLabelFont());
    auto elided = [&](const QStringList &labels, int pixels) {
        QStringList out;
        for (const QString &label : labels) {
            out << metrics.elidedText(label, Qt::ElideMiddle, pixels);
        }
        return out;
    };
    plot->setProperty("fclHeatmapRows", rowLabels); // whole, for the hover text
    plot->setProperty("fclHeatmapColumns", columnLabels);
    plot->xAxis->setTicker(textTicks(elided(columnLabels, 110)));
    plot->yAxis->setTicker(textTicks(elided(rowLabels, 110)));
    plot->xAxis->setTickLabelRotation(columns > 10 ? 60 : columns > 4 ? 25 : 0);
    plot->xAxis->setRange(0.5, columns + 0.5);
    plot->yAxis->setRange(0.5, rows + 0.5);
    plot->yAxis->setRangeReversed(true); // first row on top, as a matrix is written
    // Room on the right for the last rotated column label.
    plot->axisRect()->setAutoMargins(QCP::msLeft | QCP::msTop | QCP::msBottom);
    plot->axisRect()->setMargins(QMargins(0, 0, columns > 4 ? 30 : 10, 0));
    plot->xAxis->grid()->setVisible(false);
    plot->yAxis->grid()->setVisible(false);
}

void drawObservations(QCustomPlot *plot, const std::vector<const Observation *> &history,
                      int snapshot, int roundsTotal)
{
    clearPlot(plot);
    plot->xAxis->setTickLabels(true);
    plot->yAxis->setTickLabels(true);
    if (history.empty()) {
        return;
    }
    const Observation &shown = *history[snapshot < 0 || snapshot >= static_cast<int>(history.size())
                                            ? history.size() - 1
                                            : static_cast<std::size_t>(snapshot)];
    switch (shown.shape) {
    case ObservationShape::Series:
        drawSeries(plot, history, roundsTotal);
        break;
    case ObservationShape::Matrix: {
        double low = 0;
        double high = 1;
        for (double v : shown.values) {
            if (std::isfinite(v)) {
                low = std::min(low, v);
                high = std::max(high, v);
            }
        }
        drawHeatmap(plot, shown.labels, shown.columnLabels, shown.values, low, high);
        break;
    }
    case ObservationShape::Points:
        drawPoints(plot, shown);
        break;
    case ObservationShape::Assignment:
        drawAssignment(plot, shown);
        break;
    case ObservationShape::Graph:
        drawGraph(plot, shown);
        break;
    }
}

bool isSnapshotShape(ObservationShape shape)
{
    return shape != ObservationShape::Series;
}

namespace {

double pixelDistance(const QPointF &a, const QPointF &b)
{
    return std::hypot(a.x() - b.x(), a.y() - b.y());
}

/// Distance from p to the segment a-b, in pixels.
double segmentDistance(const QPointF &p, const QPointF &a, const QPointF &b)
{
    const QPointF d = b - a;
    const double length2 = d.x() * d.x() + d.y() * d.y();
    const double t =
        length2 <= 0
            ? 0
            : std::clamp(((p.x() - a.x()) * d.x() + (p.y() - a.y()) * d.y()) / length2, 0.0, 1.0);
    return pixelDistance(p, a + t * d);
}

QString weightText(double weight)
{
    return QString::number(weight, 'f', 3);
}

QString graphToolTip(QCustomPlot *plot, const Observation &o, const QPointF &pixel)
{
    const int nodes = static_cast<int>(o.labels.size());
    auto toPixel = [&](int node) {
        const QPointF at = nodePosition(node, nodes);
        return QPointF(plot->xAxis->coordToPixel(at.x()), plot->yAxis->coordToPixel(at.y()));
    };
    const std::vector<Edge> edges = drawnEdges(o);
    // A node first (its disc is 14 px wide), then the nearest edge within a few pixels.
    for (int node = 0; node < nodes; ++node) {
        if (pixelDistance(pixel, toPixel(node)) > 9) {
            continue;
        }
        std::vector<Edge> out;
        std::vector<Edge> in;
        for (const Edge &e : edges) {
            if (e.from == node) {
                out.push_back(e);
            } else if (e.to == node) {
                in.push_back(e);
            }
        }
        // The strongest five; edges that would print as 0.000 are only counted.
        auto list = [&](std::vector<Edge> &chosen, bool outgoing) {
            std::stable_sort(chosen.begin(), chosen.end(), [](const Edge &a, const Edge &b) {
                return std::abs(a.weight) > std::abs(b.weight);
            });
            QStringList parts;
            int hidden = 0;
            for (const Edge &e : chosen) {
                if (parts.size() == 5 || std::abs(e.weight) < 5e-4) {
                    ++hidden;
                    continue;
                }
                parts << QStringLiteral("%1 %2").arg(o.labels[outgoing ? e.to : e.from],
                                                     weightText(e.weight));
            }
            if (hidden > 0) {
                parts << QObject::tr("%n weaker", nullptr, hidden);
            }
            return parts.isEmpty() ? QObject::tr("none") : parts.join(QStringLiteral(", "));
        };
        return QObject::tr("%1\nedges out: %2\nedges in: %3")
            .arg(o.labels[node], list(out, true), list(in, false));
    }
    double nearest = 5;
    int from = -1;
    int to = -1;
    for (const Edge &e : edges) {
        const double distance = segmentDistance(pixel, toPixel(e.from), toPixel(e.to));
        if (distance <= nearest) {
            nearest = distance;
            from = e.from;
            to = e.to;
        }
    }
    if (from < 0) {
        return {};
    }
    // Both directions share the line: name each that exists.
    QStringList lines;
    for (const Edge &e : edges) {
        if ((e.from == from && e.to == to) || (e.from == to && e.to == from)) {
            lines << QStringLiteral("%1 \u2192 %2: %3")
                         .arg(o.labels[e.from], o.labels[e.to], weightText(e.weight));
        }
    }
    return lines.join(QLatin1Char('\n'));
}

QString pointsToolTip(QCustomPlot *plot, const Observation &o, const QPointF &pixel)
{
    double nearest = 6;
    QString text;
    for (std::size_t i = 0; i + 2 < o.values.size(); i += 3) {
        const double group = o.values[i + 2];
        if (!std::isfinite(o.values[i]) || !std::isfinite(o.values[i + 1]) ||
            !std::isfinite(group) || group < 0 || group >= o.labels.size()) {
            continue;
        }
        const QPointF at(plot->xAxis->coordToPixel(o.values[i]),
                         plot->yAxis->coordToPixel(o.values[i + 1]));
        const double distance = pixelDistance(pixel, at);
        if (distance <= nearest) {
            nearest = distance;
            text = QStringLiteral("%1 (%2, %3)")
                       .arg(o.labels[static_cast<int>(group)], QString::number(o.values[i], 'g', 4),
                            QString::number(o.values[i + 1], 'g', 4));
        }
    }
    return text;
}

} // namespace

QString heatmapToolTip(QCustomPlot *plot, const QPointF &pixel)
{
    QCPColorMap *map = nullptr;
    for (int i = 0; i < plot->plottableCount() && map == nullptr; ++i) {
        map = qobject_cast<QCPColorMap *>(plot->plottable(i));
    }
    if (map == nullptr || !plot->axisRect()->rect().contains(pixel.toPoint())) {
        return {};
    }
    int column = -1;
    int row = -1;
    map->data()->coordToCell(plot->xAxis->pixelToCoord(pixel.x()),
                             plot->yAxis->pixelToCoord(pixel.y()), &column, &row);
    if (column < 0 || row < 0 || column >= map->data()->keySize() ||
        row >= map->data()->valueSize()) {
        return {};
    }
    const double value = map->data()->cell(column, row);
    if (!std::isfinite(value)) {
        return {};
    }
    return QStringLiteral("%1 / %2: %3")
        .arg(plot->property("fclHeatmapRows").toStringList().value(row),
             plot->property("fclHeatmapColumns").toStringList().value(column), weightText(value));
}

QString observationToolTip(QCustomPlot *plot, const Observation &shown, const QPointF &pixel)
{
    switch (shown.shape) {
    case ObservationShape::Matrix:
        return heatmapToolTip(plot, pixel);
    case ObservationShape::Assignment: {
        // The cell under the pointer is the item's row; name its group.
        const QString cell = heatmapToolTip(plot, pixel);
        return cell.isEmpty() ? cell : cell.section(QLatin1Char(':'), 0, 0).trimmed();
    }
    case ObservationShape::Graph:
        return graphToolTip(plot, shown, pixel);
    case ObservationShape::Points:
        return pointsToolTip(plot, shown, pixel);
    case ObservationShape::Series:
        break;
    }
    return {};
}

} // namespace fcl::ui
