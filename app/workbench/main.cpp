// SPDX-License-Identifier: MIT
// fcl-workbench: the GUI. Without a display it runs the experiment headless and writes the report.
#include "core/store/run_store.h"
#include "ui/main/headless_run.h"
#include "ui/main/main_window.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>

int main(int argc, char *argv[])
{
    const bool hasDisplay = qEnvironmentVariableIsSet("DISPLAY") ||
                            qEnvironmentVariableIsSet("WAYLAND_DISPLAY") ||
                            qEnvironmentVariableIsSet("QT_QPA_PLATFORM");
    if (!hasDisplay) {
        fcl::ui::prepareOffscreenPlatform();
    }
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("fcl-workbench"));
    QApplication::setOrganizationName(QStringLiteral("fcl-workbench"));
    QApplication::setApplicationDisplayName(QStringLiteral("FCL Workbench"));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Design, run and compare federated continual learning experiments."));
    parser.addHelpOption();
    parser.addPositionalArgument(QStringLiteral("experiment"),
                                 QStringLiteral("Experiment file to open (JSON)."));
    const QCommandLineOption db(QStringLiteral("db"), QStringLiteral("Run database."),
                                QStringLiteral("file"), fcl::RunStore::defaultPath());
    const QCommandLineOption headless(
        QStringLiteral("headless"),
        QStringLiteral("Run the experiment without a window and write a report."));
    const QCommandLineOption report(
        QStringLiteral("report"), QStringLiteral("Report file for headless runs (.pdf or .html)."),
        QStringLiteral("file"), QStringLiteral("fcl-report.pdf"));
    parser.addOptions({db, headless, report});
    parser.process(app);
    const QStringList files = parser.positionalArguments();

    if (!hasDisplay || parser.isSet(headless)) {
        if (files.isEmpty()) {
            qWarning("fcl-workbench: no display; give an experiment file to run headless");
            return 2;
        }
        return fcl::ui::runHeadless(files.first(), parser.value(db), parser.value(report));
    }
    fcl::ui::MainWindow window(parser.value(db));
    if (!files.isEmpty()) {
        window.openExperiment(files.first());
    } else {
        window.newExperiment();
    }
    window.show();
    if (files.isEmpty()) {
        // No file: start from the examples (Cancel keeps the blank experiment).
        QTimer::singleShot(0, &window, [&window] {
            window.showExamples();
        });
    }
    return QApplication::exec();
}
