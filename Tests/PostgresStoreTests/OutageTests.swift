import ConfigModel
import Foundation
import Logging
import ObwatchTestKit
import PeerSupport
import Pipeline
import PostgresNIO
import PostgresStore
import Support
import Testing
import Tracker

@Suite(
    "the store down: errors in words, never the password, and recovery without a restart",
    .enabled(if: PostgresServer.isAvailable, "\(PostgresServer.unavailableReason)")
)
struct OutageTests {
    @Test("a stopped server: saves and loads throw `unreachable` naming HOST:PORT, the probe says why; back, all work")
    func serverStopped() async throws {
        let server = try await PostgresServer.start(label: "postgres-outage")
        let fixture = try await StoreFixture.make(server: server)
        _ = try await fixture.store.migrate(appliedBy: "test")
        let storage = PostgresPipelineStorage(store: fixture.store)
        let record = PipelineStorageTests.record()
        try await storage.saveTarget(record, name: "prod-east")
        #expect(await fixture.store.problem() == nil)

        await server.stop()
        let refused = "cannot reach PostgreSQL at 127.0.0.1:\(server.port): connection refused"
        // The first operation may find its idle connection closed by the server's shutdown; either way it fails
        // as unreachable, and the next ones connect afresh and are refused.
        let save = try await #require(throws: StorageError.self) {
            try await storage.saveTarget(record, name: "prod-east")
        }
        #expect(save.kind == .unreachable)
        #expect(save.reason.hasPrefix("cannot reach PostgreSQL at 127.0.0.1:\(server.port)"))
        let load = try await #require(throws: StorageError.self) { try await storage.loadTarget("prod-east") }
        #expect(load.kind == .unreachable)
        #expect(load.reason == "cannot read the record of target prod-east: \(refused)")
        let router = try await #require(throws: StorageError.self) { try await storage.loadRouterState() }
        #expect(router.kind == .unreachable)
        #expect(await fixture.store.problem() == refused)
        for message in [save.reason, load.reason, router.reason] {
            #expect(!message.contains(server.password))
        }

        try await server.restart()
        try await storage.saveTarget(TargetRecord(tracker: record.tracker), name: "prod-east")
        #expect(try await storage.loadTarget("prod-east").value == TargetRecord(tracker: record.tracker))
        #expect(await fixture.store.problem() == nil)
        await fixture.store.close()
        await server.remove()
    }

    @Test("a wrong password: refused login in the server's words, without either password")
    func wrongPassword() async throws {
        let server = try await PostgresServer.shared()
        var settings = StoreFixture.settings(server, schema: PostgresServer.uniqueSchema())
        settings.password = Secret("wrong-pass-1234")
        let store = try PostgresStore(settings: settings, clock: SystemClock(), logger: .init(label: "test"))
        let error = try await #require(throws: StoreError.self) { try await store.migrate(appliedBy: "test") }
        #expect(error.code == .loginRefused)
        #expect(error.message.contains("password authentication failed"))
        #expect(error.message.contains("127.0.0.1:\(server.port)"))
        #expect(!error.message.contains("wrong-pass-1234") && !error.message.contains(server.password))
        await store.close()
    }

    @Test("a write that gets no answer within the deadline (a lock held elsewhere) fails instead of hanging")
    func noAnswerInTime() async throws {
        // Migrated with the default deadline: only the save under test has a short one (a loaded machine may take
        // longer than 2 s to migrate).
        let fixture = try await StoreFixture.make()
        _ = try await fixture.store.migrate(appliedBy: "test")
        let hurried = try PostgresStore(
            settings: fixture.settings,
            clock: SystemClock(),
            logger: Logger(label: "test.postgres"),
            deadline: .seconds(2)
        )
        let storage = PostgresPipelineStorage(store: hurried)
        // Another session holds the table: the save waits on the lock, as on a server that does not answer.
        let logger = Logger(label: "test.lock")
        let holder = try await PostgresConnection.connect(
            configuration: PostgresConnection.Configuration(
                host: fixture.server.host,
                port: fixture.server.port,
                username: fixture.server.user,
                password: fixture.server.password,
                database: fixture.server.database,
                tls: .disable
            ),
            id: 1,
            logger: logger
        )
        try await holder.query("BEGIN", logger: logger)
        try await holder.query(
            PostgresQuery(unsafeSQL: "LOCK TABLE \(fixture.settings.schema).target_record IN ACCESS EXCLUSIVE MODE"),
            logger: logger
        )
        let error = try await #require(throws: StorageError.self) {
            try await storage.saveTarget(PipelineStorageTests.record(), name: "prod-east")
        }
        #expect(error.kind == .unreachable)
        #expect(error.reason.contains("no answer within 2"))
        try await holder.query("ROLLBACK", logger: logger)
        try await holder.close()
        // The connection that timed out was dropped; a later save makes a new one (tried again while a loaded
        // machine answers later than the short deadline).
        _ = try await probeUntil("a save after the lock is gone") { () async -> Bool? in
            (try? await storage.saveTarget(PipelineStorageTests.record(), name: "prod-east")) != nil ? true : nil
        }
        #expect(try await storage.loadTarget("prod-east").value == PipelineStorageTests.record())
        await hurried.close()
        await fixture.store.close()
    }
}
