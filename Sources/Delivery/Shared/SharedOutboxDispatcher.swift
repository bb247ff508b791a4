package import ConfigModel
package import Foundation
package import Logging
package import Support

/// Delivers from a ``SharedOutboxQueue`` that other replicas deliver from too: claims due rows, tries each once
/// with the receiver's sender, and finishes the claim (sent, retried with backoff, or dead).
///
/// Any replica delivers any row: the queue hands each row to one claimant at a time, one per (receiver, incident)
/// in order, within every receiver's rate limits. This replica has at most the receiver's
/// ``DeliverySettings/concurrency`` tries in flight for it (a receiver of a kind that delivers serially, syslog, a
/// file, the console or Alertmanager, is delivered strictly in order, one row at a time across every replica), and a receiver that answered with a Retry-After gets no new
/// claims from this replica until it passes (its row waits at least as long; rows other replicas hold are theirs to
/// pause). A claim holds for ``Timing/claimLength`` on the queue's clock;
/// this process trusts it only until the claim's start + the length − ``Timing/trustMargin`` on its own monotonic
/// clock, and sends only when the try (the receiver's timeout) ends before that. So a process paused past its
/// claim (SIGSTOP, a long GC-like stall) wakes up and sends nothing: the row was, or will be, rescued by another
/// replica, and re-sent with the same notification id.
///
/// Wake-ups: ``wake()`` (the routing step committed notifications here), and a poll every
/// ``Timing/pollInterval`` (notifications another replica routed, retries that fell due).
package actor SharedOutboxDispatcher: NotificationDispatch {
    /// How claims and polls are timed.
    package struct Timing: Sendable, Hashable {
        /// How often the queue is asked for due rows when nothing woke the dispatcher.
        package var pollInterval: Duration
        /// How long a claim holds in the queue.
        package var claimLength: Duration
        /// How long before the claim's end this process stops trusting it.
        package var trustMargin: Duration
        /// At most this many tries in flight at once over all receivers; each receiver's own `concurrency:` bounds
        /// its share.
        package var concurrency: Int

        /// Makes timings; the defaults poll every second, claim for two minutes, trusted until 15 s before, and
        /// allow 256 tries in flight.
        package init(
            pollInterval: Duration = .seconds(1),
            claimLength: Duration = .seconds(120),
            trustMargin: Duration = .seconds(15),
            concurrency: Int = 256
        ) {
            self.pollInterval = pollInterval
            self.claimLength = claimLength
            self.trustMargin = trustMargin
            self.concurrency = max(concurrency, 1)
        }
    }

    private struct Receiver: Sendable {
        var config: ReceiverConfig
        var sender: any NotificationSender
        var retryPolicy: RetryPolicy
    }

    private let queue: any SharedOutboxQueue
    private let replica: String
    private let receivers: [String: Receiver]
    private let rateLimits: [String: [RateLimit]]
    /// The receivers of a kind that delivers serially (syslog, file, console, Alertmanager): their rows go strictly in
    /// order, across incidents and replicas.
    private let inOrder: Set<String>
    private let clock: any ObwatchClock
    private let random: @Sendable () -> Double
    private let logger: Logger
    private let timing: Timing
    private let onAttempt: @Sendable (DeliveryAttempt) -> Void
    private let onDrop: @Sendable (DeliveryDrop) -> Void
    private let onClaimed: @Sendable ([ClaimedNotification]) async -> Void
    private let wakeUps: AsyncStream<Void>
    private let wakeUp: AsyncStream<Void>.Continuation
    private var loop: Task<Void, Never>?
    private var poller: Task<Void, Never>?
    private var inFlight: [Int64: (receiver: String, task: Task<Void, Never>)] = [:]
    /// Until when a receiver asked for no tries (its Retry-After), per receiver name, on the wall clock.
    private var pausedUntil: [String: Date] = [:]
    private var stopping = false
    private var problem: String?
    private var failedWrites = 0
    private var lastBacklog: [OutboxBacklogEntry] = []

    /// Makes a dispatcher; nothing is claimed before ``start()``.
    /// - Parameters:
    ///   - queue: The shared outbox.
    ///   - replica: This process's id, what its claims are made under.
    ///   - receivers: The configured receivers; a row for another receiver is left for a replica that knows it.
    ///   - makeSender: What delivers for a receiver.
    ///   - clock: The monotonic clock the claims' trust is measured on, and the polls wait on; `wallNow` is what
    ///     senders stamp.
    ///   - random: Numbers in `0..<1` for the backoff's jitter.
    ///   - logger: Where deliveries, retries and drops are logged.
    ///   - timing: Polls and claims.
    ///   - onAttempt: Told of every try.
    ///   - onDrop: Told of every notification given up (rejected, or past `max_age`).
    ///   - onClaimed: Told of every claim before its tries start (tests pause here, as a stopped process would).
    package init(
        queue: any SharedOutboxQueue,
        replica: String,
        receivers: [ReceiverConfig],
        makeSender: (ReceiverConfig) -> any NotificationSender,
        clock: any ObwatchClock = SystemClock(),
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        logger: Logger = Logger(label: "obwatch.delivery"),
        timing: Timing = Timing(),
        onAttempt: @escaping @Sendable (DeliveryAttempt) -> Void = { _ in },
        onDrop: @escaping @Sendable (DeliveryDrop) -> Void = { _ in },
        onClaimed: @escaping @Sendable ([ClaimedNotification]) async -> Void = { _ in }
    ) {
        var byName: [String: Receiver] = [:]
        var limits: [String: [RateLimit]] = [:]
        for receiver in receivers {
            byName[receiver.name] = Receiver(
                config: receiver,
                sender: makeSender(receiver),
                retryPolicy: RetryPolicy(initial: receiver.delivery.retryInitial, maximum: receiver.delivery.retryMax)
            )
            if !receiver.delivery.rateLimits.isEmpty { limits[receiver.name] = receiver.delivery.rateLimits }
        }
        self.queue = queue
        self.replica = replica
        self.receivers = byName
        self.rateLimits = limits
        self.inOrder = Set(receivers.filter(\.kind.deliversSerially).map(\.name))
        self.clock = clock
        self.random = random
        self.logger = logger
        self.timing = timing
        self.onAttempt = onAttempt
        self.onDrop = onDrop
        self.onClaimed = onClaimed
        (self.wakeUps, self.wakeUp) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Asks the queue for due rows now (the routing step just committed some); cheap, and safe from any task.
    package nonisolated func wake() {
        self.wakeUp.yield()
    }

    /// Starts claiming and delivering, and polling every ``Timing/pollInterval``.
    package func start() {
        guard self.loop == nil, !self.stopping else { return }
        let clock = self.clock
        let interval = self.timing.pollInterval
        let wakeUp = self.wakeUp
        self.poller = Task {
            while !Task.isCancelled {
                do { try await clock.sleep(for: interval) } catch { return }
                wakeUp.yield()
            }
        }
        self.loop = Task { await self.run() }
        self.wakeUp.yield()
    }

    /// Stops claiming; tries in flight get `grace` on the dispatcher's clock to finish (then they are cancelled,
    /// and their claims expire for another replica to rescue).
    package func stop(grace: Duration) async {
        self.stopping = true
        self.poller?.cancel()
        self.wakeUp.finish()
        if let loop = self.loop { await loop.value }
        let tries = self.inFlight.values.map(\.task)
        let clock = self.clock
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for task in tries { await task.value }
                return true
            }
            group.addTask {
                try? await clock.sleep(for: grace)
                return false
            }
            if await group.next() == false {
                for task in tries { task.cancel() }
                for task in tries { await task.value }
            }
            group.cancelAll()
        }
    }

    /// One claim of due rows, their tries started; what a wake-up does.
    /// - Returns: How many rows were claimed.
    @discardableResult
    package func dispatchOnce() async -> Int {
        let room = self.timing.concurrency - self.inFlight.count
        guard room > 0, !self.stopping else { return 0 }
        // Measured from before the claim is asked for: the claim's length runs from some time after this.
        let elapsed = Self.stopwatch(self.clock)
        let claimed: [ClaimedNotification]
        do {
            claimed = try await self.queue.claim(
                ClaimRequest(
                    claimant: self.replica,
                    limit: room,
                    claimLength: self.timing.claimLength,
                    rateLimits: self.rateLimits,
                    perReceiver: self.roomPerReceiver(),
                    inOrder: self.inOrder
                )
            )
            self.cleared()
        } catch {
            self.failed(error)
            return 0
        }
        guard !claimed.isEmpty else { return 0 }
        await self.onClaimed(claimed)
        let trusted = self.timing.claimLength - self.timing.trustMargin
        for claim in claimed {
            let task = Task {
                await self.attempt(claim, trustedFor: trusted, elapsed: elapsed)
                self.finished(claim.row)
            }
            self.inFlight[claim.row] = (claim.notification.receiver, task)
        }
        return claimed.count
    }

    /// How many more rows each known receiver may have claimed now: its concurrency less its tries in flight, none
    /// while its Retry-After runs.
    private func roomPerReceiver() -> [String: Int] {
        var busy: [String: Int] = [:]
        for entry in self.inFlight.values { busy[entry.receiver, default: 0] += 1 }
        let now = self.clock.wallNow
        var room: [String: Int] = [:]
        for (name, receiver) in self.receivers {
            if let until = self.pausedUntil[name], until > now {
                room[name] = 0
                continue
            }
            self.pausedUntil[name] = nil
            room[name] = max(receiver.config.delivery.concurrency - busy[name, default: 0], 0)
        }
        return room
    }

    private func run() async {
        var wakeUps = self.wakeUps.makeAsyncIterator()
        while !self.stopping && !Task.isCancelled {
            if await self.dispatchOnce() > 0 { continue }
            guard await wakeUps.next() != nil else { return }
        }
    }

    private func finished(_ row: Int64) {
        self.inFlight[row] = nil
        // A finished try may have made the next notification of its incident due.
        self.wakeUp.yield()
    }

    /// One try of a claimed row, unless the claim can no longer be trusted to outlast it.
    private func attempt(
        _ claim: ClaimedNotification,
        trustedFor trusted: Duration,
        elapsed: @Sendable () -> Duration
    ) async {
        let notification = claim.notification
        guard let receiver = self.receivers[notification.receiver] else {
            self.logger.warning(
                "notification for a receiver this replica does not know; left for another",
                metadata: ["receiver": "\(notification.receiver)", "notification": "\(notification.id)"]
            )
            await self.finish(claim, .retry(after: .seconds(60), error: "unknown receiver on \(self.replica)"))
            return
        }
        let settings = receiver.config.delivery
        if claim.age >= settings.maxAge {
            self.drop(claim, reason: .expired, detail: "undelivered after max_age")
            await self.finish(claim, .dead(reason: "undelivered after max_age"))
            return
        }
        // The try must end before the claim stops being trusted: otherwise another replica may rescue the row
        // while this one still sends it.
        guard elapsed() + settings.timeout <= trusted else {
            self.logger.warning(
                "claim no longer trusted (this process was paused or slow); left for another sender",
                metadata: ["receiver": "\(notification.receiver)", "notification": "\(notification.id)"]
            )
            return
        }
        let startedAt = self.clock.wallNow
        let outcome = await receiver.sender.deliver(notification, now: startedAt)
        self.onAttempt(
            DeliveryAttempt(
                receiver: notification.receiver,
                notificationID: notification.id,
                at: startedAt,
                attempt: claim.attempt,
                outcome: outcome
            )
        )
        switch outcome {
        case .delivered(let answer):
            self.logger.debug("delivered", metadata: ["notification": "\(notification.id)", "answer": "\(answer)"])
            await self.finish(claim, .sent)
        case .rejected(let reason):
            self.drop(claim, reason: .rejected, detail: reason)
            await self.finish(claim, .dead(reason: reason))
        case .retry(let reason, let after):
            let delay = receiver.retryPolicy.delay(retry: claim.attempt, unit: self.random(), requested: after)
            if let after {
                // The far end's own wait is its rate limit: this replica claims nothing more for it until then.
                let until = self.clock.wallNow.addingTimeInterval(RateLimiter.seconds(after))
                self.pausedUntil[notification.receiver] = max(self.pausedUntil[notification.receiver] ?? until, until)
            }
            if claim.age + elapsed() + delay >= settings.maxAge {
                let detail = "max_age passed; last failure: \(reason)"
                self.drop(claim, reason: .expired, detail: detail)
                await self.finish(claim, .dead(reason: detail))
                return
            }
            self.logger.warning(
                "delivery failed; will retry",
                metadata: [
                    "receiver": "\(notification.receiver)", "notification": "\(notification.id)",
                    "attempt": "\(claim.attempt)", "reason": "\(reason)", "retry_in": "\(delay)",
                ]
            )
            await self.finish(claim, .retry(after: delay, error: reason))
        }
    }

    private func drop(_ claim: ClaimedNotification, reason: DeliveryDrop.Reason, detail: String) {
        let notification = claim.notification
        self.logger.error(
            "notification dropped undelivered",
            metadata: [
                "receiver": "\(notification.receiver)", "notification": "\(notification.id)",
                "reason": "\(reason.rawValue)", "detail": "\(detail)", "rule": "\(notification.rule)",
            ]
        )
        self.onDrop(
            DeliveryDrop(
                receiver: notification.receiver,
                notificationID: notification.id,
                reason: reason,
                detail: detail
            )
        )
    }

    private func finish(_ claim: ClaimedNotification, _ result: ClaimResult) async {
        do {
            let held = try await self.queue.finish(claim.row, claimant: self.replica, result: result)
            self.cleared()
            if !held {
                self.logger.warning(
                    "claim expired before the try finished; another sender took the notification",
                    metadata: ["notification": "\(claim.notification.id)"]
                )
            }
        } catch {
            // The claim expires and the row is tried again, with the same id.
            self.failed(error)
        }
    }

    private func failed(_ error: DeliveryError) {
        self.failedWrites += 1
        if self.problem == nil {
            self.logger.error("cannot use the shared outbox; trying again", metadata: ["error": "\(error)"])
        }
        self.problem = error.description
    }

    private func cleared() {
        guard self.problem != nil else { return }
        self.problem = nil
        self.logger.notice("the shared outbox answers again")
    }

    // MARK: - What the daemon watches

    /// How many notifications wait for each receiver (every replica's), from the queue; the last known answer
    /// while the queue cannot be asked.
    package func backlog() async -> [(receiver: String, depth: Int, oldest: Date?)] {
        if let entries = try? await self.queue.backlog() { self.lastBacklog = entries }
        return self.lastBacklog.map { ($0.receiver, $0.depth, $0.oldest) }
    }

    /// The receivers whose oldest waiting notification was enqueued longer than `threshold` before `now`.
    package func stuckReceivers(olderThan threshold: Duration, now: Date) async -> [(receiver: String, since: Date)] {
        let limit = now.addingTimeInterval(-RateLimiter.seconds(threshold))
        return await self.backlog().compactMap { entry in
            guard let oldest = entry.oldest, oldest < limit else { return nil }
            return (entry.receiver, oldest)
        }
    }

    /// Whether the shared outbox answers: its problem under the name `outbox`, and the failed operations so far.
    package func storageStatus() -> OutboxStorageStatus {
        OutboxStorageStatus(problems: self.problem.map { ["outbox": $0] } ?? [:], failedWrites: self.failedWrites)
    }

    /// How long since now, on `clock`'s monotonic time.
    private static func stopwatch<C: ObwatchClock>(_ clock: C) -> @Sendable () -> Duration {
        let start = clock.now
        return { start.duration(to: clock.now) }
    }
}
