// SPDX-License-Identifier: MIT
// Method observations in the workbench (issue 6): every shape is drawn by the generic views, a
// run's observations reach the plots live and in reports, and a stopped run resumes from the
// history.
#include "core/store/run_store.h"
#include "tests/support/test_support.h"
#include "ui/history/history_panel.h"
#include "ui/main/main_window.h"
#include "ui/plots/observation_plot.h"
#include "ui/plots/plots_panel.h"
#include "ui/report/report_writer.h"
#include "ui/run/run_controller.h"

#include <QFontMetrics>
#include <QLabel>
#include <QPushButton>
#include <QSignalSpy>
#include <QSlider>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QToolButton>
#include <qcustomplot.h>

#include <algorithm>
#include <cmath>

using namespace fcl;
using namespace fcl::ui;

namespace {

Observation observation(const char *kind, ObservationShape shape, int globalRound,
                        QStringList labels, QStringList columns, std::vector<double> values)
{
    Observation o;
    o.kind = QString::fromLatin1(kind);
    o.title = QStringLiteral("test: %1").arg(o.kind);
    o.shape = shape;
    o.globalRound = globalRound;
    o.labels = std::move(labels);
    o.columnLabels = std::move(columns);
    o.values = std::move(values);
    return o;
}

int itemsOfType(QCustomPlot *plot, const char *className)
{
    int count = 0;
    for (int i = 0; i < plot->itemCount(); ++i) {
        count += QString::fromLatin1(plot->item(i)->metaObject()->className()) ==
                         QLatin1String(className)
                     ? 1
                     : 0;
    }
    return count;
}

QByteArray scaffoldExperiment()
{
    QByteArray json = test::tinyExperimentJson({}, 3, 3, 2, 150);
    json.replace(R"("method": "fedavg")", R"("method": "scaffold")");
    return json;
}

} // namespace

class TestObservations : public QObject {
    Q_OBJECT

private:
    std::unique_ptr<QTemporaryDir> m_dir;

private Q_SLOTS:
    void init() { m_dir = std::make_unique<QTemporaryDir>(); }

    void tokenF1TabOnlyForGenerativeRuns()
    {
        // Stored rows of a generative run: acc and f1 per task at two evaluated rounds; task 2
        // is learned in stage 2, so its curve starts there.
        RunRecord run;
        run.name = QStringLiteral("vlm");
        run.taskIds = {QStringLiteral("t1"), QStringLiteral("t2")};
        run.config = QJsonObject{
            {QStringLiteral("federated"), QJsonObject{{QStringLiteral("rounds_per_stage"), 1}}}};
        AccuracyMatrix matrix(2, {0, 1});
        std::vector<MetricRow> rows{
            {0, 0, QStringLiteral("acc"), 0, -1, 0.5},  {0, 0, QStringLiteral("acc"), 1, -1, 0.0},
            {0, 0, QStringLiteral("f1"), 0, -1, 0.6},   {0, 0, QStringLiteral("f1"), 1, -1, 0.1},
            {1, 0, QStringLiteral("acc"), 0, -1, 0.25}, {1, 0, QStringLiteral("acc"), 1, -1, 0.75},
            {1, 0, QStringLiteral("f1"), 0, -1, 0.4},   {1, 0, QStringLiteral("f1"), 1, -1, 0.8}};
        const RunSeries generative = RunSeries::fromStore(run, rows, matrix);
        QCOMPARE(generative.taskF1.size(), std::size_t(2));
        QCOMPARE(generative.taskF1[0], (QVector<double>{0.6, 0.4}));
        QVERIFY(std::isnan(generative.taskF1[1][0])); // not yet learned in stage 1
        QCOMPARE(generative.taskF1[1][1], 0.8);

        PlotsPanel panel;
        panel.resize(700, 500);
        panel.setSeries(generative, true);
        QCOMPARE(panel.count(), 6);
        QCOMPARE(panel.tabText(1), QStringLiteral("Token F1 per task"));
        QVERIFY(panel.tokenF1Plot() != nullptr);
        QCOMPARE(panel.tokenF1Plot()->graphCount(), 2);
        QCOMPARE(panel.tokenF1Plot()->graph(0)->data()->at(1)->value, 0.4);
        QCOMPARE(panel.plots().size(), 6);

        // A classifier run's rows have no f1: the tab goes away.
        rows.erase(std::remove_if(rows.begin(), rows.end(),
                                  [](const MetricRow &row) {
                                      return row.kind == QLatin1String("f1");
                                  }),
                   rows.end());
        panel.setSeries(RunSeries::fromStore(run, rows, matrix), true);
        QVERIFY(RunSeries::fromStore(run, rows, matrix).taskF1.empty());
        QCOMPARE(panel.count(), 5);
        QVERIFY(panel.tokenF1Plot() == nullptr);
    }

