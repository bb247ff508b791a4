import ConfigModel
import Foundation
import ObshellModel
import PeerSupport
import Pipeline
import PostgresStore
import Testing
import Tracker

@Suite(
    "run-time silences in PostgreSQL's silence table",
    .enabled(if: PostgresServer.isAvailable, "\(PostgresServer.unavailableReason)")
)
struct SilenceStorageTests {
    @Test("saved, listed in creation order, expired by an update, pruned after their end")
    func roundTrip() async throws {
        let fixture = try await PipelineStorageTests.migrated()
        let storage = PostgresSilenceStorage(store: fixture.store)
        #expect(try await storage.loadSilences().isEmpty)
        let start = ObshellTime(seconds: 1_800_000_000, nanoseconds: 0)
        let first = RuntimeSilence(
            id: "s1",
            matchers: RuntimeSilence.Matchers(target: "prod-*", labels: ["env": "prod"], dag: "Cluster *"),
            startsAt: start,
            endsAt: start.adding(.seconds(3600)),
            createdBy: "me",
            comment: "upgrade",
            createdAt: start
        )
        var second = first
        second.id = "s2"
        second.matchers = RuntimeSilence.Matchers(events: [.stalled])
        second.createdAt = start.adding(.seconds(1))
        second.endsAt = start.adding(.seconds(60))
        try await storage.saveSilence(second)
        try await storage.saveSilence(first)
        let loaded = try await storage.loadSilences()
        #expect(loaded.map(\.id) == ["s1", "s2"])
        #expect(loaded.first?.matchers == first.matchers)
        #expect(loaded.first?.endsAt == first.endsAt)

        var expired = first
        expired.expiredAt = start.adding(.seconds(30))
        try await storage.saveSilence(expired)
        let after = try await storage.loadSilences()
        #expect(after.first?.expiredAt == expired.expiredAt)
        #expect(after.first?.state(at: start.adding(.seconds(31))) == .expired)
        let rows = try await fixture.sql("SELECT count(*)::text FROM \(fixture.settings.schema).silence")
        #expect(rows == ["2"])

        // s1 ended at +30 s (expired), s2 at +60 s: pruning before +45 s forgets only s1.
        try await storage.pruneSilences(endedBefore: start.adding(.seconds(45)))
        #expect(try await storage.loadSilences().map(\.id) == ["s2"])
    }
}
