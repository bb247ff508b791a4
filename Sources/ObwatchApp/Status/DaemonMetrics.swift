package import Metrics
import Prometheus
import Synchronization
package import Tracker

/// The daemon's Prometheus metrics, in a registry of their own (not a process-wide bootstrap, so several can live
/// side by side in tests), rendered by ``render()`` for `GET /metrics`.
///
/// Every method is cheap and thread-safe: the registry returns the existing series for a name and label set.
/// ``factory`` puts swift-metrics users (a library's `Counter(label:)`) into the same registry; those series carry
/// no `# HELP` line, and a swift-metrics label must not reuse one of the `obwatch_` names below.
package final class DaemonMetrics: Sendable {
    /// What a notification attempt came to, as `obwatch_notifications_total`'s `outcome` label spells it.
    package struct NotificationOutcome: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case delivered, retry, rejected, expired
        }
        private let kind: Kind

        /// The receiver accepted the notification.
        package static let delivered = NotificationOutcome(kind: .delivered)
        /// The attempt failed and will be tried again.
        package static let retry = NotificationOutcome(kind: .retry)
        /// The receiver refused it for good.
        package static let rejected = NotificationOutcome(kind: .rejected)
        /// It waited longer than its time to live and was dropped.
        package static let expired = NotificationOutcome(kind: .expired)

        /// The label value.
        package var description: String { self.kind.rawValue }
    }

    /// The buckets of `obwatch_poll_duration_seconds`: a healthy poll takes milliseconds, a hung one its timeout.
    package static let pollDurationBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    fileprivate let registry: PrometheusCollectorRegistry
    /// The states each target reported last, so a state that emptied is set to 0 instead of keeping its old count.
    private let dagStates = Mutex<[String: Set<String>]>([:])

    /// Each target's polls so far, for `/api/v1/targets`.
    private let polls = Mutex<[String: TargetPolls]>([:])
    /// Each target's poll series, looked up once: the registry's look-up hashes the name and every label at each
    /// call, which at thousands of targets was a few per cent of the daemon's CPU.
    private let pollSeries = Mutex<[String: PollSeries]>([:])

    /// One target's series that every poll updates.
    private struct PollSeries: Sendable {
        var ok: Prometheus.Counter
        var failed: Prometheus.Counter
        var duration: Prometheus.ValueHistogram
        /// `obwatch_dags` by state, for the states reported so far.
        var dags: [String: Prometheus.Gauge] = [:]
        /// The counts last reported, so that an unchanged poll sets nothing.
        var lastCounts: [String: Int]?
    }

    /// How a target's polls went, for the status API's per-target health.
    package struct TargetPolls: Sendable, Hashable {
        /// `ok` or `failed`: how the last poll ended.
        package var lastResult: String
        /// Failed polls since the last good one.
        package var consecutiveFailures: Int
        /// Polls since the daemon started.
        package var count: Int
    }

    /// Each target's polls so far, by target name.
    package var targetPolls: [String: TargetPolls] { self.polls.withLock { $0 } }

    /// Makes an empty registry.
    package init() {
        self.registry = PrometheusCollectorRegistry()
    }

    /// A swift-metrics factory writing into this registry, for `MetricsSystem.bootstrap` in the daemon.
    package var factory: any MetricsFactory {
        PrometheusMetricsFactory(registry: self.registry)
    }

    /// Counts a finished poll and records how long it took.
    /// - Parameters:
    ///   - target: The target's name.
    ///   - result: `ok` or `failed`.
    ///   - seconds: The poll's duration.
    package func pollFinished(target: String, result: String, seconds: Double) {
        self.polls.withLock { polls in
            var record = polls[target] ?? TargetPolls(lastResult: result, consecutiveFailures: 0, count: 0)
            record.lastResult = result
            record.consecutiveFailures = result == "ok" ? 0 : record.consecutiveFailures + 1
            record.count += 1
            polls[target] = record
        }
        let series = self.series(of: target)
        switch result {
        case "ok": series.ok.increment()
        case "failed": series.failed.increment()
        default: self.pollCounter(target: target, result: result).increment()
        }
        series.duration.record(seconds.isFinite ? max(seconds, 0) : 0)
    }

    /// A target's poll series, made on its first poll.
    private func series(of target: String) -> PollSeries {
        if let known = self.pollSeries.withLock({ $0[target] }) { return known }
        let made = PollSeries(
            ok: self.pollCounter(target: target, result: "ok"),
            failed: self.pollCounter(target: target, result: "failed"),
            duration: self.registry.makeValueHistogram(
                descriptor: Self.name("poll_duration", unit: "seconds", help: "How long one poll of a target took."),
                labels: [("target", target)],
                buckets: Self.pollDurationBuckets
            )
        )
        return self.pollSeries.withLock { series in
            if let known = series[target] { return known }
            series[target] = made
            return made
        }
    }

    private func pollCounter(target: String, result: String) -> Prometheus.Counter {
        self.registry.makeCounter(
            descriptor: Self.name("polls", unit: "total", help: "Polls of a target by result (ok or failed)."),
            labels: [("target", target), ("result", result)]
        )
    }

    /// Sets how many DAGs of a target the tracker holds in each state; states missing from `byState` that were
    /// reported before drop to 0.
    /// - Parameters:
    ///   - target: The target's name.
    ///   - byState: The number of tracked DAGs per state (e.g. `RUNNING`, `FAILED`).
    package func dagsTracked(target: String, byState: [String: Int]) {
        // Most polls change no count: nothing to set.
        let unchanged = self.pollSeries.withLock { series in
            guard series[target]?.lastCounts != byState else { return true }
            series[target]?.lastCounts = byState
            return false
        }
        if unchanged { return }
        let gone = self.dagStates.withLock { known -> Set<String> in
            let before = known[target] ?? []
            known[target] = before.union(byState.keys)
            return before.subtracting(byState.keys)
        }
        for state in gone.sorted() { self.dagGauge(target: target, state: state).set(0.0) }
        for (state, count) in byState.sorted(by: { $0.key < $1.key }) {
            self.dagGauge(target: target, state: state).set(Double(count))
        }
    }

    private func dagGauge(target: String, state: String) -> Prometheus.Gauge {
        self.registry.makeGauge(
            descriptor: Self.name("dags", unit: "", help: "DAGs the tracker holds, by target and state."),
            labels: [("target", target), ("state", state)]
        )
    }

    /// Counts an event the tracker made.
    /// - Parameters:
    ///   - type: The event type, e.g. `failed`.
    ///   - target: The target's name.
    package func event(_ type: String, target: String) {
        self.registry.makeCounter(
            descriptor: Self.name("events", unit: "total", help: "Events made, by target and type."),
            labels: [("target", target), ("type", type)]
        ).increment()
    }

    /// Counts an event type of the catalogue.
    /// - Parameters:
    ///   - type: The event type.
    ///   - target: The target's name.
    package func event(_ type: EventType, target: String) {
        self.event(type.rawValue, target: target)
    }

    /// Counts a rule that matched an event.
    /// - Parameter rule: The rule's name.
    package func ruleMatched(rule: String) {
        self.registry.makeCounter(
            descriptor: Self.name("rule_matches", unit: "total", help: "Events a rule matched."),
            labels: [("rule", rule)]
        ).increment()
    }

    /// Counts a notification attempt's outcome.
    /// - Parameters:
    ///   - receiver: The receiver's name.
    ///   - outcome: What the attempt came to.
    package func notification(receiver: String, outcome: NotificationOutcome) {
        self.registry.makeCounter(
            descriptor: Self.name(
                "notifications",
                unit: "total",
                help: "Notification attempts by receiver and outcome (delivered, retry, rejected, expired)."
            ),
            labels: [("receiver", receiver), ("outcome", outcome.description)]
        ).increment()
    }

    /// Sets a receiver's outbox depth and the age of its oldest waiting notification.
    /// - Parameters:
    ///   - receiver: The receiver's name.
    ///   - depth: Notifications waiting.
    ///   - oldestAgeSeconds: How long the oldest one has waited; 0 when none waits.
    package func outbox(receiver: String, depth: Int, oldestAgeSeconds: Double) {
        self.registry.makeGauge(
            descriptor: Self.name("outbox_depth", unit: "", help: "Notifications waiting in a receiver's outbox."),
            labels: [("receiver", receiver)]
        ).set(Double(depth))
        self.registry.makeGauge(
            descriptor: Self.name(
                "outbox_oldest_age",
                unit: "seconds",
                help: "How long the oldest notification in a receiver's outbox has waited."
            ),
            labels: [("receiver", receiver)]
        ).set(oldestAgeSeconds.isFinite ? max(oldestAgeSeconds, 0) : 0)
    }

    /// Records a configuration load or reload.
    /// - Parameter success: Whether the new configuration took effect.
    package func configReload(success: Bool) {
        self.registry.makeGauge(
            descriptor: Self.name(
                "config_last_reload_successful",
                unit: "",
                help: "1 when the last configuration (re)load succeeded, else 0."
            )
        ).set(success ? 1.0 : 0.0)
        self.registry.makeCounter(
            descriptor: Self.name(
                "config_reloads",
                unit: "total",
                help: "Configuration (re)loads by result (success or failure)."
            ),
            labels: [("result", success ? "success" : "failure")]
        ).increment()
    }

    /// Counts a write of state (a target's, the router's or an outbox journal) that failed.
    package func stateSaveFailure() {
        self.registry.makeCounter(
            descriptor: Self.name(
                "state_save_failures",
                unit: "total",
                help: "Writes of state to state_dir that failed (events are still delivered meanwhile)."
            )
        ).increment()
    }

    /// Records whether the watcher is degraded (1) or healthy (0), and why, as `obwatch_watcher_degraded`.
    package func watcherDegraded(_ degraded: Bool) {
        self.registry.makeGauge(
            descriptor: Self.name(
                "watcher_degraded",
                unit: "",
                help: "1 while obwatch cannot fully do its job (state unsaved, a receiver stuck, every target down)."
            )
        ).set(degraded ? 1.0 : 0.0)
    }

    /// Counts heartbeat pings by result (`ok`, `failed`, `skipped` while unhealthy).
    package func heartbeat(result: String) {
        self.registry.makeCounter(
            descriptor: Self.name(
                "heartbeats",
                unit: "total",
                help: "Heartbeat pings by result (ok, failed, skipped)."
            ),
            labels: [("result", result)]
        ).increment()
    }

    /// A fully qualified `obwatch_NAME_UNIT` with its help text. Built on each use: the descriptor type is not
    /// `Sendable`, so it cannot be a shared constant.
    fileprivate static func name(_ name: String, unit: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "obwatch", metricName: name, unitName: unit, helpText: help)
    }

    /// Every series in the Prometheus text exposition format 0.0.4.
    package func render() -> String {
        self.registry.emitToString()
    }
}

