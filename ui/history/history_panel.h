// SPDX-License-Identifier: MIT
#pragma once

#include "core/store/run_store.h"
#include "ui/models/history_model.h"

#include <QSortFilterProxyModel>
#include <QWidget>

#include <memory>

class QComboBox;
class QPushButton;
class QCustomPlot;
class QLabel;
class QLineEdit;
class QTableView;
class QTableWidget;

namespace fcl::ui {

/// Filters runs by text (name, status) and by status.
class HistoryFilterModel : public QSortFilterProxyModel {
    Q_OBJECT

public:
    using QSortFilterProxyModel::QSortFilterProxyModel;
    void setStatusFilter(const QString &status);

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override;

private:
    QString m_status;
};

/// Every run in the database: a sortable, filterable table; select several to overlay their
/// average-accuracy curves and compare final metrics side by side; rename, delete, report.
/// Uses its own read connection on the GUI thread.
class HistoryPanel : public QWidget {
    Q_OBJECT

public:
    explicit HistoryPanel(QWidget *parent = nullptr);

    bool openDatabase(const QString &path, QString *error);
    void reload();
    std::vector<qint64> selectedRunIds() const;
    void selectRuns(const std::vector<qint64> &ids);
    RunStore *store() const { return m_store.get(); }
    HistoryModel *model() { return &m_model; }
    HistoryFilterModel *filterModel() { return &m_filter; }
    QTableView *view() const { return m_view; }
    QComboBox *compareMetric() const { return m_compareMetric; }
    QCustomPlot *comparePlot() const { return m_comparePlot; }
    QTableWidget *compareTable() const { return m_compareTable; }
    /// "What differs: …" between the compared runs (hidden for fewer than two).
    QLabel *differsLabel() const { return m_differs; }

Q_SIGNALS:
    void runActivated(qint64 runId);
    void reportRequested(const std::vector<qint64> &runIds);
    /// "Resume" on a selected interrupted, cancelled or failed run.
    void resumeRequested(qint64 runId);

private:
    void updateComparison();
    void updateButtons();
    void renameSelected();
    void deleteSelected();

    std::unique_ptr<RunStore> m_store;
    HistoryModel m_model;
    HistoryFilterModel m_filter;
    QTableView *m_view;
    QLineEdit *m_search;
    QComboBox *m_status;
    QComboBox *m_compareMetric;
    QCustomPlot *m_comparePlot;
    QLabel *m_differs; ///< the settings that differ between the compared runs
    QTableWidget *m_compareTable;
    QPushButton *m_resume;
    QPushButton *m_ask;
};

} // namespace fcl::ui
