// SPDX-License-Identifier: MIT
#include "ui/report/report_writer.h"

#include "core/common/stage_json.h"
#include "core/common/version.h"
#include "core/data/task_catalog.h"
#include "core/sim/experiment.h"
#include "core/store/run_export.h"
#include "ui/plots/plot_style.h"
#include "ui/plots/plots_panel.h"

#include <QBuffer>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QFontMetrics>
#include <QJsonArray>
#include <QJsonDocument>
#include <QMap>
#include <QPageLayout>
#include <QPdfWriter>
#include <QSaveFile>
#include <QSet>
#include <QTextDocument>
#include <qcustomplot.h>

#include <cmath>

namespace fcl::ui {

namespace {

QString number(double value, int decimals = 3)
{
    return std::isnan(value) ? QStringLiteral("–") : QString::number(value, 'f', decimals);
}

QString escaped(const QString &text)
{
    return text.toHtmlEscaped();
}

} // namespace

QString fitChartTitle(const QString &title, QFont &font, int width)
{
    const int room = width - 24;
    while (font.pointSize() > 9 && QFontMetrics(font).horizontalAdvance(title) > room) {
        font.setPointSize(font.pointSize() - 1);
    }
    return QFontMetrics(font).elidedText(title, Qt::ElideMiddle, room);
}

namespace {

/// The plot as an image with `title` drawn above it, inside the image: a chart's heading can
/// never be left at the bottom of a page without its chart.
QImage render(QCustomPlot *plot, const QString &title, int width = 760, int height = 420)
{
    plot->plotLayout()->insertRow(0);
    QFont font(plot->font().family(), 12, QFont::Bold);
    const QString shown = fitChartTitle(title, font, width);
    auto *heading = new QCPTextElement(plot, shown, font);
    heading->setTextColor(plot->palette().color(QPalette::Text));
    plot->plotLayout()->addElement(0, 0, heading);
    plot->resize(width, height);
    plot->replot();
    QImage image = plot->toPixmap(width, height, 2.0).toImage();
    plot->plotLayout()->remove(heading);
    plot->plotLayout()->simplify();
    plot->replot();
    return image;
}

/// Charts two to a row, each half the page wide (a report page holds a run).
QString chartGrid(std::vector<QImage> &images,
                  const std::vector<std::pair<QString, QImage>> &charts)
{
    QString html = QStringLiteral("<table width=\"100%\" cellspacing=\"0\" cellpadding=\"2\">");
    for (std::size_t i = 0; i < charts.size(); i += 2) {
        html += QStringLiteral("<tr>");
        for (std::size_t k = i; k < i + 2; ++k) {
            if (k < charts.size()) {
                images.push_back(charts[k].second);
                html += QStringLiteral("<td width=\"50%\" align=\"center\"><img "
                                       "src=\"report://%1\" width=\"340\" alt=\"%2\"></td>")
                            .arg(images.size() - 1)
                            .arg(charts[k].first.toHtmlEscaped());
            } else {
                html += QStringLiteral("<td width=\"50%\"></td>");
            }
        }
        html += QStringLiteral("</tr>");
    }
    return html + QStringLiteral("</table>");
}

/// What each client trains in each stage: one task for all ("1: fmnist-split-1"), or the
/// per-client assignment of a heterogeneous stage ("2: clinic-a fmnist-tops, clinic-b …").
QStringList stageLines(const QJsonObject &config)
{
    QStringList names;
    for (const QJsonValue &client : config.value(QStringLiteral("clients")).toArray()) {
        names << client.toObject().value(QStringLiteral("name")).toString();
    }
    QStringList lines;
    int s = 1;
    for (const QJsonValue &stage : config.value(QStringLiteral("stages")).toArray()) {
        if (stage.isString()) {
            lines << QStringLiteral("%1: %2").arg(s++).arg(stage.toString());
            continue;
        }
        const QJsonObject cells = stage.toObject();
        // Mixed and positional stages (FCIT): their groups, joined by " + ".
        const StageJson form = readStageJson(stage);
        if (form.kind == StageJson::Kind::Mixed) {
            lines << QStringLiteral("%1: %2 (mixed)").arg(s++).arg(form.unitLabel(0));
            continue;
        }
        if (form.kind == StageJson::Kind::Positional) {
            QStringList units;
            for (std::size_t u = 0; u < form.units.size(); ++u) {
                units << form.unitLabel(u);
            }
            lines << QStringLiteral("%1: by position %2")
                         .arg(s++)
                         .arg(units.join(QStringLiteral(", ")));
            continue;
        }
        QStringList tasks;
        QStringList assignment;
        bool everyClientTheSame = cells.size() == names.size();
        for (const QString &name : names) {
            const QString task = cells.value(name).toString();
            if (!task.isEmpty()) {
                assignment << QStringLiteral("%1 %2").arg(name, task);
            }
            if (!tasks.contains(task)) {
                tasks << task;
            }
        }
        everyClientTheSame = everyClientTheSame && tasks.size() == 1;
        lines << QStringLiteral("%1: %2").arg(s++).arg(
            everyClientTheSame ? tasks.front() : assignment.join(QStringLiteral(", ")));
    }
    return lines;
}

QString configTable(const QJsonObject &config)
{
    QString html = QStringLiteral("<table border=\"1\" cellspacing=\"0\" cellpadding=\"2\" "
                                  "width=\"100%\" style=\"font-size: 8pt\">");
    for (const char *key : {"model", "federated", "continual", "partition", "evaluation"}) {
        const QJsonObject section = config.value(QLatin1String(key)).toObject();
        QStringList parts;
        for (auto it = section.begin(); it != section.end(); ++it) {
            parts << QStringLiteral("%1 = %2").arg(
                it.key(), it.value().isString() ? it.value().toString()
                                                : QString::number(it.value().toDouble()));
        }
        html += QStringLiteral("<tr><td width=\"18%\"><b>%1</b></td><td>%2</td></tr>")
                    .arg(QLatin1String(key), escaped(parts.join(QStringLiteral(", "))));
    }
    const QJsonArray clients = config.value(QStringLiteral("clients")).toArray();
    QStringList names;
    for (const QJsonValue &client : clients) {
        const QJsonObject c = client.toObject();
        names << QStringLiteral("%1 (%2 samples)")
                     .arg(c.value(QStringLiteral("name")).toString())
                     .arg(c.value(QStringLiteral("samples_per_task")).toInt());
    }
    html += QStringLiteral("<tr><td><b>clients</b></td><td>%1</td></tr>")
                .arg(escaped(names.join(QStringLiteral(", "))));
    html += QStringLiteral("<tr><td><b>stages</b></td><td>%1</td></tr></table>")
                .arg(escaped(stageLines(config).join(QStringLiteral("; "))));
    return html;
}

QString matrixTable(const ReportRun &run)
{
    const AccuracyMatrix &m = run.series.matrix;
    // The header row repeats on every page the table spans; many tasks get smaller type.
    QString html = QStringLiteral("<table border=\"1\" cellspacing=\"0\" cellpadding=\"2\" "
                                  "style=\"font-size: %1pt\"><thead><tr><th>after</th>")
                       .arg(m.tasks() > 8 ? 6 : 8);
    for (const QString &task : run.record.taskIds) {
        html += QStringLiteral("<th>%1</th>").arg(escaped(task));
    }
    html += QStringLiteral("</tr></thead><tr><td>untrained</td>");
    for (int j = 0; j < m.tasks(); ++j) {
        html += QStringLiteral("<td align=\"right\">%1</td>").arg(number(m.baseline(j)));
    }
    html += QStringLiteral("</tr>");
    for (int i = 0; i < m.stages(); ++i) {
        html += QStringLiteral("<tr><td>stage %1</td>").arg(i + 1);
        for (int j = 0; j < m.tasks(); ++j) {
            html += QStringLiteral("<td align=\"right\">%1</td>").arg(number(m.at(i, j)));
        }
        html += QStringLiteral("</tr>");
    }
    return html + QStringLiteral("</table>");
}

QString metricsTable(const std::vector<ReportRun> &runs)
{
    QString html = QStringLiteral(
        "<table border=\"1\" cellspacing=\"0\" cellpadding=\"3\" style=\"font-size: 9pt\">"
        "<thead><tr><th>run</th><th>status</th><th>ACC (Last)</th><th>Avg</th><th>MFT</th>"
        "<th>Forgetting</th><th>BWT</th><th>FWT</th><th>MB sent</th></tr></thead>");
    for (const ReportRun &run : runs) {
        const AccuracyMatrix &m = run.series.matrix;
        const bool complete = run.series.stagesFinished == m.stages() && m.stages() > 0 &&
                              run.record.status != RunStatus::Failed;
        const QStringList cells = {
            number(run.record.finalAverageAccuracy),
            complete ? number(m.averageIncrementalAccuracy()) : QStringLiteral("–"),
            complete ? number(m.meanFinetuneAccuracy()) : QStringLiteral("–"),
            number(run.record.finalAverageForgetting),
            number(run.record.backwardTransfer),
            number(run.record.forwardTransfer),
            QString::number(double(run.record.bytesUp + run.record.bytesDown) / 1e6, 'f', 1)};
        html += QStringLiteral("<tr><td>%1 · %2</td><td>%3</td>")
                    .arg(run.record.id)
                    .arg(escaped(run.record.name), runStatusName(run.record.status));
        for (const QString &cell : cells) {
            html += QStringLiteral("<td align=\"right\">%1</td>").arg(cell);
        }
        html += QStringLiteral("</tr>");
    }
    return html + QStringLiteral("</table>");
}

} // namespace

QString runLabel(const RunRecord &run)
{
    return QStringLiteral("#%1 %2 + %3 (%4)")
        .arg(run.id)
        .arg(sectionMethod(run.config, QStringLiteral("federated")),
             sectionMethod(run.config, QStringLiteral("continual")),
             sectionMethod(run.config, QStringLiteral("model")));
}

Result<std::vector<ReportRun>> loadReportRuns(RunStore &store, const std::vector<qint64> &runIds)
{
    auto exports = loadRunExports(store, runIds);
    if (!exports) {
        return exports.errors();
    }
    std::vector<ReportRun> runs;
    for (const RunExport &run : exports.value()) {
        const AccuracyMatrix matrix = RunStore::matrixFromRows(run.record, run.rows);
        runs.push_back(
            {run.record, RunSeries::fromStore(run.record, run.rows, matrix, run.observations)});
    }
    return runs;
}

QString compareMetricName(CompareMetric metric)
{
    switch (metric) {
    case CompareMetric::AverageAccuracy:
        return QObject::tr("average accuracy");
    case CompareMetric::AverageForgetting:
        return QObject::tr("average forgetting");
    case CompareMetric::Communication:
        return QObject::tr("MB sent (cumulative)");
    case CompareMetric::Loss:
        return QObject::tr("training loss");
    }
    return {};
}

QString runLegendName(const RunRecord &run, int maxCharacters)
{
    QString name = run.name.simplified();
    if (name.size() > maxCharacters) {
        const int keep = maxCharacters - 1;
        name = name.left(keep - keep / 2) + QChar(0x2026) + name.right(keep / 2);
    }
    return QStringLiteral("#%1 %2").arg(run.id).arg(name);
}

namespace {

void flatten(const QJsonValue &value, const QString &path, QMap<QString, QString> &out)
{
    if (value.isObject()) {
        const QJsonObject object = value.toObject();
        for (auto it = object.begin(); it != object.end(); ++it) {
            flatten(it.value(), path.isEmpty() ? it.key() : path + QLatin1Char('.') + it.key(),
                    out);
        }
    } else if (value.isArray()) {
        const QJsonArray array = value.toArray();
        for (int i = 0; i < array.size(); ++i) {
            flatten(array.at(i), QStringLiteral("%1[%2]").arg(path).arg(i), out);
        }
    } else {
        out.insert(path, value.isString()   ? value.toString()
                         : value.isDouble() ? QString::number(value.toDouble())
                         : value.isBool()
                             ? (value.toBool() ? QStringLiteral("true") : QStringLiteral("false"))
                             : QStringLiteral("null"));
    }
}

} // namespace

QStringList differingSettings(const std::vector<ReportRun> &runs)
{
    if (runs.size() < 2) {
        return {};
    }
    std::vector<QMap<QString, QString>> flat(runs.size());
    QSet<QString> paths;
    for (std::size_t k = 0; k < runs.size(); ++k) {
        QJsonObject config = runs[k].record.config;
        config.remove(QStringLiteral("name")); // the runs' names are already their labels
        config.remove(QStringLiteral("description"));
        flatten(config, QString(), flat[k]);
        for (auto it = flat[k].keyBegin(); it != flat[k].keyEnd(); ++it) {
            paths.insert(*it);
        }
    }
    QStringList sorted(paths.begin(), paths.end());
    sorted.sort();
    auto differsAt = [&](const QString &path) {
        for (std::size_t k = 1; k < runs.size(); ++k) {
            if (flat[k].value(path) != flat[0].value(path) ||
                flat[k].contains(path) != flat[0].contains(path)) {
                return true;
            }
        }
        return false;
    };
    QStringList lines;
    for (const QString &path : sorted) {
        QStringList values;
        bool differs = false;
        bool missing = false;
        for (std::size_t k = 0; k < runs.size(); ++k) {
            values << flat[k].value(path, QStringLiteral("–"));
            differs = differs || values.back() != values.front();
            missing = missing || !flat[k].contains(path);
        }
        // "continual.method: finetune | replay" says it; replay's own settings, absent from the
        // fine-tune run, would only repeat it.
        const QString section = path.section(QLatin1Char('.'), 0, 0);
        if (differs && missing && path.contains(QLatin1Char('.')) &&
            path != section + QStringLiteral(".method") &&
            differsAt(section + QStringLiteral(".method"))) {
            continue;
        }
        if (differs) {
            lines << QStringLiteral("%1: %2").arg(path, values.join(QStringLiteral(" | ")));
        }
    }
    return lines;
}

void drawComparison(QCustomPlot *plot, const std::vector<ReportRun> &runs, CompareMetric metric)
{
    plot->clearGraphs();
    plot->clearItems();
    double lastRound = 1;
    double highest = 1;
    for (std::size_t k = 0; k < runs.size(); ++k) {
        const RunSeries &s = runs[k].series;
        QCPGraph *graph = plot->addGraph();
        graph->setName(legendLabel(plot, runLegendName(runs[k].record, 200), 80));
        graph->setPen(QPen(seriesColor(static_cast<int>(k)), 2));
        switch (metric) {
        case CompareMetric::AverageAccuracy:
            graph->setData(s.evaluatedRounds, s.averageAccuracy, true);
            break;
        case CompareMetric::AverageForgetting:
            graph->setData(s.evaluatedRounds, s.averageForgetting, true);
            break;
        case CompareMetric::Communication: {
            QVector<double> total(s.cumulativeUpMB.size());
            for (int i = 0; i < total.size(); ++i) {
                total[i] = s.cumulativeUpMB[i] + s.cumulativeDownMB.value(i);
                highest = std::max(highest, total[i]);
            }
            graph->setData(s.rounds, total, true);
            break;
        }
        case CompareMetric::Loss:
            graph->setData(s.rounds.mid(0, s.loss.size()), s.loss, true);
            for (double v : s.loss) {
                highest = std::isfinite(v) ? std::max(highest, v) : highest;
            }
            break;
        }
        // Marks while they are few: a run evaluated once would otherwise draw nothing.
        if (graph->data()->size() <= 60) {
            graph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 4));
        }
        lastRound = std::max(lastRound, static_cast<double>(s.stages * s.roundsPerStage));
    }
    plot->xAxis->setRange(0.5, lastRound + 0.5);
    const bool unit =
        metric == CompareMetric::AverageAccuracy || metric == CompareMetric::AverageForgetting;
    plot->yAxis->setRange(unit ? -0.02 : 0, unit ? 1.02 : highest * 1.05);
    plot->yAxis->setLabel(compareMetricName(metric));
    useRoundTicks(plot);
    plot->legend->setVisible(true);
    if (runs.empty()) {
        addEmptyHint(plot, QObject::tr("Tick runs in the list\n(or Ctrl+click them)\nto compare "
                                       "them here."));
    }
}