    void manyClientsAreSummarised()
    {
        // 200 clients: the per-client plot shows a mean, a 10-90 % band and three named clients,
        // not 200 curves (10,000 clients made a redraw take minutes).
        std::vector<QString> clients;
        for (int c = 0; c < 200; ++c) {
            clients.push_back(QStringLiteral("c%1").arg(c));
        }
        RunSeries series;
        series.reset(QStringLiteral("many"), {QStringLiteral("t1")}, clients, {0}, 1, 2);
        for (int r = 0; r < 2; ++r) {
            RoundMetrics round;
            round.round = r;
            round.globalRound = r;
            for (int c = 0; c < 200; ++c) {
                round.clientAccuracy.push_back(r == 1 && c % 2 == 1 ? std::nan("") : c / 199.0);
            }
            series.addRound(round);
        }
        PlotsPanel panel;
        panel.resize(700, 500);
        panel.setSeries(series, true);
        QCustomPlot *plot = panel.clientPlot();
        QCOMPARE(plot->graphCount(), 6);
        QVERIFY(plot->legend->visible());
        QCOMPARE(plot->graph(2)->name(), QStringLiteral("mean of 200 clients"));
        // Round 1: values 0/199 .. 199/199, mean 0.5; sorted index floor(0.1 x 199) = 19 and
        // floor(0.9 x 199) = 179.
        QVERIFY(std::abs(plot->graph(2)->data()->at(0)->value - 0.5) < 1e-12);
        QCOMPARE(plot->graph(0)->data()->at(0)->value, 19 / 199.0);
        QCOMPARE(plot->graph(1)->data()->at(0)->value, 179 / 199.0);
        // Round 2: only the even clients trained: mean of 0, 2, ..., 198 over 199 = 99/199.
        QVERIFY(std::abs(plot->graph(2)->data()->at(1)->value - 99 / 199.0) < 1e-12);
        QCOMPARE(plot->graph(3)->name(), QStringLiteral("c0"));
    }

    /// Report chart titles are drawn inside their image: a long one shrinks, then is cut in the
    /// middle, never clipped at both sides.
    void longChartTitlesFitTheirImage()
    {
        QFont font(QStringLiteral("DejaVu Sans"), 12, QFont::Bold);
        const QString shortTitle = QStringLiteral("Communication (MB, cumulative)");
        QCOMPARE(fitChartTitle(shortTitle, font, 760), shortTitle);
        QCOMPARE(font.pointSize(), 12);
        const QString longTitle =
            QStringLiteral("FedHDS: every uploaded centroid, the global clusters and the kept "
                           "ones (stage 1, round 20)");
        QFont shrunk(QStringLiteral("DejaVu Sans"), 12, QFont::Bold);
        const QString fitted = fitChartTitle(longTitle, shrunk, 760);
        QVERIFY(shrunk.pointSize() < 12 && shrunk.pointSize() >= 9);
        QVERIFY(QFontMetrics(shrunk).horizontalAdvance(fitted) <= 760 - 24);
        QFont cut(QStringLiteral("DejaVu Sans"), 12, QFont::Bold);
        const QString elided = fitChartTitle(longTitle + longTitle, cut, 760);
        QCOMPARE(cut.pointSize(), 9);
        QVERIFY(elided.contains(QChar(0x2026)));
        QVERIFY(elided.startsWith(QStringLiteral("FedHDS")));
        QVERIFY(elided.endsWith(QStringLiteral("round 20)")));
        QVERIFY(QFontMetrics(cut).horizontalAdvance(elided) <= 760 - 24);
    }

