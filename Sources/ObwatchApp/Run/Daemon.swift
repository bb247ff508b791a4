import ConfigLoading
import ConfigModel
import Delivery
import Foundation
import Logging
import Messages
import ObshellModel
import Routing
import ServiceLifecycle
import Synchronization
import Tracker
import UnixSignals
import YAML

/// What the daemon reports beyond its events: metrics, the recent events, readiness.
struct DaemonTelemetry: Sendable {
    let metrics: DaemonMetrics
    let events: EventLog
    let readiness: Readiness
    /// What keeps the pipeline from doing its job, reported by its parts.
    let health: PipelineHealth
    /// The watcher's own incident, across reloads.
    let monitor: WatcherMonitor
    /// Every target's password back-off, across reloads.
    let backoffBook: AuthBackoffBook
    /// Every syslog receiver's sequence numbers, across reloads.
    var syslogProgress = SyslogProgressBook()
}

/// One configuration at work: the outbox, the router and a poller per target, each polling in a task of its own.
/// A reload stops one core and starts the next on the same state folder, so every target keeps its state.
final class DaemonCore: Sendable {
    let config: ObwatchConfig
    let pollers: [TargetPoller]
    private let outbox: Outbox
    private let tasks: Mutex<[Task<Void, Never>]>
    private let logger: Logger

    /// Starts polling, routing and delivering.
    init(
        config: ObwatchConfig,
        recorder: CaptureRecorder?,
        telemetry: DaemonTelemetry,
        notifier: SystemdNotifier,
        output: EventOutput,
        logger: Logger
    ) async {
        self.config = config
        self.logger = logger
        let stateDirectory = URL(fileURLWithPath: config.stateDirectory)
        let metrics = telemetry.metrics
        let outbox = Outbox(
            receivers: config.receivers,
            stateDirectory: stateDirectory,
            makeSender: { [syslogProgress = telemetry.syslogProgress] receiver in
                DeliverySenders.make(
                    for: receiver,
                    templates: MessageTemplates(receiver: receiver, config: config),
                    syslogProgress: syslogProgress
                )
            },
            logger: Logger(label: "obwatch.delivery"),
            onAttempt: { attempt in
                let outcome: DaemonMetrics.NotificationOutcome =
                    switch attempt.outcome {
                    case .delivered: .delivered
                    case .retry: .retry
                    case .rejected: .rejected
                    }
                metrics.notification(receiver: attempt.receiver, outcome: outcome)
            },
            onDrop: { drop in
                if drop.reason == .expired { metrics.notification(receiver: drop.receiver, outcome: .expired) }
            }
        )
        await outbox.start()
        self.outbox = outbox
        let events = telemetry.events
        let health = telemetry.health
        health.setTargets(config.targets.map(\.name))
        let routing = RoutingStage(
            router: Router(config: config),
            stateDirectory: stateDirectory,
            logger: Logger(label: "obwatch.router"),
            deliver: { notifications throws(DeliveryError) in try await outbox.accept(notifications) },
            health: health,
            output: { result in
                for event in result.events {
                    output.write(event)
                    metrics.event(event.type, target: event.target.name)
                    for route in event.routes ?? [] where !route.receivers.isEmpty {
                        metrics.ruleMatched(rule: route.rule)
                    }
                }
                await events.append(result.events)
            }
        )
        let settings = config.trackerSettings
        let store = StateStore(directory: stateDirectory)
        self.pollers = config.targets.map { target in
            TargetPoller(
                target: target,
                settings: settings,
                store: store,
                recorder: recorder,
                health: health,
                backoffBook: telemetry.backoffBook,
                onPoll: { result, seconds, state in
                    metrics.pollFinished(target: target.name, result: result, seconds: seconds)
                    metrics.dagsTracked(target: target.name, byState: DaemonCore.countByState(state))
                    telemetry.readiness.polled(target: target.name)
                },
                sink: { try await routing.observed($0) }
            )
        }
        let heartbeat = config.heartbeat.map { settings in
            HeartbeatPinger(settings: settings, onPing: { metrics.heartbeat(result: $0) })
        }
        let monitor = telemetry.monitor
        let readiness = telemetry.readiness
        // Polls are "happening" while one ended within two of the longest intervals (plus its timeout).
        let longestInterval = config.targets.map { $0.pollInterval + $0.timeout }.max() ?? .seconds(60)
        let pollsExpectedWithin = longestInterval * 2 + .seconds(2)
        let stuckAfter = config.defaults.stuckAfter
        var tasks: [Task<Void, Never>] = self.pollers.map { poller in Task { _ = try? await poller.run() } }
        tasks.append(
            Task {
                // Reminders and group_wait fall due between polls too. The watchdog and the heartbeat are pinged
                // from here, after the router answered: a daemon whose routing is stuck stops pinging, systemd
                // restarts it and the heartbeat's checker pages.
                var lastPing = ContinuousClock.now
                var lastTrim = ContinuousClock.now
                var countedJournalFailures = 0
                var lastStatus = "watching \(config.targets.count) target(s)"
                while !Task.isCancelled {
                    do {
                        try await Task.sleep(for: .seconds(1))
                    } catch {
                        return
                    }
                    await routing.tick(at: ObshellTime(date: Date()))
                    let now = Date()
                    let backlog = await outbox.backlog()
                    for entry in backlog {
                        let age = entry.oldest.map { now.timeIntervalSince($0) } ?? 0
                        metrics.outbox(receiver: entry.receiver, depth: entry.depth, oldestAgeSeconds: age)
                    }
                    // An idle daemon writes nothing for minutes: a probe file each second finds a disk that went
                    // read-only before a real save needs it (and the heartbeat stops within a tick or two).
                    if let reason = StateDirectoryCheck.problem(path: stateDirectory.path) {
                        health.saveFailed(
                            "state_dir",
                            reason: "state_dir \(stateDirectory.path): \(reason)",
                            countEach: false
                        )
                    } else {
                        health.saved("state_dir")
                    }
                    // The outbox journals count as state: one that cannot be written is the same episode.
                    let storage = await outbox.storageStatus()
                    for _ in countedJournalFailures..<storage.failedWrites { metrics.stateSaveFailure() }
                    countedJournalFailures = max(countedJournalFailures, storage.failedWrites)
                    let stateProblem = health.stateProblem ?? storage.problem.map { "outbox journal: \($0)" }
                    let problems = WatcherMonitor.problems(
                        stateProblem: stateProblem,
                        backlog: backlog,
                        stuckAfter: stuckAfter,
                        allTargetsFailing: health.allTargetsFailing,
                        targetCount: health.targetCount,
                        now: now
                    )
                    readiness.setProblems(problems.map(\.detail))
                    metrics.watcherDegraded(!problems.isEmpty)
                    let watcherEvents = monitor.update(problems, at: ObshellTime(date: now))
                    let status =
                        problems.isEmpty
                        ? "watching \(config.targets.count) target(s)"
                        : "degraded: " + problems.map(\.detail).joined(separator: "; ")
                    if status != lastStatus {
                        // `systemctl status obwatch` shows it: a degraded daemon does not look healthy there either.
                        _ = notifier.status(status)
                        lastStatus = status
                    }
                    if !watcherEvents.isEmpty {
                        do {
                            try await routing.observed(EventBatch(events: watcherEvents, at: ObshellTime(date: now)))
                        } catch {
                            logger.error(
                                "the watcher's own event could not be routed",
                                metadata: ["error": "\(error)"]
                            )
                        }
                    }
                    if let heartbeat {
                        var why = problems.map(\.detail)
                        let polling = health.lastPoll.map { ContinuousClock.now - $0 < pollsExpectedWithin } ?? false
                        if !polling { why.append("no poll has ended in the last \(pollsExpectedWithin)") }
                        heartbeat.tick(healthy: why.isEmpty, why: why.joined(separator: "; "))
                    }
                    if let interval = notifier.watchdogInterval, ContinuousClock.now - lastPing >= interval {
                        notifier.watchdog()
                        lastPing = ContinuousClock.now
                    }
                    if ContinuousClock.now - lastTrim >= .seconds(30) {
                        MemoryTrim.releaseFreePages()
                        lastTrim = ContinuousClock.now
                    }
                }
            }
        )
        self.tasks = Mutex(tasks)
    }

