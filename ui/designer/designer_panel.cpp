// SPDX-License-Identifier: MIT
#include "ui/designer/designer_panel.h"

#include "core/sim/registry.h"
#include "ui/designer/fcit_dialog.h"
#include "ui/designer/method_panel.h"
#include "ui/designer/partition_preview.h"
#include "ui/designer/timeline_grid.h"

#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonArray>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QRegularExpression>
#include <QScrollArea>
#include <QScrollBar>
#include <QSpinBox>
#include <QSplitter>
#include <QStyle>
#include <QTabWidget>
#include <QTableWidget>
#include <QVBoxLayout>

namespace fcl::ui {

namespace {
struct ClientColumn {
    const char *key;
    const char *title;
};
const ClientColumn kClientColumns[] = {{"name", "Name"},
                                       {"samples_per_task", "Samples / task"},
                                       {"dirichlet_alpha", "Dirichlet α"},
                                       {"speed", "Speed"},
                                       {"dropout", "Dropout"}};

/// A wrapped label that shows at most `lines` lines of a long text, ending in "…" (the
/// whole text is its tooltip).
class ElidedLabel : public QLabel {
public:
    ElidedLabel(int lines, QWidget *parent) : QLabel(parent), m_lines(lines)
    {
        setWordWrap(true);
        setTextFormat(Qt::PlainText);
    }
    void setFullText(const QString &text)
    {
        m_full = text;
        elide();
    }

protected:
    void resizeEvent(QResizeEvent *event) override
    {
        QLabel::resizeEvent(event);
        elide();
    }

private:
    void elide()
    {
        // Wrapping leaves part of each line empty: budget 90 % of the lines' width.
        const int width = std::max(1, contentsRect().width() - 2 * margin());
        const QString shown =
            fontMetrics().elidedText(m_full, Qt::ElideRight, width * m_lines * 9 / 10);
        if (shown != text()) {
            setText(shown);
        }
    }
    int m_lines;
    QString m_full;
};

QGroupBox *group(const QString &title, QWidget *parent)
{
    auto *box = new QGroupBox(title, parent);
    new QVBoxLayout(box);
    return box;
}
} // namespace

DesignerPanel::DesignerPanel(ExperimentDocument *document, QWidget *parent)
    : QWidget(parent), m_document(document)
{
    auto *layout = new QHBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    auto *splitter = new QSplitter(Qt::Horizontal, this);
    layout->addWidget(splitter);

    QGroupBox *paletteBox = group(tr("Task palette"), splitter);
    m_palette = new TaskPalette(paletteBox);
    paletteBox->setMinimumWidth(140);
    paletteBox->layout()->addWidget(m_palette);
    auto *hint = new QLabel(tr("Drag a task onto the timeline."), paletteBox);
    hint->setWordWrap(true);
    hint->setForegroundRole(QPalette::PlaceholderText);
    paletteBox->layout()->addWidget(hint);

    // The middle column scrolls inside itself when the window is short (a 1280x720 laptop), so
    // the clients table, the timeline and the validation list keep usable heights.
    auto *middleColumn = new QWidget(splitter);
    auto *middleLayout = new QVBoxLayout(middleColumn);
    middleLayout->setContentsMargins(0, 0, 0, 0);
    m_description = new ElidedLabel(3, middleColumn);
    middleLayout->addWidget(m_description);
    auto *middleScroll = new QScrollArea(middleColumn);
    middleLayout->addWidget(middleScroll, 1);
    middleScroll->setWidgetResizable(true);
    middleScroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    middleScroll->setFrameShape(QFrame::NoFrame);
    auto *middle = new QSplitter(Qt::Vertical, middleScroll);
    middle->setChildrenCollapsible(false);
    m_description->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_description->setAlignment(Qt::AlignLeft | Qt::AlignTop);
    m_description->setMargin(4);
    // Three lines here; the whole text on hover and in the Examples dialog.
    m_description->setFrameShape(QFrame::StyledPanel);
    m_description->hide();
    QGroupBox *clientsBox = group(tr("Clients"), middle);
    m_clients = new QTableWidget(0, static_cast<int>(std::size(kClientColumns)), clientsBox);
    QStringList headers;
    for (const ClientColumn &column : kClientColumns) {
        headers << tr(column.title);
    }
    m_clients->setHorizontalHeaderLabels(headers);
    m_clients->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    m_clients->verticalHeader()->setDefaultSectionSize(24);
    m_clients->setSelectionBehavior(QAbstractItemView::SelectRows);
    for (int column = 1; column < static_cast<int>(std::size(kClientColumns)); ++column) {
        for (const ParamDescriptor &param : clientParams()) {
            if (param.name == QLatin1String(kClientColumns[column].key)) {
                m_clients->horizontalHeaderItem(column)->setToolTip(
                    param.help + QStringLiteral(" ") + param.rangeText());
            }
        }
    }
    clientsBox->layout()->addWidget(m_clients);
    auto *clientButtons = new QHBoxLayout;
    auto *addClient = new QPushButton(tr("Add"), clientsBox);
    auto *duplicateClient = new QPushButton(tr("Duplicate"), clientsBox);
    auto *removeClient = new QPushButton(tr("Remove"), clientsBox);
    clientButtons->addWidget(addClient);
    clientButtons->addWidget(duplicateClient);
    clientButtons->addWidget(removeClient);
    clientButtons->addStretch(1);
    static_cast<QVBoxLayout *>(clientsBox->layout())->addLayout(clientButtons);

    QGroupBox *timelineBox = group(tr("Timeline (rows: clients, columns: stages)"), middle);
    m_timeline = new TimelineGrid(timelineBox);
    timelineBox->layout()->addWidget(m_timeline);
    auto *timelineButtons = new QHBoxLayout;
    auto *addStage = new QPushButton(tr("Add stage"), timelineBox);
    auto *removeStage = new QPushButton(tr("Remove stage"), timelineBox);
    auto *homogeneous = new QPushButton(tr("Make homogeneous"), timelineBox);
    homogeneous->setToolTip(
        tr("FCIT's homogeneous setting: every client gets the same task in a stage."));
    auto *heterogeneous = new QPushButton(tr("Make heterogeneous"), timelineBox);
    heterogeneous->setToolTip(
        tr("Clients get different tasks in the same stage (seeded), each its own for the whole "
           "stage. For FCIT's heterogeneous setting, where tasks go by position in each round, "
           "use FCIT scenario…"));
    m_heterogeneousSeed = new QSpinBox(timelineBox);
    m_heterogeneousSeed->setRange(0, 1000000);
    m_heterogeneousSeed->setValue(1);
    m_heterogeneousSeed->setPrefix(tr("seed "));
    auto *fcitScenario = new QPushButton(tr("FCIT scenario…"), timelineBox);
    fcitScenario->setToolTip(
        tr("Generate one of FCIT's scenarios: 50 clients, 5 a round, a Dirichlet quantity split "
           "of every task, homogeneous or positional (heterogeneous) stages, task or capability "
           "groups, or the centralized upper bound."));
    // Two rows, so that the column stays narrow enough for a laptop screen.
    auto *settingButtons = new QHBoxLayout;
    timelineButtons->addWidget(addStage);
    timelineButtons->addWidget(removeStage);
    timelineButtons->addWidget(fcitScenario);
    timelineButtons->addStretch(1);
    for (QWidget *w :
         std::initializer_list<QWidget *>{homogeneous, heterogeneous, m_heterogeneousSeed}) {
        settingButtons->addWidget(w);
    }
    settingButtons->addStretch(1);
    static_cast<QVBoxLayout *>(timelineBox->layout())->addLayout(timelineButtons);
    static_cast<QVBoxLayout *>(timelineBox->layout())->addLayout(settingButtons);

    m_lowerTabs = new QTabWidget(middle);
    m_validation = new QListWidget(m_lowerTabs);
    m_validation->setWordWrap(true);
    m_lowerTabs->addTab(m_validation, tr("Validation"));
    m_preview = new PartitionPreview(m_lowerTabs);
    m_lowerTabs->addTab(m_preview, tr("Partition preview"));
    middle->setStretchFactor(0, 3);
    middle->setStretchFactor(1, 4);
    middle->setStretchFactor(2, 2);
    middle->setSizes({240, 300, 170});
    m_clients->setMinimumHeight(m_clients->verticalHeader()->defaultSectionSize() * 4);
    m_timeline->setMinimumHeight(110);
    m_lowerTabs->setMinimumHeight(150);
    middleScroll->setWidget(middle);
    middleScroll->setMinimumWidth(middle->minimumSizeHint().width());
    middleColumn->setMinimumWidth(middleScroll->minimumWidth());

    auto *scroll = new QScrollArea(splitter);
    m_methods = new MethodPanel(document, scroll);
    scroll->setWidget(m_methods);
    scroll->setWidgetResizable(true);
    scroll->setMinimumWidth(m_methods->minimumSizeHint().width() +
                            scroll->verticalScrollBar()->sizeHint().width() + 4);
    splitter->setStretchFactor(0, 0);
    splitter->setStretchFactor(1, 3);
    splitter->setStretchFactor(2, 1);
    splitter->setSizes({170, 640, 340});

    connect(m_validation, &QListWidget::itemClicked, this, &DesignerPanel::goToErrorCell);
    connect(addClient, &QPushButton::clicked, m_document, &ExperimentDocument::addClient);
    connect(duplicateClient, &QPushButton::clicked, this, [this] {
        m_document->duplicateClient(selectedClient());
    });
    connect(removeClient, &QPushButton::clicked, this, [this] {
        m_document->removeClient(selectedClient());
    });
    connect(addStage, &QPushButton::clicked, m_document, &ExperimentDocument::addStage);
    connect(removeStage, &QPushButton::clicked, this, [this] {
        const int column = m_timeline->currentColumn();
        m_document->removeStage(column >= 0 ? column : m_document->stageCount() - 1);
    });
    connect(homogeneous, &QPushButton::clicked, this, &DesignerPanel::makeHomogeneous);
    connect(heterogeneous, &QPushButton::clicked, this, &DesignerPanel::makeHeterogeneous);
    connect(fcitScenario, &QPushButton::clicked, this, &DesignerPanel::openFcitScenario);
    connect(m_timeline, &TimelineGrid::cellTaskChanged, m_document, &ExperimentDocument::setCell);
    connect(m_clients, &QTableWidget::cellChanged, this, &DesignerPanel::clientEdited);
    connect(m_document, &ExperimentDocument::changed, this, &DesignerPanel::refresh);
    refresh();
}

int DesignerPanel::selectedClient() const
{
    const int row = m_clients->currentRow();
    return row >= 0 ? row : m_clients->rowCount() - 1;
}

void DesignerPanel::makeHomogeneous()
{
    m_document->setTimeline(
        fcl::makeHomogeneous(m_document->timeline(),
                             static_cast<int>(m_document->clientNames().size())),
        tr("Make homogeneous"));
}

void DesignerPanel::makeHeterogeneous()
{
    m_document->setTimeline(
        fcl::makeHeterogeneous(m_document->timeline(),
                               static_cast<int>(m_document->clientNames().size()),
                               static_cast<std::uint64_t>(m_heterogeneousSeed->value())),
        tr("Make heterogeneous"));
}

void DesignerPanel::openFcitScenario()
{
    FcitDialog dialog(m_document->json(), this);
    if (dialog.exec() == QDialog::Accepted && !dialog.expanded().isEmpty()) {
        m_document->applyGenerated(dialog.expanded(), tr("FCIT scenario"));
    }
}

void DesignerPanel::refreshClients()
{
    m_updating = true;
    const QJsonArray clients = m_document->json().value(QStringLiteral("clients")).toArray();
    m_clients->setRowCount(static_cast<int>(clients.size()));
    for (int row = 0; row < clients.size(); ++row) {
        const QJsonObject client = clients.at(row).toObject();
        for (int column = 0; column < static_cast<int>(std::size(kClientColumns)); ++column) {
            const QString key = QString::fromLatin1(kClientColumns[column].key);
            QString text;
            if (client.contains(key)) {
                text = client.value(key).isString() ? client.value(key).toString()
                                                    : QString::number(client.value(key).toDouble());
            } else {
                for (const ParamDescriptor &param : clientParams()) {
                    if (param.name == key && !param.optional) {
                        text = param.defaultValue.toString();
                    }
                }
            }
            auto *item = new QTableWidgetItem(text);
            if (column > 0) {
                item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
            }
            if (key == QLatin1String("dirichlet_alpha") && text.isEmpty()) {
                item->setToolTip(tr("empty: use partition.alpha"));
            }
            m_clients->setItem(row, column, item);
        }
    }
    m_updating = false;
}

void DesignerPanel::clientEdited(int row, int column)
{
    if (m_updating) {
        return;
    }
    const QString key = QString::fromLatin1(kClientColumns[column].key);
    const QString text = m_clients->item(row, column)->text().trimmed();
    if (key == QLatin1String("name")) {
        m_document->setClientValue(row, key, text);
        return;
    }
    if (text.isEmpty()) {
        m_document->setClientValue(row, key, QJsonValue()); // back to the default
        return;
    }
    bool ok = false;
    const double value = text.toDouble(&ok);
    // A non-number still goes into the document, so validation names the field and the reason.
    m_document->setClientValue(row, key, ok ? QJsonValue(value) : QJsonValue(text));
}

DesignerPanel::ErrorCell DesignerPanel::errorCell(const Error &error) const
{
    // clients[2].dropout -> the clients table, row 2; stages[1].clinic-b -> the timeline cell.
    static const QRegularExpression clientField(
        QStringLiteral("^clients\\[(\\d+)\\](?:\\.(\\w+))?$"));
    static const QRegularExpression stageField(QStringLiteral("^stages\\[(\\d+)\\]\\.(.+)$"));
    ErrorCell cell;
    cell.text = error.toString();
    const QStringList names = m_document->clientNames();
    if (const auto match = clientField.match(error.where); match.hasMatch()) {
        const int row = match.captured(1).toInt();
        if (row >= names.size()) {
            return cell;
        }
        int column = 0;
        QString field = match.captured(2);
        for (int c = 0; c < static_cast<int>(std::size(kClientColumns)); ++c) {
            if (field == QLatin1String(kClientColumns[c].key)) {
                column = c;
                field = tr(kClientColumns[c].title);
            }
        }
        cell = {
            m_clients, row, column,
            field.isEmpty()
                ? tr("Client %1 (%2): %3").arg(row + 1).arg(names[row], error.message)
                : tr("Client %1 (%2), %3: %4").arg(row + 1).arg(names[row], field, error.message)};
    } else if (const auto stage = stageField.match(error.where); stage.hasMatch()) {
        const int row = static_cast<int>(names.indexOf(stage.captured(2)));
        if (row >= 0) {
            cell = {m_timeline, row, stage.captured(1).toInt(),
                    tr("Stage %1, %2: %3")
                        .arg(stage.captured(1).toInt() + 1)
                        .arg(stage.captured(2), error.message)};
        }
    }
    return cell;
}

void DesignerPanel::goToErrorCell(QListWidgetItem *item)
{
    const QVariant at = item->data(Qt::UserRole);
    if (!at.isValid()) {
        return;
    }
    QTableWidget *table = item->data(Qt::UserRole + 1).toInt() == 1
                              ? static_cast<QTableWidget *>(m_timeline)
                              : m_clients;
    const QPoint cell = at.toPoint();
    table->setCurrentCell(cell.y(), cell.x());
    table->scrollToItem(table->item(cell.y(), cell.x()));
    table->setFocus(Qt::OtherFocusReason);
}

void DesignerPanel::refresh()
{
    const QString description =
        m_document->json().value(QStringLiteral("description")).toString().simplified();
    static_cast<ElidedLabel *>(m_description)->setFullText(description);
    m_description->setToolTip(description.isEmpty()
                                  ? QString()
                                  : QStringLiteral("<p>%1</p>").arg(description.toHtmlEscaped()));
    m_description->setVisible(!description.isEmpty());
    refreshClients();
    m_timeline->setTimeline(m_document->timeline(), m_document->clientNames(),
                            m_document->stageForms());
    m_methods->refresh();

    auto result = m_document->validate();
    m_errors.clear();
    m_validation->clear();
    if (result) {
        auto *item = new QListWidgetItem(style()->standardIcon(QStyle::SP_DialogApplyButton),
                                         tr("Ready to run: %1 clients, %2 stages, %3 tasks.")
                                             .arg(result->clients.size())
                                             .arg(result->stages.size())
                                             .arg(result->taskColumns().size()),
                                         m_validation);
        Q_UNUSED(item);
        m_preview->setExperiment(&result.value());
    } else {
        for (const Error &error : result.errors()) {
            m_errors << error.toString();
            const ErrorCell cell = errorCell(error);
            auto *item = new QListWidgetItem(style()->standardIcon(QStyle::SP_MessageBoxCritical),
                                             cell.text, m_validation);
            if (cell.table != nullptr) {
                item->setData(Qt::UserRole, QPoint(cell.column, cell.row));
                item->setData(Qt::UserRole + 1, cell.table == m_timeline ? 1 : 0);
                item->setToolTip(tr("Click to go to the cell (%1)").arg(error.where));
                const QSignalBlocker quiet(cell.table); // a style change is not an edit
                if (QTableWidgetItem *bad = cell.table->item(cell.row, cell.column)) {
                    bad->setData(Qt::ForegroundRole, QColor(0xc0, 0x39, 0x2b));
                    QFont font = bad->font();
                    font.setBold(true);
                    font.setUnderline(true);
                    bad->setFont(font);
                    bad->setToolTip(error.message);
                }
            }
        }
        m_preview->setExperiment(nullptr);
        m_lowerTabs->setCurrentWidget(m_validation);
    }
    m_lowerTabs->setTabText(0, result ? tr("Validation")
                                      : tr("Validation (%1)").arg(result.errors().size()));
    const bool valid = result.isOk();
    if (valid != m_valid) {
        m_valid = valid;
        Q_EMIT validityChanged(valid);
    }
}

} // namespace fcl::ui
