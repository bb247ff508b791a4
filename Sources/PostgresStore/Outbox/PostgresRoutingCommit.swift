import ConfigModel
package import Delivery
import Foundation
import Logging
package import Pipeline
import PostgresNIO
package import Routing
import Tracker

/// The routing step in PostgreSQL, one transaction for all its writes.
///
/// 1. `SELECT … FROM router_state WHERE id = 1 FOR UPDATE`: replicas route one at a time, each against the state
///    the last one committed (never a stale copy of its own).
/// 2. Each batch's fence: the target's ``FencingToken`` from ``LeaseEpochs``; with a holder, its lease row must
///    still have this holder and epoch and not have expired (`FOR SHARE`), and no newer holder may have written the
///    target's record. A target without a token, or a refused fence, leaves the batch out of the step: its
///    submission fails with ``DeliveryError/Code/fenced`` and `onFenced` is told.
/// 3. The admitted work is routed; its notifications are inserted into `outbox` with their idempotency key (the
///    notification id, `ON CONFLICT DO NOTHING`: a batch handed on again adds nothing) and the epoch they were
///    produced under; the new router state replaces the row.
///
/// Ticks carry no fence: the row lock alone makes a reminder or a group flush happen once across replicas.
package struct PostgresRoutingCommit: RoutingCommit {
    /// The store.
    package let store: PostgresStore
    /// Each target's fencing token.
    package let epochs: LeaseEpochs
    private let onFenced: @Sendable (_ target: String, _ error: DeliveryError) -> Void
    private let onEnqueued: @Sendable (_ count: Int) -> Void

    /// Makes the commit.
    /// - Parameters:
    ///   - store: The schema's store (migrated).
    ///   - epochs: Each target's fencing token (the lease coordinator's; ``FencingToken/unleased`` for every target
    ///     by default).
    ///   - onFenced: Told, after the step, of every batch its fence refused (the fenced-write counter).
    ///   - onEnqueued: Told, after the step committed, how many new rows it put on the outbox (wakes the local
    ///     dispatcher at once).
    package init(
        store: PostgresStore,
        epochs: LeaseEpochs = LeaseEpochs(),
        onFenced: @escaping @Sendable (_ target: String, _ error: DeliveryError) -> Void = { _, _ in },
        onEnqueued: @escaping @Sendable (_ count: Int) -> Void = { _ in }
    ) {
        self.store = store
        self.epochs = epochs
        self.onFenced = onFenced
        self.onEnqueued = onEnqueued
    }

    package func loadRouterState() async throws(StorageError) -> StorageLoad<RouterState> {
        try await PostgresPipelineStorage(store: self.store, epochs: self.epochs).loadRouterState()
    }

    /// What the transaction gives back.
    private struct Committed: Sendable {
        var routed: RoutedGroup
        var fenced: [Int: (target: String, error: DeliveryError)]
        var saved: Bool
        var enqueued: Int
    }

    package func commit(
        _ inputs: [RoutingInput],
        memory: RouterState,
        route: @escaping @Sendable ([RoutingInput], RouterState) -> RoutedGroup
    ) async throws(DeliveryError) -> RoutingCommitOutcome {
        let states = self.store.table("router_state")
        let leases = self.store.table("target_lease")
        let records = self.store.table("target_record")
        let outbox = self.store.table("outbox")
        let epochs = self.epochs
        let empty = try Self.encode(RouterState())
        let committed: Committed
        do {
            committed = try await self.store.transaction { connection, logger in
                let current = try await Self.lockState(states, empty: empty, on: connection, logger: logger)
                var admitted: [RoutingInput] = []
                var fenced: [Int: (target: String, error: DeliveryError)] = [:]
                var verdicts: [String: DeliveryError?] = [:]
                var admittedEpochs: [String: Int64] = [:]
                for (index, input) in inputs.enumerated() {
                    guard let target = input.fencedTarget else {
                        admitted.append(input)
                        continue
                    }
                    let verdict: DeliveryError?
                    if let known = verdicts[target] {
                        verdict = known
                    } else {
                        verdict = try await Self.fence(
                            target,
                            token: epochs.token(for: target),
                            leases: leases,
                            records: records,
                            on: connection,
                            logger: logger
                        )
                        verdicts[target] = verdict
                    }
                    if let verdict {
                        fenced[index] = (target, verdict)
                    } else {
                        admitted.append(input)
                        admittedEpochs[target] = epochs.token(for: target)?.epoch
                    }
                }
                let routed = route(admitted, current)
                let rows = try PostgresOutbox.rows(
                    routed.notifications.map { notification in
                        (notification, notification.events.first.flatMap { admittedEpochs[$0.target.name] })
                    }
                )
                let enqueued = try await PostgresOutbox.insert(rows, into: outbox, on: connection, logger: logger)
                let changed = routed.state != current
                if changed {
                    var update = PostgresQuery(
                        unsafeSQL: "UPDATE \(states) SET state = $1::jsonb, updated_at = now() WHERE id = 1"
                    )
                    update.binds.append(try Self.encode(routed.state))
                    try await connection.query(update, logger: logger)
                }
                return Committed(routed: routed, fenced: fenced, saved: changed, enqueued: enqueued)
            }
        } catch {
            throw DeliveryError(
                code: error.code == .fenced ? .fenced : .storage,
                message: "the routing step was not committed to PostgreSQL",
                cause: error.message
            )
        }
        for (_, refusal) in committed.fenced.sorted(by: { $0.key < $1.key }) {
            self.onFenced(refusal.target, refusal.error)
        }
        if committed.enqueued > 0 { self.onEnqueued(committed.enqueued) }
        return RoutingCommitOutcome(
            routed: committed.routed,
            fenced: committed.fenced.mapValues(\.error),
            saved: committed.saved
        )
    }

    /// The router state, its row locked until the transaction ends (made first, empty, when there is none).
    private static func lockState(
        _ table: String,
        empty: String,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> RouterState {
        let select = PostgresQuery(unsafeSQL: "SELECT state::text FROM \(table) WHERE id = 1 FOR UPDATE")
        var text: String?
        for try await value in try await connection.query(select, logger: logger).decode(String.self) { text = value }
        if text == nil {
            var insert = PostgresQuery(
                unsafeSQL: """
                    INSERT INTO \(table) (id, state, updated_at) VALUES (1, $1::jsonb, now())
                    ON CONFLICT (id) DO NOTHING
                    """
            )
            insert.binds.append(empty)
            try await connection.query(insert, logger: logger)
            for try await value in try await connection.query(select, logger: logger).decode(String.self) {
                text = value
            }
        }
        guard let text else { return RouterState() }
        do {
            return try JSONDecoder().decode(RouterState.self, from: Data(text.utf8))
        } catch {
            // What loading does too: an unreadable state starts afresh (and is overwritten by this step).
            logger.warning("the routing state is unreadable; starting afresh", metadata: ["error": "\(error)"])
            return RouterState()
        }
    }

    /// Why the target's work may not be written under `token`, or `nil` when it may.
    private static func fence(
        _ target: String,
        token: FencingToken?,
        leases: String,
        records: String,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> DeliveryError? {
        guard let token else {
            return DeliveryError(
                code: .fenced,
                message: "the events of target \(target) were not routed: this instance holds no lease on it"
            )
        }
        if try await !token.holdsLease(on: target, leases: leases, connection: connection, logger: logger) {
            return DeliveryError(
                code: .fenced,
                message: "the events of target \(target) were not routed: the lease of \(token.holder ?? "") at "
                    + "epoch \(token.epoch) is no longer valid"
            )
        }
        var newer = PostgresQuery(unsafeSQL: "SELECT 1 FROM \(records) WHERE target = $1 AND epoch > $2")
        newer.binds.append(target)
        newer.binds.append(token.epoch)
        if try await !connection.query(newer, logger: logger).collect().isEmpty {
            return DeliveryError(
                code: .fenced,
                message: "the events of target \(target) were not routed: a newer holder wrote it with an epoch "
                    + "above \(token.epoch)"
            )
        }
        return nil
    }

    private static func encode(_ state: RouterState) throws(DeliveryError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(state), as: UTF8.self)
        } catch {
            throw DeliveryError(code: .storage, message: "cannot encode the routing state", cause: "\(error)")
        }
    }
}
