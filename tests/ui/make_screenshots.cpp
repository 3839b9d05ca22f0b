// SPDX-License-Identifier: MIT
// Drives the real workbench and saves the README's screenshots: the designer, a run in progress,
// a finished comparison, FCIT's heterogeneous scenario and its dialog, SCAFFOLD's observations, PCFT's trust graph with its hover, FedHDS's
// client scatter, DISCO's slot assignment, plus a report. The window takes the screen's size; run
// under xvfb-run at the size wanted:
//   xvfb-run -s "-screen 0 1920x1080x24" ./build/tests/make_screenshots OUT_DIR
//   make_screenshots OUT_DIR --screen EXP.json   the window as it first opens, EXP loaded
#include "ui/designer/designer_panel.h"
#include "ui/designer/fcit_dialog.h"
#include "ui/history/ask_dialog.h"
#include "ui/history/history_panel.h"
#include "ui/main/main_window.h"
#include "ui/plots/plots_panel.h"
#include "ui/report/report_writer.h"
#include "ui/run/run_controller.h"

#include <qcustomplot.h>

#include <QApplication>
#include <QComboBox>
#include <QDir>
#include <QEventLoop>
#include <QMouseEvent>
#include <QScreen>
#include <QSlider>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTimer>

namespace {
void waitMs(int ms)
{
    QEventLoop loop;
    QTimer::singleShot(ms, &loop, &QEventLoop::quit);
    loop.exec();
}

void save(QWidget *widget, const QString &path)
{
    widget->grab().save(path);
    qInfo("wrote %s", qPrintable(path));
}
} // namespace

