import History
import ObshellModel
import PeerSupport
import PostgresStore
import Testing

@Suite(
    "the duration history in PostgreSQL",
    .enabled(if: PostgresServer.isAvailable, "\(PostgresServer.unavailableReason)")
)
struct HistoryStoreTests {
    static func sample(_ index: Int) -> DurationSample {
        DurationSample(
            seconds: 60 + Double(index),
            finishedAt: ObshellTime(seconds: 1_790_000_000 + Int64(index) * 3600, nanoseconds: 0),
            source: "dag\(index)/node"
        )
    }

    static let key = DurationKey(
        target: "db1",
        dagTemplate: "Create tenant {tenant}",
        nodeTemplate: "Create tenant",
        width: 1
    )
    static let other = DurationKey(target: "db2", dagTemplate: "Create tenant {tenant}", nodeTemplate: nil, width: 0)

    @Test("a saved history loads back, and two replicas' saves merge instead of overwriting")
    func roundTripAndMerge() async throws {
        let fixture = try await StoreFixture.make()
        _ = try await fixture.store.migrate(appliedBy: "test")
        let first = PostgresHistoryStore(store: fixture.store)
        #expect(try await first.load().isEmpty)
        var mine = DurationHistory()
        for index in 0..<3 { mine.record(Self.sample(index), under: Self.key) }
        try await first.save(mine)
        #expect(try await first.load() == mine)

        let replica = try fixture.another()
        let second = PostgresHistoryStore(store: replica)
        var theirs = DurationHistory()
        theirs.record(Self.sample(10), under: Self.other)
        theirs.record(Self.sample(4), under: Self.key)
        try await second.save(theirs)

        let merged = try await first.load()
        #expect(merged.samples[Self.key]?.map(\.source) == ["dag0/node", "dag1/node", "dag2/node", "dag4/node"])
        #expect(merged.samples[Self.other]?.count == 1)
        await replica.close()
        await fixture.store.close()
    }
}
