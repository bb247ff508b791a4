import Foundation
import History
import ObshellModel
import ObwatchTestKit
import Synchronization
import Testing

@Suite("Pools kept between changes")
struct PoolCacheTests {
    static let names = ["Create tenant", "Modify tenant whitelist", "Set root password"]

    /// Every key of `history`, plus keys of targets it never saw (pools across targets only).
    static func keys(of history: DurationHistory) -> [DurationKey] {
        history.keys
            + history.keys.map {
                DurationKey(target: "new", dagTemplate: $0.dagTemplate, nodeTemplate: $0.nodeTemplate, width: $0.width)
            }
    }

    /// The pools of a copy that never computed any (a JSON round trip starts from samples alone).
    static func fresh(_ history: DurationHistory) throws -> DurationHistory {
        try JSONDecoder().decode(DurationHistory.self, from: try JSONEncoder().encode(history))
    }

    static func dag(_ run: Int, start: Double) -> Dag {
        Build.dag(
            id: "1\(run)",
            name: "Create tenant t\(run)",
            nodes: Self.names,
            durations: [30 + Double(run % 3), 5 + Double(run % 2), 60 + Double(run % 4)],
            start: start
        )
    }

    @Test("after every change each pool is the one computed from the samples alone, the target's own or across targets")
    func poolsFollowChanges() throws {
        var history = DurationHistory()
        var asked = 0
        for run in 0..<14 {
            for target in ["db1", "db2", "db3"] where run % 3 != 0 || target != "db3" {
                history.learn(from: Self.dag(run, start: Double(run) * 1000), target: target)
                let reference = try Self.fresh(history)
                for key in Self.keys(of: history) {
                    // Asked twice: the second answer comes from what the first computed.
                    #expect(history.pool(for: key) == reference.pool(for: key))
                    #expect(history.pool(for: key) == reference.pool(for: key))
                    asked += 1
                }
            }
        }
        let scopes = Set(Self.keys(of: history).compactMap { history.pool(for: $0)?.scope })
        #expect(scopes == [.target, .allTargets])
        history.prune(now: Build.time(180 * 86_400 + 9_000))
        let pruned = try Self.fresh(history)
        for key in Self.keys(of: history) { #expect(history.pool(for: key) == pruned.pool(for: key)) }
        #expect(asked > 100)
    }

    @Test("a copy taken before a change keeps its pools; the changed history has new ones")
    func copiesKeepTheirPools() throws {
        var history = DurationHistory()
        for run in 0..<5 { history.learn(from: Self.dag(run, start: Double(run) * 1000), target: "db1") }
        let key = DurationKey(target: "db1", dagTemplate: "Create tenant {tenant}", nodeTemplate: nil, width: 0)
        let before = history
        let pool = try #require(before.pool(for: key))
        #expect(pool.statistics.count == 5)
        history.learn(from: Self.dag(5, start: 5000), target: "db1")
        #expect(before.pool(for: key) == pool)
        #expect(history.pool(for: key)?.statistics.count == 6)
        #expect(before != history)
        #expect(try Self.fresh(before) == before)
    }
}

@Suite("History book saves")
struct HistoryBookSaveTests {
    static func folder() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("history-book-\(UUID().uuidString)")
    }

    @Test("with a clock, snapshots are renewed at most every publish interval; without one, every change shows at once")
    func publishedSnapshots() async throws {
        let clock = ManualClock()
        let book = HistoryBook(clock: clock, publishInterval: .milliseconds(250))
        #expect(await book.learn(from: [PoolCacheTests.dag(1, start: 0)], target: "db1"))
        let first = await book.snapshot()
        #expect(first.keys.count == 4)  // the first snapshot after a change is current
        #expect(await book.learn(from: [PoolCacheTests.dag(2, start: 1000)], target: "db2"))
        #expect(await book.snapshot() == first)  // within the interval: the published one
        clock.advance(by: .milliseconds(250))
        #expect(await book.snapshot().keys.count == 8)  // renewed

        let immediate = HistoryBook()
        #expect(await immediate.learn(from: [PoolCacheTests.dag(1, start: 0)], target: "db1"))
        _ = await immediate.snapshot()
        #expect(await immediate.learn(from: [PoolCacheTests.dag(2, start: 1000)], target: "db2"))
        #expect(await immediate.snapshot().keys.count == 8)
    }

