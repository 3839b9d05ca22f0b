// SPDX-License-Identifier: MIT
#include "app/cli/commands.h"

#include "app/cli/data_commands.h"

#include "app/cli/text_output.h"
#include "core/common/version.h"
#include "core/data/task_catalog.h"
#include "core/sim/engine.h"
#include "core/sim/memory_estimate.h"
#include "core/sim/presets.h"
#include "core/sim/pretrain.h"
#include "core/sim/registry.h"
#include "core/sim/timeline.h"
#include "core/store/run_export.h"
#include "core/store/run_store.h"

#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonObject>
#include <QTextStream>

#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>
#include <unistd.h>

namespace fcl::cli {

QTextStream &out()
{
    static QTextStream stream(stdout);
    return stream;
}

QTextStream &err()
{
    static QTextStream stream(stderr);
    return stream;
}

QString printable(const QString &text)
{
    return escapeControlCharacters(text, true);
}

int badInput(const QString &message)
{
    err() << "fcl: " << printable(message) << Qt::endl;
    return kExitBadInput;
}

namespace {

CancellationToken *g_cancel = nullptr;
volatile std::sig_atomic_t g_signal = 0; ///< the signal that cancelled the run, if any

extern "C" void onInterrupt(int signal)
{
    g_signal = signal;
    if (g_cancel != nullptr) {
        g_cancel->requestCancel();
    }
}

/// A cancelled run exits as shells expect of a command stopped by a signal: 128 + the signal
/// (130 after Ctrl-C / SIGINT, 143 after SIGTERM), so scripts can tell it from a completed run.
int cancelledExitCode()
{
    return 128 + (g_signal != 0 ? static_cast<int>(g_signal) : SIGINT);
}

const char *const kUsage =
    "Usage: fcl <command> [options]\n"
    "\n"
    "Commands:\n"
    "  run EXP.json|EXAMPLE [--db FILE] [--threads N] [--quiet] [--checkpoint-every N]\n"
    "                                                     run an experiment (a file, or a shipped\n"
    "                                                     example by name), store it, print the "
    "results\n"
    "  resume RUN [--db FILE] [--threads N] [--quiet]     continue an interrupted or cancelled run "
    "from\n"
    "                                                     its last checkpoint (same metrics as "
    "uninterrupted)\n"
    "  validate EXP.json                                  check an experiment file, list every "
    "error\n"
    "  tasks                                              list the built-in task catalog\n"
    "  examples                                           list the shipped example experiments\n"
    "  import FILE [--id ID] [--labels F] [--images F] [--instruction T] [--classes a,b,...]\n"
    "         [--test-fraction X] [--seed N]              check a user data file (JSONL, CSV, IDX) "
    "as a task\n"
    "  ask RUN \"INSTRUCTION\" [--image test:N|train:N|F.png] [--sample TASK:N] [--stage S]\n"
    "         [--client C] [--no-untrained] [--db FILE]   ask a run's model after each stage\n"
    "  pretrain -o DIR [--seed N] [--steps N]             train a tiny-vlm base (same seed, same "
    "bytes)\n"
    "  list [--db FILE]                                   list stored runs\n"
    "  show RUN [--db FILE]                               show a run's config, accuracy matrix and "
    "metrics\n"
    "  export RUN --csv|--json [-o FILE] [--db FILE]      export a run's metric rows\n"
    "  report RUN... -o OUT.pdf|.html|.csv|.json [--db FILE]\n"
    "                                                     the workbench's report, without a "
    "window\n"
    "\n"
    "Options:\n"
    "  -h, --help      this text, with every method and parameter of the experiment file\n"
    "  -v, --version   the version\n"
    "\n"
    "Exit codes: 0 success, 1 the run failed, 2 bad input.\n"
    "Default database: $XDG_DATA_HOME/fcl-workbench/runs.sqlite (~/.local/share/...).\n"
    "Experiment file sections, methods and parameters:\n";

/// Options shared by the commands; each command accepts only those it lists.
struct Parsed {
    QStringList positional;
    QString db;
    int threads = 0;
    int checkpointEvery = 0;
    bool quiet = false;
    bool csv = false;
    bool json = false;
    QString output;
    std::uint64_t seed = 1;
    int steps = 0;
};

Result<Parsed> parseOptions(const QStringList &args, const QStringList &allowed)
{
    Parsed parsed;
    for (int i = 0; i < args.size(); ++i) {
        const QString &arg = args[i];
        auto value = [&](QString &target) -> bool {
            if (i + 1 >= args.size()) {
                return false;
            }
            target = args[++i];
            return true;
        };
        const QString name = arg.startsWith(QLatin1String("--")) ? arg.mid(2)
                             : arg == QLatin1String("-o")        ? QStringLiteral("output")
                                                                 : QString();
        if (name.isEmpty()) {
            if (arg.startsWith(QLatin1Char('-')) && arg.size() > 1) {
                return Error{arg, QStringLiteral("unknown option")};
            }
            parsed.positional << arg;
            continue;
        }
        if (!allowed.contains(name)) {
            return Error{arg, QStringLiteral("unknown option for this command")};
        }
        if (name == QLatin1String("db")) {
            if (!value(parsed.db) || parsed.db.isEmpty()) {
                return Error{arg, QStringLiteral("needs a file name")};
            }
        } else if (name == QLatin1String("output")) {
            if (!value(parsed.output)) {
                return Error{arg, QStringLiteral("needs a file name")};
            }
        } else if (name == QLatin1String("seed") || name == QLatin1String("steps")) {
            QString text;
            bool ok = false;
            qulonglong number = 0;
            if (value(text)) {
                number = text.toULongLong(&ok);
            }
            if (!ok || (name == QLatin1String("steps") && (number < 1 || number > 1000000))) {
                return Error{arg, name == QLatin1String("steps")
                                      ? QStringLiteral("needs a whole number from 1 to 1000000")
                                      : QStringLiteral("needs a non-negative whole number")};
            }
            if (name == QLatin1String("seed")) {
                parsed.seed = number;
            } else {
                parsed.steps = static_cast<int>(number);
            }
        } else if (name == QLatin1String("threads")) {
            QString text;
            bool ok = false;
            if (value(text)) {
                parsed.threads = text.toInt(&ok);
            }
            if (!ok || parsed.threads < 1 || parsed.threads > 256) {
                return Error{arg, QStringLiteral("needs a whole number from 1 to 256")};
            }
        } else if (name == QLatin1String("checkpoint-every")) {
            QString text;
            bool ok = false;
            if (value(text)) {
                parsed.checkpointEvery = text.toInt(&ok);
            }
            if (!ok || parsed.checkpointEvery < 0) {
                return Error{arg, QStringLiteral("needs a whole number of rounds (0: stage ends "
                                                 "only)")};
            }
        } else if (name == QLatin1String("quiet")) {
            parsed.quiet = true;
        } else if (name == QLatin1String("csv")) {
            parsed.csv = true;
        } else if (name == QLatin1String("json")) {
            parsed.json = true;
        }
    }
    if (parsed.db.isEmpty()) {
        parsed.db = RunStore::defaultPath();
    }
    return parsed;
}

/// Prints one line per round: stage/round, metrics, ETA.
class ProgressPrinter : public RunObserver {
public:
    explicit ProgressPrinter(bool quiet) : m_quiet(quiet), m_tty(::isatty(STDERR_FILENO) != 0) {}

