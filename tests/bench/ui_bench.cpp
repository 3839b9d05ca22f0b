// SPDX-License-Identifier: MIT
// ui_bench: the GUI thread's longest stall while the default preset runs (event-loop latency
// measured with a 5 ms timer) and the redraw time of the plots with 10,000 points per curve.
// Reports; asserts nothing. Run under xvfb-run or with -platform offscreen.
#include "ui/main/main_window.h"
#include "ui/plots/plots_panel.h"
#include "ui/run/run_controller.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QTemporaryDir>
#include <QTimer>

#include <algorithm>
#include <cmath>
#include <cstdio>

int main(int argc, char *argv[])
{
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("fcl-workbench-bench"));
    QTemporaryDir dir;
    fcl::ui::MainWindow window(dir.filePath(QStringLiteral("runs.sqlite")));
    window.resize(1500, 940);
    window.show();
    window.openExperiment(QStringLiteral(FCL_SOURCE_DIR "/resources/presets/default.json"));

    // Event-loop latency: a 5 ms timer; any gap beyond that is time the GUI thread was busy.
    QElapsedTimer clock;
    qint64 last = 0;
    qint64 worst = 0;
    qint64 worstAt = 0;
    std::vector<qint64> gaps;
    QTimer probe;
    probe.setInterval(5);
    QObject::connect(&probe, &QTimer::timeout, [&] {
        const qint64 now = clock.nsecsElapsed();
        if (last != 0) {
            gaps.push_back(now - last);
            if (now - last > worst) {
                worst = now - last;
                worstAt = now;
            }
        }
        last = now;
    });
    QEventLoop done;
    QObject::connect(&window, &fcl::ui::MainWindow::runCompleted, &done, &QEventLoop::quit);
    clock.start();
    probe.start();
    QElapsedTimer runTime;
    runTime.start();
    QElapsedTimer startCall;
    startCall.start();
    window.startRun();
    const double startMs = double(startCall.nsecsElapsed()) / 1e6;
    done.exec();
    std::printf("MainWindow::startRun on the GUI thread: %.1f ms\n", startMs);
    probe.stop();
    std::sort(gaps.begin(), gaps.end());
    const double p99 = gaps.empty() ? 0 : double(gaps[gaps.size() * 99 / 100]) / 1e6;
    std::printf("default preset in the GUI: %.2f s, %d plot redraws\n",
                double(runTime.elapsed()) / 1000.0, window.plots()->redrawCount());
    std::printf("longest gap ended %.2f s after the run started\n", double(worstAt) / 1e9);
    std::printf("GUI thread: longest gap between 5 ms timer ticks %.1f ms (stall %.1f ms), p99 gap "
                "%.1f ms\n",
                double(worst) / 1e6, std::max(0.0, double(worst) / 1e6 - 5.0), p99);

    // Redraw with 10,000 points per curve (5 tasks, 10 clients).
    fcl::ui::RunSeries series;
    std::vector<QString> tasks = {QStringLiteral("t1"), QStringLiteral("t2"), QStringLiteral("t3"),
                                  QStringLiteral("t4"), QStringLiteral("t5")};
    std::vector<QString> clients;
    for (int c = 0; c < 10; ++c) {
        clients.push_back(QStringLiteral("c%1").arg(c));
    }
    series.reset(QStringLiteral("bench"), tasks, clients, {0, 1, 2, 3, 4}, 5, 2000);
    for (int r = 0; r < 10000; ++r) {
        fcl::RoundMetrics m;
        m.stage = r / 2000;
        m.round = r % 2000;
        m.evaluated = true;
        for (int j = 0; j < 5; ++j) {
            m.accuracyPerTask.push_back(0.5 + 0.4 * std::sin(r * 0.001 + j));
        }
        for (int c = 0; c < 10; ++c) {
            m.clientAccuracy.push_back(0.5 + 0.3 * std::cos(r * 0.002 + c));
        }
        m.averageAccuracy = 0.6;
        m.bytesUp = 1000;
        m.bytesDown = 1000;
        series.addRound(m);
    }
    fcl::ui::PlotsPanel panel;
    panel.resize(900, 600);
    panel.show();
    panel.setSeries(series, true);
    const int repeats = 10;
    QElapsedTimer redraw;
    redraw.start();
    for (int i = 0; i < repeats; ++i) {
        panel.redrawNow();
    }
    std::printf("plots redraw with 10,000 points per curve, by tab (only the visible tab is drawn):\n");
    std::printf("  tab \"%s\": %.1f ms\n", qPrintable(panel.tabText(0)),
                double(redraw.nsecsElapsed()) / 1e6 / repeats);
    for (int tab = 1; tab < panel.count(); ++tab) {
        panel.setCurrentIndex(tab);
        redraw.restart();
        for (int i = 0; i < repeats; ++i) {
            panel.redrawNow();
        }
        std::printf("  tab \"%s\": %.1f ms\n", qPrintable(panel.tabText(tab)),
                    double(redraw.nsecsElapsed()) / 1e6 / repeats);
    }
    return 0;
}
