// SPDX-License-Identifier: MIT
#pragma once

#include "core/common/cancellation.h"
#include "core/sim/engine.h"
#include "core/sim/run_observer.h"

#include <QElapsedTimer>
#include <QMutex>
#include <QObject>
#include <QThread>
#include <QWaitCondition>

#include <atomic>
#include <deque>
#include <functional>
#include <variant>

namespace fcl::ui {

/// Adapts the engine's observer (called on the worker thread) to the GUI thread: each event is
/// copied into a mutex-guarded queue and one queued drain is scheduled at a time. Also implements
/// pause: the engine thread waits in onRoundFinished until resumed or cancelled.
class RunBridge : public QObject, public RunObserver {
    Q_OBJECT

public:
    explicit RunBridge(const CancellationToken *cancel, QObject *parent = nullptr);

    void onRunStarted(const RunInfo &info) override;
    void onObservation(const Observation &observation) override;
    void onRoundFinished(const RoundMetrics &round) override;
    void onStageFinished(const StageMetrics &stage) override;
    void onMessage(Severity severity, const QString &message) override;
    void onRunFinished(const RunOutcome &outcome) override;

    void setPaused(bool paused);
    bool isPaused() const { return m_paused.load(); }
    /// Wakes a paused engine thread (used on cancel).
    void wake();

Q_SIGNALS:
    void runStarted(const fcl::RunInfo &info);
    void observationReceived(const fcl::Observation &observation);
    void roundFinished(const fcl::RoundMetrics &round);
    /// The engine thread is now waiting in pause after global round `globalRound` (0-based);
    /// every event up to that round has been delivered.
    void engineHeld(int globalRound);
    void stageFinished(const fcl::StageMetrics &stage);
    void messageReceived(fcl::Severity severity, const QString &message);
    void runFinished(const fcl::RunOutcome &outcome);

private:
    struct Message {
        Severity severity;
        QString text;
    };
    struct Held {
        int globalRound;
    };
    using Event =
        std::variant<RunInfo, Observation, RoundMetrics, StageMetrics, Message, Held, RunOutcome>;
    void push(Event event);
    void drain();

    const CancellationToken *m_cancel;
    QMutex m_mutex;
    std::deque<Event> m_queue;
    std::atomic_bool m_drainPending{false};
    std::atomic_bool m_paused{false};
    QMutex m_pauseMutex;
    QWaitCondition m_resumed;
};

/// Starts runs on a worker thread, holds the cancellation token, and reports progress (stage,
/// round, ETA) on the GUI thread. One run at a time. Destroying it cancels and waits.
class RunController : public QObject {
    Q_OBJECT

public:
    explicit RunController(QObject *parent = nullptr);
    ~RunController() override;

    bool isRunning() const { return m_thread != nullptr; }
    bool isPaused() const { return m_bridge.isPaused(); }
    RunBridge *bridge() { return &m_bridge; }

    /// Starts `experiment`, storing it in the database at `databasePath` (the worker opens its own
    /// connection). Returns false if a run is already going.
    bool start(const Experiment &experiment, const QString &databasePath, int threads = 0);
    /// Continues stored run `runId` from its last checkpoint (see fcl::resumeRun).
    bool resumeRun(qint64 runId, const QString &databasePath, int threads = 0);
    void pause();
    void resume();
    void cancel();
    /// Seconds left, from the mean round time so far; -1 before the first round.
    double etaSeconds() const;
    int roundsDone() const { return m_roundsDone; }
    int roundsTotal() const { return m_roundsTotal; }

Q_SIGNALS:
    void stateChanged();
    void progressChanged(int roundsDone, int roundsTotal, const QString &text);

private:
    using Job = std::function<void(RunStore &store, RunObserver &observer,
                                   const CancellationToken &cancel, const RunOptions &options)>;
    bool launch(const QString &databasePath, int threads, int roundsTotal, Job job);
    void handleRound(const RoundMetrics &round);
    void handleFinished();

    CancellationToken m_cancel;
    RunBridge m_bridge;
    QThread *m_thread = nullptr;
    QElapsedTimer m_clock;
    qint64 m_pausedMs = 0;
    QElapsedTimer m_pauseClock;
    int m_roundsDone = 0;
    int m_roundsAtStart = 0; ///< > 0 for a resumed run
    int m_roundsTotal = 0;
    int m_stages = 0;
    int m_roundsPerStage = 0;
};

} // namespace fcl::ui
