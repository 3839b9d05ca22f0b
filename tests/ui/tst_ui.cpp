// SPDX-License-Identifier: MIT
// Workbench behaviour on the offscreen platform: designer edits and undo, the run controller's
// signals and cancel, the history model, reports, and a whole GUI run.
#include "core/sim/presets.h"
#include "core/store/run_store.h"
#include "tests/support/test_support.h"
#include "ui/designer/designer_panel.h"
#include "ui/designer/fcit_dialog.h"
#include "ui/designer/method_panel.h"
#include "ui/designer/timeline_grid.h"
#include "ui/history/ask_dialog.h"
#include "ui/history/history_panel.h"
#include "ui/main/examples_dialog.h"
#include "ui/main/headless_run.h"
#include "ui/main/main_window.h"
#include "ui/models/experiment_document.h"
#include "ui/models/history_model.h"
#include "ui/plots/plots_panel.h"
#include "ui/report/report_writer.h"
#include "ui/run/run_controller.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMenuBar>
#include <QMimeData>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QTextBrowser>
#include <QUndoStack>
#include <QWheelEvent>
#include <qcustomplot.h>

#include <cmath>

using namespace fcl;
using namespace fcl::ui;

class TestUi : public QObject {
    Q_OBJECT

private:
    std::unique_ptr<QTemporaryDir> m_dir;

    static QJsonObject presetJson()
    {
        QFile file(QStringLiteral(FCL_SOURCE_DIR "/resources/presets/default.json"));
        file.open(QIODevice::ReadOnly);
        return QJsonDocument::fromJson(file.readAll()).object();
    }

    static int firstClientSamples(const ExperimentDocument &document)
    {
        const QJsonArray clients = document.json().value(QStringLiteral("clients")).toArray();
        return clients.at(0).toObject().value(QStringLiteral("samples_per_task")).toInt();
    }

