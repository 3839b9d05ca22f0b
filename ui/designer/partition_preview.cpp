// SPDX-License-Identifier: MIT
#include "ui/designer/partition_preview.h"

#include "core/data/partition.h"
#include "core/data/task_catalog.h"
#include "core/sim/timeline.h"
#include "ui/plots/plot_style.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QSpinBox>
#include <QVBoxLayout>

#include <algorithm>
#include <qcustomplot.h>

#include <map>

namespace fcl::ui {

PartitionPreview::PartitionPreview(QWidget *parent) : QWidget(parent), m_plot(new QCustomPlot(this))
{
    auto *layout = new QVBoxLayout(this);
    auto *row = new QHBoxLayout;
    row->addWidget(new QLabel(tr("Stage"), this));
    m_stage = new QSpinBox(this);
    m_stage->setRange(1, 1);
    row->addWidget(m_stage);
    m_note = new QLabel(this);
    m_note->setForegroundRole(QPalette::PlaceholderText);
    row->addWidget(m_note, 1);
    layout->addLayout(row);
    layout->addWidget(m_plot, 1);
    m_plot->setMinimumHeight(110);
    stylePlot(m_plot, tr("client"), tr("samples"));
    m_plot->legend->setFont(QFont(font().family(), 7));
    placeLegendBelow(m_plot, 5); // beside the bars it would cover them
    connect(m_stage, &QSpinBox::valueChanged, this, &PartitionPreview::redraw);
}

void PartitionPreview::setExperiment(const Experiment *experiment)
{
    if (experiment == nullptr) {
        m_experiment.reset();
    } else {
        m_experiment = *experiment;
        m_stage->setRange(1, static_cast<int>(experiment->stages.size()));
    }
    redraw();
}

void PartitionPreview::redraw()
{
    m_plot->clearPlottables();
    if (!m_experiment) {
        m_note->setText(tr("fix the errors to see the partition"));
        m_plot->replot();
        return;
    }
    const Experiment &e = *m_experiment;
    const std::size_t stage = static_cast<std::size_t>(m_stage->value() - 1);
    const std::vector<QString> columns = e.taskColumns();
    const std::size_t clients = e.clients.size();
    // counts[answer][client]
    std::map<int, QVector<double>> counts;
    const auto count = [&](const TaskSpec *task, int label, std::size_t client) {
        // Text tasks have no answer words: their samples count under "text".
        const int answer = task->isText() ? -1 : task->answerFor(label);
        auto &row = counts[answer];
        row.resize(static_cast<int>(clients));
        row[static_cast<int>(client)] += 1;
    };
    if (e.hasUnits(stage)) {
        // Mixed and positional stages: each client's shard of the group it shows (c mod n);
        // every group is split once over all clients.
        const std::vector<TaskGroup> &units = e.stageUnits[stage].units;
        std::vector<TaskGroup> distinct;
        for (const TaskGroup &group : units) {
            if (std::find(distinct.begin(), distinct.end(), group) == distinct.end()) {
                distinct.push_back(group);
            }
        }
        for (const TaskGroup &group : distinct) {
            std::vector<std::vector<int>> labels;
            for (const QString &id : group) {
                labels.push_back(nominalPoolLabels(id));
            }
            std::vector<const std::vector<int> *> pointers;
            for (const auto &l : labels) {
                pointers.push_back(&l);
            }
            const auto split = splitGroup(e, group, pointers);
            if (!split) {
                continue;
            }
            const std::vector<std::size_t> &members = split.value().members;
            for (std::size_t k = 0; k < members.size(); ++k) {
                if (units[members[k] % units.size()] != group) {
                    continue;
                }
                for (int position : split.value().parts[k]) {
                    const GroupSample &sample =
                        split.value().pool[static_cast<std::size_t>(position)];
                    const auto t = static_cast<std::size_t>(sample.task);
                    if (const TaskSpec *task = findTask(group[t])) {
                        count(task, labels[t][static_cast<std::size_t>(sample.position)],
                              members[k]);
                    }
                }
            }
        }
    }
    for (std::size_t j = 0; j < columns.size() && !e.hasUnits(stage); ++j) {
        const TaskSpec *task = findTask(columns[j]);
        std::vector<std::size_t> members;
        const PartitionRequest request =
            stagePartitionRequest(e, stage, j, nominalPoolLabels(columns[j]), members);
        if (members.empty() || task == nullptr) {
            continue;
        }
        auto parts = partitionSamples(request);
        if (!parts) {
            continue;
        }
        for (std::size_t k = 0; k < members.size(); ++k) {
            for (int position : parts.value()[k]) {
                count(task, request.labels[static_cast<std::size_t>(position)], members[k]);
            }
        }
    }
    QVector<double> x;
    QSharedPointer<QCPAxisTickerText> ticks(new QCPAxisTickerText);
    for (std::size_t c = 0; c < clients; ++c) {
        x.append(static_cast<double>(c + 1));
        ticks->addTick(static_cast<double>(c + 1), e.clients[c].name);
    }
    QCPBars *below = nullptr;
    double maximum = 1;
    QVector<double> totals(static_cast<int>(clients));
    for (const auto &[answer, row] : counts) {
        auto *bars = new QCPBars(m_plot->xAxis, m_plot->yAxis);
        bars->setName(answer < 0 ? tr("text samples")
                                 : answerVocabulary()[static_cast<std::size_t>(answer)]);
        const QColor color = seriesColor(answer);
        bars->setPen(QPen(color.darker(130)));
        bars->setBrush(color);
        bars->setWidth(0.7);
        bars->setData(x, row);
        if (below != nullptr) {
            bars->moveAbove(below);
        }
        below = bars;
        for (int c = 0; c < row.size(); ++c) {
            totals[c] += row[c];
            maximum = std::max(maximum, totals[c]);
        }
    }
    m_plot->xAxis->setTicker(ticks);
    m_plot->xAxis->setTickLabelRotation(clients > 6 ? 35 : 0);
    m_plot->xAxis->setRange(0.4, static_cast<double>(clients) + 0.6);
    m_plot->yAxis->setRange(0, maximum * 1.08);
    m_note->setText(
        e.isPositional(stage)
            ? tr("%1 partition, seed %2: each client's share of the group in its cell; rounds "
                 "assign groups by position")
                  .arg(e.partition.method)
                  .arg(e.seed)
            : tr("%1 partition, seed %2 (preview uses the engine's partition code)")
                  .arg(e.partition.method)
                  .arg(e.seed));
    m_plot->replot();
}

} // namespace fcl::ui
