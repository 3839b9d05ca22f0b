// SPDX-License-Identifier: MIT
#pragma once

#include "core/store/run_store.h"

#include <QAbstractTableModel>
#include <QColor>

#include <map>

#include <vector>

namespace fcl::ui {

/// The runs of the database as a table (id, name, status, started, seed, ACC, F, BWT, FWT, MB
/// sent). Numeric columns sort numerically through Qt::UserRole (see sortRole). GUI thread.
class HistoryModel : public QAbstractTableModel {
    Q_OBJECT

public:
    enum Column {
        Id,
        Name,
        Status,
        Started,
        Seed,
        Accuracy,
        Forgetting,
        Bwt,
        Fwt,
        Sent,
        ColumnCount
    };
    static constexpr int SortRole = Qt::UserRole;

    explicit HistoryModel(QObject *parent = nullptr);

    void setRuns(std::vector<RunRecord> runs);
    const RunRecord &run(int row) const { return m_runs[static_cast<std::size_t>(row)]; }

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;
    Qt::ItemFlags flags(const QModelIndex &index) const override;
    /// A tick in the Run column toggles whether the run is compared (compareToggled).
    bool setData(const QModelIndex &index, const QVariant &value, int role) override;
    /// The compared runs and their curves' colours: ticked, with a swatch beside the name.
    void setCompared(const std::map<qint64, QColor> &colors);

Q_SIGNALS:
    void compareToggled(qint64 runId, bool compared);

private:
    std::vector<RunRecord> m_runs;
    std::map<qint64, QColor> m_compared;
};

} // namespace fcl::ui
