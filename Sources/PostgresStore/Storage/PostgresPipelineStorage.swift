import Foundation
import Logging
package import Pipeline
import PostgresNIO
package import Routing
import Tracker

/// The pipeline's storage in PostgreSQL: each target's ``TargetRecord`` as a row of `target_record`, the router's
/// memory as the one row of `router_state`, both as the JSON the state folder's files hold.
///
/// Each save is one transaction. A target's record is fenced: it carries the ``FencingToken`` that ``LeaseEpochs``
/// gives for the target, and is written only over a record of the same epoch or an older one (and, with a lease
/// holder in the token, only while `target_lease` still names this holder and epoch and has not expired). A save
/// the fence refuses throws ``StorageError`` of kind ``StorageError/Kind/fenced``.
package struct PostgresPipelineStorage: PipelineStorage {
    /// The store.
    package let store: PostgresStore
    /// Each target's fencing token.
    package let epochs: LeaseEpochs

    /// Makes the storage.
    /// - Parameters:
    ///   - store: The schema's store (migrated).
    ///   - epochs: Each target's fencing token; ``FencingToken/unleased`` for every target by default.
    package init(store: PostgresStore, epochs: LeaseEpochs = LeaseEpochs()) {
        self.store = store
        self.epochs = epochs
    }

    package func loadTarget(_ name: String) async throws(StorageError) -> StorageLoad<TargetRecord> {
        let table = self.store.table("target_record")
        let text = try await self.readJSON(
            PostgresQuery(unsafeSQL: "SELECT record::text FROM \(table) WHERE target = $1"),
            binding: name,
            what: "the record of target \(name)"
        )
        guard let text else { return StorageLoad(value: TargetRecord()) }
        let data = Data(text.utf8)
        if let probe = try? JSONDecoder().decode(VersionProbe.self, from: data),
            probe.version > TrackerState.currentVersion
        {
            return StorageLoad(
                value: TargetRecord(),
                warning: (
                    "the stored state of \(name) was written by a newer obwatch (state version \(probe.version)); "
                        + "starting afresh",
                    ["target": "\(name)", "table": "\(table)"]
                )
            )
        }
        do {
            return StorageLoad(value: try JSONDecoder().decode(TargetRecord.self, from: data))
        } catch {
            return StorageLoad(
                value: TargetRecord(),
                warning: (
                    "the stored state of \(name) is not a readable state; starting afresh",
                    ["target": "\(name)", "table": "\(table)", "error": "\(error)"]
                )
            )
        }
    }

    package func saveTarget(_ record: TargetRecord, name: String) async throws(StorageError) {
        // Suspended: not refused for good, held back until the lease is confirmed again.
        if let reason = self.epochs.suspension(of: name) { throw StorageError(reason: reason, kind: .unreachable) }
        guard let token = self.epochs.token(for: name) else {
            throw StorageError(
                reason: "the state of target \(name) was not written: this instance holds no lease on it",
                kind: .fenced
            )
        }
        let json = try Self.encode(record, what: "the state of target \(name)")
        let records = self.store.table("target_record")
        let leases = self.store.table("target_lease")
        do {
            try await self.store.transaction { connection, logger in
                guard try await token.holdsLease(on: name, leases: leases, connection: connection, logger: logger)
                else {
                    throw StoreError(
                        code: .fenced,
                        message: "the state of target \(name) was not written: the lease of \(token.holder ?? "") at "
                            + "epoch \(token.epoch) is no longer valid"
                    )
                }
                var upsert = PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO \(records) AS r (target, epoch, record, updated_at)
                        VALUES ($1, $2, $3::jsonb, now())
                        ON CONFLICT (target) DO UPDATE
                        SET epoch = EXCLUDED.epoch, record = EXCLUDED.record, updated_at = EXCLUDED.updated_at
                        WHERE r.epoch <= EXCLUDED.epoch
                        RETURNING 1
                        """
                )
                upsert.binds.append(name)
                upsert.binds.append(token.epoch)
                upsert.binds.append(json)
                guard try await !connection.query(upsert, logger: logger).collect().isEmpty else {
                    throw StoreError(
                        code: .fenced,
                        message: "the state of target \(name) was not written: a newer holder wrote it with an "
                            + "epoch above \(token.epoch)"
                    )
                }
            }
        } catch {
            throw Self.storageError(error)
        }
        self.epochs.saved(target: name, epoch: token.epoch)
    }

    package func loadRouterState() async throws(StorageError) -> StorageLoad<RouterState> {
        let table = self.store.table("router_state")
        let text = try await self.readJSON(
            PostgresQuery(unsafeSQL: "SELECT state::text FROM \(table) WHERE id = $1"),
            binding: 1,
            what: "the routing state"
        )
        guard let text else { return StorageLoad(value: RouterState()) }
        do {
            return StorageLoad(value: try JSONDecoder().decode(RouterState.self, from: Data(text.utf8)))
        } catch {
            return StorageLoad(
                value: RouterState(),
                warning: (
                    "the routing state is unreadable; starting afresh",
                    ["table": "\(table)", "error": "\(error)"]
                )
            )
        }
    }

    package func saveRouterState(_ state: RouterState) async throws(StorageError) {
        let json = try Self.encode(state, what: "the routing state")
        let table = self.store.table("router_state")
        do {
            try await self.store.transaction { connection, logger in
                var upsert = PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO \(table) (id, state, updated_at) VALUES (1, $1::jsonb, now())
                        ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at
                        """
                )
                upsert.binds.append(json)
                try await connection.query(upsert, logger: logger)
            }
        } catch {
            throw Self.storageError(error)
        }
    }

    // MARK: - Helpers

    /// The one text column of the one row `query` selects with `value` bound as `$1`; `nil` when there is no row.
    private func readJSON(
        _ query: PostgresQuery,
        binding value: some PostgresNonThrowingEncodable,
        what: String
    ) async throws(StorageError) -> String? {
        var query = query
        query.binds.append(value)
        let bound = query
        do {
            return try await self.store.withConnection { connection, logger in
                let rows = try await connection.query(bound, logger: logger)
                for try await text in rows.decode(String.self) { return text }
                return nil
            }
        } catch {
            throw StorageError(reason: "cannot read \(what): \(error.message)", kind: Self.kind(error))
        }
    }

    /// The JSON the state folder's files hold: sorted keys, slashes unescaped.
    private static func encode(_ value: some Encodable, what: String) throws(StorageError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            throw StorageError(reason: "cannot encode \(what): \(error)")
        }
    }

    private static func storageError(_ error: StoreError) -> StorageError {
        StorageError(reason: error.message, kind: Self.kind(error))
    }

    private static func kind(_ error: StoreError) -> StorageError.Kind {
        switch error.code {
        case .unreachable, .loginRefused: .unreachable
        case .fenced: .fenced
        case .newerSchema, .failed: .failed
        }
    }
}

/// Just the `version` field of a stored state.
private struct VersionProbe: Decodable {
    var version: Int
}