    void onRunStarted(const RunInfo &info) override
    {
        m_info = info;
        m_timer.start();
        if (!m_quiet) {
            err() << "run " << info.runId << ": " << info.clientNames.size() << " clients, "
                  << info.stages << " stages x " << info.roundsPerStage << " rounds, "
                  << info.taskIds.size() << " tasks, " << formatBytes(double(info.parameterBytes))
                  << " trainable parameters" << Qt::endl;
        }
    }

    void onRoundFinished(const RoundMetrics &round) override
    {
        m_bytes += round.bytesUp + round.bytesDown;
        if (m_quiet) {
            return;
        }
        const int total = m_info.stages * m_info.roundsPerStage;
        const int done = round.globalRound + 1;
        const double elapsed = double(m_timer.elapsed()) / 1000.0;
        const double eta = elapsed / std::max(1, done - m_info.resumedAtRound) * (total - done);
        QString line =
            QStringLiteral("stage %1/%2 round %3/%4  loss %5")
                .arg(round.stage + 1)
                .arg(m_info.stages)
                .arg(round.round + 1)
                .arg(m_info.roundsPerStage)
                .arg(std::isnan(round.trainLoss) ? QStringLiteral("–")
                                                 : QString::number(round.trainLoss, 'f', 3));
        if (round.evaluated) {
            line += QStringLiteral("  avg acc %1  forgetting %2")
                        .arg(round.averageAccuracy, 0, 'f', 3)
                        .arg(round.averageForgetting, 0, 'f', 3);
        }
        line += QStringLiteral("  sent %1  clients %2/%3  ETA %4 s")
                    .arg(formatBytes(double(m_bytes)))
                    .arg(round.clientsReturned)
                    .arg(round.clientsSampled)
                    .arg(eta, 0, 'f', 0);
        if (m_tty) {
            err() << '\r' << line.leftJustified(m_lastWidth) << Qt::flush;
            m_lastWidth = static_cast<int>(line.size());
        } else {
            err() << line << Qt::endl;
        }
    }

