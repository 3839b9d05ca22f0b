// SPDX-License-Identifier: MIT
#include "ui/run/run_controller.h"

#include "core/store/run_store.h"

#include <QMutexLocker>

namespace fcl::ui {

RunBridge::RunBridge(const CancellationToken *cancel, QObject *parent)
    : QObject(parent), m_cancel(cancel)
{
}

void RunBridge::push(Event event)
{
    {
        QMutexLocker lock(&m_mutex);
        m_queue.push_back(std::move(event));
    }
    if (!m_drainPending.exchange(true)) {
        QMetaObject::invokeMethod(this, &RunBridge::drain, Qt::QueuedConnection);
    }
}

void RunBridge::drain()
{
    std::deque<Event> events;
    {
        QMutexLocker lock(&m_mutex);
        events.swap(m_queue);
        m_drainPending = false;
    }
    for (const Event &event : events) {
        if (const auto *info = std::get_if<RunInfo>(&event)) {
            Q_EMIT runStarted(*info);
        } else if (const auto *observation = std::get_if<Observation>(&event)) {
            Q_EMIT observationReceived(*observation);
        } else if (const auto *round = std::get_if<RoundMetrics>(&event)) {
            Q_EMIT roundFinished(*round);
        } else if (const auto *stage = std::get_if<StageMetrics>(&event)) {
            Q_EMIT stageFinished(*stage);
        } else if (const auto *message = std::get_if<Message>(&event)) {
            Q_EMIT messageReceived(message->severity, message->text);
        } else if (const auto *held = std::get_if<Held>(&event)) {
            Q_EMIT engineHeld(held->globalRound);
        } else if (const auto *outcome = std::get_if<RunOutcome>(&event)) {
            Q_EMIT runFinished(*outcome);
        }
    }
}

void RunBridge::onRunStarted(const RunInfo &info)
{
    push(info);
}

void RunBridge::onObservation(const Observation &observation)
{
    push(observation);
}

void RunBridge::onRoundFinished(const RoundMetrics &round)
{
    push(round);
    // Pause between rounds: the engine thread waits here; the GUI keeps running.
    QMutexLocker lock(&m_pauseMutex);
    if (m_paused.load() && !m_cancel->isCancelled()) {
        push(Held{round.globalRound});
    }
    while (m_paused.load() && !m_cancel->isCancelled()) {
        m_resumed.wait(&m_pauseMutex, 200);
    }
}

void RunBridge::onStageFinished(const StageMetrics &stage)
{
    push(stage);
}

void RunBridge::onMessage(Severity severity, const QString &message)
{
    push(Message{severity, message});
}

void RunBridge::onRunFinished(const RunOutcome &outcome)
{
    push(outcome);
}

void RunBridge::setPaused(bool paused)
{
    QMutexLocker lock(&m_pauseMutex);
    m_paused = paused;
    m_resumed.wakeAll();
}

void RunBridge::wake()
{
    QMutexLocker lock(&m_pauseMutex);
    m_resumed.wakeAll();
}

RunController::RunController(QObject *parent) : QObject(parent), m_bridge(&m_cancel)
{
    connect(&m_bridge, &RunBridge::runStarted, this, [this](const RunInfo &info) {
        m_stages = info.stages;
        m_roundsPerStage = info.roundsPerStage;
        m_roundsTotal = info.stages * info.roundsPerStage;
        m_roundsAtStart = info.resumedAtRound;
        m_roundsDone = info.resumedAtRound;
        const int rounds = std::max(1, m_roundsPerStage);
        Q_EMIT progressChanged(m_roundsDone, m_roundsTotal,
                               tr("Stage %1/%2, round %3/%4")
                                   .arg(m_roundsDone / rounds + 1)
                                   .arg(m_stages)
                                   .arg(m_roundsDone % rounds + 1)
                                   .arg(m_roundsPerStage));
    });
    connect(&m_bridge, &RunBridge::roundFinished, this, &RunController::handleRound);
    connect(&m_bridge, &RunBridge::runFinished, this, &RunController::handleFinished);
}

RunController::~RunController()
{
    if (m_thread != nullptr) {
        m_cancel.requestCancel();
        m_bridge.setPaused(false);
        m_thread->quit();
        m_thread->wait();
    }
}

bool RunController::start(const Experiment &experiment, const QString &databasePath, int threads)
{
    return launch(databasePath, threads,
                  static_cast<int>(experiment.stages.size()) * experiment.roundsPerStage(),
                  [experiment](RunStore &store, RunObserver &observer,
                               const CancellationToken &cancel, const RunOptions &options) {
                      runExperiment(experiment, &store, observer, cancel, options);
                  });
}

bool RunController::resumeRun(qint64 runId, const QString &databasePath, int threads)
{
    return launch(databasePath, threads, 0,
                  [runId](RunStore &store, RunObserver &observer, const CancellationToken &cancel,
                          const RunOptions &options) {
                      fcl::resumeRun(runId, store, observer, cancel, options);
                  });
}

bool RunController::launch(const QString &databasePath, int threads, int roundsTotal, Job job)
{
    if (m_thread != nullptr) {
        return false;
    }
    m_cancel.reset();
    m_bridge.setPaused(false);
    m_roundsDone = 0;
    m_roundsAtStart = 0;
    m_roundsTotal = roundsTotal;
    m_pausedMs = 0;
    m_clock.start();
    RunBridge *bridge = &m_bridge;
    const CancellationToken *cancel = &m_cancel;
    m_thread = QThread::create([job = std::move(job), databasePath, threads, bridge, cancel] {
        // The worker's own SQLite connection, closed before the thread ends.
        auto store = RunStore::open(databasePath);
        if (!store) {
            RunOutcome outcome;
            outcome.status = RunStatus::Failed;
            outcome.badInput = true;
            outcome.error = store.errorString();
            bridge->onRunFinished(outcome);
            return;
        }
        RunOptions options;
        options.threads = threads;
        job(*store.value(), *bridge, *cancel, options);
    });
    m_thread->setObjectName(QStringLiteral("fcl-engine"));
    m_thread->start();
    Q_EMIT stateChanged();
    return true;
}

void RunController::pause()
{
    if (m_thread != nullptr && !m_bridge.isPaused()) {
        m_bridge.setPaused(true);
        m_pauseClock.start();
        Q_EMIT stateChanged();
    }
}

void RunController::resume()
{
    if (m_bridge.isPaused()) {
        m_pausedMs += m_pauseClock.elapsed();
        m_bridge.setPaused(false);
        Q_EMIT stateChanged();
    }
}

void RunController::cancel()
{
    m_cancel.requestCancel();
    m_bridge.setPaused(false);
    m_bridge.wake();
    Q_EMIT stateChanged();
}

double RunController::etaSeconds() const
{
    if (m_roundsDone <= m_roundsAtStart) {
        return -1;
    }
    const double activeMs = static_cast<double>(m_clock.elapsed() - m_pausedMs);
    return activeMs / (m_roundsDone - m_roundsAtStart) * (m_roundsTotal - m_roundsDone) / 1000.0;
}

void RunController::handleRound(const RoundMetrics &round)
{
    m_roundsDone = round.globalRound + 1;
    const double eta = etaSeconds();
    Q_EMIT progressChanged(m_roundsDone, m_roundsTotal,
                           tr("Stage %1/%2, round %3/%4 — about %5 s left")
                               .arg(round.stage + 1)
                               .arg(m_stages)
                               .arg(round.round + 1)
                               .arg(m_roundsPerStage)
                               .arg(eta < 0 ? 0 : qRound(eta)));
}

void RunController::handleFinished()
{
    if (m_thread != nullptr) {
        m_thread->wait();
        delete m_thread;
        m_thread = nullptr;
    }
    m_bridge.setPaused(false);
    Q_EMIT stateChanged();
}

} // namespace fcl::ui