QString ReportWriter::html(const std::vector<ReportRun> &runs, std::vector<QImage> &images)
{
    QString html = QStringLiteral(
        "<html><head><meta charset=\"utf-8\"><title>FCL Workbench report</title></head>"
        "<body style=\"font-family: sans-serif; font-size: 10pt\">");
    html += QStringLiteral(
                "<h1>FCL Workbench report</h1><p>%1 run(s) · generated %2 by FCL Workbench %3</p>")
                .arg(runs.size())
                .arg(QDateTime::currentDateTime().toString(QStringLiteral("yyyy-MM-dd HH:mm")),
                     versionString());
    html += QStringLiteral("<h2>Final metrics</h2>") + metricsTable(runs);
    html += QStringLiteral(
        "<p><small>ACC = mean accuracy over all tasks after the last stage; Avg = mean over stages "
        "of the "
        "average accuracy on tasks seen so far; Forgetting = mean drop from each task's best "
        "earlier "
        "score; MFT = mean over tasks of the accuracy right after learning each (MCITlib); BWT / "
        "FWT "
        "= backward / forward transfer (GEM, divided by T−1).</small></p>");
    PlotsPanel panel;
    if (runs.size() > 1) {
        QCustomPlot comparison;
        stylePlot(&comparison, QObject::tr("round"), QObject::tr("average accuracy"));
        placeLegendBelow(&comparison, 2);
        drawComparison(&comparison, runs);
        html += QStringLiteral("<h2>Comparison</h2>");
        images.push_back(
            render(&comparison, QObject::tr("Average accuracy over rounds"), 900, 460));
        html += QStringLiteral("<p align=\"center\"><img src=\"report://%1\" width=\"640\"></p>")
                    .arg(images.size() - 1);
        const QStringList differs = differingSettings(runs);
        html += QStringLiteral("<p><b>What differs</b> (in the order of the table above): %1</p>")
                    .arg(differs.isEmpty() ? QObject::tr("nothing: the same settings and seed")
                                           : escaped(differs.join(QStringLiteral(" · "))));
    }
    for (const ReportRun &run : runs) {
        // Each run on its own page, except a lone run, which follows the summary table directly.
        const bool newPage = runs.size() > 1;
        html +=
            QStringLiteral("<h2%1>Run %2: %3</h2>")
                .arg(newPage ? QStringLiteral(" style=\"page-break-before: always\"") : QString())
                .arg(run.record.id)
                .arg(escaped(run.record.name));
        html += QStringLiteral("<p style=\"font-size: 9pt\">status <b>%1</b> · seed %2 · version "
                               "%3 · %4 threads · started %5%6</p>")
                    .arg(runStatusName(run.record.status))
                    .arg(run.record.seed)
                    .arg(run.record.version)
                    .arg(run.record.threads)
                    .arg(run.record.startedAt.toLocalTime().toString(
                             QStringLiteral("yyyy-MM-dd HH:mm:ss")),
                         run.record.error.isEmpty()
                             ? QString()
                             : QStringLiteral(" · error: ") + escaped(run.record.error));
        html += configTable(run.record.config);
        html += QStringLiteral("<p><b>Accuracy matrix</b> (row: after stage; column: task)</p>") +
                matrixTable(run);
        panel.setSeries(run.series, true);
        std::vector<std::pair<QString, QImage>> charts;
        auto chart = [&](QCustomPlot *plot, const QString &title) {
            charts.emplace_back(title, render(plot, title));
        };
        chart(panel.taskPlot(), QObject::tr("Accuracy per task"));
        if (panel.tokenF1Plot() != nullptr) {
            chart(panel.tokenF1Plot(), QObject::tr("Token F1 per task"));
        }
        if (panel.formatPlot() != nullptr) {
            chart(panel.formatPlot(), QObject::tr("Format accuracy per task"));
        }
        chart(panel.averagePlot(), QObject::tr("Average accuracy and forgetting"));
        chart(panel.matrixPlot(), QObject::tr("Accuracy matrix"));
        chart(panel.communicationPlot(), QObject::tr("Communication (MB, cumulative)"));
        // What the methods observed, drawn by shape (a series over the rounds; the last
        // snapshot of a matrix, scatter, assignment or graph).
        for (const QString &kind : run.series.observationKinds()) {
            const std::vector<const Observation *> history = run.series.observationsOf(kind);
            const Observation &last = *history.back();
            const QString title = last.shape == ObservationShape::Series
                                      ? last.title
                                      : QObject::tr("%1 (stage %2, round %3)")
                                            .arg(last.title)
                                            .arg(last.stage + 1)
                                            .arg(last.round + 1);
            chart(panel.observationPlot(kind), title);
        }
        html += chartGrid(images, charts);
    }
    return html + QStringLiteral("</body></html>");
}