    void everyShapeIsDrawnWithoutMethodCode()
    {
        RunSeries series;
        series.reset(QStringLiteral("shapes"), {QStringLiteral("t1")}, {QStringLiteral("a")}, {0},
                     1, 3);
        const QStringList abc{"a", "b", "c"};
        for (int r = 0; r < 3; ++r) {
            series.addObservation(observation("x.series", ObservationShape::Series, r, {"u", "v"},
                                              {}, {double(r), r == 1 ? std::nan("") : 2.0 * r}));
        }
        series.addObservation(observation("x.matrix", ObservationShape::Matrix, 2, abc,
                                          {"t1", "t2"}, {0.1, 0.2, 0.3, 0.4, 0.5, 0.6}));
        series.addObservation(observation("x.points", ObservationShape::Points, 2, {"g0", "g1"}, {},
                                          {0, 0, 0, 1, 1, 1, 2, 2, 1}));
        series.addObservation(observation("x.assign", ObservationShape::Assignment, 2, abc,
                                          {"slot 1", "slot 2"}, {1, 0, 1}));
        // Edges a->b 0.5, b->c 1.0, c->a 0 (not drawn), a->a (a self loop, not drawn).
        series.addObservation(observation("x.graph", ObservationShape::Graph, 2, abc, {},
                                          {0, 1, 0.5, 1, 2, 1.0, 2, 0, 0, 0, 0, 0.7}));
        PlotsPanel panel;
        panel.resize(700, 500);
        panel.setSeries(series, true);
        QCOMPARE(panel.count(), 5 + 5);
        QCOMPARE(panel.tabText(5), QStringLiteral("test: x.series"));

        QCustomPlot *plot = panel.observationPlot(QStringLiteral("x.series"));
        panel.showPlot(plot);
        QCOMPARE(plot->graphCount(), 2); // one line per label
        QCOMPARE(plot->graph(1)->data()->size(), 3);
        QVERIFY(std::isnan(plot->graph(1)->data()->at(1)->value)); // a gap, not a zero
        QCOMPARE(plot->graph(1)->data()->at(2)->key, 3.0);         // x is the 1-based round

        plot = panel.observationPlot(QStringLiteral("x.matrix"));
        panel.showPlot(plot);
        auto *map = qobject_cast<QCPColorMap *>(plot->plottable(0));
        QVERIFY(map != nullptr);
        QCOMPARE(map->data()->keySize(), 2);
        QCOMPARE(map->data()->valueSize(), 3);
        QCOMPARE(map->data()->cell(1, 2), 0.6); // row c, column t2
        QCOMPARE(itemsOfType(plot, "QCPItemText"), 6);

        plot = panel.observationPlot(QStringLiteral("x.points"));
        panel.showPlot(plot);
        QCOMPARE(plot->graphCount(), 2);
        QCOMPARE(plot->graph(0)->data()->size(), 1);
        QCOMPARE(plot->graph(1)->data()->size(), 2);

        // The points sit inside the axes, not on their edges.
        QVERIFY(plot->xAxis->range().lower < 0 && plot->xAxis->range().upper > 2);
        QVERIFY(plot->yAxis->range().lower < 0 && plot->yAxis->range().upper > 2);

        plot = panel.observationPlot(QStringLiteral("x.assign"));
        panel.showPlot(plot);
        map = qobject_cast<QCPColorMap *>(plot->plottable(0));
        QCOMPARE(map->data()->cell(1, 0), 1.0); // a -> slot 2
        QVERIFY(std::isnan(map->data()->cell(0, 0)));
        QCOMPARE(map->data()->cell(0, 1), 1.0); // b -> slot 1

        plot = panel.observationPlot(QStringLiteral("x.graph"));
        panel.showPlot(plot);
        QCOMPARE(itemsOfType(plot, "QCPItemLine"), 2);
        QCOMPARE(itemsOfType(plot, "QCPItemText"), 3); // node labels

        // Group roles (columnLabels): a background group is drawn first, small and grey, a
        // highlighted one last, large and ringed; the legend keeps the label order.
        RunSeries roles;
        roles.addObservation(
            observation("x.roles", ObservationShape::Points, 1, {"selected", "cluster 1", "noise"},
                        {"highlight", "", "background"}, {0, 0, 2, 1, 1, 1, 2, 2, 1, 1, 1, 0}));
        panel.setSeries(roles, true);
        plot = panel.observationPlot(QStringLiteral("x.roles"));
        panel.showPlot(plot);
        QCOMPARE(plot->graphCount(), 3);
        QCOMPARE(plot->graph(0)->name(), QStringLiteral("noise"));
        QCOMPARE(plot->graph(2)->name(), QStringLiteral("selected"));
        QCOMPARE(plot->graph(0)->scatterStyle().pen().color(), QColor(150, 150, 150));
        QCOMPARE(plot->graph(2)->scatterStyle().size(), 11.0);
        QCOMPARE(plot->graph(1)->data()->size(), 2);
        QCOMPARE(plot->legend->itemCount(), 3);
        const auto legendName = [&](int i) {
            auto *item = qobject_cast<QCPPlottableLegendItem *>(plot->legend->item(i));
            return item != nullptr ? item->plottable()->name() : QString();
        };
        QCOMPARE(legendName(0), QStringLiteral("selected"));
        QCOMPARE(legendName(2), QStringLiteral("noise"));

        // A new run without observations drops their tabs.
        RunSeries plain;
        plain.reset(QStringLiteral("plain"), {QStringLiteral("t1")}, {QStringLiteral("a")}, {0}, 1,
                    3);
        panel.setSeries(plain, true);
        QCOMPARE(panel.count(), 5);
        QVERIFY(panel.observationPlot(QStringLiteral("x.graph")) == nullptr);
    }

