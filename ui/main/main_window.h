// SPDX-License-Identifier: MIT
#pragma once

#include "ui/models/experiment_document.h"

#include <QMainWindow>

class QAction;
class QDockWidget;
class QLabel;
class QMenu;
class QProgressBar;

namespace fcl::ui {

class DesignerPanel;
class HistoryPanel;
class PlotsPanel;
class RunController;

/// The workbench window. It only wires panels, docks, actions and the run controller; each panel
/// is its own class. GUI thread.
class MainWindow : public QMainWindow {
    Q_OBJECT

public:
    explicit MainWindow(const QString &databasePath, QWidget *parent = nullptr);
    ~MainWindow() override;

    bool openExperiment(const QString &path);
    /// The Examples dialog; opens the chosen preset (after asking to save changes). True when one
    /// was opened.
    bool showExamples();
    /// A small valid experiment to start from (two clients, two stages).
    void newExperiment();
    /// Starts the designed experiment; false (with the reason in the status bar) if invalid or
    /// busy.
    bool startRun();
    /// Continues stored run `runId` from its last checkpoint, its curves so far in the plots.
    bool resumeRun(qint64 runId);

    ExperimentDocument *document() { return &m_document; }
    DesignerPanel *designer() const { return m_designer; }
    PlotsPanel *plots() const { return m_plots; }
    HistoryPanel *history() const { return m_history; }
    RunController *runController() const { return m_controller; }
    QAction *runAction() const { return m_run; }
    qint64 lastRunId() const { return m_lastRunId; }
    /// Non-blocking dialogs are used for run errors; tests read the last message here.
    QString lastErrorMessage() const { return m_lastError; }

Q_SIGNALS:
    void runCompleted(qint64 runId);

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void createActions();
    void updateActions();
    void updateTitle();
    bool saveTo(const QString &path);
    bool save();
    bool saveAs();
    void saveAsPreset();
    bool maybeSave();
    void addRecentFile(const QString &path);
    void rebuildRecentMenu();
    void exportReport(const std::vector<qint64> &runIds);
    void showStoredRun(qint64 runId);
    void showError(const QString &title, const QString &message);

    QString m_databasePath;
    ExperimentDocument m_document;
    DesignerPanel *m_designer;
    PlotsPanel *m_plots;
    HistoryPanel *m_history;
    RunController *m_controller;
    QDockWidget *m_plotsDock;
    QDockWidget *m_historyDock;
    QLabel *m_statusLabel;
    QProgressBar *m_progress;
    QMenu *m_recentMenu = nullptr;
    QAction *m_showDesigner = nullptr;   ///< View > Designer: hidden, the plots get the window
    bool m_designerHiddenForRun = false; ///< hidden by startRun, shown again when it ends
    QAction *m_run = nullptr;
    QAction *m_pause = nullptr;
    QAction *m_cancel = nullptr;
    qint64 m_lastRunId = 0;
    QString m_runName;               ///< of the run in progress, from its snapshot
    std::vector<int> m_runLearnedAt; ///< first stage of each task column, from the snapshot
    QString m_lastError;
};

} // namespace fcl::ui