    // Before the fix the first learn waited on the store forever: the time limit makes that a failure, not a hang.
    @Test(
        "with a clock, a store that does not answer holds no learn back; the stop's flush waits for it",
        .timeLimit(.minutes(1))
    )
    func hangingStoreHoldsNoPoll() async throws {
        let store = HangingStore()
        let book = HistoryBook(store: store, clock: ManualClock())
        // Returns although the save it started waits on the store.
        #expect(await book.learn(from: [PoolCacheTests.dag(1, start: 0)], target: "db1"))
        await store.saveStarted()
        #expect(await book.learn(from: [PoolCacheTests.dag(2, start: 1000)], target: "db2"))
        store.answer()
        await book.flush()
        #expect(store.savedKeyCounts == [4, 8])
    }

    @Test("with a clock, changes are saved at most once a second, by the next learn after it or a flush")
    func spacedSaves() async throws {
        let folder = Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = HistoryFile(folder: folder, asideTimestamp: { "T" })
        let clock = ManualClock()
        let book = HistoryBook(store: file, clock: clock, saveInterval: .seconds(1))
        // With a clock the saves run in the background: settled waits for the one started, if any.
        let saved = {
            await book.settled()
            return try await file.load().keys.count
        }

        #expect(await book.learn(from: [PoolCacheTests.dag(1, start: 0)], target: "db1"))
        #expect(try await saved() == 4)  // the first change: at once
        #expect(await book.learn(from: [PoolCacheTests.dag(2, start: 1000)], target: "db2"))
        #expect(try await saved() == 4)  // within the second: waits
        clock.advance(by: .milliseconds(999))
        #expect(!(await book.learn(from: [], target: "db1")))
        #expect(try await saved() == 4)
        clock.advance(by: .milliseconds(1))
        #expect(!(await book.learn(from: [], target: "db1")))  // a poll that learned nothing saves what waits
        #expect(try await saved() == 8)
        #expect(await book.learn(from: [PoolCacheTests.dag(3, start: 2000)], target: "db3"))
        #expect(try await saved() == 8)
        await book.flush()
        #expect(try await saved() == 12)
        #expect(try await file.load() == (await book.snapshot()))
    }

    @Test("without a clock, every change is saved at once")
    func immediateSaves() async throws {
        let folder = Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = HistoryFile(folder: folder, asideTimestamp: { "T" })
        let book = HistoryBook(store: file)
        for (index, target) in ["db1", "db2", "db3"].enumerated() {
            #expect(await book.learn(from: [PoolCacheTests.dag(index, start: Double(index) * 1000)], target: target))
            #expect(try await file.load().keys.count == 4 * (index + 1))
        }
    }
}

/// A history store whose first save waits until ``answer()``: PostgreSQL going away in the middle of a query.
final class HangingStore: HistoryStore {
    private struct Gate {
        var started = false
        var startedWaiters: [CheckedContinuation<Void, Never>] = []
        var answered = false
        var saveWaiters: [CheckedContinuation<Void, Never>] = []
        var savedKeyCounts: [Int] = []
    }
    private let gate = Mutex(Gate())

    /// How many keys each finished save held, in order.
    var savedKeyCounts: [Int] { self.gate.withLock { $0.savedKeyCounts } }

    func load() async throws(HistoryStoreError) -> DurationHistory { DurationHistory() }

    func save(_ history: DurationHistory) async throws(HistoryStoreError) {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let (startedWaiters, answered) = self.gate.withLock { gate in
                gate.started = true
                defer { gate.startedWaiters = [] }
                if !gate.answered { gate.saveWaiters.append(continuation) }
                return (gate.startedWaiters, gate.answered)
            }
            for waiter in startedWaiters { waiter.resume() }
            if answered { continuation.resume() }
        }
        self.gate.withLock { $0.savedKeyCounts.append(history.keys.count) }
    }

    /// Returns once a save has started.
    func saveStarted() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let started = self.gate.withLock { gate in
                if !gate.started { gate.startedWaiters.append(continuation) }
                return gate.started
            }
            if started { continuation.resume() }
        }
    }

    /// Lets every waiting and later save finish.
    func answer() {
        let waiters = self.gate.withLock { gate in
            gate.answered = true
            defer { gate.saveWaiters = [] }
            return gate.saveWaiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
