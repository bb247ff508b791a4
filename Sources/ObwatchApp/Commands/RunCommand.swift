import ArgumentParser
import ConfigLoading
import ConfigModel
import Delivery
import Foundation
import Logging
import Metrics
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

/// `obwatch run`: the daemon. Polls every target, tracks every DAG, routes each event through the rules, delivers
/// the notifications through the durable outbox, and prints each event with its `routes`.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Poll every configured target, track every DAG, and print each event as a JSON line.",
        discussion: """
            Reads the whole config (refusing one that `obwatch check` rejects, with the same messages), polls \
            every target, routes every event through the rules, silences and inhibitions, and delivers the \
            notifications through a durable outbox (state_dir/outbox) with retries, backoff and rate limits. \
            Each event also goes to standard output as one JSON line with its routes (repeat reminders \
            included); logs go to standard error. Tracker, routing and outbox state are on disk after every \
            change, so a restart resumes and sends what was pending. Exits 1 when the config is invalid.
            """
    )

    @Option(help: "The configuration file (YAML).")
    var config: String

    @Option(help: "Append every exchange with every agent to this file, in the capture format `replay` reads.")
    var record: String?

    @Option(help: "How log lines look on standard error: logfmt or json (also OBWATCH_LOG_FORMAT).")
    var logFormat: String = "logfmt"

    @Option(help: "The least important log level shown: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard LogFormat(rawValue: self.logFormat) != nil else {
            throw ValidationError("--log-format must be logfmt or json, not \"\(self.logFormat)\"")
        }
        guard Logger.Level(rawValue: self.logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() async throws {
        let (config, lines) = Self.checkedConfig(self.config)
        for line in lines { StandardError.write(line) }
        guard let config else { throw ExitCode(1) }
        // Before anything else: a second instance on the same state folder must poll and send nothing.
        let lock: StateDirectoryLock
        do {
            lock = try StateDirectoryLock(directory: config.stateDirectory)
        } catch {
            StandardError.write("obwatch run: \(error.message)")
            throw ExitCode(1)
        }
        defer { withExtendedLifetime(lock) {} }
        var recorder: CaptureRecorder?
        if let path = self.record {
            do {
                recorder = try CaptureRecorder(path: path)
            } catch {
                StandardError.write("obwatch run: \(error)")
                throw ExitCode(1)
            }
        }
        defer { recorder?.close() }
        let clock = SystemClock()
        let logger = Logger(label: "obwatch")
        let (storage, store) = try await Self.storage(for: config, clock: clock, logger: logger)
        var storeProbe: (@Sendable () async -> String?)?
        if let store { storeProbe = { await store.problem() } }
        let metrics = DaemonMetrics()
        let leasing = (storage as? PostgresPipelineStorage).map { storage in
            Self.leasing(storage, metrics: metrics, clock: clock, logger: logger)
        }
        MetricsSystem.bootstrap(metrics.factory)
        var telemetry = DaemonTelemetry(
            metrics: metrics,
            events: EventLog(),
            readiness: Readiness(targets: config.targets.map(\.name)),
            health: PipelineHealth(logger: logger, clock: clock, onSaveFailure: { metrics.stateSaveFailure() }),
            monitor: WatcherMonitor(stateDirectory: URL(fileURLWithPath: config.stateDirectory)),
            backoffBook: AuthBackoffBook(clock: clock)
        )
        let silences = try await Self.silenceBook(config: config, store: store, clock: clock, logger: logger)
        telemetry.silences = silences
        telemetry.audit = silences.audit
        let acknowledger = DagSource()
        let dagSource = DagSource()
        // The daemon owns the status API: it listens before anything starts, moves when a reload changes `http:`,
        // and stops last, so the probes answer while the daemon drains.
        let statusEndpoint = StatusEndpoint(logger: logger) { [telemetry] http in
            StatusServer(
                configuration: StatusServer.Configuration(http),
                metrics: metrics,
                readiness: telemetry.readiness,
                events: telemetry.events,
                dags: { await dagSource.dags() },
                cluster: leasing.map(Self.clusterAnswer(config)),
                silences: silences,
                acknowledge: { incident, author in await acknowledger.acknowledge(incident: incident, by: author) },
                incidents: { await acknowledger.openIncidents() }
            )
        }
        let daemon = DaemonService(
            configPath: self.config,
            initial: config,
            storage: storage,
            storeProbe: storeProbe,
            leasing: leasing,
            recorder: recorder,
            telemetry: telemetry,
            notifier: SystemdNotifier(),
            output: EventOutput(),
            logger: logger,
            statusEndpoint: statusEndpoint,
            clock: clock
        )
        dagSource.attach(daemon)
        acknowledger.attach(daemon)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: daemon, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                // Its own label: the lifecycle's debug lines are the library's, shown only at trace.
                logger: Logger(label: "obwatch.lifecycle")
            )
        )
        do {
            try await group.run()
            await store?.close()
        } catch let error as RunError {
            await store?.close()
            StandardError.write("obwatch run: \(error.message)")
            throw ExitCode(1)
        }
    }
}

/// Where the status API reads the DAGs from: the daemon, once it exists (the server is made before it, so that the
/// daemon can wait for it to listen).
final class DagSource: Sendable {
    private let daemon = Mutex<DaemonService?>(nil)

    /// Connects the daemon.
    func attach(_ daemon: DaemonService) { self.daemon.withLock { $0 = daemon } }

    /// Every tracked DAG, or none before the daemon is attached.
    func dags() async -> [DagStatus] {
        guard let daemon = self.daemon.withLock({ $0 }) else { return [] }
        return await daemon.dags()
    }

    /// The daemon's open incidents, or none before it is attached.
    func openIncidents() async -> [OpenIncident] {
        guard let daemon = self.daemon.withLock({ $0 }) else { return [] }
        return await daemon.openIncidents()
    }

