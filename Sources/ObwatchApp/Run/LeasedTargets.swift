import ConfigModel
import Logging
import Pipeline
import PostgresStore
import Support
import Synchronization

/// What `run` keeps across reloads when the store is PostgreSQL: this replica's leases and the report of fenced
/// writes. Made once per process, so a reload keeps the replica's id.
struct DaemonLeasing: Sendable {
    /// The lease table and the local fence (``LeaseEpochs`` with no fallback: a target not held is not written).
    let leases: PostgresLeases
    /// Where every write refused by the fence is counted and logged.
    let fencedWrites: FencedWrites

    /// The leases of `config`'s targets: each poll interval × 1.5.
    static func leasedTargets(_ config: ObwatchConfig) -> [LeasedTarget] {
        config.targets.map {
            LeasedTarget(name: $0.name, length: LeasedTarget.defaultLength(pollInterval: $0.pollInterval))
        }
    }

    /// How recent a heartbeat must be for its replica to count as live, for `config`.
    static func liveWindow(_ config: ObwatchConfig) -> Duration {
        LeaseBook(targets: Self.leasedTargets(config)).liveWindow
    }
}

/// The targets of a ``DaemonCore`` on PostgreSQL: a ``LeaseCoordinator`` holds this replica's share of the leases,
/// and each held target gets a ``TargetPoller``, made (its record loaded) only once the lease is held and cancelled
/// the moment it is lost. Readiness, the pipeline's health and `obwatch_leases_held` follow the held targets.
final class LeasedTargets: Sendable {
    /// Makes a target's poller: its first poll at once (`true`: a takeover) or at a random phase (the replica's
    /// first start); the callback is told when a save is refused by the fence.
    typealias MakePoller =
        @Sendable (ObwatchConfig.Target, Bool, @escaping @Sendable (StorageError) -> Void) async throws(StorageError)
        -> TargetPoller

    private struct Running {
        /// Which start of the target this is: a poller still loading installs itself only into its own start.
        var generation: UInt64
        var task: Task<Void, Never>
        var poller: TargetPoller?
    }

    /// How long a poller whose record could not be loaded waits before it tries again (the lease stays held).
    static let loadRetry = Duration.seconds(5)

    private let coordinator: Mutex<LeaseCoordinator?> = Mutex(nil)
    private let running = Mutex<[String: Running]>([:])
    private let generations = Mutex<UInt64>(0)
    private let targets: [String: ObwatchConfig.Target]
    private let makePoller: MakePoller
    private let leasing: DaemonLeasing
    private let telemetry: DaemonTelemetry
    private let clock: any ObwatchClock
    private let logger: Logger

