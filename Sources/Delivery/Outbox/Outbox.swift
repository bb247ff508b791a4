package import ConfigModel
package import Foundation
package import Logging
package import Support

/// Every receiver's queue, and the one door notifications come in by.
///
/// A notification is accepted once its receiver's journal holds it on disk; each receiver's worker then delivers
/// on its own, so a receiver that is down delays no other. A journal that cannot be written does not stop delivery:
/// its notifications go out from memory and ``storageStatus()`` tells what fails (see ``ReceiverQueue``).
package actor Outbox {
    private let queues: [String: ReceiverQueue]
    private var workers: [Task<Void, Never>] = []
    private var stopped = false
    private let clock: any ObwatchClock
    private let logger: Logger

    /// Makes the queues of every receiver and loads their journals.
    /// - Parameters:
    ///   - receivers: The configured receivers.
    ///   - stateDirectory: `state_dir`; journals go to `state_dir/outbox/`.
    ///   - makeSender: What delivers for a receiver.
    ///   - clock: Where time is read (wall times for the journal and the senders) and waited for (backoff, rate
    ///     limits, the stop's grace).
    ///   - logger: Where deliveries and drops are logged.
    ///   - onAttempt: Told of every try.
    ///   - onDrop: Told of every notification dropped undelivered.
    package init(
        receivers: [ReceiverConfig],
        stateDirectory: URL,
        makeSender: (ReceiverConfig) -> any NotificationSender,
        clock: any ObwatchClock = SystemClock(),
        logger: Logger = Logger(label: "obwatch.delivery"),
        onAttempt: @escaping @Sendable (DeliveryAttempt) -> Void = { _ in },
        onDrop: @escaping @Sendable (DeliveryDrop) -> Void = { _ in }
    ) {
        var queues: [String: ReceiverQueue] = [:]
        for receiver in receivers {
            queues[receiver.name] = ReceiverQueue(
                name: receiver.name,
                settings: receiver.delivery,
                file: OutboxFile(stateDirectory: stateDirectory, receiver: receiver.name),
                sender: makeSender(receiver),
                clock: clock,
                logger: logger,
                onAttempt: onAttempt,
                onDrop: onDrop
            )
        }
        self.queues = queues
        self.clock = clock
        self.logger = logger
    }

    /// Starts every receiver's worker; what the journals held goes out first.
    package func start() {
        guard self.workers.isEmpty, !self.stopped else { return }
        self.workers = self.queues.values.map { queue in Task { await queue.run() } }
    }

    /// Accepts notifications; they are on disk when this returns, or, when a receiver's journal cannot be written,
    /// held in memory and delivered all the same (``storageStatus()`` then names the problem).
    /// - Throws: ``DeliveryError`` `.stopped` when the outbox is stopping (what was accepted before stays accepted).
    package func accept(_ notifications: [OutboundNotification]) async throws(DeliveryError) {
        guard !self.stopped else {
            throw DeliveryError(code: .stopped, message: "the outbox is stopping; nothing more is accepted")
        }
        var order: [String] = []
        var byReceiver: [String: [OutboundNotification]] = [:]
        for notification in notifications {
            if byReceiver[notification.receiver] == nil { order.append(notification.receiver) }
            byReceiver[notification.receiver, default: []].append(notification)
        }
        for name in order {
            guard let queue = self.queues[name], let batch = byReceiver[name] else {
                self.logger.error(
                    "notification for an unknown receiver dropped",
                    metadata: ["receiver": "\(name)", "count": "\(byReceiver[name]?.count ?? 0)"]
                )
                continue
            }
            try await queue.accept(batch)
        }
    }

    /// How many notifications wait for each receiver, and since when the oldest has.
    package func backlog() async -> [(receiver: String, depth: Int, oldest: Date?)] {
        var result: [(receiver: String, depth: Int, oldest: Date?)] = []
        for name in self.queues.keys.sorted() {
            guard let queue = self.queues[name] else { continue }
            result.append((name, await queue.depth, await queue.oldestAcceptedAt))
        }
        return result
    }

    /// The receivers whose oldest undelivered notification was accepted longer than `threshold` before `now`,
    /// sorted by name, with when that was: a receiver that has been down or refusing for that long.
    package func stuckReceivers(olderThan threshold: Duration, now: Date) async -> [(receiver: String, since: Date)] {
        let limit = now.addingTimeInterval(-RateLimiter.seconds(threshold))
        return await self.backlog().compactMap { entry in
            guard let oldest = entry.oldest, oldest < limit else { return nil }
            return (entry.receiver, oldest)
        }
    }

    /// Whether every journal can be written, for readiness and metrics; cheap enough to poll every second.
    package func storageStatus() async -> OutboxStorageStatus {
        var status = OutboxStorageStatus(problems: [:], failedWrites: 0)
        for (name, queue) in self.queues {
            if let problem = await queue.storageProblem { status.problems[name] = problem }
            status.failedWrites += await queue.failedJournalWrites
        }
        return status
    }

    /// Stops: no more accepting, every worker finishes its current try within `grace` on the outbox's clock (then
    /// it is cancelled); whatever waits stays on disk for the next start.
    package func stop(grace: Duration) async {
        self.stopped = true
        for queue in self.queues.values { await queue.stop() }
        let workers = self.workers
        let clock = self.clock
        self.workers = []
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for worker in workers { await worker.value }
                return true
            }
            group.addTask {
                try? await clock.sleep(for: grace)
                return false
            }
            let finished = await group.next() ?? false
            if !finished {
                for worker in workers { worker.cancel() }
                for worker in workers { await worker.value }
            }
            group.cancelAll()
        }
    }
}

/// How the outbox's journals fare on disk.
///
/// A journal that cannot be written (a full or read-only disk, a broken mount) does not stop delivery, so this is the
/// one place the failure shows: poll ``Outbox/storageStatus()`` for readiness (``problem``) and a counter
/// (``failedWrites``). Each failing queue tries again on its next write and every
/// ``ReceiverQueue/journalRetryInterval``; the problem clears once a write works.
package struct OutboxStorageStatus: Sendable, Hashable {
    /// Per receiver whose journal cannot be written now, why, e.g.
    /// `cannot write /var/lib/obwatch/outbox/hook.jsonl: read-only file system`; empty when all are written.
    package var problems: [String: String]
    /// Journal writes that failed since the outbox was made, over all receivers; it only grows.
    package var failedWrites: Int

    /// Makes a status.
    package init(problems: [String: String], failedWrites: Int) {
        self.problems = problems
        self.failedWrites = failedWrites
    }

    /// Every problem in one line, by receiver name (`hook: cannot write …; mail: cannot write …`), or nil when every
    /// journal is written.
    package var problem: String? {
        guard !self.problems.isEmpty else { return nil }
        return self.problems.keys.sorted().compactMap { name in self.problems[name].map { "\(name): \($0)" } }
            .joined(separator: "; ")
    }
}
