/// One step of obwatch's schema: the statements that take it from the version before to ``version``.
///
/// Migrations are only ever added at the end; a released one never changes (a database migrated by it would
/// differ from one migrated by the changed text).
package struct Migration: Sendable, Hashable {
    /// The version the schema is at after this step; the first is 1.
    package var version: Int
    /// What the step does, kept in `schema_version` and printed by `obwatch migrate`.
    package var summary: String
    /// The statements, run in order in the migration's transaction; `{schema}` stands for the quoted schema name.
    package var statements: [String]

    /// Makes a migration.
    package init(version: Int, summary: String, statements: [String]) {
        self.version = version
        self.summary = summary
        self.statements = statements
    }

    /// The statements with the schema filled in.
    func sql(schema quoted: String) -> [String] {
        self.statements.map { $0.replacing("{schema}", with: quoted) }
    }
}

/// Every migration obwatch knows, oldest first.
package enum SchemaMigrations {
    /// The migrations, by version.
    package static let all: [Migration] = [first, history, outboxOrder]

    /// The newest version this obwatch knows.
    package static var latestVersion: Int { Self.all.last?.version ?? 0 }

    /// Version 1: every table of obwatch's state, its coordination and its outbox, defined whole so that later
    /// versions of obwatch fill in what they do with them without changing their shape.
    static let first = Migration(
        version: 1,
        summary: "replicas, target leases and records, router state, outbox, rate limits, silences",
        statements: [
            // The replicas that share the work: each heartbeats here (membership for the fair share of targets).
            """
            CREATE TABLE {schema}.replica (
                replica_id text PRIMARY KEY,
                host text,
                started_at timestamptz,
                heartbeat_at timestamptz,
                version text
            )
            """,
            // One lease per target; `epoch` is the fencing token, raised by the database at every acquisition.
            """
            CREATE TABLE {schema}.target_lease (
                target text PRIMARY KEY,
                holder text,
                epoch bigint NOT NULL DEFAULT 0,
                acquired_at timestamptz,
                renewed_at timestamptz,
                expires_at timestamptz NOT NULL DEFAULT 'epoch'
            )
            """,
            // Each target's record (tracker state and batches not yet handed on), written with the writer's epoch.
            """
            CREATE TABLE {schema}.target_record (
                target text PRIMARY KEY,
                epoch bigint NOT NULL,
                record jsonb NOT NULL,
                updated_at timestamptz NOT NULL
            )
            """,
            // The router's memory: one row.
            """
            CREATE TABLE {schema}.router_state (
                id int PRIMARY KEY CHECK (id = 1),
                state jsonb NOT NULL,
                updated_at timestamptz NOT NULL
            )
            """,
            // The shared outbox: one row per notification, known by its idempotency key.
            """
            CREATE TABLE {schema}.outbox (
                id bigserial PRIMARY KEY,
                idempotency_key text NOT NULL UNIQUE,
                receiver text NOT NULL,
                incident text NOT NULL,
                notification jsonb NOT NULL,
                state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'sent', 'dead')),
                attempts int NOT NULL DEFAULT 0,
                next_attempt_at timestamptz NOT NULL DEFAULT now(),
                claimed_by text,
                claimed_until timestamptz,
                producer_epoch bigint,
                created_at timestamptz NOT NULL DEFAULT now(),
                finished_at timestamptz,
                last_error text
            )
            """,
            // What a sender claims next: due rows that are waiting, or claimed by a sender whose claim expired.
            """
            CREATE INDEX outbox_due ON {schema}.outbox (next_attempt_at) WHERE state IN ('pending', 'sending')
            """,
            // Notifications sent per receiver and window, so that rate limits hold across replicas.
            """
            CREATE TABLE {schema}.rate_limit (
                receiver text NOT NULL,
                window_start timestamptz NOT NULL,
                sent int NOT NULL DEFAULT 0,
                PRIMARY KEY (receiver, window_start)
            )
            """,
            // Silences made at run time (the API), shared by every replica.
            """
            CREATE TABLE {schema}.silence (
                id text PRIMARY KEY,
                matchers jsonb NOT NULL,
                starts_at timestamptz NOT NULL,
                ends_at timestamptz NOT NULL,
                created_by text NOT NULL,
                comment text NOT NULL,
                created_at timestamptz NOT NULL,
                expired_at timestamptz
            )
            """,
        ]
    )
}

extension SchemaMigrations {
    /// The shared outbox's claim asks, for each due row, whether an older row of its (receiver, incident) is still
    /// unfinished (an incident's notifications go out in order): this index answers that without a scan.
    static let outboxOrder = Migration(
        version: 3,
        summary: "outbox: index of unfinished rows by receiver and incident",
        statements: [
            """
            CREATE INDEX outbox_incident_order ON {schema}.outbox (receiver, incident, id)
            WHERE state IN ('pending', 'sending')
            """
        ]
    )
}

/// What a migration run did.
package struct MigrationReport: Sendable, Hashable {
    /// The schema.
    package var schema: String
    /// Whether the schema itself had to be created.
    package var createdSchema: Bool
    /// The version before.
    package var from: Int
    /// The version after (the newest this obwatch knows).
    package var to: Int
    /// The migrations applied, in order; empty when the schema was already current.
    package var applied: [Migration]

    /// What `obwatch migrate` prints: one line per migration applied, or that the schema was current.
    package var lines: [String] {
        guard !self.applied.isEmpty else {
            return ["schema \(self.schema) is at version \(self.to), the newest this obwatch knows; nothing to do"]
        }
        var lines: [String] = []
        if self.createdSchema { lines.append("created schema \(self.schema)") }
        for migration in self.applied {
            lines.append("applied migration \(migration.version): \(migration.summary)")
        }
        lines.append("schema \(self.schema) migrated from version \(self.from) to \(self.to)")
        return lines
    }
}

extension SchemaMigrations {
    /// The duration history (issue 19): one row per key (target, DAG template, node template, parallel width) holding
    /// that key's last samples as JSON, written by ``PostgresHistoryStore`` with the state folder's format.
    static let history = Migration(
        version: 2,
        summary: "duration history for ETAs and slow nodes",
        statements: [
            """
            CREATE TABLE {schema}.history (
                target text NOT NULL,
                dag_template text NOT NULL,
                node_template text NOT NULL,
                width integer NOT NULL,
                templates_version integer NOT NULL,
                samples jsonb NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (target, dag_template, node_template, width)
            )
            """
        ]
    )
}
