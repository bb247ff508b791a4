package import ConfigModel
package import Foundation

/// A notification a sender claimed from a shared outbox, to try once.
package struct ClaimedNotification: Sendable, Hashable {
    /// The row's id in the queue, what the claim is finished by.
    package var row: Int64
    /// What to send; its ``OutboundNotification/id`` is the idempotency key every try carries downstream.
    package var notification: OutboundNotification
    /// This try's number (1 for the first).
    package var attempt: Int
    /// How long ago the notification was enqueued, on the queue's own clock (the database's): `max_age` counts
    /// from there.
    package var age: Duration

    /// Makes a claimed notification.
    package init(row: Int64, notification: OutboundNotification, attempt: Int, age: Duration) {
        self.row = row
        self.notification = notification
        self.attempt = attempt
        self.age = age
    }
}

/// What a sender asks of a claim.
package struct ClaimRequest: Sendable, Hashable {
    /// Who claims (the replica's id): only it may finish what it claims.
    package var claimant: String
    /// At most this many rows.
    package var limit: Int
    /// How long the claim holds; after it, another sender may rescue the row.
    package var claimLength: Duration
    /// Each receiver's rate limits, counted across every sender of the queue.
    package var rateLimits: [String: [RateLimit]]
    /// At most this many rows of a receiver named here (0: none of its rows); a receiver not named is bounded by
    /// ``limit`` only.
    package var perReceiver: [String: Int]
    /// Receivers whose rows go strictly in order: a row is claimed only when no older row of its receiver, whatever
    /// its incident, is unfinished (one in flight across every sender).
    package var inOrder: Set<String>

    /// Makes a request.
    package init(
        claimant: String,
        limit: Int,
        claimLength: Duration,
        rateLimits: [String: [RateLimit]],
        perReceiver: [String: Int] = [:],
        inOrder: Set<String> = []
    ) {
        self.claimant = claimant
        self.limit = limit
        self.claimLength = claimLength
        self.rateLimits = rateLimits
        self.perReceiver = perReceiver
        self.inOrder = inOrder
    }
}

/// How a claimed try ended.
package enum ClaimResult: Sendable, Hashable {
    /// Delivered: done.
    case sent
    /// To be tried again after `after`; `error` is kept as the row's last error.
    case retry(after: Duration, error: String)
    /// Given up (rejected, or `max_age` passed): kept as dead with its reason.
    case dead(reason: String)
}

/// How many notifications wait for one receiver, and since when the oldest has.
package struct OutboxBacklogEntry: Sendable, Hashable {
    /// The receiver.
    package var receiver: String
    /// Notifications waiting or being sent.
    package var depth: Int
    /// When the oldest was enqueued.
    package var oldest: Date?

    /// Makes an entry.
    package init(receiver: String, depth: Int, oldest: Date?) {
        self.receiver = receiver
        self.depth = depth
        self.oldest = oldest
    }
}

/// An outbox that several processes deliver from at once (PostgreSQL's `outbox` table): notifications are rows
/// known by their idempotency key; a sender claims due rows for a while, tries each once and finishes it.
///
/// Implementations guarantee, across every sender:
/// - a row is claimed by one sender at a time; a claim that expired (its sender crashed or was paused) may be
///   claimed again, and the row is then re-sent with the same notification id;
/// - at most one row per (receiver, incident) is claimed at once, and only the oldest unfinished one, so an
///   incident's notifications reach a receiver in order (for a receiver in ``ClaimRequest/inOrder``: one row of the
///   receiver, its oldest unfinished);
/// - at most ``ClaimRequest/perReceiver`` rows of a receiver per claim;
/// - a receiver's rate limits count every sender's tries;
/// - only the claimant finishes its claim, and only while the row is still claimed.
package protocol SharedOutboxQueue: Sendable {
    /// Claims due rows for `request.claimant`.
    /// - Throws: ``DeliveryError`` `.storage` when the queue cannot be reached.
    func claim(_ request: ClaimRequest) async throws(DeliveryError) -> [ClaimedNotification]

    /// Finishes a claimed try.
    /// - Returns: Whether the claim was still this claimant's (`false`: it expired and another sender took it).
    /// - Throws: ``DeliveryError`` `.storage` when the queue cannot be reached (the claim then expires and the row
    ///   is tried again, with the same id).
    func finish(_ row: Int64, claimant: String, result: ClaimResult) async throws(DeliveryError) -> Bool

    /// How many notifications wait for each receiver, by name.
    /// - Throws: ``DeliveryError`` `.storage` when the queue cannot be reached.
    func backlog() async throws(DeliveryError) -> [OutboxBacklogEntry]
}

/// What the daemon asks of its delivery, whichever outbox it has: the local ``Outbox`` with its journals, or a
/// ``SharedOutboxDispatcher`` over a shared queue.
package protocol NotificationDispatch: Sendable {
    /// Starts delivering.
    func start() async
    /// Stops: in-flight tries get `grace` to finish; what waits stays queued.
    func stop(grace: Duration) async
    /// How many notifications wait for each receiver, and since when the oldest has.
    func backlog() async -> [(receiver: String, depth: Int, oldest: Date?)]
    /// The receivers whose oldest waiting notification is older than `threshold`, with since when.
    func stuckReceivers(olderThan threshold: Duration, now: Date) async -> [(receiver: String, since: Date)]
    /// Whether the outbox's storage can be written, for readiness and metrics.
    func storageStatus() async -> OutboxStorageStatus
}

extension Outbox: NotificationDispatch {}
