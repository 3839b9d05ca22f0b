// SPDX-License-Identifier: MIT
#include "ui/history/history_panel.h"

#include "ui/history/ask_dialog.h"

#include "ui/plots/plot_style.h"
#include "ui/report/report_writer.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QSplitter>
#include <QTableView>
#include <QTableWidget>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include <cmath>
#include <set>

namespace fcl::ui {

void HistoryFilterModel::setStatusFilter(const QString &status)
{
    m_status = status;
    invalidateFilter();
}

bool HistoryFilterModel::filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const
{
    const QAbstractItemModel *model = sourceModel();
    const QString status =
        model->index(sourceRow, HistoryModel::Status, sourceParent).data().toString();
    if (!m_status.isEmpty() && status != m_status) {
        return false;
    }
    const QRegularExpression pattern = filterRegularExpression();
    if (pattern.pattern().isEmpty()) {
        return true;
    }
    const QString name =
        model->index(sourceRow, HistoryModel::Name, sourceParent).data().toString();
    return name.contains(pattern) || status.contains(pattern);
}

HistoryPanel::HistoryPanel(QWidget *parent) : QWidget(parent)
{
    m_filter.setSourceModel(&m_model);
    m_filter.setSortRole(HistoryModel::SortRole);
    m_filter.setFilterCaseSensitivity(Qt::CaseInsensitive);

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    auto *bar = new QHBoxLayout;
    m_search = new QLineEdit(this);
    m_search->setPlaceholderText(tr("Filter by name or status…"));
    m_search->setClearButtonEnabled(true);
    m_status = new QComboBox(this);
    m_status->addItem(tr("All statuses"), QString());
    for (const char *status : {"completed", "running", "cancelled", "failed", "interrupted"}) {
        m_status->addItem(QString::fromLatin1(status), QString::fromLatin1(status));
    }
    auto *rename = new QPushButton(tr("Rename…"), this);
    auto *remove = new QPushButton(tr("Delete"), this);
    auto *report = new QPushButton(tr("Report…"), this);
    m_resume = new QPushButton(tr("Resume"), this);
    m_resume->setToolTip(tr("Continue the selected interrupted, cancelled or failed run from its "
                            "last checkpoint; its metrics end up as if it had never stopped"));
    m_resume->setEnabled(false);
    m_ask = new QPushButton(tr("Ask…"), this);
    m_ask->setToolTip(tr("Ask the selected run's model a question, after every stage side by "
                         "side"));
    m_ask->setEnabled(false);
    auto *refresh = new QPushButton(tr("Refresh"), this);
    bar->addWidget(m_search, 1);
    bar->addWidget(m_status);
    bar->addWidget(rename);
    bar->addWidget(remove);
    bar->addWidget(report);
    bar->addWidget(m_resume);
    bar->addWidget(m_ask);
    bar->addWidget(refresh);
    layout->addLayout(bar);

    auto *splitter = new QSplitter(Qt::Horizontal, this);
    m_view = new QTableView(splitter);
    m_view->setModel(&m_filter);
    m_view->setSortingEnabled(true);
    m_view->sortByColumn(HistoryModel::Id, Qt::DescendingOrder);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_view->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_view->horizontalHeader()->setSectionResizeMode(HistoryModel::Name, QHeaderView::Stretch);
    m_view->verticalHeader()->setVisible(false);
    m_view->verticalHeader()->setDefaultSectionSize(22);
    m_view->setAlternatingRowColors(true);
    m_view->setWordWrap(false); // wrapped text is cut at its end whatever the elide mode
    m_view->setTextElideMode(Qt::ElideMiddle); // run names differ at their ends

    auto *compare = new QWidget(splitter);
    auto *compareLayout = new QVBoxLayout(compare);
    compareLayout->setContentsMargins(0, 0, 0, 0);
    auto *metricRow = new QHBoxLayout;
    metricRow->addWidget(new QLabel(tr("Compare"), compare));
    m_compareMetric = new QComboBox(compare);
    for (CompareMetric metric : {CompareMetric::AverageAccuracy, CompareMetric::AverageForgetting,
                                 CompareMetric::Communication, CompareMetric::Loss}) {
        m_compareMetric->addItem(compareMetricName(metric), static_cast<int>(metric));
    }
    metricRow->addWidget(m_compareMetric, 1);
    compareLayout->addLayout(metricRow);
    m_comparePlot = new QCustomPlot(compare);
    m_comparePlot->setMinimumHeight(150);
    stylePlot(m_comparePlot, tr("round"), tr("average accuracy"));
    placeLegendBelow(m_comparePlot, 2); // outside the curves
    // Beside the plot: what differs between the runs, and their final metrics.
    auto *side = new QWidget(splitter);
    auto *sideLayout = new QVBoxLayout(side);
    sideLayout->setContentsMargins(0, 0, 0, 0);
    m_differs = new QLabel(side);
    m_differs->setWordWrap(true);
    m_differs->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_differs->setVisible(false);
    // One row per run: with a few runs the whole table shows.
    m_compareTable = new QTableWidget(side);
    m_compareTable->verticalHeader()->setVisible(false);
    m_compareTable->verticalHeader()->setDefaultSectionSize(20);
    m_compareTable->setEditTriggers(QAbstractItemView::NoEditTriggers);
    compareLayout->addWidget(m_comparePlot, 1);
    sideLayout->addWidget(m_differs);
    sideLayout->addWidget(m_compareTable, 1);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    splitter->setStretchFactor(2, 2);
    layout->addWidget(splitter, 1);

    connect(m_search, &QLineEdit::textChanged, &m_filter, [this](const QString &text) {
        m_filter.setFilterRegularExpression(QRegularExpression(
            QRegularExpression::escape(text), QRegularExpression::CaseInsensitiveOption));
    });
    connect(m_status, &QComboBox::currentIndexChanged, this, [this] {
        m_filter.setStatusFilter(m_status->currentData().toString());
    });
    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &HistoryPanel::updateComparison);
    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &HistoryPanel::updateButtons);
    connect(m_resume, &QPushButton::clicked, this, [this] {
        const std::vector<qint64> ids = selectedRunIds();
        if (ids.size() == 1) {
            Q_EMIT resumeRequested(ids.front());
        }
    });
    connect(m_ask, &QPushButton::clicked, this, [this] {
        const std::vector<qint64> ids = selectedRunIds();
        if (ids.size() == 1 && m_store) {
            auto *dialog = new AskDialog(m_store->path(), ids.front(), this);
            dialog->setAttribute(Qt::WA_DeleteOnClose);
            dialog->show();
        }
    });
    connect(m_compareMetric, &QComboBox::currentIndexChanged, this,
            &HistoryPanel::updateComparison);
    // The tick in the Run column is the discoverable way to pick runs: it toggles the row's
    // selection, which is what the comparison shows.
    connect(&m_model, &HistoryModel::compareToggled, this, [this](qint64 runId, bool compared) {
        for (int row = 0; row < m_filter.rowCount(); ++row) {
            const QModelIndex at = m_filter.index(row, 0);
            if (m_model.run(m_filter.mapToSource(at).row()).id == runId) {
                m_view->selectionModel()->select(
                    at, (compared ? QItemSelectionModel::Select : QItemSelectionModel::Deselect) |
                            QItemSelectionModel::Rows);
            }
        }
    });
    connect(m_view, &QTableView::doubleClicked, this, [this](const QModelIndex &index) {
        Q_EMIT runActivated(m_model.run(m_filter.mapToSource(index).row()).id);
    });
    connect(rename, &QPushButton::clicked, this, &HistoryPanel::renameSelected);
    connect(remove, &QPushButton::clicked, this, &HistoryPanel::deleteSelected);
    connect(refresh, &QPushButton::clicked, this, &HistoryPanel::reload);
    connect(report, &QPushButton::clicked, this, [this] {
        Q_EMIT reportRequested(selectedRunIds());
    });
    updateComparison(); // the empty state says how to compare, instead of bare 0-5 axes
}

