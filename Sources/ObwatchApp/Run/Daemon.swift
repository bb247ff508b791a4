import ConfigLoading
import ConfigModel
import Delivery
import Foundation
import History
import Logging
import Messages
import ObshellModel
import Pipeline
import PostgresStore
import Routing
import ServiceLifecycle
import Support
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
    /// The run-time silences (`obwatch silence`), across reloads; `nil` routes with the configuration's alone.
    var silences: SilenceBook? = nil
    /// Where silences and acknowledgements are audited: the configuration's syslog receivers and the log.
    var audit: AuditTrail? = nil
}

/// One configuration at work: the outbox, the routing stage and the ticker, and a poller per target, each in a task
/// of its own. A reload stops one core and starts the next on the same state folder, so every target keeps its state.
final class DaemonCore: Sendable {
    let config: ObwatchConfig
    let pollers: [TargetPoller]
    /// With PostgreSQL: the leased targets, polled only while this replica holds their leases.
    private let leased: LeasedTargets?
    /// The outbox: the local journals, or the dispatcher of PostgreSQL's shared outbox.
    private let outbox: any NotificationDispatch
    /// The routing stage, for acknowledgements.
    private let routing: RoutingStage
    /// The duration history the pollers learn into; saved at most once a second, so it is flushed at the stop.
    private let history: HistoryBook
    /// The pollers and the ticker: stopped first.
    private let tasks: Mutex<[Task<Void, Never>]>
    /// The routing stage: stopped once nothing submits to it any more.
    private let routingTask: Mutex<Task<Void, Never>?>
    private let clock: any ObwatchClock
    private let logger: Logger

