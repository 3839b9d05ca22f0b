// SPDX-License-Identifier: MIT
#include "ui/designer/timeline_grid.h"

#include "core/data/task_catalog.h"

#include <QComboBox>
#include <QDragEnterEvent>
#include <QHeaderView>
#include <QMimeData>
#include <QStyledItemDelegate>

namespace fcl::ui {

namespace {

/// Edits a timeline cell with a combo box of catalog tasks (first entry: idle).
class TaskDelegate : public QStyledItemDelegate {
public:
    using QStyledItemDelegate::QStyledItemDelegate;

    QWidget *createEditor(QWidget *parent, const QStyleOptionViewItem &,
                          const QModelIndex &) const override
    {
        auto *combo = new QComboBox(parent);
        combo->addItem(QObject::tr("(idle)"), QString());
        for (const TaskSpec &task : builtinTasks()) {
            combo->addItem(task.id, task.id);
        }
        return combo;
    }
    void setEditorData(QWidget *editor, const QModelIndex &index) const override
    {
        auto *combo = static_cast<QComboBox *>(editor);
        combo->setCurrentIndex(std::max(0, combo->findData(index.data(Qt::UserRole).toString())));
    }
    void setModelData(QWidget *editor, QAbstractItemModel *model,
                      const QModelIndex &index) const override
    {
        model->setData(index, static_cast<QComboBox *>(editor)->currentData(), Qt::UserRole);
    }
};

} // namespace

TaskPalette::TaskPalette(QWidget *parent) : QListWidget(parent)
{
    setDragEnabled(true);
    setDragDropMode(QAbstractItemView::DragOnly);
    setSelectionMode(QAbstractItemView::SingleSelection);
    for (const TaskSpec &task : builtinTasks()) {
        auto *item = new QListWidgetItem(task.id, this);
        item->setData(Qt::UserRole, task.id);
        item->setToolTip(QStringLiteral("%1\n\"%2\"").arg(task.title, task.instruction));
        item->setIcon([&] {
            QPixmap swatch(12, 12);
            swatch.fill(TimelineGrid::taskColor(task.id));
            return QIcon(swatch);
        }());
    }
}

QMimeData *TaskPalette::mimeData(const QList<QListWidgetItem *> &items) const
{
    auto *mime = new QMimeData;
    if (!items.isEmpty()) {
        mime->setText(items.first()->data(Qt::UserRole).toString());
    }
    return mime;
}

TimelineGrid::TimelineGrid(QWidget *parent) : QTableWidget(parent)
{
    setAcceptDrops(true);
    viewport()->setAcceptDrops(true);
    setDragDropMode(QAbstractItemView::DropOnly);
    setItemDelegate(new TaskDelegate(this));
    setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed);
    horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    horizontalHeader()->setMinimumSectionSize(110);
    verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    verticalHeader()->setDefaultSectionSize(24);
    setToolTip(tr(
        "Drag tasks here from the palette; double-click a cell to pick a task; Delete clears it."));
    connect(this, &QTableWidget::itemChanged, this, [this](QTableWidgetItem *item) {
        if (!m_updating) {
            Q_EMIT cellTaskChanged(item->column(), item->row(),
                                   item->data(Qt::UserRole).toString());
        }
    });
}

QColor TimelineGrid::taskColor(const QString &taskId)
{
    // A distinct pastel per catalog task (hues spread by the golden angle), stable across runs.
    const auto &tasks = builtinTasks();
    int index = 0;
    for (std::size_t i = 0; i < tasks.size(); ++i) {
        if (tasks[i].id == taskId) {
            index = static_cast<int>(i);
        }
    }
    return QColor::fromHsv((index * 137 + 200) % 360, 80, 240);
}