    void snapshotSliderAndHoverShowEveryRound()
    {
        // A trust graph and its matrix over three rounds: a->b grows 0.2, 0.45, 0.7; b->a 0.1;
        // a->c 0.0001 (drawn, but only counted in a tooltip).
        RunSeries series;
        series.reset(QStringLiteral("trust"), {QStringLiteral("t1")}, {QStringLiteral("a")}, {0}, 1,
                     5);
        const QStringList abc{"a", "b", "c"};
        const double ab[] = {0.2, 0.45, 0.7};
        for (int r = 0; r < 3; ++r) {
            series.addObservation(observation("x.graph", ObservationShape::Graph, r, abc, {},
                                              {0, 1, ab[r], 1, 0, 0.1, 2, 0, 0.3, 0, 2, 1e-4}));
            series.addObservation(observation("x.matrix", ObservationShape::Matrix, r, abc, abc,
                                              {1 - ab[r], ab[r], 0, 0.9, 0.1, 0, 0.3, 0, 0.7}));
        }
        PlotsPanel panel;
        panel.resize(800, 600);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        panel.setSeries(series, true);
        QCustomPlot *plot = panel.observationPlot(QStringLiteral("x.graph"));
        QSlider *slider = panel.observationSlider(QStringLiteral("x.graph"));
        QVERIFY(plot != nullptr && slider != nullptr);
        panel.showPlot(plot);
        QVERIFY(slider->isVisible());
        QCOMPARE(slider->maximum(), 2);
        QCOMPARE(slider->value(), 2); // follows the newest round

        // Pixel positions of the nodes as drawn: a at the top, b and c around the circle.
        auto node = [&](int index) {
            const double angle =
                2 * 3.14159265358979323846 * index / 3 + 3.14159265358979323846 / 2;
            return QPointF(plot->xAxis->coordToPixel(std::cos(angle)),
                           plot->yAxis->coordToPixel(std::sin(angle)));
        };
        const QPointF abMiddle = (node(0) + node(1)) / 2;
        const QString latest =
            observationToolTip(plot, *series.observationsOf("x.graph")[2], abMiddle);
        QVERIFY2(latest.contains(QStringLiteral("a \u2192 b: 0.700")), qPrintable(latest));
        QVERIFY2(latest.contains(QStringLiteral("b \u2192 a: 0.100")), qPrintable(latest));
        QVERIFY(!latest.contains(QStringLiteral("c")));
        const QString atA = observationToolTip(plot, *series.observationsOf("x.graph")[2], node(0));
        QVERIFY2(atA.startsWith(
                     QStringLiteral("a\nedges out: b 0.700, 1 weaker\nedges in: c 0.300, b 0.100")),
                 qPrintable(atA));
        // Far from every node and edge: nothing.
        QVERIFY(observationToolTip(
                    plot, *series.observationsOf("x.graph")[2],
                    QPointF(plot->xAxis->coordToPixel(1.4), plot->yAxis->coordToPixel(-1.3)))
                    .isEmpty());

        // Back to the first round: widths are relative to that round's strongest edge (c->a 0.3),
        // so a->b is drawn 0.5 + 5.5 * 0.2 / 0.3 wide.
        slider->setValue(0);
        auto penOf = [&](double weight, double strongest) {
            return 0.5 + 5.5 * weight / strongest;
        };
        bool found = false;
        for (int i = 0; i < plot->itemCount(); ++i) {
            if (auto *line = qobject_cast<QCPItemLine *>(plot->item(i))) {
                found = found || std::abs(line->pen().widthF() - penOf(0.2, 0.3)) < 1e-9;
            }
        }
        QVERIFY(found);
        QCOMPARE(plot->itemCount(), 4 + 3); // four edges, three labels
        QCOMPARE(slider->parentWidget()->findChild<QLabel *>()->text(),
                 QStringLiteral("round 1 of 5 (stage 1)"));

        // A new round while the user looks at round 1: the slider stays there.
        series.addObservation(
            observation("x.graph", ObservationShape::Graph, 3, abc, {}, {0, 1, 0.9}));
        panel.setSeries(series, true);
        QCOMPARE(slider->maximum(), 3);
        QCOMPARE(slider->value(), 0);
        // Back at the end, it follows again.
        slider->setValue(3);
        series.addObservation(
            observation("x.graph", ObservationShape::Graph, 4, abc, {}, {0, 1, 0.95}));
        panel.setSeries(series, true);
        QCOMPARE(slider->value(), 4);

        // Play starts from the first round and stops at the last.
        QToolButton *play = panel.observationPlayButton(QStringLiteral("x.graph"));
        play->click();
        QVERIFY(play->isChecked());
        QCOMPARE(slider->value(), 0);
        QTRY_COMPARE_WITH_TIMEOUT(slider->value(), 4, 20 * PlotsPanel::kPlayInterval);
        QTRY_VERIFY_WITH_TIMEOUT(!play->isChecked(), 4 * PlotsPanel::kPlayInterval);

        // The heatmap names row, column and value under the pointer, in the shown round.
        QCustomPlot *matrix = panel.observationPlot(QStringLiteral("x.matrix"));
        QSlider *matrixSlider = panel.observationSlider(QStringLiteral("x.matrix"));
        panel.showPlot(matrix);
        matrixSlider->setValue(1);
        const QPointF cell(matrix->xAxis->coordToPixel(2), matrix->yAxis->coordToPixel(1));
        QCOMPARE(heatmapToolTip(matrix, cell), QStringLiteral("a / b: 0.450"));
        // Series tabs draw every round and have no slider bar.
        series.addObservation(observation("x.series", ObservationShape::Series, 0, {"u"}, {}, {1}));
        panel.setSeries(series, true);
        QCustomPlot *line = panel.observationPlot(QStringLiteral("x.series"));
        panel.showPlot(line);
        QVERIFY(!panel.observationSlider(QStringLiteral("x.series"))->isVisible());
        // The fixed accuracy matrix has the same hover.
        QVERIFY(heatmapToolTip(panel.matrixPlot(), QPointF(-5, -5)).isEmpty());
    }

