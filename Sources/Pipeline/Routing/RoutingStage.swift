package import ConfigModel
package import Delivery
import Foundation
package import Logging
package import ObshellModel
package import Routing
package import ServiceLifecycle
import Synchronization
package import Tracker

/// The daemon's router, as a service: one for all targets, so that the rules see every event in the order it was
/// observed. It keeps the router's memory (open incidents, who was sent what, reminders, waiting groups) in the
/// pipeline's storage after every change, so a restart neither repeats nor forgets a notification.
///
/// Callers submit work (``observed(_:)``, ``tick(at:)``) and wait for its acknowledgement; ``run()`` takes what is
/// buffered as one group and routes it in one step, made durable by the store's ``RoutingCommit`` (the local
/// store: one write to the outbox, one save of the router's memory; PostgreSQL: one transaction), then every
/// submission of the group is acknowledged. When many targets see changes at once (an upgrade of every
/// cluster), none waits for the others' disk flushes one by one. A step that fails leaves the memory as it was and
/// fails every submission of its group, so the same events routed again give the same notifications.
package final class RoutingStage: Service, Sendable {
    /// What routing gave: the events with `routes`, and the notifications now due.
    package typealias Output = @Sendable (RoutingResult) async -> Void
    /// Where notifications go: the outbox, which returns once they are on disk.
    package typealias Deliver = @Sendable ([OutboundNotification]) async throws(DeliveryError) -> Void

    /// One piece of work and who waits for it.
    private struct Submission {
        var work: RoutingInput
        var acknowledge: CheckedContinuation<Result<Void, DeliveryError>, Never>
    }

    private struct Inbox {
        var waiting: [Submission] = []
        var stopped = false
        /// Who waits for this many submissions to be buffered (``queued(atLeast:)``).
        var watchers: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []

        /// Takes the watchers that the buffered submissions satisfy.
        mutating func satisfiedWatchers() -> [CheckedContinuation<Void, Never>] {
            let count = self.waiting.count
            let satisfied = self.watchers.filter { $0.count <= count }.map(\.continuation)
            self.watchers.removeAll { $0.count <= count }
            return satisfied
        }
    }

    private let router: Router
    private let commit: any RoutingCommit
    private let logger: Logger
    private let output: Output
    private let health: PipelineHealth?
    /// The run-time silences now (`obwatch silence add`), read at every step and added to the router's own.
    private let silences: @Sendable () -> [Silence]
    private let inbox = Mutex(Inbox())
    /// The router state after the last committed step.
    private let memory: Mutex<RouterState>
    /// Wakes ``run()`` when work arrives; what is buffered is in ``inbox``.
    private let wake: AsyncStream<Void>
    private let wakeUp: AsyncStream<Void>.Continuation

    /// Makes the stage on the local store's path (the outbox, then the router's memory saved to `storage`) and
    /// loads the router's memory from `storage`.
    /// - Parameters:
    ///   - router: The rules.
    ///   - storage: Where the router's memory is kept.
    ///   - logger: Where problems are logged.
    ///   - deliver: Takes the notifications durably (the outbox); nothing by default.
    ///   - health: Where a failed save is reported.
    ///   - output: Receives every routing result, in order.
    ///   - silences: The run-time silences, read at every step; none by default.
    /// - Throws: ``StorageError`` when the router's memory cannot be loaded (the storage does not answer).
    package convenience init(
        router: Router,
        storage: any PipelineStorage,
        logger: Logger,
        deliver: @escaping Deliver = { _ in },
        health: PipelineHealth? = nil,
        output: @escaping Output,
        silences: @escaping @Sendable () -> [Silence] = { [] }
    ) async throws(StorageError) {
        try await self.init(
            router: router,
            commit: LocalRoutingCommit(storage: storage, deliver: deliver),
            logger: logger,
            health: health,
            output: output,
            silences: silences
        )
    }

    /// Makes the stage over a store's routing step and loads the router's memory through it.
    /// - Parameters:
    ///   - router: The rules.
    ///   - commit: How a step is made durable (``LocalRoutingCommit``, or PostgreSQL's one transaction).
    ///   - logger: Where problems are logged.
    ///   - health: Where a failed save is reported.
    ///   - output: Receives every routing result, in order, once it is committed.
    ///   - silences: The run-time silences, read at every step; none by default.
    /// - Throws: ``StorageError`` when the router's memory cannot be loaded (the storage does not answer).
    package init(
        router: Router,
        commit: any RoutingCommit,
        logger: Logger,
        health: PipelineHealth? = nil,
        output: @escaping Output,
        silences: @escaping @Sendable () -> [Silence] = { [] }
    ) async throws(StorageError) {
        self.silences = silences
        self.router = router
        self.commit = commit
        self.logger = logger
        self.health = health
        self.output = output
        let loaded = try await commit.loadRouterState()
        if let warning = loaded.warning { logger.warning("\(warning.message)", metadata: warning.metadata) }
        self.memory = Mutex(loaded.value)
        (self.wake, self.wakeUp) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Routes the events of one observation: reminders that fell due before it first, then the events (the one
    /// `observe` step `replay` takes too). Returns once their notifications are on the outbox's disk and the
    /// router's memory is saved.
    /// - Throws: ``DeliveryError`` when the outbox cannot take them (the memory is then left as it was), or
    ///   `.stopped` when the stage no longer runs.
    package func observed(_ batch: EventBatch) async throws(DeliveryError) {
        try await self.submit(.batch(batch)).get()
    }

    /// Advances time: reminders and waiting groups that fell due. A failure is logged; the next tick tries again.
    package func tick(at now: ObshellTime) async {
        if case .failure(let error) = await self.submit(.tick(now)), error.code != .stopped {
            self.logger.error("the outbox cannot take notifications; trying again", metadata: ["error": "\(error)"])
        }
    }

    /// The open incidents as of the last committed step (`/api/v1/incidents`). With PostgreSQL this is the shared
    /// router state as this replica last read and wrote it: at most one tick behind another replica's step.
    package var openIncidents: [OpenIncident] {
        self.memory.withLock { $0 }.openIncidentDetails
    }

    /// When ``tick(at:)`` next has something to do.
    package var nextDeadline: ObshellTime? {
        let state = self.memory.withLock { $0 }
        return self.router.nextDeadline(in: state)
    }

    /// Changes the router's memory outside routing, in the stage's order (an acknowledgement): `change` runs in a
    /// step, its notifications go to the outbox and the memory is saved before this returns.
    /// - Throws: ``DeliveryError`` as ``observed(_:)`` does.
    package func amend(
        _ change: @escaping @Sendable (Router, inout RouterState) -> RoutingResult
    )
        async throws(DeliveryError)
    {
        try await self.submit(.amend(change)).get()
    }

    private func submit(_ work: RoutingInput) async -> Result<Void, DeliveryError> {
        await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, DeliveryError>, Never>) in
            let watchers: [CheckedContinuation<Void, Never>]? = self.inbox.withLock { inbox in
                guard !inbox.stopped else { return nil }
                inbox.waiting.append(Submission(work: work, acknowledge: continuation))
                return inbox.satisfiedWatchers()
            }
            guard let watchers else {
                continuation.resume(returning: .failure(Self.stopped))
                return
            }
            for watcher in watchers { watcher.resume() }
            self.wakeUp.yield()
        }
    }

    /// Returns once at least `count` submissions are buffered for the next step (at once if they already are), so
    /// a caller can know that work it submitted from other tasks will be routed together.
    package func queued(atLeast count: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = self.inbox.withLock { inbox in
                guard inbox.waiting.count < count else { return true }
                inbox.watchers.append((count, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    private static let stopped = DeliveryError(code: .stopped, message: "the routing stage has stopped")

    /// Routes what is submitted, a group at a time, until the task is cancelled or a graceful shutdown; what is
    /// still waiting then is failed with `.stopped`.
    package func run() async throws {
        await cancelWhenGracefulShutdown {
            for await _ in self.wake {
                while true {
                    let group = self.inbox.withLock { inbox in
                        defer { inbox.waiting = [] }
                        return inbox.waiting
                    }
                    if group.isEmpty { break }
                    await self.step(group)
                }
            }
        }
        let left = self.inbox.withLock { inbox in
            inbox.stopped = true
            defer { inbox.waiting = [] }
            return inbox.waiting
        }
        for submission in left { submission.acknowledge.resume(returning: .failure(Self.stopped)) }
    }

    /// One routing step over a group, in submission order: routed and committed through ``commit``; the results
    /// are handed on only once the step is durable, and every submission is then acknowledged (a fenced one with
    /// its error).
    private func step(_ group: [Submission]) async {
        let memory = self.memory.withLock { $0 }
        let router = self.router.adding(silences: self.silences())
        let outcome: RoutingCommitOutcome
        do {
            outcome = try await self.commit.commit(group.map(\.work), memory: memory) { inputs, state in
                Self.route(inputs, state: state, router: router)
            }
        } catch {
            for submission in group { submission.acknowledge.resume(returning: .failure(error)) }
            return
        }
        self.memory.withLock { $0 = outcome.routed.state }
        if let failure = outcome.saveFailure {
            if let health = self.health {
                health.saveFailed("routing", reason: failure.reason)
            } else {
                self.logger.error("cannot save the routing state", metadata: ["reason": "\(failure.reason)"])
            }
        } else if outcome.saved {
            self.health?.saved("routing")
        }
        for output in outcome.routed.results { await self.output(output) }
        for (index, submission) in group.enumerated() {
            if let fenced = outcome.fenced[index] {
                submission.acknowledge.resume(returning: .failure(fenced))
            } else {
                submission.acknowledge.resume(returning: .success(()))
            }
        }
    }

    /// Routes inputs in order against `state`: what a step commits.
    private static func route(_ inputs: [RoutingInput], state: RouterState, router: Router) -> RoutedGroup {
        var state = state
        var notifications: [OutboundNotification] = []
        var results: [RoutingResult] = []
        for input in inputs {
            switch input {
            case .batch(let batch):
                for result in router.observe(batch, state: &state) {
                    notifications += result.notifications
                    results.append(result)
                }
            case .tick(let now):
                let due = router.tick(at: now, state: &state)
                notifications += due.notifications
                if !due.events.isEmpty || !due.notifications.isEmpty { results.append(due) }
            case .amend(let change):
                let result = change(router, &state)
                notifications += result.notifications
                if !result.events.isEmpty { results.append(result) }
            }
        }
        return RoutedGroup(state: state, notifications: notifications, results: results)
    }
}
