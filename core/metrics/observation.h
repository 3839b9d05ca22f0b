// SPDX-License-Identifier: MIT
#pragma once

#include <QString>
#include <QStringList>

#include <vector>

namespace fcl {

/// How an observation's values are laid out, and so how the GUI and the report draw it.
enum class ObservationShape {
    Series,     ///< one value per label at this round: a line per label over the rounds
    Matrix,     ///< labels x columnLabels, row-major: a heatmap (the latest, or any round)
    Points,     ///< (x, y, group) triples, group indexes labels: a 2-D scatter; columnLabels,
                ///< if given, one role per group: "background" (small, grey, under the rest),
                ///< "highlight" (large, ringed, on top) or empty
    Assignment, ///< one group index (into columnLabels) per item of labels: item -> group
    Graph,      ///< (from, to, weight) triples over the nodes in labels: weighted edges
};
QString observationShapeName(ObservationShape shape);
/// Unknown names give Series and set *ok to false.
ObservationShape observationShapeFromName(const QString &name, bool *ok = nullptr);

/// Something a method measured that does not fit a metric row: a trust matrix between clients, a
/// task-to-slot assignment, a scatter of selected samples, a per-client series. Methods emit them;
/// the engine stores them in the run's `observations` table and passes them to the observer; the
/// GUI and the report draw them by shape, with no code for any particular method.
struct Observation {
    QString kind;  ///< stable id, "<method>.<what>", e.g. "scaffold.control_variate_norm"
    QString title; ///< for a plot title, e.g. "SCAFFOLD: control-variate norm per client"
    ObservationShape shape = ObservationShape::Series;
    int stage = 0;       ///< 0-based
    int round = 0;       ///< 0-based within the stage
    int globalRound = 0; ///< 0-based over the run (the x axis of series)
    int client = -1;     ///< the client it is about, or -1
    QStringList labels;
    QStringList columnLabels;
    std::vector<double> values;
};

} // namespace fcl
