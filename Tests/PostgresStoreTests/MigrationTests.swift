import ConfigModel
import PeerSupport
import PostgresStore
import Testing

@Suite(
    "the schema: migrations obwatch runs itself",
    .enabled(if: PostgresServer.isAvailable, "\(PostgresServer.unavailableReason)")
)
struct MigrationTests {
    static let tables = [
        "outbox", "rate_limit", "replica", "router_state", "schema_version", "silence", "target_lease", "target_record",
    ]

    @Test("from an empty database: the schema, its version table and every table of version 1")
    func fromEmpty() async throws {
        let fixture = try await StoreFixture.make()
        #expect(try await fixture.store.schemaVersion() == 0)

        let report = try await fixture.store.migrate(appliedBy: "test")

        #expect(report.createdSchema)
        #expect(report.from == 0)
        #expect(report.to == SchemaMigrations.latestVersion)
        #expect(report.applied.map(\.version) == SchemaMigrations.all.map(\.version))
        #expect(report.lines.first == "created schema \(fixture.settings.schema)")
        let tables = try await fixture.sql(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = '\(fixture.settings.schema)' ORDER BY 1"
        )
        #expect(tables == Self.tables)
        let index = try await fixture.sql(
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = '\(fixture.settings.schema)' "
                + "AND indexname = 'outbox_due'"
        )
        #expect(index == ["outbox_due"])
        #expect(try await fixture.store.schemaVersion() == SchemaMigrations.latestVersion)
        try await fixture.store.checkSchema()
        await fixture.store.close()
    }

    @Test("run again: nothing to do, nothing changed")
    func idempotent() async throws {
        let fixture = try await StoreFixture.make()
        _ = try await fixture.store.migrate(appliedBy: "first")
        let again = try await fixture.store.migrate(appliedBy: "second")
        #expect(again.applied.isEmpty)
        #expect(!again.createdSchema)
        #expect(again.from == SchemaMigrations.latestVersion && again.to == SchemaMigrations.latestVersion)
        #expect(again.lines.count == 1 && again.lines[0].contains("nothing to do"))
        let rows = try await fixture.sql(
            "SELECT applied_by FROM \(fixture.settings.schema).schema_version ORDER BY version"
        )
        #expect(
            rows == Array(repeating: "first", count: SchemaMigrations.all.count),
            "one row per version, from the run that applied it"
        )
        await fixture.store.close()
    }

    @Test("a schema a newer obwatch migrated is refused, naming both versions, and left unchanged")
    func newerSchemaRefused() async throws {
        let fixture = try await StoreFixture.make()
        _ = try await fixture.store.migrate(appliedBy: "test")
        let newer = SchemaMigrations.latestVersion + 4
        try await fixture.sql(
            "INSERT INTO \(fixture.settings.schema).schema_version (version, summary, applied_by) "
                + "VALUES (\(newer), 'from the future', 'obwatch 99')"
        )

        let error = try await #require(throws: StoreError.self) {
            try await fixture.store.migrate(appliedBy: "test")
        }
        #expect(error.code == .newerSchema)
        #expect(error.message.contains("version \(newer)"))
        #expect(error.message.contains("version \(SchemaMigrations.latestVersion)"))
        let checked = try await #require(throws: StoreError.self) { try await fixture.store.checkSchema() }
        #expect(checked.code == .newerSchema)
        let versions = try await fixture.sql(
            "SELECT version::text FROM \(fixture.settings.schema).schema_version ORDER BY version"
        )
        #expect(versions == SchemaMigrations.all.map { "\($0.version)" } + ["\(newer)"])
        await fixture.store.close()
    }

    @Test("two replicas migrating at once: one applies, the other waits on the lock and finds it current")
    func twoAtOnce() async throws {
        let fixture = try await StoreFixture.make()
        let other = try fixture.another()
        async let first = fixture.store.migrate(appliedBy: "replica-a")
        async let second = other.migrate(appliedBy: "replica-b")
        let reports = try await [first, second]

        #expect(reports.map(\.applied.count).sorted() == [0, SchemaMigrations.all.count])
        #expect(reports.filter(\.createdSchema).count == 1)
        let rows = try await fixture.sql("SELECT count(*)::text FROM \(fixture.settings.schema).schema_version")
        #expect(rows == ["\(SchemaMigrations.all.count)"])
        await fixture.store.close()
        await other.close()
    }

    @Test("a schema never migrated: a replica that only checks is told to run migrate")
    func unmigratedRefused() async throws {
        let fixture = try await StoreFixture.make()
        let error = try await #require(throws: StoreError.self) { try await fixture.store.checkSchema() }
        #expect(error.message.contains("obwatch migrate"))
        await fixture.store.close()
    }
}