int main(int argc, char *argv[])
{
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("fcl-workbench-screenshots"));
    const QString out = argc > 1 ? QString::fromLocal8Bit(argv[1]) : QStringLiteral("screenshots");
    QDir().mkpath(out);
    if (argc == 6 && QString::fromLocal8Bit(argv[2]) == QLatin1String("--ask")) {
        // make_screenshots OUT --ask DB RUN TASK: the "Ask the model" dialog on a stored run,
        // asking the task's first test sample.
        fcl::AskDialog ask(QString::fromLocal8Bit(argv[3]),
                           QString::fromLocal8Bit(argv[4]).toLongLong());
        ask.show();
        QEventLoop answered;
        QObject::connect(&ask, &fcl::AskDialog::answered, &answered, &QEventLoop::quit);
        ask.setQuestion(QString::fromLocal8Bit(argv[5]), QStringLiteral("0"), QString());
        ask.ask();
        answered.exec();
        waitMs(200);
        save(&ask, out + QStringLiteral("/ask.png"));
        return 0;
    }
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("runs.sqlite"));
    if (argc == 4 && QString::fromLocal8Bit(argv[2]) == QLatin1String("--screen")) {
        // make_screenshots OUT --screen EXPERIMENT: the window as it first opens on this screen
        // (its own size, no saved layout), the experiment loaded, grabbed with the desktop.
        fcl::ui::MainWindow window(db);
        window.openExperiment(QString::fromLocal8Bit(argv[3]));
        window.show();
        waitMs(800);
        QApplication::primaryScreen()->grabWindow(0).save(out + QStringLiteral("/screen.png"));
        qInfo("wrote %s/screen.png (window %dx%d)", qPrintable(out), window.width(),
              window.height());
        return 0;
    }

    fcl::ui::MainWindow window(db);
    // The whole screen: run under xvfb-run -s "-screen 0 1920x1080x24" (or 1280x720) to see the
    // workbench at that size.
    window.resize(QApplication::primaryScreen()->availableGeometry().size());
    window.show();
    window.openExperiment(QStringLiteral(FCL_SOURCE_DIR "/resources/presets/default.json"));
    waitMs(500);
    save(&window, out + QStringLiteral("/designer.png"));

    // FCIT's heterogeneous scenario in the designer (positional stages), and the dialog that
    // generates such scenarios.
    window.openExperiment(QStringLiteral(FCL_SOURCE_DIR "/resources/presets/fcit-het.json"));
    waitMs(500);
    save(&window, out + QStringLiteral("/fcit-designer.png"));
    {
        fcl::ui::FcitDialog dialog(window.document()->json(), &window);
        dialog.setting()->setCurrentIndex(1);
        dialog.show();
        waitMs(300);
        save(&dialog, out + QStringLiteral("/fcit-dialog.png"));
    }
    window.openExperiment(QStringLiteral(FCL_SOURCE_DIR "/resources/presets/default.json"));
    waitMs(300);

    // A finetune run to completion, then a replay run caught in progress.
    QEventLoop done;
    QObject::connect(&window, &fcl::ui::MainWindow::runCompleted, &done, &QEventLoop::quit);
    window.startRun();
    done.exec();
    window.document()->setSectionMethod(QStringLiteral("continual"), QStringLiteral("replay"));
    window.document()->setTopLevel(
        QStringLiteral("name"),
        QStringLiteral("Class-incremental Fashion-MNIST, 10 clients, FedAvg + replay"));
    window.startRun();
    while (window.runController()->roundsDone() < 13) {
        waitMs(50);
    }
    window.runController()->pause();
    waitMs(300);
    save(&window, out + QStringLiteral("/run-in-progress.png"));
    window.runController()->resume();
    done.exec();

    window.history()->selectRuns({1, 2});
    waitMs(400);
    save(&window, out + QStringLiteral("/comparison.png"));
    window.plots()->setCurrentIndex(2);
    waitMs(200);
    save(window.plots(), out + QStringLiteral("/accuracy-matrix.png"));

    // A SCAFFOLD run: its per-client control-variate norms appear as an observation tab.
    window.document()->setSectionMethod(QStringLiteral("federated"), QStringLiteral("scaffold"));
    window.document()->setTopLevel(
        QStringLiteral("name"),
        QStringLiteral("Class-incremental Fashion-MNIST, 10 clients, SCAFFOLD + replay"));
    window.startRun();
    done.exec();
    window.history()->selectRuns({3});
    if (QCustomPlot *norms =
            window.plots()->observationPlot(QStringLiteral("scaffold.control_variate_norm"))) {
        window.plots()->showPlot(norms);
    }
    waitMs(400);
    save(&window, out + QStringLiteral("/observations.png"));

    // PCFT's trust graph, four rounds of the shipped preset, the slider on round 3 and the
    // pointer on a node (a screen grab, so that the tooltip shows).
    window.openExperiment(QStringLiteral(FCL_SOURCE_DIR "/resources/presets/pcft-personal.json"));
    window.document()->setSectionValue(QStringLiteral("federated"),
                                       QStringLiteral("rounds_per_stage"), 4);
    window.startRun();
    done.exec();
    if (QCustomPlot *graph = window.plots()->observationPlot(QStringLiteral("pcft.trust_graph"))) {
        window.plots()->showPlot(graph);
        QSlider *slider = window.plots()->observationSlider(QStringLiteral("pcft.trust_graph"));
        slider->setValue(std::max(0, slider->maximum() - 1));
        waitMs(300);
        // Node 0 sits at the top of the circle (0, 1).
        const QPoint node(qRound(graph->xAxis->coordToPixel(0)),
                          qRound(graph->yAxis->coordToPixel(1)));
        QMouseEvent move(QEvent::MouseMove, QPointF(node), QPointF(graph->mapToGlobal(node)),
                         Qt::NoButton, Qt::NoButton, Qt::NoModifier);
        QApplication::sendEvent(graph, &move);
        waitMs(400);
        QApplication::primaryScreen()->grabWindow(0).save(out + QStringLiteral("/trust-graph.png"));
    } else {
        qWarning("the PCFT run has no trust graph");
        return 1;
    }

    // FedHDS's scatters: five rounds of the shipped preset, one client's samples in 2-D with
    // its clusters and the selected ones.
    window.openExperiment(QStringLiteral(FCL_SOURCE_DIR "/resources/presets/fedhds.json"));
    window.document()->setSectionValue(QStringLiteral("federated"),
                                       QStringLiteral("rounds_per_stage"), 5);
    window.startRun();
    done.exec();
    if (QCustomPlot *scatter =
            window.plots()->observationPlot(QStringLiteral("fedhds.client_scatter"))) {
        window.plots()->showPlot(scatter);
        waitMs(400);
        save(&window, out + QStringLiteral("/fedhds-scatter.png"));
    } else {
        qWarning("the FedHDS run has no client scatter");
        return 1;
    }

    // DISCO's slots: two rounds a stage of the shipped preset, the slot each client's update
    // went to, round by round.
    window.openExperiment(QStringLiteral(FCL_SOURCE_DIR "/resources/presets/disco-hom.json"));
    window.document()->setSectionValue(QStringLiteral("federated"),
                                       QStringLiteral("rounds_per_stage"), 2);
    window.startRun();
    done.exec();
    if (QCustomPlot *assignment =
            window.plots()->observationPlot(QStringLiteral("disco.assignment"))) {
        window.plots()->showPlot(assignment);
        waitMs(400);
        save(&window, out + QStringLiteral("/disco-slots.png"));
    } else {
        qWarning("the DISCO run has no slot assignment");
        return 1;
    }

    auto runs = fcl::ui::loadReportRuns(*window.history()->store(), {1, 2});
    QString error;
    if (!runs ||
        !fcl::ui::ReportWriter::write(out + QStringLiteral("/report.pdf"), runs.value(), &error)) {
        qWarning("report failed: %s", qPrintable(error));
        return 1;
    }
    qInfo("wrote %s/report.pdf", qPrintable(out));
    return 0;
}