    /// Makes the leased targets; nothing is acquired until ``run()``.
    init(
        config: ObwatchConfig,
        leasing: DaemonLeasing,
        telemetry: DaemonTelemetry,
        clock: any ObwatchClock,
        logger: Logger,
        makePoller: @escaping MakePoller
    ) {
        self.targets = Dictionary(config.targets.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.makePoller = makePoller
        self.leasing = leasing
        self.telemetry = telemetry
        self.clock = clock
        self.logger = logger
        let coordinator = LeaseCoordinator(
            store: leasing.leases,
            targets: DaemonLeasing.leasedTargets(config),
            clock: clock,
            logger: logger,
            observe: { [weak self] change in self?.changed(change) },
            beforeRelease: { [weak self] target in await self?.stop(target) }
        )
        self.coordinator.withLock { $0 = coordinator }
        // Nothing is held yet: ready once the configuration is loaded; each target acquired must be polled once.
        telemetry.readiness.setTargets([])
        telemetry.health.setTargets([])
        telemetry.metrics.leasesHeld(0)
    }

    /// Holds leases and polls the held targets until the task is cancelled.
    func run() async {
        guard let coordinator = self.coordinator.withLock({ $0 }) else { return }
        await coordinator.run()
    }

    /// Stops every poller (each saves its last record under its lease), then releases every lease at once.
    /// - Parameter leaving: Whether the replica leaves the live set too (a stop, not a reload).
    func resign(leaving: Bool) async {
        guard let coordinator = self.coordinator.withLock({ $0 }) else { return }
        await coordinator.resign(leaving: leaving)
        // A poller still loading its record (no lease to release yet) ends too.
        let rest = self.running.withLock { running in
            defer { running = [:] }
            return running.values.map(\.task)
        }
        for task in rest { task.cancel() }
        for task in rest { await task.value }
        self.publish()
    }

    /// The pollers of the held targets (`/api/v1/dags` shows only these).
    var pollers: [TargetPoller] {
        self.running.withLock { $0.values.compactMap(\.poller) }.sorted { $0.target.name < $1.target.name }
    }

    // MARK: - Changes

    private func changed(_ change: LeaseChange) {
        switch change {
        case .acquired(let target, let epoch, let atOnce):
            if epoch > 1 { self.telemetry.metrics.leaseTakeover() }
            self.leasing.fencedWrites.reacquired(target: target)
            self.start(target, atOnce: atOnce)
        case .suspended:
            // The poller goes on; its saves are held back (and reported as failing) until the lease is resumed.
            break
        case .resumed(let target, _):
            // The same poller goes on; one that was replaced meanwhile is started afresh.
            let running = self.running.withLock { $0[target] != nil }
            if !running { self.start(target, atOnce: true) }
        case .lost(let target, let why):
            self.telemetry.metrics.leaseLoss(why: why.rawValue)
            if why == .takenOver {
                // What the suspended poller held back is refused for good: another replica held the target.
                self.leasing.fencedWrites.refused(
                    kind: "target",
                    target: target,
                    error: StorageError(
                        reason: "the records held back while the lease of \(target) was suspended are dropped: "
                            + "another replica held it meanwhile",
                        kind: .fenced
                    )
                )
            }
            let task = self.running.withLock { $0.removeValue(forKey: target)?.task }
            task?.cancel()
        case .releasing:
            // The coordinator awaits ``stop(_:)`` next.
            break
        }
        self.publish()
    }

    private func start(_ name: String, atOnce: Bool) {
        guard let target = self.targets[name] else { return }
        let generation = self.generations.withLock { count in
            count += 1
            return count
        }
        let makePoller = self.makePoller
        let clock = self.clock
        let logger = self.logger
        let onFenced: @Sendable (StorageError) -> Void = { [weak self] error in
            guard let self else { return }
            self.leasing.fencedWrites.refused(kind: "target", target: name, error: error)
            guard let coordinator = self.coordinator.withLock({ $0 }) else { return }
            Task { await coordinator.fenced(target: name) }
        }
        let task = Task { [weak self] in
            var poller: TargetPoller?
            var failing = false
            while poller == nil && !Task.isCancelled {
                do throws(StorageError) {
                    poller = try await makePoller(target, atOnce, onFenced)
                } catch {
                    if !failing {
                        logger.error(
                            "cannot load the state of a leased target; trying again every \(Self.loadRetry)",
                            metadata: ["target": "\(name)", "reason": "\(error.reason)"]
                        )
                    }
                    failing = true
                    do { try await clock.sleep(for: Self.loadRetry) } catch { return }
                }
            }
            guard let poller, !Task.isCancelled, let self else { return }
            let current = self.running.withLock { running -> Bool in
                guard running[name]?.generation == generation else { return false }
                running[name]?.poller = poller
                return true
            }
            guard current else { return }
            _ = try? await poller.run()
        }
        let replaced = self.running.withLock { running in
            defer { running[name] = Running(generation: generation, task: task, poller: nil) }
            return running[name]?.task
        }
        replaced?.cancel()
    }

    /// Stops a target's poller and waits for it (its last save still holds the lease).
    private func stop(_ target: String) async {
        let task = self.running.withLock { $0.removeValue(forKey: target)?.task }
        task?.cancel()
        await task?.value
        self.publish()
    }

    /// Readiness, health and the gauge follow the held targets.
    private func publish() {
        let held = self.running.withLock { $0.keys.sorted() }
        self.telemetry.readiness.setTargets(held)
        self.telemetry.health.setTargets(held)
        self.telemetry.metrics.leasesHeld(held.count)
    }
}
