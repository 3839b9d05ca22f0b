// SPDX-License-Identifier: MIT
#include "ui/history/ask_dialog.h"

#include "core/store/run_store.h"

#include <QComboBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QImage>
#include <QJsonArray>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QMimeData>
#include <QPixmap>
#include <QPushButton>
#include <QSpinBox>
#include <QTableWidget>
#include <QThread>
#include <QVBoxLayout>

#include <memory>

namespace fcl {

AskDialog::AskDialog(const QString &databasePath, qint64 runId, QWidget *parent)
    : QDialog(parent), m_databasePath(databasePath), m_runId(runId)
{
    setWindowTitle(tr("Ask the model: run %1").arg(runId));
    setAcceptDrops(true);
    QStringList tasks;
    QStringList clients;
    QString runName;
    if (auto store = RunStore::open(databasePath)) {
        if (auto run = store.value()->run(runId)) {
            runName = run->name;
            tasks = QStringList(run->taskIds.begin(), run->taskIds.end());
            for (const QJsonValue &client :
                 run->config.value(QStringLiteral("clients")).toArray()) {
                clients << client.toObject().value(QStringLiteral("name")).toString();
            }
        }
    }

    auto *layout = new QVBoxLayout(this);
    auto *title = new QLabel(tr("<b>%1</b> (run %2). The same question to the model after every "
                                "stage: watch what it forgets.")
                                 .arg(runName.toHtmlEscaped())
                                 .arg(runId),
                             this);
    title->setWordWrap(true);
    layout->addWidget(title);

    auto *form = new QFormLayout;
    m_instruction = new QLineEdit(this);
    m_instruction->setPlaceholderText(
        tr("e.g. What item is this? (empty with a task sample: its own question)"));
    form->addRow(tr("Instruction:"), m_instruction);

    auto *imageRow = new QHBoxLayout;
    m_source = new QComboBox(this);
    for (const QString &task : tasks) {
        m_source->addItem(tr("Test sample of %1").arg(task), QStringLiteral("task:") + task);
    }
    m_source->addItem(tr("Fashion-MNIST test image"), QStringLiteral("test"));
    m_source->addItem(tr("PNG file (28x28)"), QStringLiteral("png"));
    m_source->addItem(tr("No image"), QStringLiteral("none"));
    m_index = new QSpinBox(this);
    m_index->setRange(0, 9999);
    m_index->setPrefix(tr("#"));
    m_index->setToolTip(tr("Which sample or image"));
    m_openPng = new QPushButton(tr("Open PNG…"), this);
    imageRow->addWidget(m_source, 1);
    imageRow->addWidget(m_index);
    imageRow->addWidget(m_openPng);
    form->addRow(tr("Image:"), imageRow);

    m_model = new QComboBox(this);
    m_model->addItem(tr("Global model"), -1);
    for (int c = 0; c < clients.size(); ++c) {
        m_model->addItem(tr("Client %1's model").arg(clients.at(c)), c);
    }
    m_model->setToolTip(tr("Personalised methods keep parameters per client"));
    form->addRow(tr("Model:"), m_model);
    layout->addLayout(form);

    m_askButton = new QPushButton(tr("Ask"), this);
    m_askButton->setDefault(true);
    auto *askRow = new QHBoxLayout;
    m_summary = new QLabel(this);
    m_summary->setWordWrap(true);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    askRow->addWidget(m_summary, 1);
    askRow->addWidget(m_askButton);
    layout->addLayout(askRow);

    auto *results = new QHBoxLayout;
    m_image = new QLabel(this);
    m_image->setFixedSize(140, 140);
    m_image->setAlignment(Qt::AlignCenter);
    m_image->setFrameShape(QFrame::StyledPanel);
    m_image->setText(tr("no image"));
    m_answers = new QTableWidget(0, 2, this);
    m_answers->setHorizontalHeaderLabels({tr("Model"), tr("Answer")});
    m_answers->horizontalHeader()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
    m_answers->horizontalHeader()->setSectionResizeMode(1, QHeaderView::Stretch);
    m_answers->verticalHeader()->setVisible(false);
    m_answers->setEditTriggers(QAbstractItemView::NoEditTriggers);
    results->addWidget(m_image, 0, Qt::AlignTop);
    results->addWidget(m_answers, 1);
    layout->addLayout(results, 1);

    connect(m_source, &QComboBox::currentIndexChanged, this, &AskDialog::sourceChanged);
    connect(m_askButton, &QPushButton::clicked, this, &AskDialog::ask);
    connect(m_instruction, &QLineEdit::returnPressed, this, &AskDialog::ask);
    connect(m_openPng, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("A 28x28 grayscale PNG"), {},
                                                          tr("PNG images (*.png)"));
        if (!path.isEmpty()) {
            m_pngPath = path;
            m_source->setCurrentIndex(m_source->findData(QStringLiteral("png")));
            sourceChanged();
        }
    });
    sourceChanged();
    resize(640, 420);
}

AskDialog::~AskDialog()
{
    if (m_worker != nullptr) {
        m_worker->wait();
    }
}

