import ConfigModel
import Logging
import PostgresNIO

extension PostgresStore {
    /// Brings the schema to the newest version this obwatch knows, creating it (and `schema_version`) when
    /// missing: in one transaction, under a transaction-scoped advisory lock on the schema's name, so that
    /// replicas starting together migrate once and the others wait and then find it current. Running it again
    /// does nothing.
    /// - Parameter appliedBy: Who migrates, kept in `schema_version` (`obwatch 1.4.0 on host-a`).
    /// - Returns: What was done.
    /// - Throws: ``StoreError`` `.newerSchema` when a newer obwatch migrated the schema beyond what this one
    ///   knows (nothing is changed then), or what the server refused.
    package func migrate(appliedBy: String) async throws(StoreError) -> MigrationReport {
        let schema = self.settings.schema
        let quoted = self.quotedSchema
        let versions = self.table("schema_version")
        let migrations = SchemaMigrations.all
        let latest = SchemaMigrations.latestVersion
        return try await self.transaction { connection, logger in
            try await connection.query(
                "SELECT pg_advisory_xact_lock(hashtextextended(\("obwatch.migrate:" + schema), 0))",
                logger: logger
            )
            let exists = try await connection.query(
                "SELECT 1 FROM pg_namespace WHERE nspname = \(schema)",
                logger: logger
            ).collect()
            if exists.isEmpty {
                try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA \(quoted)"), logger: logger)
            }
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        CREATE TABLE IF NOT EXISTS \(versions) (
                            version int PRIMARY KEY,
                            summary text NOT NULL,
                            applied_at timestamptz NOT NULL DEFAULT now(),
                            applied_by text NOT NULL
                        )
                        """
                ),
                logger: logger
            )
            let current = try await Self.version(in: versions, on: connection, logger: logger)
            guard current <= latest else { throw Self.newerSchema(schema, found: current, known: latest) }
            var applied: [Migration] = []
            for migration in migrations where migration.version > current {
                for statement in migration.sql(schema: quoted) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                var insert = PostgresQuery(
                    unsafeSQL: "INSERT INTO \(versions) (version, summary, applied_by) VALUES ($1, $2, $3)"
                )
                insert.binds.append(migration.version)
                insert.binds.append(migration.summary)
                insert.binds.append(appliedBy)
                try await connection.query(insert, logger: logger)
                applied.append(migration)
            }
            return MigrationReport(
                schema: schema,
                createdSchema: exists.isEmpty,
                from: current,
                to: max(current, latest),
                applied: applied
            )
        }
    }

    /// The schema's version: 0 when the schema or its `schema_version` table does not exist yet.
    /// - Throws: ``StoreError`` when the server cannot be asked.
    package func schemaVersion() async throws(StoreError) -> Int {
        let schema = self.settings.schema
        let versions = self.table("schema_version")
        return try await self.withConnection { connection, logger in
            let found = try await connection.query(
                "SELECT 1 FROM pg_tables WHERE schemaname = \(schema) AND tablename = 'schema_version'",
                logger: logger
            ).collect()
            guard !found.isEmpty else { return 0 }
            return try await Self.version(in: versions, on: connection, logger: logger)
        }
    }

    /// Refuses a schema that a newer obwatch migrated: what a replica checks before it reads or writes anything.
    /// - Throws: ``StoreError`` `.newerSchema`, or `.failed` when the schema was never migrated.
    package func checkSchema() async throws(StoreError) {
        let version = try await self.schemaVersion()
        let latest = SchemaMigrations.latestVersion
        if version > latest { throw Self.newerSchema(self.settings.schema, found: version, known: latest) }
        if version < latest {
            throw StoreError(
                code: .failed,
                message: "schema \(self.settings.schema) is at version \(version), this obwatch needs \(latest): "
                    + "run `obwatch migrate --config FILE`"
            )
        }
    }

    private static func version(
        in table: String,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Int {
        let rows = try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT coalesce(max(version), 0)::bigint FROM \(table)"),
            logger: logger
        )
        for try await version in rows.decode(Int64.self) { return Int(version) }
        return 0
    }

    private static func newerSchema(_ schema: String, found: Int, known: Int) -> StoreError {
        StoreError(
            code: .newerSchema,
            message: "schema \(schema) is at version \(found), newer than this obwatch knows (version \(known)): "
                + "a newer obwatch migrated it; run that version (or point store.postgres.schema elsewhere)"
        )
    }
}
