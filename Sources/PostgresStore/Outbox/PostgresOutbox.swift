package import ConfigModel
package import Delivery
import Foundation
import Logging
import PostgresNIO

/// The shared outbox in PostgreSQL: the `outbox` table, one row per notification known by its idempotency key
/// (the notification's id), delivered by every replica's ``SharedOutboxDispatcher``.
///
/// A claim is one transaction: the due rows (waiting and due, or claimed by a sender whose claim expired) that are
/// the oldest unfinished row of their (receiver, incident) (of their receiver, for a receiver delivered in order),
/// at most the request's share per receiver, locked with `FOR UPDATE SKIP LOCKED` so that senders
/// claiming at once take different rows; each receiver's rate limits are counted in `rate_limit` (a row per limit
/// and fixed window, incremented in the claim's transaction, so every replica's tries count); the rows taken are
/// marked `sending` by the claimant until `claimed_until`. Finishing is scoped to the claimant and the `sending`
/// state, so a sender whose claim was rescued by another cannot overwrite what that one did.
package struct PostgresOutbox: SharedOutboxQueue {
    /// The store.
    package let store: PostgresStore

    /// Makes the queue over a migrated schema.
    package init(store: PostgresStore) {
        self.store = store
    }

    /// Puts notifications on the queue (without a fence: what `replay` and `demo` do, and tests); a notification
    /// whose id is already queued (or was sent) is not queued again.
    /// - Returns: How many rows were new.
    /// - Throws: ``DeliveryError`` `.storage` when the database cannot be written.
    @discardableResult
    package func enqueue(_ notifications: [OutboundNotification]) async throws(DeliveryError) -> Int {
        let table = self.store.table("outbox")
        let rows = try Self.rows(notifications.map { ($0, nil) })
        do {
            return try await self.store.withConnection { connection, logger in
                try await Self.insert(rows, into: table, on: connection, logger: logger)
            }
        } catch {
            throw DeliveryError(code: .storage, message: "cannot write to the shared outbox", cause: error.message)
        }
    }

    package func claim(_ request: ClaimRequest) async throws(DeliveryError) -> [ClaimedNotification] {
        let outbox = self.store.table("outbox")
        let limits = self.store.table("rate_limit")
        do {
            return try await self.store.transaction { connection, logger in
                var select = PostgresQuery(
                    unsafeSQL: """
                        SELECT o.id, o.receiver FROM \(outbox) o
                        WHERE ((o.state = 'pending' AND o.next_attempt_at <= now())
                               OR (o.state = 'sending' AND o.claimed_until < now()))
                          AND NOT (o.receiver = ANY($2))
                          AND NOT EXISTS (
                              SELECT 1 FROM \(outbox) p
                              WHERE p.receiver = o.receiver AND p.incident = o.incident
                                AND p.state IN ('pending', 'sending') AND p.id < o.id)
                          AND (NOT (o.receiver = ANY($3)) OR NOT EXISTS (
                              SELECT 1 FROM \(outbox) p
                              WHERE p.receiver = o.receiver AND p.state IN ('pending', 'sending') AND p.id < o.id))
                        ORDER BY o.id
                        LIMIT $1
                        FOR UPDATE OF o SKIP LOCKED
                        """
                )
                // Rows of a receiver at its rate limit or its share are passed over: look a little further.
                select.binds.append(Int64(max(request.limit, 1) * 2))
                select.binds.append(request.perReceiver.filter { $0.value <= 0 }.keys.sorted())
                select.binds.append(request.inOrder.sorted())
                var candidates: [(Int64, String)] = []
                for try await row in try await connection.query(select, logger: logger).decode((Int64, String).self) {
                    candidates.append(row)
                }
                var chosen: [Int64] = []
                var full: Set<String> = []
                var taken: [String: Int] = [:]
                for (id, receiver) in candidates where chosen.count < request.limit && !full.contains(receiver) {
                    guard taken[receiver, default: 0] < request.perReceiver[receiver] ?? request.limit else { continue }
                    if let receiverLimits = request.rateLimits[receiver], !receiverLimits.isEmpty {
                        guard
                            try await Self.takeSend(
                                receiverLimits,
                                receiver: receiver,
                                table: limits,
                                on: connection,
                                logger: logger
                            )
                        else {
                            full.insert(receiver)
                            continue
                        }
                    }
                    chosen.append(id)
                    taken[receiver, default: 0] += 1
                }
                guard !chosen.isEmpty else { return [] }
                var update = PostgresQuery(
                    unsafeSQL: """
                        UPDATE \(outbox)
                        SET state = 'sending', claimed_by = $1, claimed_until = now() + $2 * interval '1 second',
                            attempts = attempts + 1
                        WHERE id = ANY($3)
                        RETURNING id, notification::text, attempts, extract(epoch FROM now() - created_at)::float8
                        """
                )
                update.binds.append(request.claimant)
                update.binds.append(Self.seconds(request.claimLength))
                update.binds.append(chosen)
                var claimed: [ClaimedNotification] = []
                var unreadable: [Int64] = []
                let rows = try await connection.query(update, logger: logger)
                for try await (id, text, attempts, age) in rows.decode((Int64, String, Int32, Double).self) {
                    guard
                        let notification = try? JSONDecoder().decode(OutboundNotification.self, from: Data(text.utf8))
                    else {
                        unreadable.append(id)
                        continue
                    }
                    claimed.append(
                        ClaimedNotification(
                            row: id,
                            notification: notification,
                            attempt: Int(attempts),
                            age: .milliseconds(Int64((max(age, 0) * 1000).rounded()))
                        )
                    )
                }
                if !unreadable.isEmpty {
                    // Never deliverable (written by an incompatible obwatch): set aside instead of blocking its
                    // incident for ever.
                    var dead = PostgresQuery(
                        unsafeSQL: """
                            UPDATE \(outbox) SET state = 'dead', finished_at = now(), claimed_until = NULL,
                                last_error = 'the stored notification cannot be read by this obwatch'
                            WHERE id = ANY($1)
                            """
                    )
                    dead.binds.append(unreadable)
                    try await connection.query(dead, logger: logger)
                }
                return claimed.sorted { $0.row < $1.row }
            }
        } catch {
            throw DeliveryError(code: .storage, message: "cannot claim from the shared outbox", cause: error.message)
        }
    }

    package func finish(_ row: Int64, claimant: String, result: ClaimResult) async throws(DeliveryError) -> Bool {
        let outbox = self.store.table("outbox")
        var query: PostgresQuery
        switch result {
        case .sent:
            query = PostgresQuery(
                unsafeSQL: """
                    UPDATE \(outbox) SET state = 'sent', finished_at = now(), claimed_until = NULL, last_error = NULL
                    WHERE id = $1 AND claimed_by = $2 AND state = 'sending' RETURNING 1
                    """
            )
            query.binds.append(row)
            query.binds.append(claimant)
        case .retry(let after, let error):
            query = PostgresQuery(
                unsafeSQL: """
                    UPDATE \(outbox)
                    SET state = 'pending', next_attempt_at = now() + $3 * interval '1 second', claimed_until = NULL,
                        last_error = $4
                    WHERE id = $1 AND claimed_by = $2 AND state = 'sending' RETURNING 1
                    """
            )
            query.binds.append(row)
            query.binds.append(claimant)
            query.binds.append(Self.seconds(after))
            query.binds.append(error)
        case .dead(let reason):
            query = PostgresQuery(
                unsafeSQL: """
                    UPDATE \(outbox) SET state = 'dead', finished_at = now(), claimed_until = NULL, last_error = $3
                    WHERE id = $1 AND claimed_by = $2 AND state = 'sending' RETURNING 1
                    """
            )
            query.binds.append(row)
            query.binds.append(claimant)
            query.binds.append(reason)
        }
        let bound = query
        do {
            return try await self.store.withConnection { connection, logger in
                try await !connection.query(bound, logger: logger).collect().isEmpty
            }
        } catch {
            throw DeliveryError(
                code: .storage,
                message: "cannot finish a claim in the shared outbox",
                cause: error.message
            )
        }
    }

    package func backlog() async throws(DeliveryError) -> [OutboxBacklogEntry] {
        let outbox = self.store.table("outbox")
        do {
            return try await self.store.withConnection { connection, logger in
                let rows = try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            SELECT receiver, count(*), min(created_at) FROM \(outbox)
                            WHERE state IN ('pending', 'sending') GROUP BY receiver ORDER BY receiver
                            """
                    ),
                    logger: logger
                )
                var entries: [OutboxBacklogEntry] = []
                for try await (receiver, depth, oldest) in rows.decode((String, Int64, Date).self) {
                    entries.append(OutboxBacklogEntry(receiver: receiver, depth: Int(depth), oldest: oldest))
                }
                return entries
            }
        } catch {
            throw DeliveryError(code: .storage, message: "cannot read the shared outbox", cause: error.message)
        }
    }

    /// One row of the outbox, as an operator (or a test) inspects it.
    package struct Row: Sendable, Hashable {
        /// The row's id: the order the notifications were routed in.
        package var id: Int64
        /// The idempotency key: the notification's id.
        package var key: String
        /// The receiver.
        package var receiver: String
        /// The incident that orders it (empty: none).
        package var incident: String
        /// `pending`, `sending`, `sent` or `dead`.
        package var state: String
        /// Tries so far.
        package var attempts: Int
        /// The replica that claimed it last.
        package var claimedBy: String?
        /// The last failure.
        package var lastError: String?
        /// The fencing epoch it was routed under.
        package var producerEpoch: Int64?
    }

    /// Every row, oldest first.
    /// - Throws: ``DeliveryError`` `.storage` when the database cannot be read.
    package func inspect() async throws(DeliveryError) -> [Row] {
        let outbox = self.store.table("outbox")
        do {
            return try await self.store.withConnection { connection, logger in
                let rows = try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            SELECT id, idempotency_key, receiver, incident, state, attempts, claimed_by, last_error,
                                producer_epoch
                            FROM \(outbox) ORDER BY id
                            """
                    ),
                    logger: logger
                )
                var result: [Row] = []
                for try await (id, key, receiver, incident, state, attempts, claimedBy, lastError, epoch)
                    in rows.decode(
                        (Int64, String, String, String, String, Int32, String?, String?, Int64?).self
                    )
                {
                    result.append(
                        Row(
                            id: id,
                            key: key,
                            receiver: receiver,
                            incident: incident,
                            state: state,
                            attempts: Int(attempts),
                            claimedBy: claimedBy,
                            lastError: lastError,
                            producerEpoch: epoch
                        )
                    )
                }
                return result
            }
        } catch {
            throw DeliveryError(code: .storage, message: "cannot read the shared outbox", cause: error.message)
        }
    }

    // MARK: - Shared with the routing step

    /// A notification as a row: idempotency key, receiver, incident, JSON, producer epoch (empty: none).
    typealias InsertRow = (key: String, receiver: String, incident: String, json: String, epoch: String)

    /// The rows of notifications, each with the fencing epoch it was produced under.
    static func rows(_ notifications: [(OutboundNotification, Int64?)]) throws(DeliveryError) -> [InsertRow] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var rows: [InsertRow] = []
        for (notification, epoch) in notifications {
            let data: Data
            do {
                data = try encoder.encode(notification)
            } catch {
                throw DeliveryError(
                    code: .storage,
                    message: "cannot encode notification \(notification.id)",
                    cause: "\(error)"
                )
            }
            rows.append(
                (
                    notification.id, notification.receiver,
                    Self.orderKey(of: notification),
                    String(decoding: data, as: UTF8.self), epoch.map { "\($0)" } ?? ""
                )
            )
        }
        return rows
    }

    /// What orders a notification among the receiver's others (the `incident` column, one key): its first incident
    /// as written before; for one without, the local outbox's first key (``ReceiverQueue/orderKeys(of:)``: the DAG
    /// its first event is about, else its target), so that a DAG's info events (`started`, `stage_advanced`) keep
    /// their order while other DAGs' go in parallel. Rows written before held an empty key for all of those, which
    /// still orders them together.
    package static func orderKey(of notification: OutboundNotification) -> String {
        notification.incidents.first ?? ReceiverQueue.orderKeys(of: notification).first ?? ""
    }

    /// Inserts rows in order (their ids follow it); a key already present is skipped.
    /// - Returns: How many were new.
    static func insert(
        _ rows: [InsertRow],
        into table: String,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Int {
        guard !rows.isEmpty else { return 0 }
        var insert = PostgresQuery(
            unsafeSQL: """
                INSERT INTO \(table) (idempotency_key, receiver, incident, notification, producer_epoch)
                SELECT k, r, i, n::jsonb, nullif(e, '')::bigint
                FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY
                    AS t(k, r, i, n, e, position)
                ORDER BY position
                ON CONFLICT (idempotency_key) DO NOTHING
                RETURNING 1
                """
        )
        insert.binds.append(rows.map(\.key))
        insert.binds.append(rows.map(\.receiver))
        insert.binds.append(rows.map(\.incident))
        insert.binds.append(rows.map(\.json))
        insert.binds.append(rows.map(\.epoch))
        return try await connection.query(insert, logger: logger).collect().count
    }

    /// Counts one send against each of a receiver's limits in the current fixed window; `false` (nothing counted)
    /// when a limit is reached. Windows before the current one are deleted as it goes.
    private static func takeSend(
        _ limits: [RateLimit],
        receiver: String,
        table: String,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Bool {
        var taken: [(key: String, seconds: Double)] = []
        for limit in limits where limit.count > 0 {
            let seconds = Self.seconds(limit.per)
            // One row per receiver, limit and window: the key names the limit's window length.
            let key = "\(receiver)@\(Int64((seconds * 1000).rounded()))ms"
            var take = PostgresQuery(
                unsafeSQL: """
                    INSERT INTO \(table) AS l (receiver, window_start, sent)
                    VALUES ($1, to_timestamp(floor(extract(epoch FROM now()) / $2) * $2), 1)
                    ON CONFLICT (receiver, window_start) DO UPDATE SET sent = l.sent + 1 WHERE l.sent < $3
                    RETURNING sent
                    """
            )
            take.binds.append(key)
            take.binds.append(seconds)
            take.binds.append(Int64(limit.count))
            let granted = try await !connection.query(take, logger: logger).collect().isEmpty
            guard granted else {
                for earlier in taken {
                    var giveBack = PostgresQuery(
                        unsafeSQL: """
                            UPDATE \(table) SET sent = sent - 1
                            WHERE receiver = $1 AND window_start = to_timestamp(floor(extract(epoch FROM now()) / $2) * $2)
                            """
                    )
                    giveBack.binds.append(earlier.key)
                    giveBack.binds.append(earlier.seconds)
                    try await connection.query(giveBack, logger: logger)
                }
                return false
            }
            var prune = PostgresQuery(
                unsafeSQL: """
                    DELETE FROM \(table)
                    WHERE receiver = $1 AND window_start < to_timestamp(floor(extract(epoch FROM now()) / $2) * $2)
                    """
            )
            prune.binds.append(key)
            prune.binds.append(seconds)
            try await connection.query(prune, logger: logger)
            taken.append((key, seconds))
        }
        return true
    }

    /// A duration in seconds, for SQL intervals.
    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