    void onMessage(Severity severity, const QString &message) override
    {
        finishLine();
        err() << (severity == Severity::Warning ? "warning: " : "") << message << Qt::endl;
    }

    void onRunFinished(const RunOutcome &) override { finishLine(); }

private:
    void finishLine()
    {
        if (m_tty && m_lastWidth > 0) {
            err() << Qt::endl;
            m_lastWidth = 0;
        }
    }

    bool m_quiet;
    bool m_tty;
    int m_lastWidth = 0;
    std::int64_t m_bytes = 0;
    RunInfo m_info;
    QElapsedTimer m_timer;
};

Result<qint64> parseRunId(const QStringList &positional)
{
    bool ok = false;
    const qint64 id = positional.size() == 1 ? positional.first().toLongLong(&ok) : 0;
    if (!ok || id <= 0) {
        return Error{QStringLiteral("RUN"),
                     QStringLiteral("expected one run id (a number from `fcl list`)")};
    }
    return id;
}

/// Runs `start` with Ctrl-C wired to cancellation, then prints the outcome like `fcl run`.
int runAndReport(
    const Parsed &parsed, RunStore &store, const QString &name, int stages, bool taskIncremental,
    const std::function<RunOutcome(RunObserver &, CancellationToken &, const RunOptions &)> &start)
{
    if (store.interruptedOnOpen() > 0) {
        err()
            << "note: " << store.interruptedOnOpen()
            << " run(s) left running by a process that no longer exists are now marked interrupted"
            << Qt::endl;
    }
    CancellationToken cancel;
    g_cancel = &cancel;
    std::signal(SIGINT, onInterrupt);
    std::signal(SIGTERM, onInterrupt);
    ProgressPrinter progress(parsed.quiet);
    RunOptions options;
    options.threads = parsed.threads;
    options.checkpointEveryRounds = parsed.checkpointEvery;
    const RunOutcome outcome = start(progress, cancel, options);
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    g_cancel = nullptr;

    if (outcome.status == RunStatus::Failed) {
        err() << "fcl: run "
              << (outcome.runId ? QString::number(outcome.runId) : QStringLiteral("(not stored)"))
              << " failed: " << printable(outcome.error) << Qt::endl;
        return outcome.badInput ? kExitBadInput : kExitRunFailed;
    }
    out() << "Run " << outcome.runId << " (" << name << ") " << runStatusName(outcome.status)
          << " after " << outcome.summary.stagesCompleted << " of " << stages
          << " stages; stored in " << parsed.db << "\n\n";
    out() << "Accuracy matrix (" << (taskIncremental ? "task" : "class")
          << "-incremental; row = after stage i, column = task j):\n";
    out() << formatMatrix(outcome.summary.matrix, outcome.summary.taskIds) << '\n';
    out() << formatSummary(outcome.summary.matrix, outcome.summary.totalBytesUp,
                           outcome.summary.totalBytesDown);
    out().flush();
    return outcome.status == RunStatus::Cancelled ? cancelledExitCode() : kExitOk;
}

/// An experiment argument: a file, or the name of a shipped example ("pcft-personal").
QString experimentPath(const QString &argument)
{
    if (QFileInfo::exists(argument) || argument.endsWith(QLatin1String(".json"))) {
        return argument;
    }
    const QString example = presetsDir() + QLatin1Char('/') + argument + QStringLiteral(".json");
    return QFileInfo::exists(example) ? example : argument;
}

int commandRun(const QStringList &args)
{
    auto parsed = parseOptions(args, {QStringLiteral("db"), QStringLiteral("threads"),
                                      QStringLiteral("quiet"), QStringLiteral("checkpoint-every")});
    if (!parsed) {
        return badInput(parsed.errorString());
    }
    if (parsed->positional.size() != 1) {
        return badInput(QStringLiteral("run needs one experiment file: fcl run EXP.json"));
    }
    auto experiment = loadExperimentFile(experimentPath(parsed->positional.first()));
    if (!experiment) {
        return badInput(QStringLiteral("invalid experiment:\n") + experiment.errorString());
    }
    auto store = RunStore::open(parsed->db);
    if (!store) {
        return badInput(store.errorString());
    }
    return runAndReport(
        parsed.value(), *store.value(), experiment->name,
        static_cast<int>(experiment->stages.size()), experiment->isTaskIncremental(),
        [&](RunObserver &observer, CancellationToken &cancel, const RunOptions &options) {
            return runExperiment(experiment.value(), store.value().get(), observer, cancel,
                                 options);
        });
}

int commandResume(const QStringList &args)
{
    auto parsed = parseOptions(args, {QStringLiteral("db"), QStringLiteral("threads"),
                                      QStringLiteral("quiet"), QStringLiteral("checkpoint-every")});
    if (!parsed) {
        return badInput(parsed.errorString());
    }
    auto runId = parseRunId(parsed->positional);
    if (!runId) {
        return badInput(runId.errorString());
    }
    auto store = RunStore::open(parsed->db, RunStore::OpenMode::ExistingOnly);
    if (!store) {
        return badInput(store.errorString());
    }
    auto record = store.value()->run(runId.value());
    if (!record) {
        return badInput(record.errorString());
    }
    const QJsonObject config = record->config;
    const QJsonObject evaluation = config.value(QStringLiteral("evaluation")).toObject();
    return runAndReport(
        parsed.value(), *store.value(), record->name,
        static_cast<int>(config.value(QStringLiteral("stages")).toArray().size()),
        evaluation.value(QStringLiteral("mode")).toString() == QLatin1String("task_incremental"),
        [&](RunObserver &observer, CancellationToken &cancel, const RunOptions &options) {
            return resumeRun(runId.value(), *store.value(), observer, cancel, options);
        });
}

int commandValidate(const QStringList &args)
{
    auto parsed = parseOptions(args, {});
    if (!parsed) {
        return badInput(parsed.errorString());
    }
    if (parsed->positional.size() != 1) {
        return badInput(
            QStringLiteral("validate needs one experiment file: fcl validate EXP.json"));
    }
    auto experiment = loadExperimentFile(experimentPath(parsed->positional.first()));
    if (!experiment) {
        err() << printable(experiment.errorString()) << Qt::endl;
        err() << experiment.errors().size() << " error(s)" << Qt::endl;
        return kExitBadInput;
    }
    // The same feasibility checks as the designer's: partitions against the catalog's pool sizes
    // (a client asking for more samples than a task has), without loading data.
    const std::vector<Error> partitionErrors = checkPartitions(experiment.value());
    if (!partitionErrors.empty()) {
        for (const Error &error : partitionErrors) {
            err() << parsed->positional.first() << ": " << printable(error.toString()) << Qt::endl;
        }
        err() << partitionErrors.size() << " error(s)" << Qt::endl;
        return kExitBadInput;
    }
    out() << parsed->positional.first() << ": valid (" << experiment->clients.size() << " clients, "
          << experiment->stages.size() << " stages, " << experiment->taskColumns().size()
          << " tasks)" << Qt::endl;
    const MemoryEstimate memory = estimateMemory(experiment.value());
    out() << "estimated memory: " << memory.explanation() << Qt::endl;
    if (const std::int64_t machine = machineMemoryBytes();
        machine > 0 && memory.peakBytes > machine) {
        err() << "warning: this run needs more memory than the machine has ("
              << formatBytes(double(machine)) << ")" << Qt::endl;
    }
    return kExitOk;
}

int commandPretrain(const QStringList &args)
{
    auto parsed = parseOptions(
        args, {QStringLiteral("output"), QStringLiteral("seed"), QStringLiteral("steps")});
    if (!parsed) {
        return badInput(parsed.errorString());
    }
    if (parsed->output.isEmpty() || !parsed->positional.isEmpty()) {
        return badInput(QStringLiteral("pretrain needs an output directory: fcl pretrain -o DIR "
                                       "[--seed N] [--steps N]"));
    }
    PretrainOptions options;
    options.outputDir = parsed->output;
    options.seed = parsed->seed;
    if (parsed->steps > 0) {
        options.steps = parsed->steps;
    }
    CancellationToken cancel;
    g_cancel = &cancel;
    std::signal(SIGINT, onInterrupt);
    QElapsedTimer timer;
    timer.start();
    auto report = pretrainBase(
        options,
        [&](int step, double loss) {
            err() << QStringLiteral("step %1/%2  loss %3  %4 s\n")
                         .arg(step)
                         .arg(options.steps)
                         .arg(loss, 0, 'f', 3)
                         .arg(timer.elapsed() / 1000);
            err().flush();
        },
        cancel);
    g_cancel = nullptr;
    if (!report) {
        err() << report.errorString() << Qt::endl;
        return cancel.isCancelled() ? cancelledExitCode() : kExitRunFailed;
    }
    out() << QStringLiteral("base written to %1\n  loss %2 -> %3, held-out exact match %4\n  "
                            "model.safetensors SHA-256 %5\n")
                 .arg(options.outputDir)
                 .arg(report->firstLoss, 0, 'f', 3)
                 .arg(report->lastLoss, 0, 'f', 3)
                 .arg(report->heldOutExact, 0, 'f', 3)
                 .arg(report->weightsSha256);
    out().flush();
    return kExitOk;
}

int commandExamples()
{
    const std::vector<PresetInfo> presets = listPresets();
    if (presets.empty()) {
        err() << "fcl: no examples in " << presetsDir() << Qt::endl;
        return kExitBadInput;
    }
    for (const PresetInfo &preset : presets) {
        out() << QStringLiteral("%1 %2\n").arg(preset.id, -22).arg(preset.name);
        out() << QStringLiteral("%1 %2\n").arg(QString(), -22).arg(preset.lookFor);
    }
    out() << QStringLiteral("\nRun one with: fcl run NAME (files in %1)\n").arg(presetsDir());
    out().flush();
    return kExitOk;
}

int commandTasks()
{
    for (const TaskSpec &task : builtinTasks()) {
        QStringList answers;
        for (int a : task.answerSet()) {
            answers << answerVocabulary()[static_cast<std::size_t>(a)];
        }
        if (task.isText()) {
            answers << QStringLiteral("free text (tiny-vlm only)");
        }
        out() << QStringLiteral("%1 %2\n").arg(task.id, -22).arg(task.title);
        out() << QStringLiteral("%1 \"%2\" -> %3\n")
                     .arg(QString(), -22)
                     .arg(task.instruction, answers.join(QStringLiteral(" | ")));
    }
    out().flush();
    return kExitOk;
}

QString metricText(double value)
{
    return std::isnan(value) ? QStringLiteral("-") : QString::number(value, 'f', 3);
}

/// Generative runs: each task's token F1, format and knowledge accuracy at the last evaluated
/// round, and the Last/forgetting of format and knowledge over the finished stages ("" for
/// classifier runs).
QString formatAnswerMetrics(const RunRecord &run, const std::vector<MetricRow> &rows)
{
    std::pair<int, int> last{-1, -1};
    for (const MetricRow &row : rows) {
        if (row.kind == QLatin1String("f1")) {
            last = std::max(last, std::make_pair(row.stage, row.round));
        }
    }
    if (last.first < 0) {
        return {};
    }
    QString text;
    const std::pair<const char *, QString> kinds[] = {
        {"f1", QStringLiteral("Token F1")},
        {"format", QStringLiteral("Format accuracy")},
        {"knowledge", QStringLiteral("Knowledge accuracy")}};
    for (const auto &[kind, title] : kinds) {
        QString line = QStringLiteral("%1 after stage %2 round %3:")
                           .arg(title)
                           .arg(last.first + 1)
                           .arg(last.second + 1);
        bool any = false;
        for (const MetricRow &row : rows) {
            if (row.kind == QLatin1String(kind) && std::make_pair(row.stage, row.round) == last &&
                row.task >= 0 && row.task < static_cast<int>(run.taskIds.size())) {
                line += QStringLiteral("  %1 %2").arg(
                    run.taskIds[static_cast<std::size_t>(row.task)], metricText(row.value));
                any = true;
            }
        }
        if (any) {
            text += line + QLatin1Char('\n');
        }
    }
    // CoIN's split, over the finished stages: "Last" is the mean over the tasks learned so far
    // after the last finished stage, forgetting as for accuracy.
    const std::pair<const char *, const char *> split[] = {{"format", "Format"},
                                                           {"knowledge", "Knowledge"}};
    for (const auto &[kind, title] : split) {
        const AccuracyMatrix matrix =
            RunStore::matrixFromRows(run, rows, QString::fromLatin1(kind));
        int finished = -1;
        for (int s = 0; s < matrix.stages(); ++s) {
            for (int j = 0; j < matrix.tasks(); ++j) {
                if (!std::isnan(matrix.at(s, j))) {
                    finished = s;
                }
            }
        }
        if (finished >= 0) {
            text += QStringLiteral("%1 after stage %2: Last %3, forgetting %4\n")
                        .arg(QString::fromLatin1(title))
                        .arg(finished + 1)
                        .arg(metricText(matrix.averageAccuracy(finished)),
                             metricText(matrix.averageForgetting(finished)));
        }
    }
    return text + QLatin1Char('\n');
}

int commandList(const QStringList &args)
{
    auto parsed = parseOptions(args, {QStringLiteral("db")});
    if (!parsed) {
        return badInput(parsed.errorString());
    }
    auto store = RunStore::open(parsed->db, RunStore::OpenMode::ReadOnly);
    if (!store) {
        return badInput(store.errorString());
    }
    auto runs = store.value()->listRuns();
    if (!runs) {
        err() << "fcl: " << runs.errorString() << Qt::endl;
        return kExitRunFailed;
    }
    out() << QStringLiteral("%1  %2  %3  %4  %5  %6\n")
                 .arg(QStringLiteral("id"), 4)
                 .arg(QStringLiteral("status"), -11)
                 .arg(QStringLiteral("started (UTC)"), -19)
                 .arg(QStringLiteral("acc"), 6)
                 .arg(QStringLiteral("forget"), 6)
                 .arg(QStringLiteral("name"));
    for (const RunRecord &run : runs.value()) {
        out() << QStringLiteral("%1  %2  %3  %4  %5  %6\n")
                     .arg(run.id, 4)
                     .arg(runStatusName(run.status), -11)
                     .arg(run.startedAt.toString(QStringLiteral("yyyy-MM-dd HH:mm:ss")), -19)
                     .arg(metricText(run.finalAverageAccuracy), 6)
                     .arg(metricText(run.finalAverageForgetting), 6)
                     .arg(run.name);
    }
    out().flush();
    return kExitOk;
}

int commandShow(const QStringList &args)
{
    auto parsed = parseOptions(args, {QStringLiteral("db")});
    if (!parsed) {
        return badInput(parsed.errorString());
    }
    auto id = parseRunId(parsed->positional);
    if (!id) {
        return badInput(id.errorString());
    }
    auto store = RunStore::open(parsed->db, RunStore::OpenMode::ReadOnly);
    if (!store) {
        return badInput(store.errorString());
    }
    auto run = store.value()->run(id.value());
    if (!run) {
        return badInput(run.errorString());
    }
    // The rows are read once: for the matrix and for the token F1 line.
    auto rows = store.value()->metrics(id.value());
    if (!rows) {
        return badInput(rows.errorString());
    }
    if (auto checked = RunStore::checkRows(run.value(), rows.value()); !checked) {
        return badInput(checked.errorString()); // "run N is corrupt: ..." names the row
    }
    const AccuracyMatrix matrix = RunStore::matrixFromRows(run.value(), rows.value());
    out() << "Run " << run->id << ": " << run->name << "\n";
    out() << "  status    " << runStatusName(run->status)
          << (run->error.isEmpty() ? QString()
                                   : QStringLiteral(" (") + run->error + QLatin1Char(')'))
          << "\n";
    out() << "  seed      " << run->seed << "   version " << run->version << "   threads "
          << run->threads << "\n";
    out() << "  started   " << run->startedAt.toString(Qt::ISODate) << "   finished "
          << run->finishedAt.toString(Qt::ISODate) << "\n";
    out() << "  ";
    for (const SectionDescriptor &section : sectionRegistry()) {
        out() << section.key << " " << sectionMethod(run->config, section.key) << "   ";
    }
    out() << "\n\n";
    out() << "Accuracy matrix:\n" << formatMatrix(matrix, run->taskIds) << '\n';
    out() << formatAnswerMetrics(run.value(), rows.value());
    int finished = 0;
    for (int s = 0; s < matrix.stages(); ++s) {
        finished += std::isnan(matrix.at(s, 0)) ? 0 : 1;
    }
    if (finished == matrix.stages() && finished > 0) {
        out() << formatSummary(matrix, run->bytesUp, run->bytesDown);
    } else {
        out() << finished << " of " << matrix.stages()
              << " stages finished; final metrics need every stage.\n";
    }
    out().flush();
    return kExitOk;
}

int commandExport(const QStringList &args)
{
    auto parsed = parseOptions(args, {QStringLiteral("db"), QStringLiteral("csv"),
                                      QStringLiteral("json"), QStringLiteral("output")});
    if (!parsed) {
        return badInput(parsed.errorString());
    }
    if (parsed->csv == parsed->json) {
        return badInput(QStringLiteral("export needs exactly one of --csv or --json"));
    }
    auto id = parseRunId(parsed->positional);
    if (!id) {
        return badInput(id.errorString());
    }
    auto store = RunStore::open(parsed->db, RunStore::OpenMode::ReadOnly);
    if (!store) {
        return badInput(store.errorString());
    }
    auto runs = loadRunExports(*store.value(), {id.value()});
    if (!runs) {
        return badInput(runs.errorString());
    }
    const QByteArray data = parsed->csv ? exportCsv(runs.value()) : exportJson(runs.value());
    if (parsed->output.isEmpty()) {
        std::fwrite(data.constData(), 1, static_cast<std::size_t>(data.size()), stdout);
        return std::fflush(stdout) == 0 ? kExitOk : kExitRunFailed;
    }
    QFile file(parsed->output);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate) || file.write(data) != data.size() ||
        !file.flush()) {
        err() << "fcl: cannot write " << parsed->output << ": " << file.errorString() << Qt::endl;
        return kExitRunFailed;
    }
    return kExitOk;
}

} // namespace

