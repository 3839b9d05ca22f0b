// SPDX-License-Identifier: MIT
#include "app/cli/data_commands.h"

#include "app/cli/commands.h"
#include "core/data/user_task.h"
#include "core/sim/ask.h"
#include "core/store/run_store.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMap>
#include <QTextStream>

namespace fcl::cli {
namespace {

/// Positional arguments and `--name value` options (those in `withValue`) or flags (`flags`).
struct Options {
    QStringList positional;
    QMap<QString, QStringList> values;
    QStringList flags;

    QString value(const QString &name) const { return values.value(name).value(0); }
};

Result<Options> parseArgs(const QStringList &args, const QStringList &withValue,
                          const QStringList &flags)
{
    Options options;
    for (int i = 0; i < args.size(); ++i) {
        const QString &arg = args[i];
        if (!arg.startsWith(QLatin1String("--"))) {
            options.positional << arg;
            continue;
        }
        const QString name = arg.mid(2);
        if (flags.contains(name)) {
            options.flags << name;
        } else if (withValue.contains(name)) {
            if (i + 1 >= args.size()) {
                return Error{arg, QStringLiteral("needs a value")};
            }
            options.values[name] << args[++i];
        } else {
            return Error{arg, QStringLiteral("unknown option for this command")};
        }
    }
    return options;
}

QString quoted(const QString &text)
{
    return QString::fromUtf8(QJsonDocument(QJsonArray{text}).toJson(QJsonDocument::Compact))
        .mid(1)
        .chopped(1);
}

} // namespace

int commandImport(const QStringList &args)
{
    auto parsed =
        parseArgs(args,
                  {QStringLiteral("id"), QStringLiteral("labels"), QStringLiteral("images"),
                   QStringLiteral("instruction"), QStringLiteral("classes"),
                   QStringLiteral("test-fraction"), QStringLiteral("seed")},
                  {});
    if (!parsed) {
        return badInput(parsed.errorString());
    }
    if (parsed->positional.size() != 1) {
        return badInput(QStringLiteral("import needs one data file: fcl import FILE.jsonl|.csv|"
                                       "IMAGES-idx3-ubyte[.gz] [--labels LABELS-idx1-ubyte[.gz]]"));
    }
    const QString file = parsed->positional.first();
    QJsonObject entry;
    entry.insert(QStringLiteral("id"),
                 parsed->values.contains(QStringLiteral("id"))
                     ? parsed->value(QStringLiteral("id"))
                     : QFileInfo(file).fileName().section(QLatin1Char('.'), 0, 0));
    entry.insert(QStringLiteral("file"), file);
    for (const char *key : {"labels", "images", "instruction"}) {
        if (parsed->values.contains(QLatin1String(key))) {
            entry.insert(QLatin1String(key), parsed->value(QLatin1String(key)));
        }
    }
    if (parsed->values.contains(QStringLiteral("classes"))) {
        entry.insert(QStringLiteral("classes"),
                     QJsonArray::fromStringList(
                         parsed->value(QStringLiteral("classes")).split(QLatin1Char(','))));
    }
    if (parsed->values.contains(QStringLiteral("test-fraction"))) {
        bool ok = false;
        const double fraction = parsed->value(QStringLiteral("test-fraction")).toDouble(&ok);
        if (!ok) {
            return badInput(QStringLiteral("--test-fraction: expected a number between 0 and 1"));
        }
        entry.insert(QStringLiteral("test_fraction"), fraction);
    }
    std::uint64_t seed = 1;
    if (parsed->values.contains(QStringLiteral("seed"))) {
        bool ok = false;
        seed = parsed->value(QStringLiteral("seed")).toULongLong(&ok);
        if (!ok) {
            return badInput(QStringLiteral("--seed: expected a non-negative whole number"));
        }
    }
    auto source = parseUserTaskSource(entry, QStringLiteral("import"), {});
    if (!source) {
        err() << printable(source.errorString()) << Qt::endl;
        return kExitBadInput;
    }
    auto loaded = loadUserTask(source.value(), seed);
    if (!loaded) {
        err() << printable(loaded.errorString()) << Qt::endl;
        err() << loaded.errors().size() << " error(s); nothing imported" << Qt::endl;
        return kExitBadInput;
    }
    const UserTaskData &data = *loaded.value();
    QStringList answers;
    for (int i = 0; i < data.answers.size() && i < 12; ++i) {
        answers << quoted(data.answers.at(i));
    }
    if (data.answers.size() > 12) {
        answers << QStringLiteral("...");
    }
    out() << QStringLiteral("%1: %2 samples (%3), %4 with an image\n")
                 .arg(file)
                 .arg(data.size())
                 .arg(data.format)
                 .arg(data.withImages);
    out() << QStringLiteral("  split (seed %1, test fraction %2): %3 train, %4 test\n")
                 .arg(seed)
                 .arg(source->testFraction)
                 .arg(data.train.size())
                 .arg(data.test.size());
    out() << QStringLiteral("  %1 distinct answers: %2\n")
                 .arg(data.answers.size())
                 .arg(answers.join(QStringLiteral(", ")));
    out() << QStringLiteral("  longest prompt %1 characters, longest answer %2 (tiny-vlm's "
                            "default max_text 96 keeps answers up to 94; longer prompts lose "
                            "their start)\n")
                 .arg(data.longestPrompt)
                 .arg(data.longestAnswer);
    if (data.answers.size() > 64) {
        out() << "  free-text answers: only the tiny-vlm backbone can learn this task\n";
    }
    out() << QStringLiteral("  SHA-256 %1\n").arg(data.sha256);
    QJsonObject use = source->toJson();
    use.insert(QStringLiteral("file"), QFileInfo(file).absoluteFilePath());
    out() << QStringLiteral("Add to an experiment: \"datasets\": [%1] and use \"%2\" in a stage.\n")
                 .arg(QString::fromUtf8(QJsonDocument(use).toJson(QJsonDocument::Compact)),
                      source->id);
    out().flush();
    return kExitOk;
}

int commandAsk(const QStringList &args)
{
    auto parsed =
        parseArgs(args,
                  {QStringLiteral("db"), QStringLiteral("image"), QStringLiteral("sample"),
                   QStringLiteral("stage"), QStringLiteral("client")},
                  {QStringLiteral("no-untrained")});
    if (!parsed) {
        return badInput(parsed.errorString());
    }
    const QStringList &positional = parsed->positional;
    bool ok = false;
    const qint64 runId = positional.value(0).toLongLong(&ok);
    if (!ok || runId <= 0 || positional.size() > 2 ||
        (positional.size() < 2 && !parsed->values.contains(QStringLiteral("sample")))) {
        return badInput(QStringLiteral("ask needs a run id and an instruction: fcl ask RUN "
                                       "\"What item is this?\" --image test:123 (or --sample "
                                       "TASK:N for a task's test sample)"));
    }
    AskQuery query;
    query.instruction = positional.value(1);
    query.image = parsed->value(QStringLiteral("image"));
    query.includeUntrained = !parsed->flags.contains(QStringLiteral("no-untrained"));
    if (parsed->values.contains(QStringLiteral("sample"))) {
        const QString sample = parsed->value(QStringLiteral("sample"));
        const int colon = static_cast<int>(sample.lastIndexOf(QLatin1Char(':')));
        query.sampleIndex = colon > 0 ? sample.mid(colon + 1).toInt(&ok) : 0;
        if (colon <= 0 || !ok) {
            return badInput(QStringLiteral("--sample: expected TASK:N, e.g. vl-feet:3"));
        }
        query.sampleTask = sample.left(colon);
        if (!query.image.isEmpty()) {
            return badInput(QStringLiteral("--image and --sample both choose the image: give one"));
        }
    }
    for (const QString &stages : parsed->values.value(QStringLiteral("stage"))) {
        for (const QString &stage : stages.split(QLatin1Char(','))) {
            const int number = stage.toInt(&ok);
            if (!ok || number < 1) {
                return badInput(QStringLiteral("--stage: expected stage numbers from 1, e.g. 1,3"));
            }
            query.stages.push_back(number - 1);
        }
    }
    const QString dbPath = parsed->values.contains(QStringLiteral("db"))
                               ? parsed->value(QStringLiteral("db"))
                               : RunStore::defaultPath();
    auto store = RunStore::open(dbPath, RunStore::OpenMode::ReadOnly);
    if (!store) {
        return badInput(store.errorString());
    }
    auto run = store.value()->run(runId);
    if (!run) {
        return badInput(run.errorString());
    }
    const QJsonArray clients = run->config.value(QStringLiteral("clients")).toArray();
    if (parsed->values.contains(QStringLiteral("client"))) {
        const QString client = parsed->value(QStringLiteral("client"));
        query.client = -2;
        for (int c = 0; c < clients.size(); ++c) {
            if (clients.at(c).toObject().value(QStringLiteral("name")).toString() == client ||
                QString::number(c) == client) {
                query.client = c;
            }
        }
        if (query.client == -2) {
            return badInput(
                QStringLiteral("--client: run %1 has no client \"%2\"").arg(runId).arg(client));
        }
    }
    auto result = askRun(runId, *store.value(), query);
    if (!result) {
        return badInput(result.errorString());
    }
    out() << QStringLiteral("run %1 (%2), %3, %4 model\n")
                 .arg(runId)
                 .arg(run->name, result->backbone,
                      query.client >= 0 ? QStringLiteral("client %1's").arg(query.client)
                                        : QStringLiteral("global"));
    out() << QStringLiteral("asked: %1").arg(quoted(result->instruction));
    if (!query.image.isEmpty()) {
        out() << QStringLiteral("  image: %1").arg(query.image);
    } else if (!query.sampleTask.isEmpty()) {
        out() << QStringLiteral("  image: test sample %1 of %2")
                     .arg(query.sampleIndex)
                     .arg(query.sampleTask);
    }
    if (!result->expected.isEmpty()) {
        out() << QStringLiteral("  expected: %1").arg(quoted(result->expected));
    }
    out() << "\n";
    for (const AskAnswer &answer : result->answers) {
        QString label = QStringLiteral("untrained");
        if (answer.stage >= 0) {
            label = QStringLiteral("after stage %1 (%2)")
                        .arg(answer.stage + 1)
                        .arg(result->stageTasks[static_cast<std::size_t>(answer.stage)]);
        }
        out() << QStringLiteral("  %1  %2").arg(label, -36).arg(quoted(answer.answer));
        if (answer.probability >= 0) {
            out() << QStringLiteral("  (p = %1)").arg(answer.probability, 0, 'f', 3);
        }
        if (!result->expected.isEmpty()) {
            out() << (answer.answer == result->expected ? "  correct" : "");
        }
        out() << "\n";
    }
    out().flush();
    return kExitOk;
}

} // namespace fcl::cli