void HistoryPanel::updateButtons()
{
    const std::vector<qint64> ids = selectedRunIds();
    bool resumable = false;
    if (ids.size() == 1) {
        for (int row = 0; row < m_model.rowCount(); ++row) {
            const RunRecord &run = m_model.run(row);
            if (run.id == ids.front()) {
                resumable = run.status == RunStatus::Interrupted ||
                            run.status == RunStatus::Cancelled || run.status == RunStatus::Failed;
            }
        }
    }
    m_resume->setEnabled(resumable);
    m_ask->setEnabled(ids.size() == 1);
}

bool HistoryPanel::openDatabase(const QString &path, QString *error)
{
    auto store = RunStore::open(path);
    if (!store) {
        *error = store.errorString();
        return false;
    }
    m_store = std::move(store).value();
    reload();
    return true;
}

void HistoryPanel::reload()
{
    if (!m_store) {
        return;
    }
    const std::vector<qint64> selected = selectedRunIds();
    auto runs = m_store->listRuns();
    m_model.setRuns(runs ? runs.value() : std::vector<RunRecord>{});
    selectRuns(selected);
}

std::vector<qint64> HistoryPanel::selectedRunIds() const
{
    std::vector<qint64> ids;
    for (const QModelIndex &index : m_view->selectionModel()->selectedRows()) {
        ids.push_back(m_model.run(m_filter.mapToSource(index).row()).id);
    }
    std::sort(ids.begin(), ids.end());
    return ids;
}

