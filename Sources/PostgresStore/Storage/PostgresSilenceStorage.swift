package import ConfigModel
import Foundation
package import ObshellModel
package import Pipeline
import PostgresNIO

/// Run-time silences in PostgreSQL's `silence` table (migration 1), shared by every replica: each reads the table
/// at its routing steps' refresh, so a silence added through one replica's API holds on all of them.
package struct PostgresSilenceStorage: SilenceStorage {
    /// The store.
    package let store: PostgresStore

    /// Makes the storage over a migrated store.
    package init(store: PostgresStore) {
        self.store = store
    }

    package func loadSilences() async throws(StorageError) -> [RuntimeSilence] {
        let table = self.store.table("silence")
        let query = PostgresQuery(
            unsafeSQL: """
                SELECT id, matchers::text, starts_at, ends_at, created_by, comment, created_at, expired_at
                FROM \(table) ORDER BY created_at, id
                """
        )
        do {
            return try await self.store.withConnection { connection, logger in
                var silences: [RuntimeSilence] = []
                let rows = try await connection.query(query, logger: logger)
                for try await (id, matchers, startsAt, endsAt, createdBy, comment, createdAt, expiredAt) in rows.decode(
                    (String, String, Date, Date, String, String, Date, Date?).self
                ) {
                    let decoded = try JSONDecoder().decode(RuntimeSilence.Matchers.self, from: Data(matchers.utf8))
                    silences.append(
                        RuntimeSilence(
                            id: id,
                            matchers: decoded,
                            startsAt: ObshellTime(date: startsAt),
                            endsAt: ObshellTime(date: endsAt),
                            createdBy: createdBy,
                            comment: comment,
                            createdAt: ObshellTime(date: createdAt),
                            expiredAt: expiredAt.map { ObshellTime(date: $0) }
                        )
                    )
                }
                return silences
            }
        } catch {
            throw StorageError(reason: "cannot read the silences: \(error.message)", kind: Self.kind(error))
        }
    }

    package func saveSilence(_ silence: RuntimeSilence) async throws(StorageError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let matchers: String
        do {
            matchers = String(decoding: try encoder.encode(silence.matchers), as: UTF8.self)
        } catch {
            throw StorageError(reason: "cannot encode the silence's matchers: \(error)")
        }
        var upsert = PostgresQuery(
            unsafeSQL: """
                INSERT INTO \(self.store.table("silence"))
                    (id, matchers, starts_at, ends_at, created_by, comment, created_at, expired_at)
                VALUES ($1, $2::jsonb, $3, $4, $5, $6, $7, $8)
                ON CONFLICT (id) DO UPDATE SET expired_at = EXCLUDED.expired_at
                """
        )
        upsert.binds.append(silence.id)
        upsert.binds.append(matchers)
        upsert.binds.append(silence.startsAt.date)
        upsert.binds.append(silence.endsAt.date)
        upsert.binds.append(silence.createdBy)
        upsert.binds.append(silence.comment)
        upsert.binds.append(silence.createdAt.date)
        upsert.binds.append(silence.expiredAt?.date)
        let query = upsert
        do {
            try await self.store.withConnection { connection, logger in
                try await connection.query(query, logger: logger)
            }
        } catch {
            throw StorageError(reason: "cannot save the silence: \(error.message)", kind: Self.kind(error))
        }
    }

    package func pruneSilences(endedBefore instant: ObshellTime) async throws(StorageError) {
        var delete = PostgresQuery(
            unsafeSQL:
                "DELETE FROM \(self.store.table("silence")) WHERE LEAST(ends_at, COALESCE(expired_at, ends_at)) < $1"
        )
        delete.binds.append(instant.date)
        let query = delete
        do {
            try await self.store.withConnection { connection, logger in
                try await connection.query(query, logger: logger)
            }
        } catch {
            throw StorageError(reason: "cannot prune the silences: \(error.message)", kind: Self.kind(error))
        }
    }

    private static func kind(_ error: StoreError) -> StorageError.Kind {
        switch error.code {
        case .unreachable, .loginRefused: .unreachable
        case .fenced: .fenced
        case .newerSchema, .failed: .failed
        }
    }
}