int finishOutput(int exitCode)
{
    errno = 0;
    out().flush();
    const bool lost = out().status() != QTextStream::Ok;
    if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0 || lost) {
        const int error = errno;
        err() << "fcl: cannot write to standard output: "
              << (error != 0
                      ? QString::fromLocal8Bit(std::strerror(error))
                      : QStringLiteral("output lost (a full disk, or a closed pipe or file)"))
              << Qt::endl;
        return exitCode == kExitOk ? kExitRunFailed : exitCode;
    }
    return exitCode;
}

int dispatch(const QStringList &arguments)
{
    const QStringList args = arguments.mid(1);
    if (args.isEmpty() || args.first() == QLatin1String("-h") ||
        args.first() == QLatin1String("--help") || args.first() == QLatin1String("help")) {
        out() << kUsage << formatRegistry();
        out().flush();
        return args.isEmpty() ? kExitBadInput : kExitOk;
    }
    if (args.first() == QLatin1String("-v") || args.first() == QLatin1String("--version")) {
        out() << "fcl " << versionString() << Qt::endl;
        return kExitOk;
    }
    const QString command = args.first();
    const QStringList rest = args.mid(1);
    if (command == QLatin1String("run")) {
        return commandRun(rest);
    }
    if (command == QLatin1String("resume")) {
        return commandResume(rest);
    }
    if (command == QLatin1String("validate")) {
        return commandValidate(rest);
    }
    if (command == QLatin1String("tasks")) {
        return commandTasks();
    }
    if (command == QLatin1String("examples")) {
        return commandExamples();
    }
    if (command == QLatin1String("pretrain")) {
        return commandPretrain(rest);
    }
    if (command == QLatin1String("list")) {
        return commandList(rest);
    }
    if (command == QLatin1String("show")) {
        return commandShow(rest);
    }
    if (command == QLatin1String("export")) {
        return commandExport(rest);
    }
    if (command == QLatin1String("import")) {
        return commandImport(rest);
    }
    if (command == QLatin1String("ask")) {
        return commandAsk(rest);
    }
    return badInput(QStringLiteral("unknown command \"%1\"; see fcl --help").arg(command));
}

} // namespace fcl::cli
