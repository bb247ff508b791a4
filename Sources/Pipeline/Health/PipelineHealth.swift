package import Logging
package import Support
import Synchronization

/// What keeps the daemon from doing its job, gathered from every part that polls or writes state: the pollers, the
/// routing stage and the outbox report here, and the watcher's monitor reads it once a second (readiness, the
/// `watcher_degraded` event, the heartbeat).
///
/// A state file that cannot be written is one episode however many parts fail and however often they retry: it is
/// logged once when it starts and once when it ends, never per poll, and every failed write is counted
/// (`obwatch_state_save_failures_total`).
package final class PipelineHealth: Sendable {
    private struct State {
        /// Each part whose last save failed, with why.
        var unsaved: [String: String] = [:]
        /// The configured targets, in config order.
        var targets: [String] = []
        /// Each target's failed polls in a row, and the `down_after` that makes it down.
        var failing: [String: (count: Int, downAfter: Int)] = [:]
        /// When any poll last ended, good or failed, on ``stopwatch``.
        var lastPoll: Duration?
    }

    private let state = Mutex(State())
    private let logger: Logger
    private let onSaveFailure: @Sendable () -> Void
    private let stopwatch: Stopwatch

    /// Makes a healthy record.
    /// - Parameters:
    ///   - logger: Where episodes of failed saves are logged.
    ///   - clock: What the time since the last poll is measured on.
    ///   - onSaveFailure: Told of every failed save (the metric).
    package init(logger: Logger, clock: any ObwatchClock, onSaveFailure: @escaping @Sendable () -> Void = {}) {
        self.logger = logger
        self.stopwatch = Stopwatch(clock)
        self.onSaveFailure = onSaveFailure
    }

    /// A part could not save its state.
    /// - Parameters:
    ///   - part: Which part (`target prod-east`, `routing`, `outbox db-chat`).
    ///   - reason: Why, in plain words, with the path.
    ///   - countEach: Whether every call counts as a failed write; a probe repeated every second counts once per
    ///     failing spell instead.
    package func saveFailed(_ part: String, reason: String, countEach: Bool = true) {
        let (started, partStarted) = self.state.withLock { state in
            defer { state.unsaved[part] = reason }
            return (state.unsaved.isEmpty, state.unsaved[part] == nil)
        }
        if countEach || partStarted { self.onSaveFailure() }
        if started {
            self.logger.error(
                "state cannot be saved; events are still routed and delivered, and /readyz answers 503 until it can",
                metadata: ["part": "\(part)", "reason": "\(reason)"]
            )
        }
    }

    /// A part saved its state (the end of its failure, if it had one).
    package func saved(_ part: String) {
        let ended = self.state.withLock { state in
            guard state.unsaved.removeValue(forKey: part) != nil else { return false }
            return state.unsaved.isEmpty
        }
        if ended { self.logger.notice("state is saved again", metadata: ["part": "\(part)"]) }
    }

    /// Why state cannot be saved, or `nil` when every part's last save worked.
    package var stateProblem: String? {
        self.state.withLock { state in
            state.unsaved.keys.sorted().first.flatMap { state.unsaved[$0] }
        }
    }

    /// The targets whose polls count (after a reload, the new list; with leases, the held ones); records of others
    /// are forgotten, their failed saves too: a target given up (its lease lost or released) is no longer this
    /// instance's to save, and its successor reports its own.
    package func setTargets(_ targets: [String]) {
        let parts = Set(targets.map { "target " + $0 })
        self.state.withLock { state in
            state.targets = targets
            state.failing = state.failing.filter { targets.contains($0.key) }
            state.unsaved = state.unsaved.filter { !$0.key.hasPrefix("target ") || parts.contains($0.key) }
        }
    }

    /// A poll ended.
    /// - Parameters:
    ///   - target: The target.
    ///   - consecutiveFailures: Its failed polls in a row now (0 after a good one).
    ///   - downAfter: How many make it down.
    package func polled(target: String, consecutiveFailures: Int, downAfter: Int) {
        let now = self.stopwatch.elapsed
        self.state.withLock { state in
            state.failing[target] = (consecutiveFailures, downAfter)
            state.lastPoll = now
        }
    }

    /// Whether there are targets and every one of them is down (`down_after` failed polls in a row).
    package var allTargetsFailing: Bool {
        self.state.withLock { state in
            !state.targets.isEmpty
                && state.targets.allSatisfy { target in
                    guard let failing = state.failing[target] else { return false }
                    return failing.count >= max(failing.downAfter, 1)
                }
        }
    }

    /// How many targets there are.
    package var targetCount: Int { self.state.withLock { $0.targets.count } }

    /// How long ago any poll last ended; `nil` before the first.
    package var sinceLastPoll: Duration? {
        let now = self.stopwatch.elapsed
        return self.state.withLock { $0.lastPoll.map { now - $0 } }
    }
}
