// SPDX-License-Identifier: MIT
#pragma once

#include "core/store/run_store.h"
#include "ui/models/run_series.h"

#include <QImage>
#include <QString>

#include <vector>

class QCustomPlot;
class QFont;

namespace fcl::ui {

/// One run as the report shows it.
struct ReportRun {
    RunRecord record;
    RunSeries series;
};

/// "#3 fedavg + replay": short enough for a legend, and says what differs between runs.
QString runLabel(const RunRecord &run);

/// Loads runs (record, metric rows, matrix) from a store; errors name the run.
Result<std::vector<ReportRun>> loadReportRuns(RunStore &store, const std::vector<qint64> &runIds);

/// Average accuracy of several runs on one plot (the comparison view and report).
/// What a comparison overlays, one curve per run.
enum class CompareMetric { AverageAccuracy, AverageForgetting, Communication, Loss };
QString compareMetricName(CompareMetric metric);
void drawComparison(QCustomPlot *plot, const std::vector<ReportRun> &runs,
                    CompareMetric metric = CompareMetric::AverageAccuracy);
/// A chart title drawn inside an image `width` pixels wide: `font` (bold, 12 pt) shrinks down to
/// 9 pt until the title fits with a margin; a title still too long is cut in the middle with "…".
QString fitChartTitle(const QString &title, QFont &font, int width);
/// "#3 name" with a long name cut in the middle (where runs of one experiment differ).
QString runLegendName(const RunRecord &run, int maxCharacters = 44);
/// The experiment settings that differ between runs, as "path: a | b | c" lines (JSON paths
/// such as "continual.method"; "–" where a run has no value). Empty for fewer than two runs.
QStringList differingSettings(const std::vector<ReportRun> &runs);

/// Why exportRuns() could not write `path`, checked before any work: the suffix (.pdf, .html,
/// .htm, .csv, .json) and a folder that exists. Empty when it can.
QString exportPathProblem(const QString &path);

/// Exports runs to `path` by its suffix: .pdf or .html (the report), .csv or .json (metric rows).
/// Errors name the file or run.
bool exportRuns(RunStore &store, const std::vector<qint64> &runIds, const QString &path,
                QString *error);

/// Writes a report of one or more runs: config, curves, accuracy-matrix heatmap, final metrics
/// and, for several runs, the comparison. The format follows the suffix: .pdf (QPdfWriter,
/// A4, multi-page) or .html (self-contained, images embedded). Needs a QApplication (the plots are
/// widgets); `fcl report` uses the offscreen platform. GUI thread.
class ReportWriter {
public:
    static bool write(const QString &path, const std::vector<ReportRun> &runs, QString *error);
    /// The report as HTML; images referenced as "report://N" and returned in `images`.
    static QString html(const std::vector<ReportRun> &runs, std::vector<QImage> &images);
};

} // namespace fcl::ui
