// SPDX-License-Identifier: MIT
#pragma once

#include <QJsonValue>
#include <QString>
#include <QStringList>

#include <vector>

namespace fcl {

/// A stage of an experiment file as its JSON reads: a task id for every client, an object of
/// client name to task id, `{"mix": [tasks]}` (every client trains the group) or
/// `{"positional": [task or [tasks], ...]}` (the i-th sampled client trains unit i). Lenient: for
/// readers of JSON that was validated when it was written (the run store, reports, the designer);
/// the experiment parser is the one that names what is wrong.
struct StageJson {
    enum class Kind { PerClient, Mixed, Positional };
    Kind kind = Kind::PerClient;
    /// Mixed: the one group; positional: each unit (a task alone is a group of one).
    std::vector<QStringList> units;
    /// Every task id the stage names, in order (per client: each cell's, repeats included).
    QStringList tasks;
    /// Unit i as text: its task ids joined by " + ".
    QString unitLabel(std::size_t i) const;
};

StageJson readStageJson(const QJsonValue &stage);

} // namespace fcl
