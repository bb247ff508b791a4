import Delivery
import Foundation
import Logging
import Obshell
import Rules
import ServiceLifecycle
import Synchronization
import Tracker
import UnixSignals

/// What the daemon reports beyond its events: metrics, the recent events, readiness.
struct DaemonTelemetry: Sendable {
    let metrics: DaemonMetrics
    let events: EventLog
    let readiness: Readiness
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
            makeSender: { DeliverySenders.make(for: $0, config: config) },
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
        let routing = RoutingStage(
            router: Router(config: config),
            stateDirectory: stateDirectory,
            logger: Logger(label: "obwatch.router"),
            deliver: { notifications throws(DeliveryError) in try await outbox.accept(notifications) },
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
        let readiness = telemetry.readiness
        let store = StateStore(directory: stateDirectory)
        self.pollers = config.targets.map { target in
            TargetPoller(
                target: target,
                settings: settings,
                store: store,
                recorder: recorder,
                onPoll: { result, seconds, state in
                    metrics.pollFinished(target: target.name, result: result, seconds: seconds)
                    metrics.dagsTracked(target: target.name, byState: DaemonCore.countByState(state))
                    readiness.polled(target: target.name)
                },
                sink: { try await routing.observed($0) }
            )
        }
        var tasks: [Task<Void, Never>] = self.pollers.map { poller in Task { _ = try? await poller.run() } }
        tasks.append(
            Task {
                // Reminders and group_wait fall due between polls too. The watchdog is pinged from here, after the
                // router answered: a daemon whose routing is stuck stops pinging and systemd restarts it.
                var lastPing = ContinuousClock.now
                var lastTrim = ContinuousClock.now
                while !Task.isCancelled {
                    do {
                        try await Task.sleep(for: .seconds(1))
                    } catch {
                        return
                    }
                    await routing.tick(at: ObshellTime(date: Date()))
                    let now = Date()
                    for entry in await outbox.backlog() {
                        let age = entry.oldest.map { now.timeIntervalSince($0) } ?? 0
                        metrics.outbox(receiver: entry.receiver, depth: entry.depth, oldestAgeSeconds: age)
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
    private let current = Mutex<DaemonCore?>(nil)

    init(
        configPath: String,
        initial: ObwatchConfig,
        recorder: CaptureRecorder?,
        telemetry: DaemonTelemetry,
        notifier: SystemdNotifier,
        output: EventOutput,
        logger: Logger
    ) {
        self.configPath = configPath
        self.initial = initial
        self.recorder = recorder
        self.telemetry = telemetry
        self.notifier = notifier
        self.output = output
        self.logger = logger
    }

    func run() async throws {
        var core = await self.start(self.initial)
        self.telemetry.readiness.configLoaded()
        self.notifier.ready(status: "watching \(self.initial.targets.count) target(s)")
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            self.notifier.reloading()
            let (config, lines) = RunCommand.checkedConfig(self.configPath)
            if let config {
                for line in lines { self.logger.warning("\(line)") }
                await core.stop(grace: Self.grace)
                core = await self.start(config)
                self.telemetry.readiness.setTargets(config.targets.map(\.name))
                self.telemetry.metrics.configReload(success: true)
                self.logger.info("configuration reloaded", metadata: ["targets": "\(config.targets.count)"])
            } else {
                for line in lines { self.logger.error("\(line)") }
                self.telemetry.metrics.configReload(success: false)
                self.logger.error("reload refused: the configuration in force stays")
            }
            self.notifier.ready(status: "watching \(core.config.targets.count) target(s)")
        }
        self.notifier.stopping()
        self.logger.info("stopping: polls end, in-flight deliveries get \(Self.grace)")
        await core.stop(grace: Self.grace)
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
