import Foundation
package import History
import PostgresNIO

/// The duration history in the `history` table, shared by replicas: one row per ``DurationKey`` holding its samples
/// as the JSON the state folder's `history.json` holds.
///
/// Replicas watch different targets, so a save merges instead of overwriting: in one transaction it locks the rows,
/// adds this replica's samples to what is there (deduplicated by source, trimmed to the last 20 within 180 days) and
/// writes back the keys that changed. A whole-DAG key is stored with an empty `node_template`.
package struct PostgresHistoryStore: HistoryStore {
    /// The store.
    package let store: PostgresStore

    /// Makes the history store of a (migrated) schema.
    package init(store: PostgresStore) {
        self.store = store
    }

    /// Every row, as one history; rows made with another template table are skipped.
    package func load() async throws(HistoryStoreError) -> DurationHistory {
        let table = self.store.table("history")
        do {
            return try await self.store.withConnection { connection, logger in
                try await Self.read(table: table, lock: false, connection: connection, logger: logger)
            }
        } catch {
            throw HistoryStoreError("cannot read the duration history: \(error.message)")
        }
    }

    /// Merges `history` into the table.
    package func save(_ history: DurationHistory) async throws(HistoryStoreError) {
        let table = self.store.table("history")
        do {
            try await self.store.transaction { connection, logger in
                var stored = try await Self.read(table: table, lock: true, connection: connection, logger: logger)
                let before = stored
                stored.merge(history)
                for key in stored.keys where stored.samples[key] != before.samples[key] {
                    let samples = String(
                        decoding: try JSONEncoder().encode(stored.samples[key] ?? []),
                        as: UTF8.self
                    )
                    var upsert = PostgresQuery(
                        unsafeSQL: """
                            INSERT INTO \(table) (target, dag_template, node_template, width, templates_version, samples,
                                updated_at)
                            VALUES ($1, $2, $3, $4, $5, $6::jsonb, now())
                            ON CONFLICT (target, dag_template, node_template, width) DO UPDATE
                            SET templates_version = EXCLUDED.templates_version, samples = EXCLUDED.samples,
                                updated_at = EXCLUDED.updated_at
                            """
                    )
                    upsert.binds.append(key.target)
                    upsert.binds.append(key.dagTemplate)
                    upsert.binds.append(key.nodeTemplate ?? "")
                    upsert.binds.append(key.width)
                    upsert.binds.append(NameTemplates.version)
                    upsert.binds.append(samples)
                    try await connection.query(upsert, logger: logger)
                }
            }
        } catch {
            throw HistoryStoreError("cannot save the duration history: \(error.message)")
        }
    }

    private static func read(
        table: String,
        lock: Bool,
        connection: PostgresConnection,
        logger: Logger
    ) async throws -> DurationHistory {
        var query = PostgresQuery(
            unsafeSQL: """
                SELECT target, dag_template, node_template, width, samples::text FROM \(table)
                WHERE templates_version = $1\(lock ? " FOR UPDATE" : "")
                """
        )
        query.binds.append(NameTemplates.version)
        var history = DurationHistory()
        let rows = try await connection.query(query, logger: logger)
        for try await (target, dag, node, width, samples) in rows.decode((String, String, String, Int, String).self) {
            let key = DurationKey(
                target: target,
                dagTemplate: dag,
                nodeTemplate: node.isEmpty ? nil : node,
                width: width
            )
            let decoded = (try? JSONDecoder().decode([DurationSample].self, from: Data(samples.utf8))) ?? []
            for sample in decoded { history.record(sample, under: key) }
        }
        return history
    }
}