    /// Stops polling (a poll in flight is abandoned, not counted as failed), then lets in-flight deliveries finish
    /// within `grace`; whatever is still undelivered stays in the outbox's journal for the next start.
    func stop(grace: Duration) async {
        let tasks = self.tasks.withLock { tasks in
            defer { tasks = [] }
            return tasks
        }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
        await self.outbox.stop(grace: grace)
        self.logger.info("stopped", metadata: ["targets": "\(self.config.targets.count)"])
    }

    /// Every tracked DAG of every target, for `/api/v1/dags`.
    func dags() async -> [DagStatus] {
        let now = ObshellTime(date: Date())
        var rows: [DagStatus] = []
        for poller in self.pollers {
            rows += DagStatus.make(target: poller.target.name, state: await poller.tracker.state, now: now)
        }
        return rows
    }

    static func countByState(_ state: TrackerState) -> [String: Int] {
        var counts: [String: Int] = [:]
        for record in state.dags.values { counts[record.last.state.rawValue, default: 0] += 1 }
        return counts
    }
}

/// `obwatch run` as a service: one ``DaemonCore`` at a time; SIGHUP re-reads the configuration (refused, with its
/// errors logged, when `check` rejects it: the running one stays), and a graceful shutdown stops the core.
///
/// A reload applies as a whole or not at all: a changed `http:` moves the status API first (the new address is bound
/// before the old one is let go), and an address that cannot be bound refuses the reload. A changed `state_dir`
/// is refused too: this process holds the old one's lock.
final class DaemonService: Service, Sendable {
    /// How long in-flight deliveries get to finish at a stop or a reload.
    static let grace = Duration.seconds(10)

