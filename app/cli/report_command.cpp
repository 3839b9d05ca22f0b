// SPDX-License-Identifier: MIT
#include "app/cli/report_command.h"

#include "app/cli/commands.h"
#include "core/store/run_export.h"
#include "core/store/run_store.h"
#include "ui/report/report_writer.h"

#include <QTextStream>

namespace fcl::cli {

int commandReport(const QStringList &args)
{
    QTextStream err(stderr);
    QString output;
    QString db = RunStore::defaultPath();
    std::vector<qint64> ids;
    for (int i = 0; i < args.size(); ++i) {
        if ((args[i] == QLatin1String("-o") || args[i] == QLatin1String("--output")) &&
            i + 1 < args.size()) {
            output = args[++i];
        } else if (args[i] == QLatin1String("--db") && i + 1 < args.size()) {
            db = args[++i];
        } else {
            bool ok = false;
            const qint64 id = args[i].toLongLong(&ok);
            if (!ok || id <= 0) {
                err << "fcl: report: \"" << args[i] << "\" is not a run id or option" << Qt::endl;
                return kExitBadInput;
            }
            ids.push_back(id);
        }
    }
    if (ids.empty() || output.isEmpty()) {
        err << "fcl: report needs run ids and an output file: fcl report RUN... -o OUT.pdf|.html"
            << Qt::endl;
        return kExitBadInput;
    }
    if (const QString problem = ui::exportPathProblem(output); !problem.isEmpty()) {
        err << "fcl: " << problem << Qt::endl;
        return kExitBadInput;
    }
    auto store = RunStore::open(db, RunStore::OpenMode::ReadOnly);
    if (!store) {
        err << "fcl: " << store.errorString() << Qt::endl;
        return kExitBadInput;
    }
    // A missing or corrupt run is bad input (exit 2); a file that cannot be written is a failure
    // (exit 1). Every stored value is checked before anything is drawn.
    if (auto runs = loadRunExports(*store.value(), ids); !runs) {
        err << "fcl: " << runs.errorString() << Qt::endl;
        return kExitBadInput;
    }
    QString error;
    if (!ui::exportRuns(*store.value(), ids, output, &error)) {
        err << "fcl: " << error << Qt::endl;
        return error.contains(QStringLiteral("suffix")) ? kExitBadInput : kExitRunFailed;
    }
    QTextStream(stdout) << "wrote " << output << Qt::endl;
    return kExitOk;
}

} // namespace fcl::cli
