// SPDX-License-Identifier: MIT
#include "ui/main/main_window.h"

#include "core/common/version.h"
#include "core/sim/presets.h"
#include "ui/designer/designer_panel.h"
#include "ui/history/history_panel.h"
#include "ui/main/examples_dialog.h"
#include "ui/main/headless_run.h"
#include "ui/plots/plots_panel.h"
#include "ui/report/report_writer.h"
#include "ui/run/run_controller.h"

#include <QAbstractSpinBox>
#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QJsonArray>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QScreen>
#include <QSettings>
#include <QStandardPaths>
#include <QStatusBar>
#include <QStyle>
#include <QToolBar>
#include <QToolButton>

namespace fcl::ui {

namespace {

/// Number boxes and drop-downs take the mouse wheel only once focused (a click or Tab): a
/// wheel over an unfocused one scrolls the panel around it instead of changing the value (and
/// adding an undo step per tick).
class WheelGuard : public QObject {
public:
    using QObject::QObject;

protected:
    bool eventFilter(QObject *watched, QEvent *event) override
    {
        const bool shown = event->type() == QEvent::Polish || event->type() == QEvent::Show;
        if (event->type() != QEvent::Wheel && !shown) {
            return false;
        }
        auto *widget = qobject_cast<QWidget *>(watched);
        const bool guarded = qobject_cast<QAbstractSpinBox *>(watched) != nullptr ||
                             qobject_cast<QComboBox *>(watched) != nullptr;
        if (widget == nullptr || !guarded) {
            return false;
        }
        if (shown) {
            widget->setFocusPolicy(Qt::StrongFocus); // not WheelFocus: the wheel gives no focus
            return false;
        }
        if (widget->hasFocus()) {
            return false;
        }
        event->ignore(); // unaccepted, so the parents (the scroll area) get the wheel
        return true;
    }
};

} // namespace

MainWindow::MainWindow(const QString &databasePath, QWidget *parent)
    : QMainWindow(parent), m_databasePath(databasePath),
      m_designer(new DesignerPanel(&m_document, this)), m_plots(new PlotsPanel(this)),
      m_history(new HistoryPanel(this)), m_controller(new RunController(this))
{
    setObjectName(QStringLiteral("MainWindow"));
    qApp->installEventFilter(new WheelGuard(this));
    setCentralWidget(m_designer);
    setDockOptions(QMainWindow::AnimatedDocks | QMainWindow::AllowTabbedDocks);
    m_plotsDock = new QDockWidget(tr("Live plots"), this);
    m_plotsDock->setObjectName(QStringLiteral("PlotsDock"));
    m_plotsDock->setWidget(m_plots);
    addDockWidget(Qt::RightDockWidgetArea, m_plotsDock);
    m_historyDock = new QDockWidget(tr("History"), this);
    m_historyDock->setObjectName(QStringLiteral("HistoryDock"));
    m_historyDock->setWidget(m_history);
    addDockWidget(Qt::BottomDockWidgetArea, m_historyDock);

    m_statusLabel = new QLabel(tr("Ready"), this);
    m_progress = new QProgressBar(this);
    m_progress->setMaximumWidth(260);
    m_progress->setTextVisible(true);
    m_progress->setVisible(false);
    // Both on the right: a temporary message ("Opened …") takes the left and never overlaps the
    // run's state.
    statusBar()->addPermanentWidget(m_statusLabel);
    statusBar()->addPermanentWidget(m_progress);

    createActions();

    QString error;
    if (!m_history->openDatabase(m_databasePath, &error)) {
        showError(tr("Run database"), error);
    }

    RunBridge *bridge = m_controller->bridge();
    connect(bridge, &RunBridge::runStarted, this, [this](const RunInfo &info) {
        m_lastRunId = info.runId;
        auto stored = info.resumedAtRound > 0
                          ? loadReportRuns(*m_history->store(), {info.runId})
                          : Result<std::vector<ReportRun>>(std::vector<ReportRun>{});
        if (stored && !stored.value().empty()) {
            // Resumed: the rounds up to the checkpoint, as stored (later ones were removed).
            m_plots->setSeries(stored.value().front().series);
        } else {
            // From the snapshot the run started with: the designer may have been edited since.
            m_plots->series().reset(m_runName, info.taskIds, info.clientNames, m_runLearnedAt,
                                    info.stages, info.roundsPerStage);
            m_plots->markDirty();
        }
        m_history->reload();
    });
    connect(bridge, &RunBridge::observationReceived, this, [this](const Observation &observation) {
        m_plots->series().addObservation(observation);
        m_plots->markDirty();
    });
    connect(bridge, &RunBridge::roundFinished, this, [this](const RoundMetrics &round) {
        m_plots->series().addRound(round);
        m_plots->markDirty();
    });
    connect(bridge, &RunBridge::stageFinished, this, [this](const StageMetrics &stage) {
        m_plots->series().addStage(stage);
        m_plots->markDirty();
    });
    connect(bridge, &RunBridge::messageReceived, this, [this](Severity, const QString &message) {
        statusBar()->showMessage(message, 8000);
    });
    connect(bridge, &RunBridge::runFinished, this, [this](const RunOutcome &outcome) {
        m_plots->redrawNow();
        m_progress->setVisible(false);
        m_history->reload();
        if (outcome.runId != 0) {
            m_history->selectRuns({outcome.runId});
        }
        if (outcome.status == RunStatus::Failed) {
            m_statusLabel->setText(tr("Run failed"));
            showError(tr("The run failed"), outcome.error);
        } else {
            m_statusLabel->setText(outcomeLine(outcome));
        }
        if (m_designerHiddenForRun) { // the run hid it; the user did not
            m_designerHiddenForRun = false;
            m_showDesigner->setChecked(true);
        }
        updateActions();
        Q_EMIT runCompleted(outcome.runId);
    });
    connect(m_controller, &RunController::progressChanged, this,
            [this](int done, int total, const QString &text) {
                m_progress->setVisible(true);
                m_progress->setRange(0, std::max(1, total));
                m_progress->setValue(done);
                // A round that ends after Pause was pressed must not replace "Paused" by an ETA.
                if (m_controller->isPaused()) {
                    updateActions();
                } else {
                    m_statusLabel->setText(text);
                }
            });
    connect(m_controller, &RunController::stateChanged, this, &MainWindow::updateActions);
    connect(m_designer, &DesignerPanel::validityChanged, this, &MainWindow::updateActions);
    connect(&m_document, &ExperimentDocument::changed, this, &MainWindow::updateTitle);
    // After the designer's own refresh (connected first): Run's tooltip lists today's errors.
    connect(&m_document, &ExperimentDocument::changed, this, &MainWindow::updateActions);
    connect(m_history, &HistoryPanel::runActivated, this, &MainWindow::showStoredRun);
    connect(m_history, &HistoryPanel::reportRequested, this, &MainWindow::exportReport);
    connect(m_history, &HistoryPanel::resumeRequested, this, &MainWindow::resumeRun);

    QSettings settings;
    // First start: 1500x940 or the screen's free area, whichever is smaller; the plots get
    // about 37 % of the width and the history 30 % of the height.
    const QRect available = screen()->availableGeometry();
    resize(std::min(1500, available.width()), std::min(940, available.height()));
    resizeDocks({m_plotsDock}, {std::max(330, width() * 37 / 100)}, Qt::Horizontal);
    resizeDocks({m_historyDock}, {std::max(220, height() * 3 / 10)}, Qt::Vertical);
    restoreGeometry(settings.value(QStringLiteral("window/geometry")).toByteArray());
    restoreState(settings.value(QStringLiteral("window/state")).toByteArray());
    rebuildRecentMenu();
    updateActions();
    updateTitle();
}

MainWindow::~MainWindow() = default;

void MainWindow::createActions()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    QAction *newAction = file->addAction(style()->standardIcon(QStyle::SP_FileIcon),
                                         tr("&New experiment"), this, [this] {
                                             if (maybeSave()) {
                                                 newExperiment();
                                             }
                                         });
    newAction->setShortcut(QKeySequence::New);
    QAction *open = file->addAction(
        style()->standardIcon(QStyle::SP_DialogOpenButton), tr("&Open…"), this, [this] {
            if (!maybeSave()) {
                return;
            }
            const QString path = QFileDialog::getOpenFileName(
                this, tr("Open experiment"),
                m_document.path().isEmpty() ? presetsDir()
                                            : QFileInfo(m_document.path()).absolutePath(),
                tr("Experiments (*.json)"));
            if (!path.isEmpty()) {
                openExperiment(path);
            }
        });
    open->setShortcut(QKeySequence::Open);
    m_recentMenu = file->addMenu(tr("Open &recent"));
    QAction *examples = file->addAction(tr("E&xamples…"), this, &MainWindow::showExamples);
    examples->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
    examples->setStatusTip(tr("The shipped example experiments, with what each one shows"));
    QMenu *examplesMenu = file->addMenu(tr("&Example"));
    for (const PresetInfo &preset : listPresets()) {
        QAction *action = examplesMenu->addAction(preset.name, this, [this, path = preset.path] {
            if (maybeSave()) {
                openExperiment(path);
            }
        });
        action->setStatusTip(preset.lookFor);
        action->setToolTip(preset.lookFor);
    }
    examplesMenu->setToolTipsVisible(true);
    QAction *saveAction = file->addAction(style()->standardIcon(QStyle::SP_DialogSaveButton),
                                          tr("&Save"), this, &MainWindow::save);
    saveAction->setShortcut(QKeySequence::Save);
    file->addAction(tr("Save &as…"), this, &MainWindow::saveAs)->setShortcut(QKeySequence::SaveAs);
    file->addAction(tr("Save as &preset…"), this, &MainWindow::saveAsPreset);
    file->addSeparator();
    QAction *report = file->addAction(tr("Export &report of selected runs…"), this, [this] {
        exportReport(m_history->selectedRunIds());
    });
    report->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    file->addSeparator();
    file->addAction(tr("&Quit"), this, &QWidget::close)->setShortcut(QKeySequence::Quit);

