// SPDX-License-Identifier: MIT
#pragma once

#include "core/sim/timeline.h"

#include <QListWidget>
#include <QTableWidget>

namespace fcl::ui {

/// The task palette: every catalog task, dragged onto the timeline as its id (text/plain).
class TaskPalette : public QListWidget {
    Q_OBJECT

public:
    explicit TaskPalette(QWidget *parent = nullptr);

protected:
    QMimeData *mimeData(const QList<QListWidgetItem *> &items) const override;
};

/// The timeline: rows are clients, columns are stages, cells are tasks. Accepts tasks dropped
/// from the palette, edits a cell with a task combo box, clears it with Delete. Reports edits;
/// the document owns the data. GUI thread.
class TimelineGrid : public QTableWidget {
    Q_OBJECT

public:
    explicit TimelineGrid(QWidget *parent = nullptr);

    /// `forms[s]` with units: stage s is mixed or positional; its header says so and its cells
    /// show client c on unit c mod n, in italics (rounds assign positions).
    void setTimeline(const Timeline &timeline, const QStringList &clientNames,
                     const std::vector<StageForm> &forms = {});
    static QColor taskColor(const QString &taskId);

Q_SIGNALS:
    void cellTaskChanged(int stage, int client, const QString &task);

protected:
    void dragEnterEvent(QDragEnterEvent *event) override;
    void dragMoveEvent(QDragMoveEvent *event) override;
    void dropEvent(QDropEvent *event) override;
    void keyPressEvent(QKeyEvent *event) override;

private:
    bool m_updating = false;
};

} // namespace fcl::ui