    private let configPath: String
    private let initial: ObwatchConfig
    private let recorder: CaptureRecorder?
    private let telemetry: DaemonTelemetry
    private let notifier: SystemdNotifier
    private let output: EventOutput
    private let logger: Logger
    private let statusEndpoint: StatusEndpoint?
    private let current = Mutex<DaemonCore?>(nil)

    /// - Parameter statusEndpoint: Serves the status API where `http:` says: nothing starts (no outbox resumes, no
    ///   target is polled) until it listens, so a clashing port sends nothing. The daemon stops it last.
    init(
        configPath: String,
        initial: ObwatchConfig,
        recorder: CaptureRecorder?,
        telemetry: DaemonTelemetry,
        notifier: SystemdNotifier,
        output: EventOutput,
        logger: Logger,
        statusEndpoint: StatusEndpoint? = nil
    ) {
        self.configPath = configPath
        self.initial = initial
        self.recorder = recorder
        self.telemetry = telemetry
        self.notifier = notifier
        self.output = output
        self.logger = logger
        self.statusEndpoint = statusEndpoint
    }

    func run() async throws {
        if let http = self.initial.http, let endpoint = self.statusEndpoint {
            do {
                try await endpoint.start(http)
            } catch {
                throw RunError(
                    code: .statusPortUnavailable,
                    message: "cannot listen on \(StatusEndpoint.address(http)) (http.listen): \(error.message); "
                        + "nothing was polled or sent",
                    cause: error
                )
            }
        }
        var core = await self.start(self.initial)
        self.telemetry.readiness.configLoaded()
        self.notifier.ready(status: "watching \(self.initial.targets.count) target(s)")
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            self.notifier.reloading()
            if let config = await self.reloadedConfig() {
                await core.stop(grace: Self.grace)
                core = await self.start(config)
                self.telemetry.readiness.setTargets(config.targets.map(\.name))
                self.telemetry.metrics.configReload(success: true)
                self.logger.info("configuration reloaded", metadata: ["targets": "\(config.targets.count)"])
            } else {
                self.telemetry.metrics.configReload(success: false)
                self.logger.error("reload refused: the configuration in force stays")
            }
            self.notifier.ready(status: "watching \(core.config.targets.count) target(s)")
        }
        self.notifier.stopping()
        self.logger.info("stopping: polls end, in-flight deliveries get \(Self.grace)")
        await core.stop(grace: Self.grace)
        // Last: the probes answered while the core drained.
        await self.statusEndpoint?.stop()
    }

    /// The configuration a SIGHUP brings in, with `http:` already applied; `nil` (every reason logged) when the
    /// reload is refused and nothing changed.
    private func reloadedConfig() async -> ObwatchConfig? {
        let report = ConfigCheck.run(contentsOfFile: self.configPath)
        let lines = report.diagnostics.entries.map(\.description)
        guard report.isValid, let config = report.config else {
            for line in lines { self.logger.error("\(line)") }
            self.logger.error("\(self.configPath) is invalid (the same as `obwatch check` reports)")
            return nil
        }
        for line in lines { self.logger.warning("\(line)") }
        if config.stateDirectory != self.initial.stateDirectory {
            self.logger.error(
                """
                state_dir changed from \(self.initial.stateDirectory) to \(config.stateDirectory): a reload cannot \
                move the state (it is locked by this process); restart obwatch to use the new one
                """
            )
            return nil
        }
        guard let endpoint = self.statusEndpoint else { return config }
        do {
            if case .moved(let from, let to) = try await endpoint.apply(config.http) {
                self.logger.notice(
                    "status API moved",
                    metadata: ["from": "\(from ?? "off")", "to": "\(to ?? "off")"]
                )
            }
        } catch {
            let address = config.http.map(StatusEndpoint.address) ?? "off"
            let staying = endpoint.settings.map(StatusEndpoint.address) ?? "off"
            self.logger.error(
                "http.listen \(address): cannot listen: \(error.message); the status API stays on \(staying)"
            )
            return nil
        }
        return config
    }

    private func start(_ config: ObwatchConfig) async -> DaemonCore {
        let core = await DaemonCore(
            config: config,
            recorder: self.recorder,
            telemetry: self.telemetry,
            notifier: self.notifier,
            output: self.output,
            logger: self.logger
        )
        self.current.withLock { $0 = core }
        return core
    }

    /// Every tracked DAG, for the status API.
    func dags() async -> [DagStatus] {
        guard let core = self.current.withLock({ $0 }) else { return [] }
        return await core.dags()
    }
}