    QMenu *edit = menuBar()->addMenu(tr("&Edit"));
    QAction *undo = m_document.undoStack()->createUndoAction(this, tr("&Undo"));
    undo->setShortcut(QKeySequence::Undo);
    undo->setIcon(style()->standardIcon(QStyle::SP_ArrowBack));
    QAction *redo = m_document.undoStack()->createRedoAction(this, tr("&Redo"));
    redo->setShortcut(QKeySequence::Redo);
    redo->setIcon(style()->standardIcon(QStyle::SP_ArrowForward));
    edit->addAction(undo);
    edit->addAction(redo);
    edit->addSeparator();
    edit->addAction(tr("Make timeline &homogeneous"), m_designer, &DesignerPanel::makeHomogeneous);
    edit->addAction(tr("Make timeline h&eterogeneous"), m_designer,
                    &DesignerPanel::makeHeterogeneous);

    QMenu *run = menuBar()->addMenu(tr("&Run"));
    m_run = run->addAction(style()->standardIcon(QStyle::SP_MediaPlay), tr("&Run"), this,
                           &MainWindow::startRun);
    m_run->setShortcut(QKeySequence(Qt::Key_F5));
    m_pause =
        run->addAction(style()->standardIcon(QStyle::SP_MediaPause), tr("&Pause"), this, [this] {
            if (m_controller->isPaused()) {
                m_controller->resume();
            } else {
                m_controller->pause();
            }
        });
    m_pause->setShortcut(QKeySequence(Qt::Key_F6));
    m_cancel = run->addAction(style()->standardIcon(QStyle::SP_MediaStop), tr("&Cancel"),
                              m_controller, &RunController::cancel);
    m_cancel->setShortcut(QKeySequence(Qt::SHIFT | Qt::Key_F5));

