import ConfigModel
import Foundation
import ObshellModel
import PeerSupport
import Pipeline
import PostgresStore
import Routing
import Testing
import Tracker

@Suite(
    "the pipeline's storage in PostgreSQL: records, router state, the fence",
    .enabled(if: PostgresServer.isAvailable, "\(PostgresServer.unavailableReason)")
)
struct PipelineStorageTests {
    /// A record with a DAG's worth of state and one batch not yet handed on.
    static func record(_ seconds: Int64 = 0) -> TargetRecord {
        let at = ObshellTime(seconds: 1_704_857_672 + seconds, nanoseconds: 0)
        let step = Tracker.step(
            TrackerState(),
            .failedPoll(reason: "cannot connect: refused", kind: .connect, at: at),
            settings: TrackerSettings(downAfter: 1),
            target: TargetIdentity(name: "prod-east")
        )
        return TargetRecord(tracker: step.state, pending: [EventBatch(events: step.events, at: at)])
    }

    static func migrated() async throws -> StoreFixture {
        let fixture = try await StoreFixture.make()
        _ = try await fixture.store.migrate(appliedBy: "test")
        return fixture
    }

    @Test("a target's record: nothing stored loads empty; a saved one loads equal, as the state folder's JSON")
    func targetRoundTrip() async throws {
        let fixture = try await Self.migrated()
        let storage = PostgresPipelineStorage(store: fixture.store)
        let empty = try await storage.loadTarget("prod-east")
        #expect(empty.value == TargetRecord())
        #expect(empty.warning == nil)

        let record = Self.record()
        try await storage.saveTarget(record, name: "prod-east")
        let loaded = try await storage.loadTarget("prod-east")
        #expect(loaded.value == record)
        #expect(loaded.warning == nil)
        // The same object the local file holds: the tracker's fields with `handoff` beside them.
        let keys = try await fixture.sql(
            "SELECT string_agg(k, ',' ORDER BY k) FROM \(fixture.settings.schema).target_record, "
                + "jsonb_object_keys(record) AS k WHERE target = 'prod-east'"
        )
        let stateKeys = try #require(
            try JSONSerialization.jsonObject(with: JSONEncoder().encode(record.tracker)) as? [String: Any]
        ).keys
        #expect(keys == [(Array(stateKeys) + ["handoff"]).sorted().joined(separator: ",")])
        // Replaced, not added: one row per target.
        try await storage.saveTarget(TargetRecord(tracker: record.tracker), name: "prod-east")
        #expect(try await storage.loadTarget("prod-east").value.pending.isEmpty)
        let rows = try await fixture.sql("SELECT count(*)::text FROM \(fixture.settings.schema).target_record")
        #expect(rows == ["1"])
        await fixture.store.close()
    }

    @Test("the router's memory: nothing stored loads empty; a saved one loads equal")
    func routerRoundTrip() async throws {
        let fixture = try await Self.migrated()
        let storage = PostgresPipelineStorage(store: fixture.store)
        #expect(try await storage.loadRouterState().value == RouterState())
        // Memory with something in it: a sequence past the start.
        let state = try JSONDecoder().decode(
            RouterState.self,
            from: Data(#"{"version": \#(RouterState.currentVersion), "nextSequence": 7}"#.utf8)
        )
        #expect(state != RouterState())
        try await storage.saveRouterState(state)
        #expect(try await storage.loadRouterState().value == state)
        try await storage.saveRouterState(RouterState())
        #expect(try await storage.loadRouterState().value == RouterState())
        await fixture.store.close()
    }

    @Test("a write with an older epoch than the stored record's is refused as fenced and changes nothing")
    func oldEpochRefused() async throws {
        let fixture = try await Self.migrated()
        let newer = LeaseEpochs()
        newer.grant(FencingToken(epoch: 5), target: "prod-east")
        let successor = PostgresPipelineStorage(store: fixture.store, epochs: newer)
        let staleStore = try fixture.another()
        let stale = PostgresPipelineStorage(store: staleStore)  // epoch 0: an instance that was paused
        let written = Self.record(1)
        try await successor.saveTarget(written, name: "prod-east")

        let error = try await #require(throws: StorageError.self) {
            try await stale.saveTarget(Self.record(2), name: "prod-east")
        }
        #expect(error.kind == .fenced)
        #expect(error.reason.contains("epoch above 0"))
        #expect(try await successor.loadTarget("prod-east").value == written)
        let epochs = try await fixture.sql("SELECT epoch::text FROM \(fixture.settings.schema).target_record")
        #expect(epochs == ["5"])
        // The same epoch writes again (the holder's next save); a higher one too.
        try await successor.saveTarget(Self.record(3), name: "prod-east")
        newer.grant(FencingToken(epoch: 6), target: "prod-east")
        try await successor.saveTarget(Self.record(4), name: "prod-east")
        #expect(try await fixture.sql("SELECT epoch::text FROM \(fixture.settings.schema).target_record") == ["6"])
        await fixture.store.close()
        await staleStore.close()
    }

    @Test("with a lease holder in the token, the write also needs that lease valid in target_lease")
    func leaseChecked() async throws {
        let fixture = try await Self.migrated()
        let epochs = LeaseEpochs(fallback: nil)
        let storage = PostgresPipelineStorage(store: fixture.store, epochs: epochs)
        let schema = fixture.settings.schema

        let unleased = try await #require(throws: StorageError.self) {
            try await storage.saveTarget(Self.record(), name: "prod-east")
        }
        #expect(unleased.kind == .fenced, "no token: no write")

        epochs.grant(FencingToken(epoch: 2, holder: "replica-a"), target: "prod-east")
        let noRow = try await #require(throws: StorageError.self) {
            try await storage.saveTarget(Self.record(), name: "prod-east")
        }
        #expect(noRow.kind == .fenced)
        #expect(noRow.reason.contains("replica-a"))

        try await fixture.sql(
            "INSERT INTO \(schema).target_lease (target, holder, epoch, acquired_at, renewed_at, expires_at) "
                + "VALUES ('prod-east', 'replica-a', 2, now(), now(), now() + interval '1 minute')"
        )
        try await storage.saveTarget(Self.record(), name: "prod-east")

        // Taken over: another holder, a higher epoch.
        try await fixture.sql(
            "UPDATE \(schema).target_lease SET holder = 'replica-b', epoch = 3 WHERE target = 'prod-east'"
        )
        let taken = try await #require(throws: StorageError.self) {
            try await storage.saveTarget(Self.record(1), name: "prod-east")
        }
        #expect(taken.kind == .fenced)
        // Expired: the same holder and epoch, past the expiry.
        try await fixture.sql(
            "UPDATE \(schema).target_lease SET holder = 'replica-a', epoch = 2, expires_at = now() - interval '1 second'"
        )
        let expired = try await #require(throws: StorageError.self) {
            try await storage.saveTarget(Self.record(1), name: "prod-east")
        }
        #expect(expired.kind == .fenced)
        #expect(try await storage.loadTarget("prod-east").value == Self.record())
        await fixture.store.close()
    }

    @Test("a stored record a newer obwatch wrote loads empty, with a warning naming the target")
    func newerRecordWarned() async throws {
        let fixture = try await Self.migrated()
        let storage = PostgresPipelineStorage(store: fixture.store)
        try await fixture.sql(
            "INSERT INTO \(fixture.settings.schema).target_record VALUES ('prod-east', 0, "
                + "'{\"version\": \(TrackerState.currentVersion + 1)}', now())"
        )
        let loaded = try await storage.loadTarget("prod-east")
        #expect(loaded.value == TargetRecord())
        #expect(loaded.warning?.message.contains("newer obwatch") == true)
        await fixture.store.close()
    }
}
