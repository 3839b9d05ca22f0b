// SPDX-License-Identifier: MIT
// fcl: the command-line front end. Links fcl::core only.
#include "app/cli/commands.h"

#include <QCoreApplication>

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("fcl"));
    QCoreApplication::setOrganizationName(QStringLiteral("fcl-workbench"));
    return fcl::cli::dispatch(QCoreApplication::arguments());
}