    QMenu *view = menuBar()->addMenu(tr("&View"));
    m_showDesigner = view->addAction(tr("&Designer"));
    m_showDesigner->setCheckable(true);
    m_showDesigner->setChecked(true);
    m_showDesigner->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_D));
    m_showDesigner->setStatusTip(tr("Hide the designer to give the plots the whole window"));
    connect(m_showDesigner, &QAction::toggled, this, [this](bool shown) {
        m_designer->setVisible(shown);
        m_designerHiddenForRun = m_designerHiddenForRun && !shown;
    });
    view->addAction(m_plotsDock->toggleViewAction());
    view->addAction(m_historyDock->toggleViewAction());

    QMenu *help = menuBar()->addMenu(tr("&Help"));
    help->addAction(examples);
    help->addAction(tr("&About FCL Workbench"), this, [this] {
        QMessageBox::about(
            this, tr("About FCL Workbench"),
            tr("<h3>FCL Workbench %1</h3><p>Design, run, watch, compare and report simulated "
               "federated continual instruction tuning experiments.</p><p>Runs are stored "
               "in<br><tt>%2</tt></p>")
                .arg(versionString(), m_databasePath.toHtmlEscaped()));
    });

    QToolBar *toolbar = addToolBar(tr("Main"));
    toolbar->setObjectName(QStringLiteral("MainToolbar"));
    toolbar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    toolbar->addAction(open);
    toolbar->addAction(saveAction);
    toolbar->addSeparator();
    toolbar->addAction(undo);
    toolbar->addAction(redo);
    // Icons only: "Undo Set federated.rounds_per_stage" would move every button after it.
    for (QAction *action : {undo, redo}) {
        if (auto *button = qobject_cast<QToolButton *>(toolbar->widgetForAction(action))) {
            button->setToolButtonStyle(Qt::ToolButtonIconOnly);
        }
    }
    toolbar->addSeparator();
    toolbar->addAction(m_run);
    toolbar->addAction(m_pause);
    toolbar->addAction(m_cancel);
    toolbar->addSeparator();
    toolbar->addAction(report);
}

