public import Foundation
public import Logging
public import Rules

/// One receiver's queue: accepts notifications durably, delivers them in order with retries, backoff and the
/// receiver's rate limits, and drops (loudly) what is refused for good or too old.
///
/// Order: the queue is first in, first out, so the notifications of an incident reach the receiver in the order
/// they were made; a notification waiting for a retry holds back the ones behind it on this receiver only (every
/// receiver has its own queue and worker, so a receiver that stays down delays no other).
public actor ReceiverQueue {
    /// The receiver's name.
    public let name: String
    private let settings: DeliverySettings
    private let file: OutboxFile
    private let sender: any NotificationSender
    private let clock: any DeliveryClock
    private let random: @Sendable () -> Double
    private let logger: Logger
    private let onAttempt: @Sendable (DeliveryAttempt) -> Void
    private let onDrop: @Sendable (DeliveryDrop) -> Void
    private let retryPolicy: RetryPolicy

    private var pending: [OutboxFile.Pending]
    private var finishedIDs: [String]
    private var finishedSet: Set<String>
    private var finishedSinceCompaction = 0
    private var limiter: RateLimiter
    private var attempts = 0
    private var nextTry: Date?
    private var lastFailure: String?
    private var stopping = false
    private var wakeUp: AsyncStream<Void>.Continuation?
    private var wakeUps: AsyncStream<Void>?

    /// Makes a queue and loads what the journal holds (a short blocking read at start-up).
    /// - Parameters:
    ///   - name: The receiver's name.
    ///   - settings: Timeouts, rate limits, max age and retry bounds.
    ///   - file: The journal.
    ///   - sender: What puts a notification on the wire.
    ///   - clock: Where time is read and waited for.
    ///   - random: Numbers in `0..<1` for the jitter.
    ///   - logger: Where deliveries and drops are logged; `receiver` metadata is added.
    ///   - onAttempt: Told of every try (metrics, tests).
    ///   - onDrop: Told of every notification dropped undelivered (metrics, tests).
    public init(
        name: String,
        settings: DeliverySettings,
        file: OutboxFile,
        sender: any NotificationSender,
        clock: any DeliveryClock = SystemDeliveryClock(),
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        logger: Logger = Logger(label: "obwatch.delivery"),
        onAttempt: @escaping @Sendable (DeliveryAttempt) -> Void = { _ in },
        onDrop: @escaping @Sendable (DeliveryDrop) -> Void = { _ in }
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
        self.retryPolicy = RetryPolicy(initial: settings.retryInitial, maximum: settings.retryMax)
        self.limiter = RateLimiter(limits: settings.rateLimits)
        let loaded = file.load()
        if loaded.skippedLines > 0 {
            logger.warning(
                "skipped unreadable outbox lines",
                metadata: ["file": "\(file.url.path)", "lines": "\(loaded.skippedLines)"]
            )
        }
        if !loaded.pending.isEmpty {
            logger.info("resuming undelivered notifications", metadata: ["count": "\(loaded.pending.count)"])
        }
        self.pending = loaded.pending
        self.finishedIDs = loaded.finishedIDs
        self.finishedSet = Set(loaded.finishedIDs)
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        self.wakeUps = stream
        self.wakeUp = continuation
    }

    /// How many notifications wait.
    public var depth: Int { self.pending.count }

    /// When the oldest waiting notification was accepted.
    public var oldestAcceptedAt: Date? { self.pending.first?.acceptedAt }

    /// Takes notifications for delivery; they are on disk when this returns. A notification whose id is already
    /// waiting or was recently finished is a repeat (a restart re-routing what it had routed before) and is skipped.
    /// - Returns: How many were new.
    /// - Throws: ``DeliveryError`` `.storage` when the journal cannot be written: then nothing was accepted.
    @discardableResult
    public func accept(_ notifications: [OutboundNotification]) throws(DeliveryError) -> Int {
        let now = self.clock.now()
        var seen = Set(self.pending.map(\.notification.id)).union(self.finishedSet)
        let fresh = notifications.filter { seen.insert($0.id).inserted }
            .map { OutboxFile.Pending(notification: $0, acceptedAt: now) }
        guard !fresh.isEmpty else { return 0 }
        try self.file.append(fresh)
        self.pending += fresh
        self.wakeUp?.yield()
        return fresh.count
    }

    /// Delivers until cancelled or ``stop()``; run it in a task of its own.
    public func run() async {
        guard let wakeUps = self.wakeUps else { return }
        self.wakeUps = nil
        var iterator = wakeUps.makeAsyncIterator()
        while !self.stopping && !Task.isCancelled {
            guard let head = self.pending.first else {
                guard await iterator.next() != nil else { return }
                continue
            }
            do {
                try await self.deliver(head)
            } catch {
                return
            }
        }
    }

    /// Stops taking new work after the current try; what waits stays on disk.
    public func stop() {
        self.stopping = true
        self.wakeUp?.finish()
    }

    private func deliver(_ head: OutboxFile.Pending) async throws {
        let id = head.notification.id
        let expiry = head.acceptedAt.addingTimeInterval(RateLimiter.seconds(self.settings.maxAge))
        if let nextTry = self.nextTry {
            try await self.clock.wait(until: min(nextTry, expiry))
        }
        let allowed = self.limiter.nextAllowed(at: self.clock.now())
        if allowed > self.clock.now() { try await self.clock.wait(until: min(allowed, expiry)) }
        guard !self.stopping, self.pending.first?.notification.id == id else { return }
        if self.clock.now() >= expiry {
            self.drop(head, reason: .expired, detail: self.lastFailure ?? "undelivered after max_age")
            return
        }
        let startedAt = self.clock.now()
        self.limiter.record(at: startedAt)
        self.attempts += 1
        let outcome = await self.sender.deliver(head.notification, now: startedAt)
        self.onAttempt(
            DeliveryAttempt(
                receiver: self.name,
                notificationID: id,
                at: startedAt,
                attempt: self.attempts,
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
            self.lastFailure = "max_age passed; last failure: \(reason)"
            let delay = self.retryPolicy.delay(retry: self.attempts, unit: self.random(), requested: after)
            self.nextTry = self.clock.now().addingTimeInterval(RateLimiter.seconds(delay))
            self.logger.warning(
                "delivery failed; will retry",
                metadata: [
                    "notification": "\(id)", "attempt": "\(self.attempts)", "reason": "\(reason)",
                    "retry_in": "\(delay)",
                ]
            )
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

    /// Takes the head off the queue, journals why, and compacts now and then.
    private func finish(_ head: OutboxFile.Pending, record: (OutboxFile) throws(DeliveryError) -> Void) {
        let id = head.notification.id
        self.pending.removeAll { $0.notification.id == id }
        self.attempts = 0
        self.nextTry = nil
        self.lastFailure = nil
        self.finishedIDs.append(id)
        self.finishedSet.insert(id)
        if self.finishedIDs.count > OutboxFile.rememberedFinishedIDs * 2 {
            let dropped = self.finishedIDs.prefix(self.finishedIDs.count - OutboxFile.rememberedFinishedIDs)
            self.finishedIDs.removeFirst(dropped.count)
            self.finishedSet.subtract(dropped)
        }
        do {
            try record(self.file)
            self.finishedSinceCompaction += 1
            if self.finishedSinceCompaction >= 512 {
                try self.file.compact(pending: self.pending, finishedIDs: self.finishedIDs)
                self.finishedSinceCompaction = 0
            }
        } catch {
            // Not fatal: at worst the notification is sent again after a restart, with the same id.
            self.logger.error("cannot journal a finished notification", metadata: ["error": "\(error)"])
        }
    }
}