void TimelineGrid::setTimeline(const Timeline &timeline, const QStringList &clientNames,
                               const std::vector<StageForm> &forms)
{
    m_updating = true;
    setRowCount(static_cast<int>(clientNames.size()));
    setColumnCount(static_cast<int>(timeline.size()));
    setVerticalHeaderLabels(clientNames);
    const auto formOf = [&](std::size_t s) {
        return s < forms.size() ? forms[s] : StageForm{};
    };
    for (std::size_t s = 0; s < timeline.size(); ++s) {
        const StageForm form = formOf(s);
        QString title = tr("Stage %1").arg(s + 1);
        QString tip;
        if (form.positional) {
            title = tr("Stage %1 ⇄").arg(s + 1);
            tip = tr("Positional stage (FCIT's heterogeneous setting): in every round the i-th "
                     "sampled client trains the i-th of %1. The cells show client c on unit c mod "
                     "%2; editing a cell turns the stage into a per-client one.")
                      .arg(form.units.join(QStringLiteral(", ")))
                      .arg(form.units.size());
        } else if (!form.units.isEmpty()) {
            title = tr("Stage %1 ∪").arg(s + 1);
            tip = tr("Mixed stage (an FCIT capability): every client trains the samples of %1 "
                     "pooled. Editing a cell turns the stage into a per-client one.")
                      .arg(form.units.front());
        }
        auto *header = new QTableWidgetItem(title);
        header->setToolTip(tip);
        setHorizontalHeaderItem(static_cast<int>(s), header);
    }
    for (int s = 0; s < static_cast<int>(timeline.size()); ++s) {
        const StageForm form = formOf(static_cast<std::size_t>(s));
        for (int c = 0; c < clientNames.size(); ++c) {
            const QString task =
                c < static_cast<int>(timeline[static_cast<std::size_t>(s)].size())
                    ? timeline[static_cast<std::size_t>(s)][static_cast<std::size_t>(c)]
                    : QString();
            const QString text = !form.units.isEmpty() ? form.units[c % form.units.size()]
                                 : task.isEmpty()      ? tr("—")
                                                       : task;
            auto *cell = new QTableWidgetItem(text);
            cell->setData(Qt::UserRole, task);
            cell->setTextAlignment(Qt::AlignCenter);
            if (!task.isEmpty()) {
                cell->setBackground(taskColor(task));
                cell->setForeground(Qt::black);
                const TaskSpec *spec = findTask(task);
                cell->setToolTip(spec != nullptr ? spec->title : task);
            }
            if (!form.units.isEmpty()) {
                QFont font = cell->font();
                font.setItalic(true); // a static view: rounds assign the units
                cell->setFont(font);
                cell->setToolTip(horizontalHeaderItem(s)->toolTip());
            }
            setItem(c, s, cell);
        }
    }
    m_updating = false;
}

void TimelineGrid::dragEnterEvent(QDragEnterEvent *event)
{
    if (event->mimeData()->hasText() && findTask(event->mimeData()->text()) != nullptr) {
        event->acceptProposedAction();
    }
}

void TimelineGrid::dragMoveEvent(QDragMoveEvent *event)
{
    if (event->mimeData()->hasText() && itemAt(event->position().toPoint()) != nullptr) {
        event->acceptProposedAction();
    } else {
        event->ignore();
    }
}

void TimelineGrid::dropEvent(QDropEvent *event)
{
    QTableWidgetItem *target = itemAt(event->position().toPoint());
    const QString task = event->mimeData()->text();
    if (target == nullptr || findTask(task) == nullptr) {
        event->ignore();
        return;
    }
    event->acceptProposedAction();
    Q_EMIT cellTaskChanged(target->column(), target->row(), task);
}

void TimelineGrid::keyPressEvent(QKeyEvent *event)
{
    if (event->key() == Qt::Key_Delete || event->key() == Qt::Key_Backspace) {
        // Coordinates first: each change rebuilds the cells.
        std::vector<std::pair<int, int>> cells;
        for (QTableWidgetItem *item : selectedItems()) {
            cells.emplace_back(item->column(), item->row());
        }
        for (const auto &[stage, client] : cells) {
            Q_EMIT cellTaskChanged(stage, client, QString());
        }
        return;
    }
    QTableWidget::keyPressEvent(event);
}

} // namespace fcl::ui