void MainWindow::updateActions()
{
    const bool running = m_controller->isRunning();
    m_run->setEnabled(!running && m_designer->isValid());
    m_run->setToolTip(m_designer->isValid()
                          ? tr("Run the experiment (F5)")
                          : tr("Fix the errors listed under Validation first:\n") +
                                m_designer->errors().join(QLatin1Char('\n')));
    m_pause->setEnabled(running);
    m_pause->setText(m_controller->isPaused() ? tr("Resume") : tr("Pause"));
    m_pause->setIcon(style()->standardIcon(m_controller->isPaused() ? QStyle::SP_MediaPlay
                                                                    : QStyle::SP_MediaPause));
    m_cancel->setEnabled(running);
    // The designer stays editable during a run: the run owns a snapshot of the experiment, so the
    // next one can be designed meanwhile (and disabling the whole panel costs a ~70 ms repaint).
    if (running && m_controller->isPaused()) {
        m_statusLabel->setText(tr("Paused after round %1 of %2")
                                   .arg(m_controller->roundsDone())
                                   .arg(m_controller->roundsTotal()));
    }
}

void MainWindow::updateTitle()
{
    const QString name =
        m_document.path().isEmpty() ? tr("Untitled") : QFileInfo(m_document.path()).fileName();
    setWindowTitle(QStringLiteral("%1%2 — FCL Workbench")
                       .arg(name, m_document.isModified() ? QStringLiteral("*") : QString()));
}

void MainWindow::newExperiment()
{
    m_document.load(
        QJsonObject{{QStringLiteral("name"), tr("New experiment")},
                    {QStringLiteral("seed"), 1},
                    {QStringLiteral("clients"),
                     QJsonArray{QJsonObject{{QStringLiteral("name"), QStringLiteral("client-1")}},
                                QJsonObject{{QStringLiteral("name"), QStringLiteral("client-2")}}}},
                    {QStringLiteral("stages"), QJsonArray{QStringLiteral("fmnist-split-1"),
                                                          QStringLiteral("fmnist-split-2")}}});
}

bool MainWindow::showExamples()
{
    ExamplesDialog dialog(listPresets(), this);
    if (dialog.exec() != QDialog::Accepted || dialog.selectedPath().isEmpty() || !maybeSave()) {
        return false;
    }
    return openExperiment(dialog.selectedPath());
}

bool MainWindow::openExperiment(const QString &path)
{
    QString error;
    if (!m_document.loadFile(path, &error)) {
        showError(tr("Open experiment"), error);
        return false;
    }
    addRecentFile(path);
    statusBar()->showMessage(tr("Opened %1").arg(path), 4000);
    return true;
}

bool MainWindow::startRun()
{
    if (m_controller->isRunning()) {
        return false;
    }
    auto experiment = m_document.validate();
    if (!experiment) {
        m_statusLabel->setText(tr("Cannot run: %1").arg(experiment.errors().front().toString()));
        return false;
    }
    m_runName = experiment->name;
    m_runLearnedAt = experiment->learnedAtStage();
    m_plots->setSeries(RunSeries(), true);
    m_progress->setRange(0, 0);
    m_progress->setVisible(true);
    m_statusLabel->setText(tr("Loading data…"));
    m_controller->start(experiment.value(), m_databasePath);
    // While it runs, the plots get at least half the width. On a narrow window the designer
    // cannot give that much, so it steps aside until the run ends (Ctrl+D brings it back).
    if (m_plotsDock->isVisible() && !m_plotsDock->isFloating() &&
        m_plotsDock->width() < width() / 2) {
        resizeDocks({m_plotsDock}, {width() / 2}, Qt::Horizontal);
        if (m_showDesigner->isChecked() &&
            width() - m_designer->minimumSizeHint().width() < width() / 2) {
            m_showDesigner->setChecked(false);
            m_designerHiddenForRun = true;
            statusBar()->showMessage(
                tr("The designer is hidden while the run goes, to give the plots room; "
                   "Ctrl+D (View → Designer) shows it."),
                10000);
        }
    }
    updateActions();
    return true;
}

bool MainWindow::saveTo(const QString &path)
{
    QString error;
    if (!m_document.saveFile(path, &error)) {
        showError(tr("Save experiment"), error);
        return false;
    }
    addRecentFile(path);
    updateTitle();
    return true;
}