    QString writeTinyExperiment(int stages = 2, int rounds = 2)
    {
        const QString path = m_dir->filePath(QStringLiteral("tiny.json"));
        QFile file(path);
        file.open(QIODevice::WriteOnly);
        file.write(test::tinyExperimentJson({}, 3, stages, rounds, 200));
        return path;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("fcl-workbench-tests"));
    }

    void init() { m_dir = std::make_unique<QTemporaryDir>(); }

    void headlessChecksTheReportPathBeforeRunning()
    {
        // A report path that cannot be written is refused at once: no run, no database.
        const QString db = m_dir->filePath(QStringLiteral("headless.sqlite"));
        const QString preset = QStringLiteral(FCL_SOURCE_DIR "/resources/presets/default.json");
        QCOMPARE(runHeadless(preset, db, m_dir->filePath(QStringLiteral("report.txt"))), 2);
        QCOMPARE(runHeadless(preset, db, m_dir->filePath(QStringLiteral("missing/report.pdf"))), 2);
        QVERIFY(!QFile::exists(db));
    }

    void askDialogShowsEveryStagesAnswer()
    {
        auto experiment = parseExperiment(test::tinyExperimentJson({}, 2, 2, 1, 200));
        QVERIFY2(experiment, qPrintable(experiment.errorString()));
        const QString db = m_dir->filePath(QStringLiteral("ask.sqlite"));
        qint64 runId = 0;
        {
            auto store = RunStore::open(db);
            QVERIFY(store);
            RunObserver observer;
            CancellationToken cancel;
            runId = runExperiment(experiment.value(), store.value().get(), observer, cancel).runId;
        }
        AskDialog dialog(db, runId);
        dialog.show();
        QVERIFY(QTest::qWaitForWindowExposed(&dialog));
        QSignalSpy answered(&dialog, &AskDialog::answered);
        dialog.setQuestion(QStringLiteral("fmnist-split-2"), QStringLiteral("3"), QString());
        dialog.ask();
        QVERIFY(answered.wait(60000));
        QCOMPARE(answered.takeFirst().at(0).toBool(), true);
        auto *table = dialog.findChild<QTableWidget *>();
        QCOMPARE(table->rowCount(), 3); // untrained, after stage 1, after stage 2
        QVERIFY(
            table->item(2, 0)->text().startsWith(QStringLiteral("after stage 2 (fmnist-split-2")));
        QVERIFY(!table->item(2, 1)->text().isEmpty());
        QVERIFY(table->item(2, 1)->text().contains(QStringLiteral("p = ")));

        // A bad image is a message in the dialog, not a crash.
        dialog.setQuestion(QStringLiteral("png"), m_dir->filePath(QStringLiteral("nope.png")),
                           QStringLiteral("What item is this?"));
        dialog.ask();
        QVERIFY(answered.wait(60000));
        QCOMPARE(answered.takeFirst().at(0).toBool(), false);
        bool shown = false;
        for (QLabel *label : dialog.findChildren<QLabel *>()) {
            shown = shown || label->text().contains(QStringLiteral("nope.png: cannot read"));
        }
        QVERIFY(shown);
    }

    void designerEditsChangeTheDocumentAndUndoRestoresIt()
    {
        ExperimentDocument document;
        document.load(presetJson());
        DesignerPanel designer(&document);
        designer.resize(1200, 800);
        designer.show();
        QVERIFY(QTest::qWaitForWindowExposed(&designer));
        const QJsonObject original = document.json();

        // A client edit in the table.
        designer.clientsTable()->item(0, 1)->setText(QStringLiteral("750"));
        QCOMPARE(firstClientSamples(document), 750);

        // A task dropped from the palette onto stage 3 of client 2.
        TimelineGrid *grid = designer.timeline();
        const QPoint target = grid->visualItemRect(grid->item(1, 2)).center();
        QMimeData mime;
        mime.setText(QStringLiteral("fmnist-tops"));
        // Qt routes a drop to the widget that accepted the drag's enter event.
        QDragEnterEvent enter(target, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(grid->viewport(), &enter);
        QVERIFY(enter.isAccepted());
        QDropEvent drop(QPointF(target), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(grid->viewport(), &drop);
        QCOMPARE(document.timeline()[2][1], QStringLiteral("fmnist-tops"));
        QCOMPARE(grid->item(1, 2)->data(Qt::UserRole).toString(), QStringLiteral("fmnist-tops"));

        // A method chosen in the registry-generated form brings its own parameters.
        QComboBox *selector =
            designer.methods()->section(QStringLiteral("continual"))->findChild<QComboBox *>();
        QVERIFY(selector != nullptr);
        selector->setFocus();
        const int replay = selector->findData(QStringLiteral("replay"));
        QTest::keyClick(selector, Qt::Key_Down); // finetune -> replay (registry order)
        QCOMPARE(selector->currentIndex(), replay);
        QCOMPARE(document.json()
                     .value(QStringLiteral("continual"))
                     .toObject()
                     .value(QStringLiteral("method"))
                     .toString(),
                 QStringLiteral("replay"));
        QVERIFY(designer.methods()->findChild<QSpinBox *>(
                    QStringLiteral("continual.buffer_per_client")) != nullptr);

        QCOMPARE(document.undoStack()->count(), 3);
        document.undoStack()->undo();
        document.undoStack()->undo();
        document.undoStack()->undo();
        QCOMPARE(document.json(), original);
        QCOMPARE(designer.clientsTable()->item(0, 1)->text(), QStringLiteral("1000"));
        document.undoStack()->redo();
        QCOMPARE(firstClientSamples(document), 750);
    }

    void clientEditsKeepTheTimelineAttached()
    {
        ExperimentDocument document;
        document.load(presetJson());
        document.setCell(1, 2, QStringLiteral("fmnist-tops")); // clinic-c, stage 2
        document.setClientValue(2, QStringLiteral("name"), QStringLiteral("renamed"));
        QCOMPARE(document.clientNames().at(2), QStringLiteral("renamed"));
        QCOMPARE(document.timeline()[1][2], QStringLiteral("fmnist-tops"));
        document.duplicateClient(2);
        QCOMPARE(document.clientNames().at(3), QStringLiteral("renamed-1"));
        QCOMPARE(document.timeline()[1][3], QStringLiteral("fmnist-tops"));
        document.addClient();
        QCOMPARE(document.clientNames().size(), 12);
        QCOMPARE(document.timeline()[1][11], document.timeline()[1][0]); // follows the first client
        document.removeClient(2);
        QVERIFY(!document.clientNames().contains(QStringLiteral("renamed")));
        const QJsonObject stage =
            document.json().value(QStringLiteral("stages")).toArray().at(1).toObject();
        QVERIFY(!stage.contains(QStringLiteral("renamed")));
        QCOMPARE(stage.size(), 11);
        QVERIFY(document.validate().isOk());
    }

    void anFcitScenarioOpensAsItsExpansion()
    {
        QFile file(QStringLiteral(FCL_SOURCE_DIR "/resources/presets/fcit-het.json"));
        QVERIFY(file.open(QIODevice::ReadOnly));
        ExperimentDocument document;
        document.load(QJsonDocument::fromJson(file.readAll()).object());
        QVERIFY(!document.json().contains(QStringLiteral("fcit")));
        QCOMPARE(document.clientNames().size(), 50);
        // FCIT's first official list: the static view shows client c on task c mod 5.
        const std::vector<StageForm> forms = document.stageForms();
        QCOMPARE(forms.size(), std::size_t(8));
        QVERIFY(forms[0].positional);
        QCOMPARE(forms[0].units, (QStringList{"vl-feet", "vl-category", "vl-upper", "vl-brighter",
                                              "vl-count-shoes"}));
        QCOMPARE(document.timeline()[0][6], QStringLiteral("vl-category"));
        QVERIFY(document.validate().isOk());

        TimelineGrid grid;
        grid.setTimeline(document.timeline(), document.clientNames(), forms);
        QCOMPARE(grid.horizontalHeaderItem(0)->text(), QStringLiteral("Stage 1 ⇄"));
        QVERIFY(grid.horizontalHeaderItem(0)->toolTip().contains(QStringLiteral("i-th sampled")));
        QVERIFY(grid.item(0, 0)->font().italic());

        // Client edits leave positional stages alone; editing a cell makes its stage per client.
        document.addClient();
        QCOMPARE(document.stageForms()[0].units.size(), 5);
        QCOMPARE(document.timeline()[1][0], QStringLiteral("vl-dark"));
        document.setCell(1, 0, QStringLiteral("vl-feet"));
        QVERIFY(document.stageForms()[1].units.isEmpty());
        QCOMPARE(document.stageForms()[0].units.size(), 5);
        QCOMPARE(document.timeline()[1][0], QStringLiteral("vl-feet"));
        QCOMPARE(document.timeline()[1][1], QStringLiteral("vl-upper")); // the rest as shown
        document.undoStack()->undo();
        QCOMPARE(document.stageForms()[1].units.size(), 5);
        auto parsed = document.validate();
        QVERIFY2(parsed.isOk(), qPrintable(parsed.errorString()));
        QCOMPARE(parsed.value().clients.size(), std::size_t(51));
        QVERIFY(parsed.value().isPositional(1));

        // A capability scenario: mixed stages, one group each.
        QJsonObject root = QJsonDocument::fromJson(QStringLiteral(R"({
            "name": "cap", "model": {"backbone": "tiny-vlm", "tuning": "lora"},
            "fcit": {"setting": "homogeneous", "granularity": "capability", "clients": 6,
                     "per_round": 3, "samples_per_task": 60,
                     "groups": [["vl-feet", "vl-upper"], ["vl-dark"]]}})")
                                                       .toUtf8())
                               .object();
        ExperimentDocument capability;
        capability.load(root);
        QCOMPARE(capability.stageForms()[0].units, QStringList{"vl-feet + vl-upper"});
        QVERIFY(!capability.stageForms()[0].positional);
        QCOMPARE(capability.timeline()[0][4], QStringLiteral("vl-feet"));
        grid.setTimeline(capability.timeline(), capability.clientNames(), capability.stageForms());
        QCOMPARE(grid.horizontalHeaderItem(0)->text(), QStringLiteral("Stage 1 ∪"));
        QCOMPARE(grid.item(4, 0)->text(), QStringLiteral("vl-feet + vl-upper"));
        QCOMPARE(grid.item(4, 1)->text(), QStringLiteral("vl-dark"));
        auto mixed = capability.validate();
        QVERIFY2(mixed.isOk(), qPrintable(mixed.errorString()));
        QCOMPARE(mixed.value().stageKind(0), StageUnits::Kind::Mixed);
        // Removing a stage moves the others with their form.
        capability.removeStage(0);
        QCOMPARE(capability.stageForms().size(), std::size_t(1));
        QCOMPARE(capability.stageForms()[0].units, QStringList{"vl-dark"});
        QVERIFY(capability.json()
                    .value(QStringLiteral("stages"))
                    .toArray()
                    .at(0)
                    .toObject()
                    .contains(QStringLiteral("mix")));
    }

    void textParametersShowAndEditTheDocument()
    {
        ExperimentDocument document;
        QFile file(QStringLiteral(FCL_SOURCE_DIR "/resources/presets/disco-hom.json"));
        QVERIFY(file.open(QIODevice::ReadOnly));
        document.load(QJsonDocument::fromJson(file.readAll()).object());
        MethodPanel panel(&document);
        auto *targets = panel.findChild<QLineEdit *>(QStringLiteral("model.lora_targets"));
        QVERIFY(targets != nullptr);
        QCOMPARE(targets->text(), QStringLiteral("mlp\\.")); // the regular expression mlp\.
        targets->setText(QStringLiteral("attn\\.(q|v)$"));
        Q_EMIT targets->editingFinished();
        QCOMPARE(document.json()
                     .value(QStringLiteral("model"))
                     .toObject()
                     .value(QStringLiteral("lora_targets"))
                     .toString(),
                 QStringLiteral("attn\\.(q|v)$"));
        document.undoStack()->undo();
        panel.refresh(); // the designer refreshes it on every change
        QCOMPARE(targets->text(), QStringLiteral("mlp\\."));
    }

    void fcitDialogGeneratesAScenarioOrSaysWhyNot()
    {
        ExperimentDocument document;
        document.load(presetJson());
        FcitDialog dialog(document.json());
        const auto generate = [&] {
            return dialog.buttons()->button(QDialogButtonBox::Ok);
        };
        QVERIFY(generate()->isEnabled());
        QVERIFY2(dialog.summary().startsWith(
                     QStringLiteral("Generates 50 client(s), 5 a round, and 8 stage(s);")),
                 qPrintable(dialog.summary()));
        dialog.setting()->setCurrentIndex(1); // heterogeneous, FCIT's official lists
        QVERIFY2(dialog.summary().contains(QStringLiteral("by position")),
                 qPrintable(dialog.summary()));
        dialog.units()->setText(QStringLiteral("vl-feet, vl-nothing"));
        QVERIFY(!generate()->isEnabled());
        QVERIFY2(dialog.summary().contains(QStringLiteral("fcit.tasks[1]: unknown task")),
                 qPrintable(dialog.summary()));
        dialog.units()->setText(QStringLiteral("vl-feet, vl-upper, vl-dark"));
        QVERIFY2(dialog.summary().contains(QStringLiteral("fcit.het_lists: the official lists")),
                 qPrintable(dialog.summary()));
        dialog.setting()->setCurrentIndex(0);
        dialog.granularity()->setCurrentIndex(1); // capability: each item a group
        dialog.units()->setText(QStringLiteral("vl-feet + vl-upper, vl-dark"));
        dialog.clients()->setValue(20);
        dialog.perRound()->setValue(4);
        QVERIFY2(generate()->isEnabled(), qPrintable(dialog.summary()));
        QCOMPARE(dialog.scenario().value(QStringLiteral("groups")).toArray().at(0).toArray().size(),
                 2);

        document.applyGenerated(dialog.expanded(), QStringLiteral("FCIT scenario"));
        QCOMPARE(document.clientNames().size(), 20);
        QCOMPARE(document.stageForms()[0].units, QStringList{"vl-feet + vl-upper"});
        QVERIFY(!document.json().contains(QStringLiteral("fcit")));
        QCOMPARE(document.json()
                     .value(QStringLiteral("federated"))
                     .toObject()
                     .value(QStringLiteral("participation"))
                     .toDouble(),
                 0.2);
        document.undoStack()->undo();
        QCOMPARE(document.clientNames().size(), 10);
    }

    void invalidSettingsAreFlaggedBeforeRun()
    {
        ExperimentDocument document;
        document.load(presetJson());
        DesignerPanel designer(&document);
        QVERIFY(designer.isValid());
        QSignalSpy validity(&designer, &DesignerPanel::validityChanged);
        // 10 clients x 7,000 samples of a 12,000-image task: an impossible partition.
        for (int c = 0; c < 2; ++c) {
            designer.clientsTable()->item(c, 1)->setText(QStringLiteral("7000"));
        }
        QVERIFY(!designer.isValid());
        QCOMPARE(validity.count(), 1);
        QVERIFY2(designer.errors()
                     .join(QLatin1Char('\n'))
                     .contains(QStringLiteral(
                         "stages[0] task \"fmnist-split-1\": partition: 10 clients ask for")),
                 qPrintable(designer.errors().join(QLatin1Char('\n'))));
        designer.clientsTable()->item(0, 1)->setText(QStringLiteral("lots"));
        QVERIFY(designer.errors()
                    .join(QLatin1Char('\n'))
                    .contains(QStringLiteral(
                        "clients[0].samples_per_task: expected a number, got a string")));
        // The list speaks in the table's terms (row 1, its name, the column's title), the bad
        // cell is marked, and a click on the message goes to it.
        QListWidget *list = designer.validationList();
        QListWidgetItem *message = nullptr;
        for (int i = 0; i < list->count(); ++i) {
            if (list->item(i)->text().startsWith(QStringLiteral("Client 1 (clinic-a), Samples / "
                                                                "task: expected a number"))) {
                message = list->item(i);
            }
        }
        QVERIFY2(message != nullptr, qPrintable(designer.errors().join(QLatin1Char('\n'))));
        QTableWidgetItem *bad = designer.clientsTable()->item(0, 1);
        QVERIFY(bad->font().bold());
        QCOMPARE(bad->foreground().color(), QColor(0xc0, 0x39, 0x2b));
        QVERIFY(!designer.clientsTable()->item(1, 1)->font().bold()); // only the bad cell
        designer.clientsTable()->setCurrentCell(3, 4);
        Q_EMIT list->itemClicked(message);
        QCOMPARE(designer.clientsTable()->currentRow(), 0);
        QCOMPARE(designer.clientsTable()->currentColumn(), 1);
        document.undoStack()->undo();
        document.undoStack()->undo();
        document.undoStack()->undo();
        QVERIFY(designer.isValid());
    }

    void homogeneousAndHeterogeneousButtonsRewriteTheTimeline()
    {
        ExperimentDocument document;
        document.load(presetJson());
        DesignerPanel designer(&document);
        designer.makeHeterogeneous();
        Timeline grid = document.timeline();
        for (const auto &stage : grid) {
            QVERIFY(stage[0] != stage[1]); // neighbours differ with a pool of five tasks
        }
        designer.makeHomogeneous();
        grid = document.timeline();
        for (const auto &stage : grid) {
            QVERIFY(std::all_of(stage.begin(), stage.end(), [&](const QString &t) {
                return t == stage[0];
            }));
        }
        QVERIFY(designer.isValid());
    }

    void workerDeliversSignalsInOrder()
    {
        const QString db = m_dir->filePath(QStringLiteral("runs.sqlite"));
        RunController controller;
        QStringList order;
        connect(controller.bridge(), &RunBridge::runStarted, this, [&] {
            order << QStringLiteral("started");
        });
        connect(controller.bridge(), &RunBridge::roundFinished, this, [&](const RoundMetrics &r) {
            order << QStringLiteral("round %1.%2").arg(r.stage + 1).arg(r.round + 1);
        });
        connect(controller.bridge(), &RunBridge::stageFinished, this, [&](const StageMetrics &s) {
            order << QStringLiteral("stage %1").arg(s.stage + 1);
        });
        QSignalSpy finished(controller.bridge(), &RunBridge::runFinished);
        QVERIFY(controller.start(test::tinyExperiment(), db, 2));
        QVERIFY(controller.isRunning());
        QVERIFY(!controller.start(test::tinyExperiment(), db, 2)); // one run at a time
        QVERIFY(finished.wait(120000));
        QCOMPARE(order, (QStringList{"started", "round 1.1", "round 1.2", "stage 1", "round 2.1",
                                     "round 2.2", "stage 2"}));
        QCOMPARE(finished.first().first().value<RunOutcome>().status, RunStatus::Completed);
        QVERIFY(!controller.isRunning());
    }

    void cancelStopsAtTheNextBatchAndKeepsFinishedRounds()
    {
        const QString db = m_dir->filePath(QStringLiteral("runs.sqlite"));
        RunController controller;
        QElapsedTimer sinceCancel;
        int rounds = 0;
        connect(controller.bridge(), &RunBridge::roundFinished, this, [&] {
            if (++rounds == 2) {
                controller.cancel();
                sinceCancel.start();
            }
        });
        RunOutcome outcome;
        connect(controller.bridge(), &RunBridge::runFinished, this, [&](const RunOutcome &o) {
            outcome = o;
        });
        QSignalSpy finished(controller.bridge(), &RunBridge::runFinished);
        // Long rounds: 4 clients x 2,000 samples, so a round takes far longer than one batch.
        controller.start(test::tinyExperiment({}, 4, 3, 20, 2000), db, 2);
        QVERIFY(finished.wait(120000));
        qDebug("cancel to finish: %lld ms", sinceCancel.elapsed());
        QCOMPARE(outcome.status, RunStatus::Cancelled);
        // The GUI drains events in batches, so the engine may have finished a third round before
        // the cancel reached it, but never more, and never a whole further stage.
        auto store = RunStore::open(db);
        int lossRows = 0;
        for (const MetricRow &row : store.value()->metrics(outcome.runId).value()) {
            lossRows += row.kind == QLatin1String("loss") ? 1 : 0;
        }
        QVERIFY2(lossRows >= 2 && lossRows <= 3, qPrintable(QString::number(lossRows)));
        QCOMPARE(store.value()->run(outcome.runId)->status, RunStatus::Cancelled);
    }

    void pauseHoldsTheEngineBetweenRounds()
    {
        // Waits on the engine's own "held" event, never on a guess of how fast rounds are (issue
        // 6: the sleep-based version failed one run in four under load). Paused right after the
        // start, the engine holds after the first round it finishes (the run loads its data
        // first), whichever round that is under load.
        RunController controller;
        int rounds = 0;
        connect(controller.bridge(), &RunBridge::roundFinished, this, [&] {
            ++rounds;
        });
        QSignalSpy held(controller.bridge(), &RunBridge::engineHeld);
        QSignalSpy finished(controller.bridge(), &RunBridge::runFinished);
        controller.start(test::tinyExperiment(), m_dir->filePath(QStringLiteral("runs.sqlite")), 1);
        controller.pause();
        QVERIFY(held.wait(60000));
        const int heldAfter = held.first().first().toInt();
        QVERIFY(heldAfter >= 0 && heldAfter < 4);
        QCOMPARE(rounds, heldAfter + 1); // every round up to the held one has been delivered
        QVERIFY(controller.isPaused());
        QTest::qWait(300); // a held engine delivers nothing, however long we look
        QCOMPARE(rounds, heldAfter + 1);
        QCOMPARE(held.size(), 1);
        QCOMPARE(finished.size(), 0);
        controller.resume();
        QVERIFY(finished.wait(60000));
        QCOMPARE(rounds, 4);
    }

    void historyModelSortsNumericallyAndFilters()
    {
        std::vector<RunRecord> runs(4);
        const double acc[] = {0.9, 0.25, std::nan(""), 0.5};
        const RunStatus status[] = {RunStatus::Completed, RunStatus::Completed, RunStatus::Failed,
                                    RunStatus::Interrupted};
        for (int i = 0; i < 4; ++i) {
            runs[static_cast<std::size_t>(i)].id = i + 1;
            runs[static_cast<std::size_t>(i)].name =
                QStringLiteral("run %1").arg(QChar(QLatin1Char('a' + i)));
            runs[static_cast<std::size_t>(i)].finalAverageAccuracy = acc[i];
            runs[static_cast<std::size_t>(i)].status = status[i];
        }
        HistoryPanel panel;
        panel.model()->setRuns(runs);
        HistoryFilterModel *filter = panel.filterModel();
        filter->sort(HistoryModel::Accuracy, Qt::DescendingOrder);
        QCOMPARE(filter->index(0, HistoryModel::Id).data().toLongLong(), 1);
        QCOMPARE(filter->index(1, HistoryModel::Id).data().toLongLong(), 4);
        QCOMPARE(filter->index(2, HistoryModel::Id).data().toLongLong(), 2);
        QCOMPARE(filter->index(3, HistoryModel::Id).data().toLongLong(), 3); // no metric sorts last
        QCOMPARE(filter->index(3, HistoryModel::Accuracy).data().toString(), QStringLiteral("–"));
        filter->setStatusFilter(QStringLiteral("interrupted"));
        QCOMPARE(filter->rowCount(), 1);
        QCOMPARE(filter->index(0, HistoryModel::Status).data().toString(),
                 QStringLiteral("interrupted"));
        filter->setStatusFilter(QString());
        filter->setFilterRegularExpression(QRegularExpression(QStringLiteral("run b|fail")));
        QCOMPARE(filter->rowCount(), 2); // "run b" by name, run c by status
    }

    void reportContainsTheRunOnAtMostTwoPages()
    {
        const QString db = m_dir->filePath(QStringLiteral("runs.sqlite"));
        auto store = RunStore::open(db);
        test::RecordingObserver observer;
        CancellationToken cancel;
        const RunOutcome outcome =
            runExperiment(test::tinyExperiment(), store.value().get(), observer, cancel);
        QCOMPARE(outcome.status, RunStatus::Completed);
        auto runs = loadReportRuns(*store.value(), {outcome.runId});
        QVERIFY(runs.isOk());
        QString error;
        const QString html = m_dir->filePath(QStringLiteral("report.html"));
        QVERIFY2(ReportWriter::write(html, runs.value(), &error), qPrintable(error));
        QFile htmlFile(html);
        QVERIFY(htmlFile.open(QIODevice::ReadOnly));
        const QString text = QString::fromUtf8(htmlFile.readAll());
        QVERIFY(text.contains(QStringLiteral("Run %1: tiny").arg(outcome.runId)));
        QVERIFY(text.contains(QString::number(outcome.summary.finalAverageAccuracy, 'f', 3)));
        QVERIFY(text.contains(QString::number(outcome.summary.finalAverageForgetting, 'f', 3)));
        QVERIFY(text.count(QStringLiteral("data:image/png;base64,")) >= 4);

        const QString pdf = m_dir->filePath(QStringLiteral("report.pdf"));
        QVERIFY2(ReportWriter::write(pdf, runs.value(), &error), qPrintable(error));
        QFile pdfFile(pdf);
        QVERIFY(pdfFile.open(QIODevice::ReadOnly));
        const QByteArray bytes = pdfFile.readAll();
        QVERIFY(bytes.startsWith("%PDF-"));
        QVERIFY(bytes.trimmed().endsWith("%%EOF"));
        // A run takes one page (config, matrix, four charts two to a row), maybe two with the
        // summary before it; never the seven of the old layout.
        const auto pages = bytes.count("/Type /Page\n") + bytes.count("/Type /Page\r") +
                           bytes.count("/Type /Page ") + bytes.count("/Type /Page>");
        QVERIFY2(pages >= 1 && pages <= 2, qPrintable(QString::number(pages)));
        QVERIFY(!ReportWriter::write(m_dir->filePath(QStringLiteral("report.txt")), runs.value(),
                                     &error));
        QVERIFY(error.contains(QStringLiteral(".pdf, .html, .csv or .json")));
    }

    void selectedRunsExportToCsvAndJson()
    {
        const QString db = m_dir->filePath(QStringLiteral("runs.sqlite"));
        auto store = RunStore::open(db);
        test::RecordingObserver observer;
        CancellationToken cancel;
        const qint64 first =
            runExperiment(test::tinyExperiment(), store.value().get(), observer, cancel).runId;
        const qint64 second =
            runExperiment(test::tinyExperiment(), store.value().get(), observer, cancel).runId;
        QString error;
        const QString csv = m_dir->filePath(QStringLiteral("runs.csv"));
        QVERIFY2(exportRuns(*store.value(), {first, second}, csv, &error), qPrintable(error));
        QFile csvFile(csv);
        QVERIFY(csvFile.open(QIODevice::ReadOnly));
        const QList<QByteArray> lines = csvFile.readAll().trimmed().split('\n');
        const int rowsPerRun = static_cast<int>(store.value()->metrics(first)->size());
        QCOMPARE(lines.size(), 1 + 2 * rowsPerRun);
        QVERIFY(lines.last().startsWith(QByteArray::number(second) + ','));
        const QString json = m_dir->filePath(QStringLiteral("runs.json"));
        QVERIFY2(exportRuns(*store.value(), {first, second}, json, &error), qPrintable(error));
        QFile jsonFile(json);
        QVERIFY(jsonFile.open(QIODevice::ReadOnly));
        const QJsonArray array = QJsonDocument::fromJson(jsonFile.readAll()).array();
        QCOMPARE(array.size(), 2);
        QCOMPARE(array.at(1).toObject().value(QStringLiteral("metrics")).toArray().size(),
                 rowsPerRun);
    }

    void comparisonIsPickedByTicksAndSaysWhatDiffers()
    {
        const QString db = m_dir->filePath(QStringLiteral("runs.sqlite"));
        {
            auto store = RunStore::open(db);
            QVERIFY(store);
            test::RecordingObserver observer;
            CancellationToken cancel;
            QCOMPARE(
                runExperiment(test::tinyExperiment(), store.value().get(), observer, cancel).status,
                RunStatus::Completed);
            QCOMPARE(runExperiment(test::tinyExperiment(QStringLiteral(R"({"method": "replay"})")),
                                   store.value().get(), observer, cancel)
                         .status,
                     RunStatus::Completed);
            // EWC a million times too strong diverges in stage 2.
            QCOMPARE(runExperiment(test::tinyExperiment(
                                       QStringLiteral(R"({"method": "ewc", "lambda": 1000000})")),
                                   store.value().get(), observer, cancel)
                         .status,
                     RunStatus::Failed);
        }
        HistoryPanel history;
        QString error;
        QVERIFY2(history.openDatabase(db, &error), qPrintable(error));
        HistoryModel *model = history.model();
        QCOMPARE(model->rowCount(), 3);
        auto rowOf = [&](qint64 id) {
            for (int row = 0; row < model->rowCount(); ++row) {
                if (model->run(row).id == id) {
                    return row;
                }
            }
            return -1;
        };
        // The failed run has no final metrics, not its stage-1 numbers.
        QCOMPARE(
            model->data(model->index(rowOf(3), HistoryModel::Accuracy), Qt::DisplayRole).toString(),
            QStringLiteral("–"));
        QCOMPARE(history.compareTable()->rowCount(), 0);
        QVERIFY(!history.differsLabel()->isVisibleTo(&history));

        // Ticking runs 1 and 2 compares them; each gets its curve's colour beside its name.
        QVERIFY(model->setData(model->index(rowOf(1), HistoryModel::Id), Qt::Checked,
                               Qt::CheckStateRole));
        QVERIFY(model->setData(model->index(rowOf(2), HistoryModel::Id), Qt::Checked,
                               Qt::CheckStateRole));
        QCOMPARE(history.selectedRunIds().size(), std::size_t(2));
        QCOMPARE(model->data(model->index(rowOf(1), HistoryModel::Id), Qt::CheckStateRole).toInt(),
                 static_cast<int>(Qt::Checked));
        QVERIFY(model->data(model->index(rowOf(2), HistoryModel::Name), Qt::DecorationRole)
                    .canConvert<QColor>());
        QVERIFY(
            !model->data(model->index(rowOf(3), HistoryModel::Name), Qt::DecorationRole).isValid());
        QCustomPlot *plot = history.comparePlot();
        QCOMPARE(plot->graphCount(), 2);
        QVERIFY2(plot->graph(0)->name().startsWith(QStringLiteral("#")) &&
                     plot->graph(0)->name().contains(model->run(rowOf(1)).name.left(10)),
                 qPrintable(plot->graph(0)->name()));
        QVERIFY(history.differsLabel()->isVisibleTo(&history));
        QVERIFY2(history.differsLabel()->text().contains(
                     QStringLiteral("continual.method: finetune | replay")),
                 qPrintable(history.differsLabel()->text()));
        // Replay's own settings are implied by the method line, not listed again.
        QVERIFY(!history.differsLabel()->text().contains(QStringLiteral("buffer_per_client")));
        QCOMPARE(history.compareTable()->rowCount(), 2); // one row per run, all of it shown
        QCOMPARE(history.compareTable()->columnCount(), 8);

        // Any metric can be overlaid.
        history.compareMetric()->setCurrentIndex(
            history.compareMetric()->findData(static_cast<int>(CompareMetric::Communication)));
        QCOMPARE(plot->yAxis->label(), QStringLiteral("MB sent (cumulative)"));
        const RunRecord first = model->run(rowOf(1));
        QCOMPARE(plot->graph(0)->data()->at(plot->graph(0)->data()->size() - 1)->value,
                 double(first.bytesUp + first.bytesDown) / 1e6);

        // Unticking removes it again.
        QVERIFY(model->setData(model->index(rowOf(2), HistoryModel::Id), Qt::Unchecked,
                               Qt::CheckStateRole));
        QCOMPARE(history.selectedRunIds(), std::vector<qint64>{1});
        QCOMPARE(plot->graphCount(), 1);
        QVERIFY(!history.differsLabel()->isVisibleTo(&history));
    }

    void mainWindowFitsALaptopScreen()
    {
        // 1280x720 less a title bar and a panel: everything must fit without scrolling the window.
        MainWindow window(m_dir->filePath(QStringLiteral("runs.sqlite")));
        QVERIFY(window.openExperiment(
            QStringLiteral(FCL_SOURCE_DIR "/resources/presets/pcft-personal.json")));
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QCoreApplication::processEvents();
        const QSize minimum = window.minimumSizeHint().expandedTo(window.minimumSize());
        QVERIFY2(minimum.width() <= 1280 && minimum.height() <= 680,
                 qPrintable(QStringLiteral("%1x%2").arg(minimum.width()).arg(minimum.height())));
        // View > Designer off: the plots take the room (at least half the width).
        window.resize(1280, 720);
        QAction *designer = nullptr;
        for (QAction *action : window.findChildren<QAction *>()) {
            designer = action->text() == QLatin1String("&Designer") ? action : designer;
        }
        QVERIFY(designer != nullptr && designer->isChecked());
        designer->trigger();
        QVERIFY(!window.findChild<DesignerPanel *>()->isVisible());
        QTRY_VERIFY(window.plots()->width() >= 1280 / 2); // laid out on the next events
        designer->trigger();
        QVERIFY(window.findChild<DesignerPanel *>()->isVisible());
    }

    void runToolTipNamesTheCurrentErrors()
    {
        MainWindow window(m_dir->filePath(QStringLiteral("runs.sqlite")));
        QVERIFY(window.openExperiment(writeTinyExperiment()));
        QVERIFY(window.runAction()->isEnabled());
        window.document()->setSectionValue(QStringLiteral("federated"), QStringLiteral("lr"), -1);
        QVERIFY(!window.runAction()->isEnabled());
        QVERIFY2(window.runAction()->toolTip().contains(QStringLiteral("federated.lr")),
                 qPrintable(window.runAction()->toolTip()));
        // A second error, then the first fixed, Run disabled throughout: the tooltip follows
        // (it was only refreshed when Run's state flipped, so it kept the fixed error).
        window.document()->setSectionValue(QStringLiteral("federated"),
                                           QStringLiteral("local_epochs"), -3);
        window.document()->setSectionValue(QStringLiteral("federated"), QStringLiteral("lr"), 0.05);
        QVERIFY(!window.runAction()->isEnabled());
        QVERIFY(!window.runAction()->toolTip().contains(QStringLiteral("federated.lr")));
        QVERIFY2(window.runAction()->toolTip().contains(QStringLiteral("federated.local_epochs")),
                 qPrintable(window.runAction()->toolTip()));
    }

    void wheelChangesNumberBoxesOnlyOnceFocused()
    {
        MainWindow window(m_dir->filePath(QStringLiteral("runs.sqlite")));
        window.resize(1280, 720);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY(window.openExperiment(
            QStringLiteral(FCL_SOURCE_DIR "/resources/presets/default.json")));
        auto *box = window.findChild<QDoubleSpinBox *>(QStringLiteral("federated.participation"));
        QVERIFY(box != nullptr);
        QTRY_VERIFY(box->isVisible()); // new method forms are shown from the event loop
        QCOMPARE(box->focusPolicy(), Qt::StrongFocus); // a wheel does not give it focus
        const double before = box->value();
        const int undoSteps = window.document()->undoStack()->count();
        const QPointF at(box->width() / 2.0, box->height() / 2.0);
        auto wheel = [&] {
            QWheelEvent event(at, box->mapToGlobal(at), QPoint(), QPoint(0, -120), Qt::NoButton,
                              Qt::NoModifier, Qt::NoScrollPhase, false);
            QApplication::sendEvent(box, &event);
        };
        wheel();
        wheel();
        QCOMPARE(box->value(), before);
        QCOMPARE(window.document()->undoStack()->count(), undoSteps);

        // Focused (a click or Tab), the wheel edits as usual: one undo step per tick.
        window.activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(&window));
        box->setFocus(Qt::TabFocusReason);
        QTRY_VERIFY(box->hasFocus());
        wheel();
        QCOMPARE(box->value(), before - box->singleStep());
        QCOMPARE(window.document()->undoStack()->count(), undoSteps + 1);
    }

    void examplesListEveryPresetWithWhatToLookFor()
    {
        QCOMPARE(lookForLine(QStringLiteral("An example. Look for (measured, seed 3): ACC 0.50 "
                                            "and pcft.trust. Then more.")),
                 QStringLiteral("Look for: ACC 0.50 and pcft.trust."));
        QCOMPARE(lookForLine(QStringLiteral("First sentence, v1.2 here. Second.")),
                 QStringLiteral("First sentence, v1.2 here."));

        const QString dir = QStringLiteral(FCL_SOURCE_DIR "/resources/presets");
        const std::vector<PresetInfo> presets = listPresets(dir);
        QCOMPARE(static_cast<qsizetype>(presets.size()),
                 QDir(dir).entryList({QStringLiteral("*.json")}, QDir::Files).size());
        QCOMPARE(presets.front().id, QStringLiteral("default"));
        int pcft = -1;
        for (std::size_t i = 0; i < presets.size(); ++i) {
            // Every shipped example says what to look for.
            QVERIFY2(presets[i].lookFor.startsWith(QStringLiteral("Look for: ")),
                     qPrintable(presets[i].id + QStringLiteral(": ") + presets[i].lookFor));
            pcft = presets[i].id == QLatin1String("pcft-personal") ? static_cast<int>(i) : pcft;
        }
        QVERIFY(pcft > 0);

        ExamplesDialog dialog(presets);
        QCOMPARE(dialog.list()->count(), static_cast<int>(presets.size()));
        QCOMPARE(dialog.selectedPath(), presets.front().path);
        dialog.list()->setCurrentRow(pcft);
        QCOMPARE(dialog.selectedPath(), QDir(dir).absoluteFilePath("pcft-personal.json"));
        QVERIFY(dialog.details()->toPlainText().contains(QStringLiteral("trust matrix")));

        // The File menu lists them too; choosing one opens it and shows its description.
        MainWindow window(m_dir->filePath(QStringLiteral("runs.sqlite")));
        QMenu *menu = nullptr;
        for (QMenu *candidate : window.menuBar()->findChildren<QMenu *>()) {
            menu = candidate->title() == QLatin1String("&Example") ? candidate : menu;
        }
        QVERIFY(menu != nullptr);
        QCOMPARE(menu->actions().size(), static_cast<qsizetype>(presets.size()));
        menu->actions().at(pcft)->trigger();
        QCOMPARE(QFileInfo(window.document()->path()).fileName(),
                 QStringLiteral("pcft-personal.json"));
        QLabel *description = window.findChild<DesignerPanel *>()->description();
        QVERIFY(description->isVisibleTo(&window));
        // Three lines of it on the panel (elided with "…"), all of it on hover.
        const QString full = presets[static_cast<std::size_t>(pcft)].description.simplified();
        QCOMPARE(description->toolTip(), QStringLiteral("<p>%1</p>").arg(full.toHtmlEscaped()));
        QVERIFY(full.startsWith(description->text().chopped(1)));
        QVERIFY(description->text().endsWith(QChar(0x2026)));
        window.newExperiment();
        QVERIFY(!description->isVisibleTo(&window)); // no description, no empty box
    }

    void mainWindowRunsATinyPresetAndPlotsEveryRound()
    {
        const QString db = m_dir->filePath(QStringLiteral("runs.sqlite"));
        MainWindow window(db);
        window.show();
        QVERIFY(window.openExperiment(writeTinyExperiment(2, 3)));
        QVERIFY(window.runAction()->isEnabled());
        QSignalSpy completed(&window, &MainWindow::runCompleted);
        window.resize(1280, 720);
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        auto *designer = window.findChild<DesignerPanel *>();
        QVERIFY(designer->isVisible());
        QVERIFY(window.startRun());
        QVERIFY(!window.runAction()->isEnabled());
        // At 1280 px the designer cannot leave the plots half the width: it steps aside for the
        // run and comes back after it.
        QVERIFY(!designer->isVisible());
        QVERIFY(completed.wait(120000));
        QVERIFY2(window.lastErrorMessage().isEmpty(), qPrintable(window.lastErrorMessage()));
        QVERIFY(designer->isVisible());
        PlotsPanel *plots = window.plots();
        // Hidden tabs are redrawn when shown, as a user would see them.
        QCOMPARE(plots->currentWidget(), plots->taskPlot());
        QCOMPARE(plots->taskPlot()->graphCount(), 2);
        QCOMPARE(plots->taskPlot()->graph(0)->data()->size(),
                 6); // 2 stages x 3 rounds, all evaluated
        plots->setCurrentWidget(plots->communicationPlot());
        QCOMPARE(plots->communicationPlot()->graph(0)->data()->size(), 6);
        plots->setCurrentWidget(plots->averagePlot());
        QCOMPARE(plots->averagePlot()->graph(1)->data()->size(), 6);
        plots->setCurrentWidget(plots->clientPlot());
        QCOMPARE(plots->clientPlot()->graphCount(), 3);
        plots->setCurrentWidget(plots->matrixPlot());
        auto *heatmap = qobject_cast<QCPColorMap *>(plots->matrixPlot()->plottable(0));
        QVERIFY(heatmap != nullptr);
        QVERIFY(!std::isnan(heatmap->data()->cell(1, 1)));
        QCOMPARE(window.history()->model()->rowCount(), 1);
        QCOMPARE(window.history()->model()->run(0).status, RunStatus::Completed);
        QVERIFY(window.runAction()->isEnabled());
    }

    void plotsFollowADarkPalette()
    {
        PlotsPanel plots;
        plots.resize(600, 400);
        plots.show();
        QVERIFY(QTest::qWaitForWindowExposed(&plots));
        const QPalette light = QApplication::palette();
        auto corner = [&] {
            return plots.taskPlot()->toPixmap(200, 120).toImage().pixelColor(2, 2);
        };
        QVERIFY(corner().lightness() > 128);
        QPalette dark = light;
        dark.setColor(QPalette::Base, QColor(30, 30, 30));
        dark.setColor(QPalette::Text, QColor(230, 230, 230));
        QApplication::setPalette(dark);
        QCoreApplication::processEvents();
        QVERIFY2(corner().lightness() < 64, qPrintable(corner().name()));
        QApplication::setPalette(light);
    }

    void runErrorsShowADialogNotACrash()
    {
        MainWindow window(m_dir->filePath(QStringLiteral("runs.sqlite")));
        QVERIFY(window.openExperiment(writeTinyExperiment()));
        window.document()->setTopLevel(
            QStringLiteral("data"),
            QJsonObject{{QStringLiteral("fashion_mnist_dir"), QStringLiteral("/nonexistent")}});
        QSignalSpy completed(&window, &MainWindow::runCompleted);
        QVERIFY(window.startRun());
        QVERIFY(completed.wait(60000));
        QVERIFY(window.lastErrorMessage().contains(
            QStringLiteral("cannot load Fashion-MNIST from /nonexistent")));
        QVERIFY(window.findChild<QMessageBox *>() != nullptr);
    }
};

QTEST_MAIN(TestUi)
#include "tst_ui.moc"