void AskDialog::sourceChanged()
{
    const QString source = m_source->currentData().toString();
    m_index->setEnabled(source == QLatin1String("test") ||
                        source.startsWith(QLatin1String("task:")));
    m_openPng->setEnabled(source == QLatin1String("png") || m_pngPath.isEmpty());
    if (source == QLatin1String("png")) {
        m_openPng->setText(m_pngPath.isEmpty() ? tr("Open PNG…") : QFileInfo(m_pngPath).fileName());
    }
}

void AskDialog::setQuestion(const QString &source, const QString &indexOrPath,
                            const QString &instruction)
{
    const int at =
        m_source->findData(source == QLatin1String("none") || source == QLatin1String("test") ||
                                   source == QLatin1String("png")
                               ? source
                               : QStringLiteral("task:") + source);
    m_source->setCurrentIndex(std::max(0, at));
    if (source == QLatin1String("png")) {
        m_pngPath = indexOrPath;
    } else {
        m_index->setValue(indexOrPath.toInt());
    }
    m_instruction->setText(instruction);
    sourceChanged();
}

void AskDialog::ask()
{
    if (m_worker != nullptr) {
        return;
    }
    AskQuery query;
    query.instruction = m_instruction->text().trimmed();
    const QString source = m_source->currentData().toString();
    if (source.startsWith(QLatin1String("task:"))) {
        query.sampleTask = source.mid(5);
        query.sampleIndex = m_index->value();
    } else if (source == QLatin1String("test")) {
        query.image = QStringLiteral("test:%1").arg(m_index->value());
    } else if (source == QLatin1String("png")) {
        query.image = m_pngPath;
    }
    query.client = m_model->currentData().toInt();
    m_askButton->setEnabled(false);
    m_summary->setText(tr("Asking every stage's model…"));
    auto result = std::make_shared<Result<AskResult>>(Error{QString(), tr("not asked")});
    const QString path = m_databasePath;
    const qint64 runId = m_runId;
    m_worker = QThread::create([result, path, runId, query] {
        // A connection of this thread's own (RunStore is single-threaded).
        auto store = RunStore::open(path);
        if (!store) {
            *result = store.errors();
            return;
        }
        *result = askRun(runId, *store.value(), query);
    });
    connect(m_worker, &QThread::finished, this, [this, result] {
        m_worker->deleteLater();
        m_worker = nullptr;
        m_askButton->setEnabled(true);
        showResult(*result);
    });
    m_worker->start();
}

void AskDialog::showResult(const Result<AskResult> &result)
{
    m_answers->setRowCount(0);
    if (!result) {
        m_summary->setText(QStringLiteral("<span style='color:#c0392b'>%1</span>")
                               .arg(result.errorString().toHtmlEscaped()));
        Q_EMIT answered(false);
        return;
    }
    const AskResult &answer = result.value();
    QString summary = tr("Asked: <b>%1</b>").arg(answer.instruction.toHtmlEscaped());
    if (!answer.expected.isEmpty()) {
        summary += tr(" &nbsp; expected: <b>%1</b>").arg(answer.expected.toHtmlEscaped());
    }
    m_summary->setText(summary);
    if (answer.image.size() == 784) {
        QImage image(28, 28, QImage::Format_Grayscale8);
        for (int y = 0; y < 28; ++y) {
            std::copy(answer.image.begin() + y * 28, answer.image.begin() + (y + 1) * 28,
                      image.scanLine(y));
        }
        m_image->setPixmap(QPixmap::fromImage(image.scaled(140, 140)));
    } else {
        m_image->setPixmap(QPixmap());
        m_image->setText(tr("no image"));
    }
    for (const AskAnswer &row : answer.answers) {
        const int r = m_answers->rowCount();
        m_answers->insertRow(r);
        const QString model =
            row.stage < 0 ? tr("untrained")
                          : tr("after stage %1 (%2)")
                                .arg(row.stage + 1)
                                .arg(answer.stageTasks[static_cast<std::size_t>(row.stage)]);
        m_answers->setItem(r, 0, new QTableWidgetItem(model));
        QString text = row.answer;
        if (row.probability >= 0) {
            text += QStringLiteral("  (p = %1)").arg(row.probability, 0, 'f', 2);
        }
        auto *item = new QTableWidgetItem(text);
        if (!answer.expected.isEmpty()) {
            const bool correct = row.answer == answer.expected;
            item->setForeground(correct ? QColor(0x1e, 0x84, 0x49) : QColor(0xc0, 0x39, 0x2b));
            item->setToolTip(correct ? tr("correct") : tr("wrong"));
        }
        m_answers->setItem(r, 1, item);
    }
    Q_EMIT answered(true);
}

void AskDialog::dragEnterEvent(QDragEnterEvent *event)
{
    const QList<QUrl> urls = event->mimeData()->urls();
    if (urls.size() == 1 &&
        urls.front().toLocalFile().endsWith(QLatin1String(".png"), Qt::CaseInsensitive)) {
        event->acceptProposedAction();
    }
}

void AskDialog::dropEvent(QDropEvent *event)
{
    m_pngPath = event->mimeData()->urls().front().toLocalFile();
    m_source->setCurrentIndex(m_source->findData(QStringLiteral("png")));
    sourceChanged();
    ask();
}

} // namespace fcl
