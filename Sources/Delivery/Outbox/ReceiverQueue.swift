package import ConfigModel
package import Foundation
package import Logging
package import Support
import Tracker

/// One receiver's queue: accepts notifications durably, delivers them with retries, backoff and the receiver's rate
/// limits, up to ``DeliverySettings/concurrency`` at once, and drops (loudly) what is refused for good or too old.
///
/// Order: the notifications of an incident, and those about one DAG, reach the receiver one at a time, in the order
/// they were made: a notification is started only when no earlier one sharing an incident or a DAG with it is still
/// waiting or in flight (an event about neither is ordered with its target's others). Other incidents and DAGs go in
/// parallel, up to the concurrency, so a notification waiting for a retry (a 500, a timeout) holds back its own
/// incident and DAG only. A
/// `Retry-After` (or a vendor's throttle window) is the receiver's own rate limit speaking: it pauses the whole
/// receiver for that long. With a concurrency of 1 the queue is strictly first in, first out, as before concurrency
/// existed: one try at a time, and a notification waiting for a retry holds back every one behind it (what syslog,
/// files and the console need). Every receiver has its own queue and worker, so a receiver that stays down delays no
/// other.
///
/// Restarts: the journal holds each notification's attempt count and the time before which it may not be tried
/// again, and the start times of recent tries, so a restarted process (or one restarted in a loop by systemd) waits
/// out the backoff, the receiver's Retry-After and its rate limits as the old one would have (a Retry-After's pause of
/// the other incidents is not journalled: after a restart they go at once, within the rate limits). What was in
/// flight when the process died is sent again, with the same id.
///
/// Storage: when the journal cannot be written, delivery goes on from memory (a repeat after a restart beats
/// silence): the failure is logged once, shown by ``storageProblem`` and counted by ``failedJournalWrites``, and
/// every later write (and a retry every few seconds) rewrites the whole journal until that works again.
package actor ReceiverQueue {
    /// How long after a failed journal write an idle queue tries again.
    static let journalRetryInterval: Duration = .seconds(5)

    /// The receiver's name.
    package let name: String
    private let settings: DeliverySettings
    private let file: OutboxFile
    private let sender: any NotificationSender
    private let clock: any ObwatchClock
    private let random: @Sendable () -> Double
    private let logger: Logger
    private let onAttempt: @Sendable (DeliveryAttempt) -> Void
    private let onDrop: @Sendable (DeliveryDrop) -> Void
    private let onJournalProblem: @Sendable (String?) -> Void
    private let retryPolicy: RetryPolicy
    /// At most this many tries at once (``DeliverySettings/concurrency``, at least 1).
    private let concurrency: Int

    private var pending: [OutboxFile.Pending]
    private var finishedIDs: [String]
    private var finishedSet: Set<String>
    /// Finished, retry and dropped lines written since the journal was last rewritten.
    private var recordsSinceCompaction = 0
    private var limiter: RateLimiter
    /// Why the last try of each waiting notification failed, for the drop's detail once `max_age` passes.
    private var lastFailures: [String: String] = [:]
    /// ``orderKeys(_:)`` of waiting notifications, by id (the worker scans the queue after every try).
    private var orderKeysByID: [String: [String]] = [:]
    /// The notifications whose try is under way.
    private var inFlight: Set<String> = []
    /// Until when the far end asked for no tries at all (its Retry-After), when it did.
    private var pausedUntil: Date?
    /// The one wait on the clock: for the earliest instant something may become due.
    private var timer: (deadline: Date, task: Task<Void, Never>)?
    private var stopping = false
    /// Why the journal could not be written, while it cannot; the journal on disk then lags what is in memory.
    package private(set) var storageProblem: String?
    /// Journal writes that failed since the queue was made; it only grows.
    package private(set) var failedJournalWrites = 0
    private var journalRetry: Task<Void, Never>?
    private var wakeUp: AsyncStream<Void>.Continuation?
    private var wakeUps: AsyncStream<Void>?

    /// Makes a queue and loads what the journal holds (a short blocking read at start-up).
    /// - Parameters:
    ///   - name: The receiver's name.
    ///   - settings: Timeouts, rate limits, max age and retry bounds.
    ///   - file: The journal.
    ///   - sender: What puts a notification on the wire.
    ///   - clock: Where time is read (`wallNow` for the journal, the senders and max_age) and waited for (backoff,
    ///     Retry-After, rate limits, the journal's retry).
    ///   - random: Numbers in `0..<1` for the jitter.
    ///   - logger: Where deliveries and drops are logged; `receiver` metadata is added.
    ///   - onAttempt: Told of every try (metrics, tests).
    ///   - onDrop: Told of every notification dropped undelivered (metrics, tests).
    ///   - onJournalProblem: Told when the journal stops being written (why, as ``storageProblem`` says it) and when it
    ///     is written again (`nil`), for tests that await the change.
    package init(
        name: String,
        settings: DeliverySettings,
        file: OutboxFile,
        sender: any NotificationSender,
        clock: any ObwatchClock = SystemClock(),
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        logger: Logger = Logger(label: "obwatch.delivery"),
        onAttempt: @escaping @Sendable (DeliveryAttempt) -> Void = { _ in },
        onDrop: @escaping @Sendable (DeliveryDrop) -> Void = { _ in },
        onJournalProblem: @escaping @Sendable (String?) -> Void = { _ in }
    ) {
        var logger = logger
        logger[metadataKey: "receiver"] = "\(name)"
        self.name = name
        self.settings = settings
        self.file = file
        self.sender = sender
        self.clock = clock
        self.random = random
        self.logger = logger
        self.onAttempt = onAttempt
        self.onDrop = onDrop
        self.onJournalProblem = onJournalProblem
        self.retryPolicy = RetryPolicy(initial: settings.retryInitial, maximum: settings.retryMax)
        self.concurrency = max(settings.concurrency, 1)
        let loaded = file.load()
        self.limiter = RateLimiter(limits: settings.rateLimits, history: loaded.sent)
        if loaded.skippedLines > 0 {
            logger.warning(
                "skipped unreadable outbox lines",
                metadata: ["file": "\(file.url.path)", "lines": "\(loaded.skippedLines)"]
            )
        }
        if let head = loaded.pending.first {
            var metadata: Logger.Metadata = ["count": "\(loaded.pending.count)"]
            if head.attempts > 0 { metadata["attempts"] = "\(head.attempts)" }
            if let notBefore = head.notBefore { metadata["not_before"] = "\(notBefore)" }
            logger.info("resuming undelivered notifications", metadata: metadata)
        }
        self.pending = loaded.pending
        self.finishedIDs = loaded.finishedIDs
        self.finishedSet = Set(loaded.finishedIDs)
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        self.wakeUps = stream
        self.wakeUp = continuation
    }

    /// How many notifications wait, those in flight included.
    package var depth: Int { self.pending.count }

    /// How many tries are under way now.
    package var inFlightCount: Int { self.inFlight.count }

    /// When the oldest waiting notification was accepted.
    var oldestAcceptedAt: Date? { self.pending.first?.acceptedAt }

    /// Takes notifications for delivery; they are on disk when this returns, unless the journal cannot be written:
    /// then they are delivered from memory all the same, and ``storageProblem`` says why they are not on disk.
    /// A notification whose id is already waiting or was recently finished is a repeat (a restart re-routing what it
    /// had routed before) and is skipped.
    /// - Returns: How many were new.
    /// - Throws: ``DeliveryError`` `.stopped` after ``stop()``: nothing was accepted.
    @discardableResult
    package func accept(_ notifications: [OutboundNotification]) throws(DeliveryError) -> Int {
        guard !self.stopping else {
            throw DeliveryError(code: .stopped, message: "the outbox is stopping; nothing more is accepted")
        }
        let now = self.clock.wallNow
        // Not one set of both: the finished ids are thousands, and a burst accepts a group after every routing step.
        let waiting = Set(self.pending.map(\.notification.id))
        var seen = Set<String>()
        let fresh = notifications.filter {
            !waiting.contains($0.id) && !self.finishedSet.contains($0.id) && seen.insert($0.id).inserted
        }
        .map { OutboxFile.Pending(notification: $0, acceptedAt: now) }
        guard !fresh.isEmpty else { return 0 }
        self.pending += fresh
        self.journal { file throws(DeliveryError) in try file.append(fresh) }
        self.wakeUp?.yield()
        return fresh.count
    }

    /// Delivers until cancelled or ``stop()``; run it in a task of its own. Tries run in child tasks of this one:
    /// cancelling it cancels them, and it returns once they have ended.
    package func run() async {
        guard let wakeUps = self.wakeUps else { return }
        self.wakeUps = nil
        var iterator = wakeUps.makeAsyncIterator()
        await withDiscardingTaskGroup { group in
            while !self.stopping && !Task.isCancelled {
                switch self.nextStep(now: self.clock.wallNow) {
                case .start(let pending):
                    let startedAt = self.begin(pending)
                    group.addTask { await self.attempt(pending, startedAt: startedAt) }
                case .wait(let until):
                    self.arm(until)
                    guard await iterator.next(isolation: self) != nil else { return }
                }
            }
        }
        self.timer?.task.cancel()
        self.timer = nil
    }

    /// Stops taking new work after the current tries; what waits stays on disk.
    package func stop() {
        self.stopping = true
        self.wakeUp?.finish()
        self.timer?.task.cancel()
        self.timer = nil
        self.journalRetry?.cancel()
        self.journalRetry = nil
    }

    /// What the worker does next.
    private enum Step {
        /// Try this notification now.
        case start(OutboxFile.Pending)
        /// Nothing to start: wait for a wake-up (an accept, a finished try) or this instant (a backoff, a rate
        /// limit, a Retry-After, a `max_age`).
        case wait(until: Date?)
    }

    /// The first notification that may be tried now, or how long to wait; drops what passed `max_age` on the way.
    ///
    /// A notification may go when it is the oldest waiting one of each of its incidents (``orderKeys(_:)``), is not
    /// in flight, its backoff is over, the receiver is not paused, a slot is free and the rate limits allow a send.
    private func nextStep(now: Date) -> Step {
        guard self.inFlight.count < self.concurrency else { return .wait(until: nil) }
        var held: Set<String> = []
        var wake: Date?
        var index = 0
        while index < self.pending.count {
            let candidate = self.pending[index]
            let keys = self.cachedOrderKeys(candidate.notification)
            index += 1
            guard keys.allSatisfy({ !held.contains($0) }) else {
                held.formUnion(keys)
                continue
            }
            held.formUnion(keys)
            let id = candidate.notification.id
            guard !self.inFlight.contains(id) else { continue }
            let expiry = candidate.acceptedAt.addingTimeInterval(RateLimiter.seconds(self.settings.maxAge))
            if now >= expiry {
                self.drop(candidate, reason: .expired, detail: self.lastFailures[id] ?? "undelivered after max_age")
                // The list changed under the scan: start over.
                held = []
                wake = nil
                index = 0
                continue
            }
            var due = candidate.notBefore ?? now
            if let pausedUntil = self.pausedUntil { due = max(due, pausedUntil) }
            if due <= now { due = max(due, self.limiter.nextAllowed(at: now)) }
            if due <= now { return .start(candidate) }
            let instant = min(due, expiry)
            wake = wake.map { min($0, instant) } ?? instant
        }
        return .wait(until: wake)
    }

    /// ``orderKeys(_:)`` of a waiting notification, worked out once: the worker scans the queue after every try.
    private func cachedOrderKeys(_ notification: OutboundNotification) -> [String] {
        if let keys = self.orderKeysByID[notification.id] { return keys }
        let keys = self.orderKeys(notification)
        self.orderKeysByID[notification.id] = keys
        return keys
    }

    /// What orders a notification: for each of its events, the event's incident and the DAG it is about (the target,
    /// for an event about neither an incident nor a DAG); one key for all when the concurrency is 1, so the queue is
    /// first in, first out.
    ///
    /// Events without an incident (`started`, `stage_advanced`, ...) are ordered per DAG, not all together: a burst of
    /// 500 targets' `stage_advanced` otherwise went strictly one after another whatever the concurrency.
    private func orderKeys(_ notification: OutboundNotification) -> [String] {
        guard self.concurrency > 1 else { return [""] }
        return Self.orderKeys(of: notification)
    }

    /// The incidents and DAGs a notification's events are about (`incident:…`, `dag:TARGET/ID`, or `target:NAME`
    /// for an event about neither), in order: a receiver delivers two notifications sharing one of them one after
    /// the other. The shared outbox in PostgreSQL orders by the same keys. `[""]` for a notification without events.
    package static func orderKeys(of notification: OutboundNotification) -> [String] {
        var keys: [String] = []
        for event in notification.events {
            var eventKeys: [String] = []
            if let incident = event.incident { eventKeys.append("incident:" + incident) }
            if let dag = event.dag {
                eventKeys.append("dag:" + event.target.name + "/" + dag.id)
            } else if event.incident == nil {
                eventKeys.append("target:" + event.target.name)
            }
            for key in eventKeys where !keys.contains(key) { keys.append(key) }
        }
        // A notification without events (none is made so) is ordered with the others like it.
        return keys.isEmpty ? [""] : keys
    }

    /// Keeps one wait on the clock for `deadline` (none for `nil`), which wakes the worker when it passes.
    private func arm(_ deadline: Date?) {
        guard self.timer?.deadline != deadline else { return }
        self.timer?.task.cancel()
        self.timer = nil
        guard let deadline else { return }
        let task = Task { [clock = self.clock, weak self] in
            do {
                try await clock.sleep(untilWall: deadline)
            } catch {
                return
            }
            await self?.timerFired(deadline)
        }
        self.timer = (deadline, task)
    }

    private func timerFired(_ deadline: Date) {
        if self.timer?.deadline == deadline { self.timer = nil }
        self.wakeUp?.yield()
    }

    /// Marks a try as started: in flight, counted against the rate limits (on disk too, for a restart).
    private func begin(_ pending: OutboxFile.Pending) -> Date {
        let startedAt = self.clock.wallNow
        self.inFlight.insert(pending.notification.id)
        self.limiter.record(at: startedAt)
        if !self.settings.rateLimits.isEmpty {
            self.journal { file throws(DeliveryError) in try file.markSent(at: startedAt) }
        }
        return startedAt
    }

    /// One try, and what its outcome does to the queue; the worker is woken afterwards (a slot is free, and the
    /// next notification of the incident may be due).
    private func attempt(_ head: OutboxFile.Pending, startedAt: Date) async {
        let id = head.notification.id
        defer {
            self.inFlight.remove(id)
            self.wakeUp?.yield()
        }
        let attempt = head.attempts + 1
        let outcome = await self.sender.deliver(head.notification, now: startedAt)
        self.onAttempt(
            DeliveryAttempt(
                receiver: self.name,
                notificationID: id,
                at: startedAt,
                attempt: attempt,
                outcome: outcome
            )
        )
        switch outcome {
        case .delivered(let answer):
            self.logger.debug("delivered", metadata: ["notification": "\(id)", "answer": "\(answer)"])
            self.finish(head) { file throws(DeliveryError) in try file.markDone(id) }
        case .rejected(let reason):
            self.drop(head, reason: .rejected, detail: reason)
        case .retry(let reason, let after):
            self.lastFailures[id] = "max_age passed; last failure: \(reason)"
            let delay = self.retryPolicy.delay(retry: attempt, unit: self.random(), requested: after)
            let now = self.clock.wallNow
            let notBefore = now.addingTimeInterval(RateLimiter.seconds(delay))
            if let after {
                // The far end's own wait is its rate limit: no other notification goes before it passes either.
                let until = now.addingTimeInterval(RateLimiter.seconds(after))
                self.pausedUntil = max(self.pausedUntil ?? until, until)
            }
            self.logger.warning(
                "delivery failed; will retry",
                metadata: [
                    "notification": "\(id)", "attempt": "\(attempt)", "reason": "\(reason)",
                    "retry_in": "\(delay)",
                ]
            )
            guard let index = self.pending.firstIndex(where: { $0.notification.id == id }) else { return }
            self.pending[index].attempts = attempt
            self.pending[index].notBefore = notBefore
            // On disk before the wait starts: a restart right after a 429 waits out the Retry-After too.
            self.journal { file throws(DeliveryError) in
                try file.markRetry(id, attempts: attempt, notBefore: notBefore)
            }
            self.countRecordForCompaction()
        }
    }

    private func drop(_ head: OutboxFile.Pending, reason: DeliveryDrop.Reason, detail: String) {
        let id = head.notification.id
        self.logger.error(
            "notification dropped undelivered",
            metadata: [
                "notification": "\(id)", "reason": "\(reason.rawValue)", "detail": "\(detail)",
                "rule": "\(head.notification.rule)", "events": "\(head.notification.events.count)",
            ]
        )
        self.onDrop(DeliveryDrop(receiver: self.name, notificationID: id, reason: reason, detail: detail))
        self.finish(head) { file throws(DeliveryError) in try file.markDropped(id) }
    }

    /// Takes a notification off the queue, journals why, and compacts now and then.
    private func finish(_ head: OutboxFile.Pending, record: (OutboxFile) throws(DeliveryError) -> Void) {
        let id = head.notification.id
        self.pending.removeAll { $0.notification.id == id }
        self.lastFailures[id] = nil
        self.orderKeysByID[id] = nil
        self.finishedIDs.append(id)
        self.finishedSet.insert(id)
        if self.finishedIDs.count > OutboxFile.rememberedFinishedIDs * 2 {
            let dropped = self.finishedIDs.prefix(self.finishedIDs.count - OutboxFile.rememberedFinishedIDs)
            self.finishedIDs.removeFirst(dropped.count)
            self.finishedSet.subtract(dropped)
        }
        // A mark that cannot be written is not fatal: at worst the notification is sent again after a restart, with
        // the same id.
        self.journal(record)
        self.countRecordForCompaction()
    }

    /// Rewrites the journal once enough finished and retry lines piled up.
    private func countRecordForCompaction() {
        self.recordsSinceCompaction += 1
        // While the journal cannot be written, every write already tries a rewrite.
        guard self.recordsSinceCompaction >= 512, self.storageProblem == nil else { return }
        self.journal { _ throws(DeliveryError) in try self.compact() }
    }

    /// Rewrites the journal from memory: what waits with its retry state, the finished ids, the recent send times.
    private func compact() throws(DeliveryError) {
        try self.file.compact(pending: self.pending, finishedIDs: self.finishedIDs, sent: self.limiter.history)
        self.recordsSinceCompaction = 0
    }

    /// Writes to the journal what memory already holds; a failure never stops delivery.
    ///
    /// While the journal lags memory (an earlier write failed), `write` is not enough: the whole journal is rewritten
    /// from memory instead, which also records what `write` would have. A failure is logged when it starts and when
    /// it ends, not on every write, and an idle queue tries again every ``journalRetryInterval``.
    private func journal(_ write: (OutboxFile) throws(DeliveryError) -> Void) {
        do {
            if self.storageProblem != nil {
                try self.compact()
            } else {
                try write(self.file)
            }
        } catch {
            self.failedJournalWrites += 1
            if self.storageProblem == nil {
                self.logger.error(
                    "cannot write the outbox journal; delivering from memory, a restart may lose or repeat some",
                    metadata: ["error": "\(error)"]
                )
            }
            let started = self.storageProblem == nil
            self.storageProblem = error.description
            if started { self.onJournalProblem(error.description) }
            self.scheduleJournalRetry()
            return
        }
        if self.storageProblem != nil {
            self.storageProblem = nil
            self.journalRetry?.cancel()
            self.journalRetry = nil
            self.logger.notice("the outbox journal is written again")
            self.onJournalProblem(nil)
        }
    }

    private func scheduleJournalRetry() {
        guard self.journalRetry == nil, !self.stopping else { return }
        self.journalRetry = Task { [clock = self.clock, weak self] in
            do {
                try await clock.sleep(for: Self.journalRetryInterval)
            } catch {
                return
            }
            await self?.retryJournal()
        }
    }

    private func retryJournal() {
        self.journalRetry = nil
        guard self.storageProblem != nil, !self.stopping else { return }
        self.journal { _ throws(DeliveryError) in try self.compact() }
    }
}