    /// Acknowledges an incident in the daemon, once it is attached.
    func acknowledge(incident: String, by author: String) async -> StatusRoutes.AcknowledgeAnswer {
        guard let daemon = self.daemon.withLock({ $0 }) else { return .failed("the daemon is starting") }
        return await daemon.acknowledge(incident: incident, by: author)
    }
}

extension RunCommand {
    /// The run-time silences, loaded from the store `store:` names (the state folder's `silences.state`, or the
    /// `silence` table), before anything is polled: a silence someone added must hold from the first event.
    static func silenceBook(
        config: ObwatchConfig,
        store: PostgresStore?,
        clock: any ObwatchClock,
        logger: Logger
    ) async throws -> SilenceBook {
        let storage: any SilenceStorage =
            store.map { PostgresSilenceStorage(store: $0) }
            ?? LocalSilenceFile(directory: URL(fileURLWithPath: config.stateDirectory), clock: clock)
        let book = SilenceBook(storage: storage, audit: AuditTrail(logger: logger), clock: clock, logger: logger)
        do {
            try await book.load()
        } catch {
            StandardError.write("obwatch run: cannot load the run-time silences: \(error.reason)")
            throw ExitCode(1)
        }
        return book
    }

    /// Who migrates a schema, as `schema_version.applied_by` keeps it: `obwatch VERSION on HOST`.
    static var migratedBy: String { "obwatch \(ObwatchVersion.current) on \(ProcessInfo.processInfo.hostName)" }

    /// PostgresNIO's background messages: notable ones only (it logs every connection and statement at debug).
    static var storeLogger: Logger {
        var logger = Logger(label: "obwatch.store")
        logger.logLevel = .notice
        return logger
    }

    /// The pipeline's storage `store:` names: the state folder, or PostgreSQL, migrated here (a replica never runs
    /// against a schema newer than it knows). Exits 1, saying why, when the database cannot be used.
    /// - Returns: The storage, and the PostgreSQL store when there is one (for the readiness probe).
    static func storage(
        for config: ObwatchConfig,
        clock: any ObwatchClock,
        logger: Logger
    ) async throws -> (any PipelineStorage, PostgresStore?) {
        guard case .postgres(let settings) = config.store else {
            return (LocalStateFolder(directory: URL(fileURLWithPath: config.stateDirectory), clock: clock), nil)
        }
        do {
            let store = try PostgresStore(settings: settings, clock: clock, logger: Self.storeLogger)
            let report = try await store.migrate(appliedBy: Self.migratedBy)
            if !report.applied.isEmpty {
                for line in report.lines { logger.notice("\(line)", metadata: ["store": "\(settings.summary)"]) }
            }
            logger.info("state in PostgreSQL", metadata: ["store": "\(settings.summary)"])
            // Leases hand out the tokens: a target this replica does not hold is not written at all.
            return (PostgresPipelineStorage(store: store, epochs: LeaseEpochs(fallback: nil)), store)
        } catch {
            StandardError.write("obwatch run: \(error.message)")
            throw ExitCode(1)
        }
    }

    /// `/api/v1/cluster`'s answer for a replica of `config`.
    static func clusterAnswer(
        _ config: ObwatchConfig
    ) -> @Sendable (DaemonLeasing) -> @Sendable () async throws(StorageError) -> String {
        { leasing in
            { () async throws(StorageError) -> String in
                try await ClusterStatus.make(leasing.leases, liveWithin: DaemonLeasing.liveWindow(config))
            }
        }
    }

    /// This replica's leases on the storage's store, writing with the storage's tokens; fenced writes counted in
    /// `metrics`. The replica's id is logged once.
    static func leasing(
        _ storage: PostgresPipelineStorage,
        metrics: DaemonMetrics,
        clock: any ObwatchClock,
        logger: Logger
    ) -> DaemonLeasing {
        let replica = ReplicaIdentity.current()
        logger.info("replica", metadata: ["replica": "\(replica.id)"])
        return DaemonLeasing(
            leases: PostgresLeases(
                store: storage.store,
                replica: replica,
                epochs: storage.epochs,
                version: ObwatchVersion.current,
                clock: clock,
                logger: Logger(label: "obwatch.lease")
            ),
            fencedWrites: FencedWrites(logger: logger, count: { metrics.fencedWrite(kind: $0) })
        )
    }

    /// The configuration a command starts on: only one that `obwatch check` accepts, with check's own lines
    /// (warnings included) for standard error.
    /// - Parameters:
    ///   - path: The configuration file.
    ///   - command: The command that refuses to start, named in the last line (`obwatch watch: ...`).
    ///   - probingStateDirectory: `false` skips the `state_dir` probe, for the demo, which replaces `state_dir`
    ///     with a temporary folder.
    static func checkedConfig(
        _ path: String,
        command: String = "run",
        probingStateDirectory: Bool = true
    ) -> (ObwatchConfig?, [String]) {
        let report = ConfigCheck.run(contentsOfFile: path, probingStateDirectory: probingStateDirectory)
        var lines = report.diagnostics.entries.map(\.description)
        guard report.isValid, let config = report.config else {
            lines.append("obwatch \(command): \(path) is invalid (the same as `obwatch check` reports); not starting")
            return (nil, lines)
        }
        return (config, lines)
    }
}

/// Standard output for events: one whole line per write, unbuffered so that a pipe sees each event at once.
final class EventOutput: Sendable {
    private let lock = Mutex(())

    /// Writes an event as one JSON line.
    func write(_ event: Event) {
        let data = Data((event.jsonLine() + "\n").utf8)
        self.lock.withLock { _ in FileHandle.standardOutput.write(data) }
    }
}