QString exportPathProblem(const QString &path)
{
    const QFileInfo info(path);
    static const QStringList suffixes = {QStringLiteral("pdf"), QStringLiteral("html"),
                                         QStringLiteral("htm"), QStringLiteral("csv"),
                                         QStringLiteral("json")};
    if (!suffixes.contains(info.suffix().toLower())) {
        return QStringLiteral("%1: the format follows the suffix: .pdf, .html, .csv or .json")
            .arg(path);
    }
    if (!info.absoluteDir().exists()) {
        return QStringLiteral("%1: the folder %2 does not exist")
            .arg(path, info.absoluteDir().path());
    }
    return {};
}

bool exportRuns(RunStore &store, const std::vector<qint64> &runIds, const QString &path,
                QString *error)
{
    if (const QString problem = exportPathProblem(path); !problem.isEmpty()) {
        *error = problem;
        return false;
    }
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (suffix == QLatin1String("csv") || suffix == QLatin1String("json")) {
        auto runs = loadRunExports(store, runIds);
        if (!runs) {
            *error = runs.errorString();
            return false;
        }
        QSaveFile file(path);
        const QByteArray data =
            suffix == QLatin1String("csv") ? exportCsv(runs.value()) : exportJson(runs.value());
        if (!file.open(QIODevice::WriteOnly) || file.write(data) != data.size() || !file.commit()) {
            *error = QStringLiteral("%1: %2").arg(path, file.errorString());
            return false;
        }
        return true;
    }
    auto runs = loadReportRuns(store, runIds);
    if (!runs) {
        *error = runs.errorString();
        return false;
    }
    return ReportWriter::write(path, runs.value(), error);
}