bool MainWindow::save()
{
    return m_document.path().isEmpty() ? saveAs() : saveTo(m_document.path());
}

bool MainWindow::saveAs()
{
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Save experiment"), m_document.path(), tr("Experiments (*.json)"));
    return !path.isEmpty() && saveTo(path);
}

void MainWindow::saveAsPreset()
{
    const QString dir = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) +
                        QStringLiteral("/presets");
    QDir().mkpath(dir);
    const QString path = QFileDialog::getSaveFileName(this, tr("Save as preset"),
                                                      dir + QStringLiteral("/my-preset.json"),
                                                      tr("Experiments (*.json)"));
    if (!path.isEmpty()) {
        saveTo(path);
    }
}

bool MainWindow::maybeSave()
{
    if (!m_document.isModified()) {
        return true;
    }
    const auto answer = QMessageBox::question(
        this, tr("Unsaved changes"), tr("Save the changes to the experiment?"),
        QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel);
    return answer == QMessageBox::Discard || (answer == QMessageBox::Save && save());
}

void MainWindow::addRecentFile(const QString &path)
{
    QSettings settings;
    QStringList recent = settings.value(QStringLiteral("recentFiles")).toStringList();
    recent.removeAll(QFileInfo(path).absoluteFilePath());
    recent.prepend(QFileInfo(path).absoluteFilePath());
    settings.setValue(QStringLiteral("recentFiles"), recent.mid(0, 8));
    rebuildRecentMenu();
}

void MainWindow::rebuildRecentMenu()
{
    m_recentMenu->clear();
    const QStringList recent = QSettings().value(QStringLiteral("recentFiles")).toStringList();
    for (const QString &path : recent) {
        m_recentMenu
            ->addAction(QFileInfo(path).fileName(), this,
                        [this, path] {
                            if (maybeSave()) {
                                openExperiment(path);
                            }
                        })
            ->setToolTip(path);
    }
    m_recentMenu->setEnabled(!recent.isEmpty());
}

void MainWindow::exportReport(const std::vector<qint64> &runIds)
{
    std::vector<qint64> ids = runIds;
    if (ids.empty() && m_lastRunId != 0) {
        ids.push_back(m_lastRunId);
    }
    if (ids.empty() || m_history->store() == nullptr) {
        showError(tr("Export report"), tr("Select one or more runs in the History panel first."));
        return;
    }
    const QString path =
        QFileDialog::getSaveFileName(this, tr("Export report"), QStringLiteral("fcl-report.pdf"),
                                     tr("PDF report (*.pdf);;HTML report (*.html)"));
    if (path.isEmpty()) {
        return;
    }
    auto runs = loadReportRuns(*m_history->store(), ids);
    QString error;
    if (!runs || !ReportWriter::write(path, runs.value(), &error)) {
        showError(tr("Export report"), runs ? error : runs.errorString());
        return;
    }
    statusBar()->showMessage(tr("Report written to %1").arg(path), 6000);
}

bool MainWindow::resumeRun(qint64 runId)
{
    if (m_controller->isRunning()) {
        m_statusLabel->setText(tr("Cannot resume run %1: another run is going").arg(runId));
        return false;
    }
    m_plots->setSeries(RunSeries(), true);
    m_progress->setRange(0, 0);
    m_progress->setVisible(true);
    m_statusLabel->setText(tr("Resuming run %1…").arg(runId));
    m_controller->resumeRun(runId, m_databasePath);
    updateActions();
    return true;
}

void MainWindow::showStoredRun(qint64 runId)
{
    auto runs = loadReportRuns(*m_history->store(), {runId});
    if (!runs) {
        showError(tr("Show run"), runs.errorString()); // e.g. "run 3 is corrupt: ..."
        return;
    }
    m_plots->setSeries(runs.value().front().series, true);
    m_plotsDock->raise();
}

void MainWindow::showError(const QString &title, const QString &message)
{
    m_lastError = message;
    // Non-blocking: the event loop (and any run) keeps going while the dialog is open.
    auto *box = new QMessageBox(QMessageBox::Warning, title, message, QMessageBox::Ok, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    if (m_controller->isRunning()) {
        if (QMessageBox::question(this, tr("A run is in progress"),
                                  tr("Cancel the run and quit? Every finished round is kept.")) !=
            QMessageBox::Yes) {
            event->ignore();
            return;
        }
        m_controller->cancel();
    }
    if (!maybeSave()) {
        event->ignore();
        return;
    }
    QSettings settings;
    settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("window/state"), saveState());
    event->accept();
}

} // namespace fcl::ui