    void stoppedRunResumesFromTheHistoryWithItsObservations()
    {
        const QString db = m_dir->filePath(QStringLiteral("runs.sqlite"));
        const QString path = m_dir->filePath(QStringLiteral("scaffold.json"));
        {
            QFile file(path);
            QVERIFY(file.open(QIODevice::WriteOnly));
            file.write(scaffoldExperiment());
        }
        MainWindow window(db);
        window.show();
        QVERIFY(window.openExperiment(path));
        RunController *controller = window.runController();
        // Cancel as soon as stage 1 ends (round 2 of 6): the checkpoint is at that stage's end.
        auto stopper =
            connect(controller->bridge(), &RunBridge::stageFinished, controller, [controller] {
                controller->cancel();
            });
        QSignalSpy completed(&window, &MainWindow::runCompleted);
        QVERIFY(window.startRun());
        QVERIFY(completed.wait(120000));
        disconnect(stopper);
        const qint64 runId = completed.first().first().toLongLong();
        HistoryPanel *history = window.history();
        QCOMPARE(history->model()->run(0).status, RunStatus::Cancelled);
        history->selectRuns({runId});
        QPushButton *resume = nullptr;
        for (QPushButton *button : history->findChildren<QPushButton *>()) {
            if (button->text() == QLatin1String("Resume")) {
                resume = button;
            }
        }
        QVERIFY(resume != nullptr);
        QVERIFY(resume->isEnabled());
        QTest::mouseClick(resume, Qt::LeftButton);
        QVERIFY(completed.wait(120000));
        QVERIFY2(window.lastErrorMessage().isEmpty(), qPrintable(window.lastErrorMessage()));
        QCOMPARE(completed.last().first().toLongLong(), runId); // the same run, continued
        QCOMPARE(history->model()->run(0).status, RunStatus::Completed);
        history->selectRuns({runId});
        QVERIFY(!resume->isEnabled());

        PlotsPanel *plots = window.plots();
        QCOMPARE(plots->taskPlot()->graph(0)->data()->size(), 6); // stored 2 + resumed 4 rounds
        QCustomPlot *norms =
            plots->observationPlot(QStringLiteral("scaffold.control_variate_norm"));
        QVERIFY(norms != nullptr);
        plots->showPlot(norms);
        QCOMPARE(norms->graphCount(), 4); // the server's c and three clients
        QCOMPARE(norms->graph(1)->data()->size(), 6);

        // The report carries the observation as its own section.
        auto runs = loadReportRuns(*history->store(), {runId});
        QVERIFY(runs);
        const QString html = m_dir->filePath(QStringLiteral("report.html"));
        QString error;
        QVERIFY2(ReportWriter::write(html, runs.value(), &error), qPrintable(error));
        QFile file(html);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QString text = QString::fromUtf8(file.readAll());
        QVERIFY(text.contains(QStringLiteral("SCAFFOLD: control-variate norm")));
        QCOMPARE(text.count(QStringLiteral("data:image/png;base64,")), 5);
    }
};

QTEST_MAIN(TestObservations)
#include "tst_observations.moc"