bool ReportWriter::write(const QString &path, const std::vector<ReportRun> &runs, QString *error)
{
    if (runs.empty()) {
        *error = QStringLiteral("no runs to report");
        return false;
    }
    std::vector<QImage> images;
    QString html = ReportWriter::html(runs, images);
    if (path.endsWith(QLatin1String(".html"), Qt::CaseInsensitive) ||
        path.endsWith(QLatin1String(".htm"), Qt::CaseInsensitive)) {
        for (std::size_t i = 0; i < images.size(); ++i) {
            QByteArray png;
            QBuffer buffer(&png);
            buffer.open(QIODevice::WriteOnly);
            images[i].save(&buffer, "PNG");
            html.replace(QStringLiteral("src=\"report://%1\"").arg(i),
                         QStringLiteral("src=\"data:image/png;base64,%1\"")
                             .arg(QString::fromLatin1(png.toBase64())));
        }
        QSaveFile file(path);
        if (!file.open(QIODevice::WriteOnly) || file.write(html.toUtf8()) < 0 || !file.commit()) {
            *error = QStringLiteral("%1: %2").arg(path, file.errorString());
            return false;
        }
        return true;
    }
    if (!path.endsWith(QLatin1String(".pdf"), Qt::CaseInsensitive)) {
        *error = QStringLiteral("%1: the format follows the suffix: .pdf, .html, .csv or .json")
                     .arg(path);
        return false;
    }
    QTextDocument document;
    // Lay out on a page of A4's printable proportions (180 x 267 mm) at 720 units across; print()
    // scales that to the writer's page, so charts and tables fit the width on any screen DPI.
    document.setPageSize(QSizeF(720, 720 * 267.0 / 180.0));
    for (std::size_t i = 0; i < images.size(); ++i) {
        document.addResource(QTextDocument::ImageResource,
                             QUrl(QStringLiteral("report://%1").arg(i)), images[i]);
    }
    document.setHtml(html);
    {
        QFile probe(path);
        if (!probe.open(QIODevice::WriteOnly)) {
            *error = QStringLiteral("%1: %2").arg(path, probe.errorString());
            return false;
        }
    }
    QPdfWriter writer(path);
    writer.setPageSize(QPageSize(QPageSize::A4));
    writer.setPageMargins(QMarginsF(15, 15, 15, 15), QPageLayout::Millimeter);
    writer.setResolution(150);
    writer.setTitle(QStringLiteral("FCL Workbench report"));
    writer.setCreator(QStringLiteral("FCL Workbench %1").arg(versionString()));
    document.print(&writer);
    return true;
}

} // namespace fcl::ui