    /// Starts polling, routing and delivering. Everything is loaded from `storage` before anything starts, so a
    /// storage that cannot be read leaves nothing running.
    /// - Parameters:
    ///   - storage: Where target records and the router's memory are kept (the state folder or PostgreSQL).
    ///   - storeProbe: Asked once a second, when the storage is a server: why it cannot be used now, or `nil`.
    ///   - leasing: With PostgreSQL: targets are polled only under their leases (``LeasedTargets``), each poller
    ///     made when its lease is acquired; `nil` polls every target (the state folder).
    /// - Throws: ``StorageError`` when the router's memory or a target's record cannot be loaded.
    init(
        config: ObwatchConfig,
        storage: any PipelineStorage,
        storeProbe: (@Sendable () async -> String?)? = nil,
        leasing: DaemonLeasing? = nil,
        recorder: CaptureRecorder?,
        telemetry: DaemonTelemetry,
        notifier: SystemdNotifier,
        output: EventOutput,
        clock: any ObwatchClock,
        logger: Logger
    ) async throws(StorageError) {
        self.config = config
        self.clock = clock
        self.logger = logger
        let stateDirectory = URL(fileURLWithPath: config.stateDirectory)
        let metrics = telemetry.metrics
        let alertmanagerBooks = AlertmanagerBooks(stateDirectory: stateDirectory, clock: clock)
        let makeSender = { [syslogProgress = telemetry.syslogProgress] (receiver: ReceiverConfig) in
            DeliverySenders.make(
                for: receiver,
                templates: MessageTemplates(receiver: receiver, config: config),
                syslogProgress: syslogProgress,
                alertmanagerBooks: alertmanagerBooks
            )
        }
        let onAttempt: @Sendable (DeliveryAttempt) -> Void = { attempt in
            let outcome: DaemonMetrics.NotificationOutcome =
                switch attempt.outcome {
                case .delivered: .delivered
                case .retry: .retry
                case .rejected: .rejected
                }
            metrics.notification(receiver: attempt.receiver, outcome: outcome)
        }
        let onDrop: @Sendable (DeliveryDrop) -> Void = { drop in
            if drop.reason == .expired { metrics.notification(receiver: drop.receiver, outcome: .expired) }
        }
        let outbox: any NotificationDispatch
        let commit: any RoutingCommit
        if let shared = storage as? PostgresPipelineStorage {
            // PostgreSQL: the routing step is one transaction with the shared outbox, which every replica delivers.
            let dispatcher = SharedOutboxDispatcher(
                queue: PostgresOutbox(store: shared.store),
                replica: leasing?.leases.holder ?? Self.placeholderReplica,
                receivers: config.receivers,
                makeSender: makeSender,
                clock: clock,
                logger: Logger(label: "obwatch.delivery"),
                onAttempt: onAttempt,
                onDrop: onDrop
            )
            outbox = dispatcher
            commit = PostgresRoutingCommit(
                store: shared.store,
                epochs: shared.epochs,
                onFenced: { target, error in
                    // Counted and logged once per target; the batch stays in the target's record, which the
                    // poller (stopped with its lease) no longer hands on.
                    if let fencedWrites = leasing?.fencedWrites {
                        fencedWrites.refused(
                            kind: "router",
                            target: target,
                            error: StorageError(reason: error.message, kind: .fenced)
                        )
                    } else {
                        logger.warning(
                            "fenced: events not routed",
                            metadata: ["target": "\(target)", "reason": "\(error)"]
                        )
                    }
                },
                onEnqueued: { _ in dispatcher.wake() }
            )
        } else {
            let journals = Outbox(
                receivers: config.receivers,
                stateDirectory: stateDirectory,
                makeSender: makeSender,
                logger: Logger(label: "obwatch.delivery"),
                onAttempt: onAttempt,
                onDrop: onDrop
            )
            outbox = journals
            commit = LocalRoutingCommit(
                storage: storage,
                deliver: { notifications throws(DeliveryError) in try await journals.accept(notifications) }
            )
        }
        self.outbox = outbox
        let events = telemetry.events
        let health = telemetry.health
        let routing = try await RoutingStage(
            router: Router(config: config),
            commit: commit,
            logger: Logger(label: "obwatch.router"),
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
            },
            silences: { [silences = telemetry.silences] in silences?.routerSilences ?? [] }
        )
        self.routing = routing
        telemetry.audit?.use(config.receivers)
        let settings = config.trackerSettings
        let history = await DaemonHistory.open(
            storage: storage,
            stateDirectory: stateDirectory,
            clock: clock,
            logger: logger
        )
        self.history = history
        let leasedPhase = leasing != nil
        // Without leases the first polls spread evenly over the first interval, the first target's at once.
        let places = Dictionary(
            config.targets.enumerated().map { ($1.name, $0) },
            uniquingKeysWith: { first, _ in first }
        )
        let targetCount = config.targets.count
        let makePoller: LeasedTargets.MakePoller = { target, atOnce, onFenced throws(StorageError) -> TargetPoller in
            try await TargetPoller(
                target: target,
                settings: settings,
                storage: storage,
                recorder: recorder,
                clock: clock,
                // Under a lease the first poll comes soon, and a takeover's at once: it must not wait a random phase.
                random: {
                    if atOnce { return 0 }
                    if leasedPhase { return Double.random(in: 0..<0.1) }
                    let place = places[target.name] ?? 0
                    return PollSchedule.firstPhase(index: place, of: targetCount, jitter: Double.random(in: 0..<1))
                },
                health: health,
                backoffBook: telemetry.backoffBook,
                onPoll: { result, seconds, state in
                    metrics.pollFinished(target: target.name, result: result, seconds: seconds)
                    metrics.dagsTracked(target: target.name, byState: DaemonCore.countByState(state))
                    telemetry.readiness.polled(target: target.name)
                },
                onFenced: leasedPhase ? onFenced : nil,
                history: history,
                sink: { try await routing.observed($0) }
            )
        }
        var pollers: [TargetPoller] = []
        if let leasing {
            self.leased = LeasedTargets(
                config: config,
                leasing: leasing,
                telemetry: telemetry,
                clock: clock,
                logger: logger,
                makePoller: makePoller
            )
        } else {
            self.leased = nil
            for target in config.targets { pollers.append(try await makePoller(target, false, { _ in })) }
        }
        self.pollers = pollers
        // Loaded: from here on nothing throws, and everything starts.
        if leasing == nil { health.setTargets(config.targets.map(\.name)) }
        await outbox.start()
        self.routingTask = Mutex(Task { try? await routing.run() })
        let heartbeat = config.heartbeat.map { settings in
            HeartbeatPinger(
                settings: settings,
                userAgent: "obwatch/\(ObwatchVersion.current)",
                clock: clock,
                onPing: { metrics.heartbeat(result: $0) }
            )
        }
        let watch = DaemonWatch(
            config: config,
            stateDirectory: stateDirectory,
            routing: routing,
            outbox: outbox,
            telemetry: telemetry,
            notifier: notifier,
            heartbeat: heartbeat,
            logger: logger
        )
        var jobs = [
            // Reminders and group_wait fall due between polls too. The watchdog and the heartbeat are pinged after
            // the router answered: a daemon whose routing is stuck stops pinging, systemd restarts it and the
            // heartbeat's checker pages.
            Ticker.Job("watch", every: .zero) { now in await watch.tick(now: now) }
        ]
        if let interval = notifier.watchdogInterval {
            jobs.append(Ticker.Job("watchdog", every: interval) { _ in notifier.watchdog() })
        }
        jobs.append(Ticker.Job("trim", every: .seconds(30)) { _ in MemoryTrim.releaseFreePages() })
        // The history saves (in the background) on a poll that learns; what the last second learned is saved here once
        // polls only see unchanged lists, and a failed save is tried again. Nothing waits for the store.
        // A save that fails is said once per episode (estimates only; events never depend on it), and its end too.
        let historyFailing = Mutex(false)
        jobs.append(
            Ticker.Job("history", every: .seconds(5)) { _ in
                await history.saveInBackground()
                let error = await history.lastError
                let changed = historyFailing.withLock { failing in
                    defer { failing = error != nil }
                    return failing != (error != nil)
                }
                guard changed else { return }
                if let error {
                    logger.warning(
                        "the duration history cannot be saved; trying again",
                        metadata: ["reason": "\(error)"]
                    )
                } else {
                    logger.notice("the duration history is saved again")
                }
            }
        )
        if let silences = telemetry.silences {
            // Audits silences that ended by themselves, and picks up those other replicas added.
            jobs.append(Ticker.Job("silences", every: .seconds(1)) { _ in await silences.tick() })
        }
        let ticker = Ticker(clock: clock, jobs: jobs)
        var tasks: [Task<Void, Never>] = self.pollers.map { poller in Task { _ = try? await poller.run() } }
        tasks.append(Task { try? await ticker.run() })
        if let leased = self.leased { tasks.append(Task { await leased.run() }) }
        // The history's backfill runs beside the polls (it used to hold back every first poll), a few targets at once.
        tasks.append(
            Task { await DaemonHistory.backfill(targets: config.targets, book: history, clock: clock, logger: logger) }
        )
        if let storeProbe {
            tasks.append(Task { await Self.probeStore(storeProbe, health: health, clock: clock) })
        }
        self.tasks = Mutex(tasks)
    }

    /// Who this process is among replicas when it holds no leases (`replay`, tests): `HOST:PID`.
    static var placeholderReplica: String {
        "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
    }

    /// Stops polling (a poll in flight is abandoned, not counted as failed), then lets in-flight deliveries finish
    /// within `grace`; whatever is still undelivered stays in the outbox's journal for the next start. With leases,
    /// the pollers stop first and every lease is released at once (the other replicas are woken to take them).
    /// - Parameter leaving: Whether this replica also leaves the live set (a stop; a reload stays).
    func stop(grace: Duration, leaving: Bool = true) async {
        await self.leased?.resign(leaving: leaving)
        let tasks = self.tasks.withLock { tasks in
            defer { tasks = [] }
            return tasks
        }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
        if let routing = self.routingTask.withLock({ $0 }) {
            routing.cancel()
            await routing.value
        }
        // The pollers are done learning: what the last second learned goes to the store now, not never.
        await self.history.flush()
        await self.outbox.stop(grace: grace)
        self.logger.info("stopped", metadata: ["targets": "\(self.config.targets.count)"])
    }

    /// Every tracked DAG of every target this instance polls, for `/api/v1/dags`: with leases, only the targets
    /// this replica holds.
    func dags() async -> [DagStatus] {
        let now = ObshellTime(date: self.clock.wallNow)
        var rows: [DagStatus] = []
        for poller in self.pollers + (self.leased?.pollers ?? []) {
            rows += DagStatus.make(target: poller.target.name, state: await poller.journal.state, now: now)
        }
        return rows
    }

    /// The open incidents the router remembers, for `/api/v1/incidents`.
    func openIncidents() -> [OpenIncident] { self.routing.openIncidents }

    /// Acknowledges an open incident (`obwatch ack`): its reminders stop and its PagerDuty and Opsgenie receivers
    /// are told, through the outbox.
    func acknowledge(incident: String, by author: String) async -> StatusRoutes.AcknowledgeAnswer {
        let paging = Set(
            self.config.receivers.compactMap { receiver -> String? in
                guard case .webhook(let settings) = receiver.kind,
                    settings.format == .pagerduty || settings.format == .opsgenie
                else { return nil }
                return receiver.name
            }
        )
        let now = ObshellTime(date: self.clock.wallNow)
        let outcome = Mutex<AcknowledgeOutcome>(.notOpen)
        do {
            try await self.routing.amend { router, state in
                let result = router.acknowledge(
                    incident: incident,
                    by: author,
                    at: now,
                    pagingReceivers: paging,
                    state: &state
                )
                outcome.withLock { $0 = result }
                if case .acknowledged(let routed) = result { return routed }
                return RoutingResult()
            }
        } catch {
            return .failed(error.message)
        }
        switch outcome.withLock({ $0 }) {
        case .notOpen: return .notOpen
        case .alreadyAcknowledged: return .already
        case .acknowledged(let result): return .acknowledged(notified: result.notifications.map(\.receiver))
        }
    }

    /// Asks the store once a second whether it can be used, until cancelled: an idle daemon writes nothing for
    /// minutes, and `/readyz` must say at once that the database is gone (and when it is back).
    private static func probeStore(
        _ probe: @Sendable () async -> String?,
        health: PipelineHealth,
        clock: any ObwatchClock
    ) async {
        while !Task.isCancelled {
            if let problem = await probe() {
                health.saveFailed("store", reason: problem, countEach: false)
            } else {
                health.saved("store")
            }
            do { try await clock.sleep(for: .seconds(1)) } catch { return }
        }
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

    /// How long the daemon waits before it tries again to load its state from a store that did not answer.
    static let loadRetry = Duration.seconds(5)

    private let configPath: String
    private let initial: ObwatchConfig
    private let storage: any PipelineStorage
    private let storeProbe: (@Sendable () async -> String?)?
    private let leasing: DaemonLeasing?
    private let recorder: CaptureRecorder?
    private let telemetry: DaemonTelemetry
    private let notifier: SystemdNotifier
    private let output: EventOutput
    private let logger: Logger
    private let statusEndpoint: StatusEndpoint?
    private let clock: any ObwatchClock
    private let current = Mutex<DaemonCore?>(nil)

    /// - Parameters:
    ///   - storage: Where target records and the router's memory are kept: the state folder, or PostgreSQL
    ///     (migrated before the daemon starts).
    ///   - storeProbe: For a store on a server: why it cannot be used now, or `nil` (asked once a second).
    ///   - leasing: With PostgreSQL: each target polled only under its lease, shared with the other replicas.
    ///   - statusEndpoint: Serves the status API where `http:` says: nothing starts (no outbox resumes, no target
    ///     is polled) until it listens, so a clashing port sends nothing. The daemon stops it last.
    init(
        configPath: String,
        initial: ObwatchConfig,
        storage: any PipelineStorage,
        storeProbe: (@Sendable () async -> String?)? = nil,
        leasing: DaemonLeasing? = nil,
        recorder: CaptureRecorder?,
        telemetry: DaemonTelemetry,
        notifier: SystemdNotifier,
        output: EventOutput,
        logger: Logger,
        statusEndpoint: StatusEndpoint? = nil,
        clock: any ObwatchClock = SystemClock()
    ) {
        self.clock = clock
        self.configPath = configPath
        self.initial = initial
        self.storage = storage
        self.storeProbe = storeProbe
        self.leasing = leasing
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
        guard var core = await self.start(self.initial) else {
            // Stopped while the store did not answer: nothing was started.
            await self.statusEndpoint?.stop()
            return
        }
        self.telemetry.readiness.configLoaded()
        self.notifier.ready(status: "watching \(self.initial.targets.count) target(s)")
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            self.notifier.reloading()
            if let config = await self.reloadedConfig() {
                await core.stop(grace: Self.grace, leaving: false)
                guard let next = await self.start(config) else {
                    await self.statusEndpoint?.stop()
                    return
                }
                core = next
                if self.leasing == nil { self.telemetry.readiness.setTargets(config.targets.map(\.name)) }
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
        if !config.store.isSame(as: self.initial.store) {
            let message =
                "store changed from \(self.initial.store.summary) to \(config.store.summary): a reload cannot move "
                + "the state; restart obwatch to use the new store"
            self.logger.error("\(message)")
            return nil
        }
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

    /// Starts a core on `config`. While its state cannot be loaded (a store that does not answer) it tries again
    /// every ``loadRetry``, with `/readyz` saying why; `nil` when a graceful shutdown came first.
    private func start(_ config: ObwatchConfig) async -> DaemonCore? {
        var failing = false
        while true {
            do {
                let core = try await DaemonCore(
                    config: config,
                    storage: self.storage,
                    storeProbe: self.storeProbe,
                    leasing: self.leasing,
                    recorder: self.recorder,
                    telemetry: self.telemetry,
                    notifier: self.notifier,
                    output: self.output,
                    clock: self.clock,
                    logger: self.logger
                )
                if failing {
                    self.logger.notice("the state is loaded; starting")
                    self.telemetry.readiness.setProblems([])
                }
                self.current.withLock { $0 = core }
                return core
            } catch {
                if !failing {
                    self.logger.error(
                        "cannot load the state; nothing is polled until it can be, trying again every \(Self.loadRetry)",
                        metadata: ["reason": "\(error.reason)"]
                    )
                }
                failing = true
                self.telemetry.readiness.setProblems(["state cannot be loaded: \(error.reason)"])
                do {
                    try await cancelWhenGracefulShutdown { try await self.clock.sleep(for: Self.loadRetry) }
                } catch {
                    return nil
                }
            }
        }
    }

    /// Acknowledges an open incident in the core at work, and audits it.
    func acknowledge(incident: String, by author: String) async -> StatusRoutes.AcknowledgeAnswer {
        guard let core = self.current.withLock({ $0 }) else { return .failed("the daemon is starting") }
        let answer = await core.acknowledge(incident: incident, by: author)
        if case .acknowledged(let notified) = answer {
            let now = ObshellTime(date: self.clock.wallNow)
            await self.telemetry.audit?.record(
                AuditRecord(
                    action: "incident_acknowledged",
                    at: now,
                    fields: [
                        AuditRecord.Field("incident", incident), AuditRecord.Field("author", author),
                        AuditRecord.Field("notified", notified.joined(separator: ",")),
                    ],
                    text: "incident \(incident) acknowledged by \(author): no more reminders"
                        + (notified.isEmpty ? "" : "; told \(notified.joined(separator: ", "))")
                )
            )
        }
        return answer
    }

    /// Every tracked DAG, for the status API.
    func dags() async -> [DagStatus] {
        guard let core = self.current.withLock({ $0 }) else { return [] }
        return await core.dags()
    }

    /// The open incidents of the daemon's router, none before it starts.
    func openIncidents() async -> [OpenIncident] {
        guard let core = self.current.withLock({ $0 }) else { return [] }
        return await core.openIncidents()
    }
}