extension DaemonMetrics {
    /// Sets how many target leases this replica holds (`obwatch_leases_held`).
    package func leasesHeld(_ count: Int) {
        self.registry.makeGauge(
            descriptor: Self.name("leases_held", unit: "", help: "Target leases this replica holds (PostgreSQL store).")
        ).set(Double(count))
    }

    /// Counts a lease acquired that was held before, by any replica (`obwatch_lease_takeovers_total`).
    package func leaseTakeover() {
        self.registry.makeCounter(
            descriptor: Self.name(
                "lease_takeovers",
                unit: "total",
                help: "Target leases this replica acquired that had been held before (epoch above 1)."
            )
        ).increment()
    }

    /// Counts a lease lost without giving it up (`obwatch_lease_losses_total{why}`).
    package func leaseLoss(why: String) {
        self.registry.makeCounter(
            descriptor: Self.name(
                "lease_losses",
                unit: "total",
                help: "Target leases this replica lost (renewal refused, trust window passed, write fenced)."
            ),
            labels: [("why", why)]
        ).increment()
    }

    /// Counts a write refused by the fence (`obwatch_fenced_writes_total{kind}`): `target`, `outbox`, `router`.
    package func fencedWrite(kind: String) {
        self.registry.makeCounter(
            descriptor: Self.name(
                "fenced_writes",
                unit: "total",
                help: "Writes refused because this replica's lease on the target was no longer valid."
            ),
            labels: [("kind", kind)]
        ).increment()
    }
}
