import ConfigLoading
import ConfigModel
import Delivery
import Foundation
import Logging
import ObshellModel
import Pipeline
import Synchronization
import Tracker

/// The daemon's once-a-second look at itself, run by its ``Ticker``: reminders and `group_wait` that fell due,
/// the outbox's backlog (metrics), the state folder's probe, the watcher's problems (readiness, `watcher_degraded`,
/// systemd's status line) and the heartbeat.
final class DaemonWatch: Sendable {
    private struct Progress {
        var countedJournalFailures = 0
        var lastStatus: String
        /// The watcher's own events the routing stage refused (a shared store that does not answer is the very
        /// problem they report): routed first at the next tick, never dropped.
        var unrouted: [EventBatch] = []
    }

    private let config: ObwatchConfig
    private let stateDirectory: URL
    private let routing: RoutingStage
    private let outbox: any NotificationDispatch
    private let telemetry: DaemonTelemetry
    private let notifier: SystemdNotifier
    private let heartbeat: HeartbeatPinger?
    private let logger: Logger
    /// Polls are "happening" while one ended within two of the longest intervals (plus its timeout).
    private let pollsExpectedWithin: Duration
    private let progress: Mutex<Progress>

    init(
        config: ObwatchConfig,
        stateDirectory: URL,
        routing: RoutingStage,
        outbox: any NotificationDispatch,
        telemetry: DaemonTelemetry,
        notifier: SystemdNotifier,
        heartbeat: HeartbeatPinger?,
        logger: Logger
    ) {
        self.config = config
        self.stateDirectory = stateDirectory
        self.routing = routing
        self.outbox = outbox
        self.telemetry = telemetry
        self.notifier = notifier
        self.heartbeat = heartbeat
        self.logger = logger
        let longestInterval = config.targets.map { $0.pollInterval + $0.timeout }.max() ?? .seconds(60)
        self.pollsExpectedWithin = longestInterval * 2 + .seconds(2)
        self.progress = Mutex(Progress(lastStatus: "watching \(config.targets.count) target(s)"))
    }

    /// One look, at the wall time `now`.
    func tick(now: Date) async {
        let metrics = self.telemetry.metrics
        let health = self.telemetry.health
        await self.routing.tick(at: ObshellTime(date: now))
        let backlog = await self.outbox.backlog()
        for entry in backlog {
            let age = entry.oldest.map { now.timeIntervalSince($0) } ?? 0
            metrics.outbox(receiver: entry.receiver, depth: entry.depth, oldestAgeSeconds: age)
        }
        // An idle daemon writes nothing for minutes: a probe file each second finds a disk that went read-only
        // before a real save needs it (and the heartbeat stops within a tick or two).
        if let reason = StateDirectoryCheck.problem(path: self.stateDirectory.path) {
            health.saveFailed(
                "state_dir",
                reason: "state_dir \(self.stateDirectory.path): \(reason)",
                countEach: false
            )
        } else {
            health.saved("state_dir")
        }
        // The outbox journals count as state: one that cannot be written is the same episode.
        let storage = await self.outbox.storageStatus()
        let newFailures = self.progress.withLock { progress in
            defer { progress.countedJournalFailures = max(progress.countedJournalFailures, storage.failedWrites) }
            return max(storage.failedWrites - progress.countedJournalFailures, 0)
        }
        for _ in 0..<newFailures { metrics.stateSaveFailure() }
        let stateProblem = health.stateProblem ?? storage.problem.map { "outbox journal: \($0)" }
        let problems = WatcherMonitor.problems(
            stateProblem: stateProblem,
            backlog: backlog,
            stuckAfter: self.config.defaults.stuckAfter,
            allTargetsFailing: health.allTargetsFailing,
            targetCount: health.targetCount,
            now: now
        )
        self.telemetry.readiness.setProblems(problems.map(\.detail))
        metrics.watcherDegraded(!problems.isEmpty)
        let watcherEvents = self.telemetry.monitor.update(problems, at: ObshellTime(date: now))
        let status =
            problems.isEmpty
            ? "watching \(self.config.targets.count) target(s)"
            : "degraded: " + problems.map(\.detail).joined(separator: "; ")
        let changed = self.progress.withLock { progress in
            defer { progress.lastStatus = status }
            return progress.lastStatus != status
        }
        // `systemctl status obwatch` shows it: a degraded daemon does not look healthy there either.
        if changed { _ = self.notifier.status(status) }
        let batches = self.progress.withLock { progress in
            if !watcherEvents.isEmpty {
                progress.unrouted.append(EventBatch(events: watcherEvents, at: ObshellTime(date: now)))
            }
            return progress.unrouted
        }
        var routed = 0
        for batch in batches {
            do {
                try await self.routing.observed(batch)
                routed += 1
            } catch {
                if !watcherEvents.isEmpty {
                    self.logger.error(
                        "the watcher's own event could not be routed; trying again at the next tick",
                        metadata: ["error": "\(error)"]
                    )
                }
                break
            }
        }
        self.progress.withLock { $0.unrouted.removeFirst(routed) }
        if let heartbeat = self.heartbeat {
            var why = problems.map(\.detail)
            // A replica that holds no leases has nothing to poll: fine, as long as the store answers (its probe
            // is one of the problems above).
            let idleReplica = health.targetCount == 0 && self.config.store != .local
            let polling = idleReplica || (health.sinceLastPoll.map { $0 < self.pollsExpectedWithin } ?? false)
            if !polling { why.append("no poll has ended in the last \(self.pollsExpectedWithin)") }
            heartbeat.tick(healthy: why.isEmpty, why: why.joined(separator: "; "))
        }
    }
}
