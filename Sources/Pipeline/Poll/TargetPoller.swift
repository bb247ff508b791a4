package import ConfigModel
package import Curl
package import Foundation
package import History
package import Logging
package import ObshellAgent
package import ObshellModel
package import Support
import Synchronization
package import Tracker

/// One target's loop: run a ``PollCycle`` at the schedule's deadlines, record its exchanges, and carry out what the
/// target's ``TargetJournal`` says (save the record, hand the events on).
///
/// The journal starts from the stored record, so a restart resumes where the last run stopped (no second
/// `started`), and hands on first what the last run could not.
package final class TargetPoller: Sendable {
    /// What the poller hands on: the events of one observation.
    package typealias Sink = @Sendable (EventBatch) async throws -> Void
    /// Told after every poll: `ok` or `failed`, how long it took, the state after it (metrics, readiness).
    package typealias PollReport = @Sendable (_ result: String, _ seconds: Double, _ state: TrackerState) -> Void

    /// The target as configured.
    package let target: ObwatchConfig.Target
    /// The target's tracker state and the events it still has to hand on.
    package let journal: TargetJournal
    private let cycle: PollCycle
    private let storage: any PipelineStorage
    private let schedule: PollSchedule
    private let clock: any ObwatchClock
    private let random: @Sendable () -> Double
    private let logger: Logger
    private let recorder: CaptureRecorder?
    private let sink: Sink
    private let onPoll: PollReport
    private let health: PipelineHealth?
    private let downAfter: Int
    private let backoffBook: AuthBackoffBook
    /// The wait before the next poll when the agent refused the password; `nil` polls at the schedule.
    private let backoffDelay = Mutex<Duration?>(nil)
    private let failureLog = Mutex(FailureLog())
    /// Told when a save was refused by the fence; `nil` treats it as any failed save.
    private let onFenced: (@Sendable (StorageError) -> Void)?
    /// Set once a save was fenced: this instance lost the target, so it writes and hands on nothing more.
    private let fenced = Mutex(false)

    /// Makes a poller and loads the target's record from `storage`.
    /// - Parameters:
    ///   - target: The target.
    ///   - settings: The tracker's settings.
    ///   - storage: Where the target's record is kept.
    ///   - transport: How requests are sent; libcurl with the target's timeout by default.
    ///   - recorder: Where exchanges are recorded (`--record`), if anywhere.
    ///   - clock: What the loop sleeps on, and the time of observations and exchanges. The request header's
    ///     expiry keeps the real time (the agent checks it).
    ///   - random: Numbers in `0..<1` for the first poll's phase.
    ///   - logger: Where the poller logs; `target` metadata is added.
    ///   - health: Where failed saves and polls are reported.
    ///   - backoffBook: The password back-off of every target, kept across reloads; one of its own by default.
    ///   - onPoll: Told after every poll.
    ///   - onFenced: Told when a save is refused by the fence (another replica holds the target now): the poller
    ///     then saves and hands on nothing more, and the save is not reported as a failure to ``PipelineHealth``.
    ///     Given (the target is polled under a lease), events are handed on only once the record holding them is
    ///     stored: while the storage refuses (a suspended lease) they wait in the journal, in order, and the poller
    ///     goes on observing.
    ///   - history: The daemon's duration history (ETAs, `slow`); none by default.
    ///   - sink: Receives the events of each observation (a poll, a confirmation), in order. When it throws, they
    ///     stay pending in the journal (and its record) and are handed on again, same ids, before the next poll.
    /// - Throws: ``StorageError`` when the target's record cannot be loaded (the storage does not answer): a
    ///   poller that started from an empty record would write it over the real one.
    package init(
        target: ObwatchConfig.Target,
        settings: TrackerSettings,
        storage: any PipelineStorage,
        transport: (any AgentTransport)? = nil,
        recorder: CaptureRecorder? = nil,
        clock: any ObwatchClock,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        logger: Logger = Logger(label: "obwatch"),
        health: PipelineHealth? = nil,
        backoffBook: AuthBackoffBook? = nil,
        onPoll: @escaping PollReport = { _, _, _ in },
        onFenced: (@Sendable (StorageError) -> Void)? = nil,
        history: HistoryBook? = nil,
        sink: @escaping Sink
    ) async throws(StorageError) {
        var logger = logger
        logger[metadataKey: "target"] = "\(target.name)"
        let loaded = try await storage.loadTarget(target.name)
        if let warning = loaded.warning { logger.warning("\(warning.message)", metadata: warning.metadata) }
        self.target = target
        self.journal = TargetJournal(
            identity: target.identity,
            settings: settings,
            record: loaded.value,
            history: history
        )
        let client = ObshellClient(
            baseURL: target.url,
            password: target.password,
            transport: transport
                ?? CurlAgentTransport(
                    baseURL: target.url,
                    timeout: target.timeout,
                    tls: TLSOptions(caFile: target.caFile),
                    engine: CurlEngine.forAgent(named: target.name)
                ),
            exchangeTime: { clock.wallNow },
            logger: logger
        )
        self.cycle = PollCycle(client: client, clock: clock)
        self.storage = storage
        self.schedule = PollSchedule(interval: target.pollInterval)
        self.clock = clock
        self.random = random
        self.logger = logger
        self.recorder = recorder
        self.sink = sink
        self.onPoll = onPoll
        self.onFenced = onFenced
        self.health = health
        self.backoffBook = backoffBook ?? AuthBackoffBook(clock: clock)
        self.downAfter = settings.downAfter
    }

    /// Polls until the task is cancelled.
    ///
    /// The loop runs on the poll cycle's preferred executor (the curl engine's thread): a poll's request, its answer
    /// and the tracker's step cost no hand-off between threads. What waits for a disk, a database or the routing
    /// stage (saving the record, handing events on) runs on a pool thread (``offTheEngine(_:)``), so that it
    /// never holds up other targets' transfers.
    /// - Throws: `CancellationError` when the task is cancelled during a sleep.
    package func run() async throws {
        self.logger.info("target started", metadata: ["url": "\(URLRedaction.redact(self.target.url))"])
        do {
            try await withTaskExecutorPreference(self.cycle.engine?.taskExecutor) {
                // On the real time the waits are the engine loop's timers (the same continuous clock): a due poll
                // starts on the engine's thread with no timer thread and no hand-off. A test's clock is its own.
                if self.clock is SystemClock, let engine = self.cycle.engine {
                    try await self.pollLoop(on: engine.clock)
                } else {
                    try await self.pollLoop(on: self.clock)
                }
            }
        } catch {
            await self.checkpoint()
            throw error
        }
        await self.checkpoint()
    }

    /// Polls at the schedule's deadlines on `clock` until the task is cancelled.
    private func pollLoop<LoopClock: Clock<Duration>>(on clock: LoopClock) async throws {
        var first = self.schedule.firstDelay(unit: self.random())
        // A reload that kept a refused password keeps its back-off; a changed password polls at once.
        if let wait = self.backoffBook.remainingWait(target: self.target.name, password: self.target.password) {
            first = max(first, wait)
        }
        var deadline = clock.now.advanced(by: first)
        try await clock.sleep(until: deadline, tolerance: nil)
        while !Task.isCancelled {
            await self.pollInChildTask()
            if let backoff = self.backoffDelay.withLock({ $0 }) {
                deadline = clock.now.advanced(by: backoff)
            } else {
                let elapsed = deadline.duration(to: clock.now)
                deadline = deadline.advanced(by: self.schedule.nextDeadline(afterDeadlineElapsed: elapsed))
            }
            try await clock.sleep(until: deadline, tolerance: nil)
        }
    }

    /// One poll in a child task. A task keeps the memory its deepest call needed (answers, states and requests
    /// held across awaits) for as long as it lives; in a child task that memory is freed when the poll ends
    /// instead of staying with each target's loop for ever, which with thousands of targets was most of the
    /// daemon's memory.
    private func pollInChildTask() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { _ = await self.pollOnce() }
        }
    }

    /// Writes what only the poll clocks changed, on a stop. Events waiting to be handed on stay as they are.
    private func checkpoint() async {
        guard !self.fenced.withLock({ $0 }) else { return }
        if let record = await self.journal.settle(at: self.clock.wallNow, force: true) { await self.save(record) }
    }

    /// One poll with its confirmations: feeds the tracker, saves the record, hands the events on.
    ///
    /// Call it from one task at a time (``run()`` does).
    /// - Returns: The events, in order (also given to the sink).
    @discardableResult
    package func pollOnce() async -> [Event] {
        guard !self.fenced.withLock({ $0 }) else { return [] }
        // What a crash, a full disk or a suspended lease kept from being handed on goes first, in order. Under a
        // lease it goes only once the record holding it is stored: while the lease is suspended the poller goes
        // on observing, and what it observes waits in the journal behind it.
        let waiting = await self.journal.pending
        if !waiting.isEmpty {
            var stored = true
            if self.leased, let unsaved = await self.journal.unsaved { stored = await self.save(unsaved) }
            guard !self.fenced.withLock({ $0 }) else { return [] }
            if stored {
                guard await self.handOn(waiting) else { return [] }
            }
        }
        let cycle = await self.cycle.run(into: self.journal)
        for exchange in cycle.exchanges { self.recorder?.record(exchange, target: self.target.name) }
        guard let poll = cycle.observed.first else { return [] }
        self.pollEnded(poll.observation)
        self.health?.polled(
            target: self.target.name,
            consecutiveFailures: poll.step.state.consecutiveFailedPolls,
            downAfter: self.downAfter
        )
        let seconds =
            Double(cycle.pollDuration.components.seconds) + Double(cycle.pollDuration.components.attoseconds) / 1e18
        if case .list = poll.observation {
            self.onPoll("ok", seconds, poll.step.state)
        } else {
            self.onPoll("failed", seconds, poll.step.state)
        }
        // The events go to storage with the state that made them, then are handed on (routed, their
        // notifications on the outbox's disk), then the state is saved without them: a crash anywhere hands them
        // on again after the restart (the outbox knows each notification by its id), never loses them.
        let effects = await self.journal.made(cycle.batches, at: self.clock.wallNow)
        var stored = true
        if let record = effects.save { stored = await self.save(record) }
        // Fenced: what this poll saw belongs to the new holder, which polls it itself.
        guard !self.fenced.withLock({ $0 }) else { return [] }
        // Under a lease, nothing goes out that is not stored with the epoch that made it.
        guard stored || !self.leased else { return [] }
        guard !effects.handOn.isEmpty, await self.handOn(effects.handOn) else { return [] }
        return cycle.batches.flatMap(\.events)
    }

    /// Hands batches on in order, then saves the record without them.
    /// - Returns: Whether all were taken; the journal keeps them otherwise, for the next try.
    private func handOn(_ batches: [EventBatch]) async -> Bool {
        for batch in batches {
            do {
                try await Self.offTheEngine { try await self.sink(batch) }
            } catch {
                self.logger.error(
                    "events could not be handed on; trying again before the next poll",
                    metadata: ["error": "\(error)"]
                )
                return false
            }
        }
        if let record = await self.journal.handedOn(at: self.clock.wallNow) { await self.save(record) }
        return true
    }

    /// Saves a record. On failure the journal keeps it as the one storage should hold (events waiting to be
    /// handed on included), every later cycle tries the write again, and ``PipelineHealth`` hears of it: one log
    /// line per episode, `/readyz` 503, `watcher_degraded`.
    /// - Returns: Whether the storage took it.
    @discardableResult
    private func save(_ record: TargetRecord) async -> Bool {
        let part = "target " + self.target.name
        do {
            try await Self.offTheEngine { () async throws(StorageError) in
                try await self.storage.saveTarget(record, name: self.target.name)
            }
            await self.journal.saveSucceeded(at: self.clock.wallNow)
            self.health?.saved(part)
            return true
        } catch {
            await self.journal.saveFailed()
            // Stopped (its lease lost or released, a reload): the save was abandoned, not refused.
            if Task.isCancelled { return false }
            if error.kind == .fenced, let onFenced = self.onFenced {
                // Not a failure to retry: this instance may no longer write for the target at all.
                let first = self.fenced.withLock { fenced in
                    defer { fenced = true }
                    return !fenced
                }
                if first { onFenced(error) }
                return false
            }
            if let health = self.health {
                health.saveFailed(part, reason: error.reason)
            } else {
                self.logger.error("cannot save the state", metadata: ["reason": "\(error.reason)"])
            }
            return false
        }
    }

    /// Runs `operation` on a pool thread (``PoolExecutor``): work that may wait for a disk, a database or another
    /// stage, which must not run on the curl engine's thread that the poll loop prefers.
    ///
    /// It runs in a child task: a preference set with `withTaskExecutorPreference` takes effect only at the next
    /// enqueue, and a call into nonisolated code is not one, so the work would stay on the engine's thread.
    private static func offTheEngine<T: Sendable, Failure: Error>(
        _ operation: @escaping @Sendable () async throws(Failure) -> T
    ) async throws(Failure) -> T {
        let outcome = await withTaskGroup(of: Result<T, Failure>.self) { group in
            group.addTask(executorPreference: PoolExecutor.shared) {
                do throws(Failure) {
                    return .success(try await operation())
                } catch {
                    return .failure(error)
                }
            }
            var outcome: Result<T, Failure>?
            for await finished in group { outcome = finished }
            return outcome
        }
        // The group ran its one task to the end, so an outcome is always there.
        guard let outcome else { return try await operation() }
        return try outcome.get()
    }

    /// Whether the target is polled under a lease (`onFenced` was given): events are then handed on only once the
    /// record holding them is stored.
    private var leased: Bool { self.onFenced != nil }

    // MARK: - Failed polls

    /// After a poll: a good one ends the password back-off and a failing spell; a failed one is logged when its
    /// kind changes and then at most every ``FailureLog/reminderInterval``, never once per poll, and a refused
    /// password backs off.
    private func pollEnded(_ observation: Observation) {
        guard case .failedPoll(let reason, let kind, _) = observation else {
            self.backoffDelay.withLock { $0 = nil }
            self.backoffBook.accepted(target: self.target.name)
            let ended = self.failureLog.withLock { $0.succeeded() }
            if let failures = ended {
                self.logger.notice("polls succeed again", metadata: ["failed_polls": "\(failures)"])
            }
            return
        }
        var metadata: Logger.Metadata = ["error_kind": "\(kind.rawValue)", "reason": "\(reason)"]
        if kind == .auth {
            let delay = self.backoffBook.refused(
                target: self.target.name,
                password: self.target.password,
                interval: self.schedule.interval
            )
            self.backoffDelay.withLock { $0 = delay }
            metadata["next_try_in"] = "\(delay)"
        } else {
            self.backoffDelay.withLock { $0 = nil }
            self.backoffBook.accepted(target: self.target.name)
        }
        let decision = self.failureLog.withLock { $0.failed(kind: kind.rawValue, at: self.clock.wallNow) }
        switch decision {
        case .quiet:
            return
        case .first:
            let message =
                kind == .auth
                ? "poll failed: the agent refused the password; fix password/password_file of \(self.target.name) "
                    + "(polls back off, doubling up to 15m)"
                : "poll failed"
            self.logger.warning("\(message)", metadata: metadata)
        case .reminder(let failures):
            metadata["failed_polls"] = "\(failures)"
            self.logger.warning("polls still failing", metadata: metadata)
        }
    }
}
