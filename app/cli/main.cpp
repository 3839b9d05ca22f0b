// SPDX-License-Identifier: MIT
// fcl: the command-line front end. Every command but `report` uses only fcl::core.
#include "app/cli/commands.h"
#include "app/cli/report_command.h"
#include "ui/main/headless_run.h"

#include <QApplication>
#include <QCoreApplication>

#include <memory>

int main(int argc, char *argv[])
{
    const bool report = argc > 1 && qstrcmp(argv[1], "report") == 0;
    std::unique_ptr<QCoreApplication> app;
    if (report) {
        // The report renders its plots with widgets: offscreen, so no display is needed.
        fcl::ui::prepareOffscreenPlatform();
        app = std::make_unique<QApplication>(argc, argv);
    } else {
        app = std::make_unique<QCoreApplication>(argc, argv);
    }
    QCoreApplication::setApplicationName(QStringLiteral("fcl"));
    QCoreApplication::setOrganizationName(QStringLiteral("fcl-workbench"));
    const QStringList arguments = QCoreApplication::arguments();
    return fcl::cli::finishOutput(report ? fcl::cli::commandReport(arguments.mid(2))
                                         : fcl::cli::dispatch(arguments));
}
