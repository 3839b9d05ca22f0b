// SPDX-License-Identifier: MIT
#include "ui/models/history_model.h"

#include <QBrush>
#include <QColor>

#include <cmath>

namespace fcl::ui {

HistoryModel::HistoryModel(QObject *parent) : QAbstractTableModel(parent)
{
}

void HistoryModel::setRuns(std::vector<RunRecord> runs)
{
    beginResetModel();
    m_runs = std::move(runs);
    endResetModel();
}

int HistoryModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_runs.size());
}

int HistoryModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant HistoryModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid()) {
        return {};
    }
    const RunRecord &run = m_runs[static_cast<std::size_t>(index.row())];
    auto metric = [&](double value) -> QVariant {
        if (role == SortRole) {
            return std::isnan(value) ? -1e9 : value;
        }
        return std::isnan(value) ? QStringLiteral("–") : QString::number(value, 'f', 3);
    };
    if (role == Qt::DisplayRole || role == SortRole) {
        switch (index.column()) {
        case Id:
            return run.id;
        case Name:
            return run.name;
        case Status:
            return runStatusName(run.status);
        case Started:
            return role == SortRole ? QVariant(run.startedAt)
                                    : QVariant(run.startedAt.toLocalTime().toString(
                                          QStringLiteral("yyyy-MM-dd HH:mm")));
        case Seed:
            return run.seed;
        case Accuracy:
            return metric(run.finalAverageAccuracy);
        case Forgetting:
            return metric(run.finalAverageForgetting);
        case Bwt:
            return metric(run.backwardTransfer);
        case Fwt:
            return metric(run.forwardTransfer);
        case Sent:
            if (run.status == RunStatus::Running) {
                // The total is written when the run ends; the rounds so far are in its rows.
                return role == SortRole ? QVariant(-1.0) : QVariant(QStringLiteral("–"));
            }
            return role == SortRole ? QVariant(double(run.bytesUp + run.bytesDown))
                                    : QVariant(QString::number(
                                          double(run.bytesUp + run.bytesDown) / 1e6, 'f', 1));
        default:
            return {};
        }
    }
    if (role == Qt::CheckStateRole && index.column() == Id) {
        return m_compared.count(run.id) > 0 ? Qt::Checked : Qt::Unchecked;
    }
    if (role == Qt::DecorationRole && index.column() == Name) {
        const auto found = m_compared.find(run.id);
        return found == m_compared.end() ? QVariant() : QVariant(found->second);
    }
    if (role == Qt::ForegroundRole && index.column() == Status) {
        switch (run.status) {
        case RunStatus::Failed:
            return QBrush(QColor(0xc0, 0x39, 0x2b));
        case RunStatus::Interrupted:
        case RunStatus::Cancelled:
            return QBrush(QColor(0xd3, 0x84, 0x00));
        default:
            return {};
        }
    }
    if (role == Qt::ToolTipRole && !run.error.isEmpty()) {
        return run.error;
    }
    if (role == Qt::TextAlignmentRole && index.column() >= Accuracy) {
        return int(Qt::AlignRight | Qt::AlignVCenter);
    }
    return {};
}

QVariant HistoryModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) {
        return {};
    }
    static const char *const names[] = {"Run", "Name",       "Status", "Started", "Seed",
                                        "ACC", "Forgetting", "BWT",    "FWT",     "MB sent"};
    return QString::fromLatin1(names[section]);
}

Qt::ItemFlags HistoryModel::flags(const QModelIndex &index) const
{
    const Qt::ItemFlags base = QAbstractTableModel::flags(index);
    return index.column() == Id ? base | Qt::ItemIsUserCheckable : base;
}

bool HistoryModel::setData(const QModelIndex &index, const QVariant &value, int role)
{
    if (!index.isValid() || role != Qt::CheckStateRole || index.column() != Id) {
        return false;
    }
    Q_EMIT compareToggled(run(index.row()).id, value.toInt() == static_cast<int>(Qt::Checked));
    return true;
}

void HistoryModel::setCompared(const std::map<qint64, QColor> &colors)
{
    m_compared = colors;
    if (!m_runs.empty()) {
        Q_EMIT dataChanged(index(0, Id), index(rowCount() - 1, Name),
                           {Qt::CheckStateRole, Qt::DecorationRole});
    }
}

} // namespace fcl::ui