void HistoryPanel::selectRuns(const std::vector<qint64> &ids)
{
    const std::set<qint64> wanted(ids.begin(), ids.end());
    QItemSelection selection;
    for (int row = 0; row < m_filter.rowCount(); ++row) {
        if (wanted.count(m_model.run(m_filter.mapToSource(m_filter.index(row, 0)).row()).id) > 0) {
            selection.select(m_filter.index(row, 0),
                             m_filter.index(row, HistoryModel::ColumnCount - 1));
        }
    }
    m_view->selectionModel()->select(selection, QItemSelectionModel::ClearAndSelect);
}

void HistoryPanel::updateComparison()
{
    const std::vector<qint64> ids = selectedRunIds();
    std::vector<ReportRun> runs;
    if (m_store && !ids.empty()) {
        auto loaded = loadReportRuns(*m_store, ids);
        if (loaded) {
            runs = std::move(loaded).value();
        }
    }
    const auto metric = static_cast<CompareMetric>(m_compareMetric->currentData().toInt());
    drawComparison(m_comparePlot, runs, metric);
    m_comparePlot->replot();
    std::map<qint64, QColor> colors;
    for (std::size_t k = 0; k < runs.size(); ++k) {
        colors[runs[k].record.id] = seriesColor(static_cast<int>(k));
    }
    m_model.setCompared(colors);

    const QStringList differs = differingSettings(runs);
    m_differs->setVisible(runs.size() >= 2);
    m_differs->setText(differs.isEmpty()
                           ? tr("Same settings (seed included): the curves differ by chance only.")
                           : tr("What differs: %1").arg(differs.join(QStringLiteral(" · "))));
    m_differs->setToolTip(differs.join(QLatin1Char('\n')));

    const QStringList columns = {tr("Run"), tr("status"), tr("ACC (Last)"), tr("Forgetting"),
                                 tr("BWT"), tr("FWT"),    tr("MB sent"),    tr("methods")};
    m_compareTable->clear();
    m_compareTable->setColumnCount(static_cast<int>(columns.size()));
    m_compareTable->setRowCount(static_cast<int>(runs.size()));
    m_compareTable->setHorizontalHeaderLabels(columns);
    for (int k = 0; k < static_cast<int>(runs.size()); ++k) {
        const RunRecord &r = runs[static_cast<std::size_t>(k)].record;
        auto metricText = [](double v) {
            return std::isnan(v) ? QStringLiteral("–") : QString::number(v, 'f', 3);
        };
        const QStringList values = {runLegendName(r, 30),
                                    runStatusName(r.status),
                                    metricText(r.finalAverageAccuracy),
                                    metricText(r.finalAverageForgetting),
                                    metricText(r.backwardTransfer),
                                    metricText(r.forwardTransfer),
                                    QString::number(double(r.bytesUp + r.bytesDown) / 1e6, 'f', 1),
                                    runLabel(r).section(QLatin1Char(' '), 1)};
        for (int column = 0; column < values.size(); ++column) {
            auto *item = new QTableWidgetItem(values[column]);
            if (column == 0) {
                item->setData(Qt::DecorationRole, seriesColor(k));
                item->setToolTip(r.name);
            } else if (column < 7) {
                item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
            }
            m_compareTable->setItem(k, column, item);
        }
    }
    m_compareTable->resizeColumnsToContents();
}

void HistoryPanel::renameSelected()
{
    const std::vector<qint64> ids = selectedRunIds();
    if (ids.size() != 1 || !m_store) {
        return;
    }
    auto run = m_store->run(ids.front());
    bool ok = false;
    const QString name = QInputDialog::getText(this, tr("Rename run"), tr("Name"),
                                               QLineEdit::Normal, run ? run->name : QString(), &ok);
    if (ok && !name.trimmed().isEmpty()) {
        auto done = m_store->renameRun(ids.front(), name.trimmed());
        if (!done) {
            QMessageBox::warning(this, tr("Rename run"), done.errorString());
        }
        reload();
    }
}

void HistoryPanel::deleteSelected()
{
    const std::vector<qint64> ids = selectedRunIds();
    if (ids.empty() || !m_store) {
        return;
    }
    if (QMessageBox::question(this, tr("Delete runs"),
                              tr("Delete %n run(s) and all their metrics?", nullptr,
                                 static_cast<int>(ids.size()))) != QMessageBox::Yes) {
        return;
    }
    for (qint64 id : ids) {
        auto done = m_store->deleteRun(id);
        if (!done) {
            QMessageBox::warning(this, tr("Delete runs"), done.errorString());
            break;
        }
    }
    reload();
}

} // namespace fcl::ui
