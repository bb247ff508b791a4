import ConfigModel
import Foundation
import ObshellModel
import ObwatchTestKit
import PeerSupport
import Pipeline
import Synchronization
import Testing
import Tracker

@Suite("the crash-safe hand-off: events are stored with the state that made them before they are handed on")
struct CrashHandOffTests {
    static let target = ObwatchConfig.Target(
        name: "prod-east",
        url: "unix:///run/obshell-test.sock",
        password: Password(""),
        pollInterval: .seconds(10),
        timeout: .seconds(30),
        labels: [:]
    )

    static func poller(
        place: StoragePlace,
        clock: ManualClock,
        box: BatchBox,
        onHandOff: @escaping @Sendable (EventBatch) async -> Void = { _ in }
    ) async throws -> TargetPoller {
        try await TargetPoller(
            target: Self.target,
            settings: TrackerSettings(downAfter: 1),
            storage: try place.storage(clock: clock),
            transport: ScriptedAgent.unreachable(),
            clock: clock,
            sink: { batch in
                await onHandOff(batch)
                try box.take(batch)
            }
        )
    }

    @Test(
        "when a batch is handed on, storage already holds it as pending, with the state that made it",
        arguments: StoreKind.available
    )
    func storedBeforeHandedOn(kind: StoreKind) async throws {
        let place = try await StoragePlace.make(kind, folder: try temporaryFolder("pipeline-staged"))
        let clock = ManualClock()
        let storage = try place.storage(clock: clock)
        let seen = Mutex<[TargetRecord]>([])
        let box = BatchBox()
        let poller = try await Self.poller(place: place, clock: clock, box: box) { _ in
            let stored = try? await storage.loadTarget(Self.target.name)
            seen.withLock { $0.append(stored?.value ?? TargetRecord()) }
        }
        let events = await poller.pollOnce()
        #expect(events.map(\.type) == [.targetDown])
        let stored = try #require(seen.withLock { $0 }.first)
        #expect(stored.pending == box.all)
        #expect(!stored.pending.isEmpty)
        #expect(stored.tracker == (await poller.journal.state))
        // Handed on: the record is saved again without them.
        let after = try await storage.loadTarget(Self.target.name)
        #expect(after.value.pending.isEmpty)
        #expect(after.value.tracker.targetDown)
        await place.close()
    }

    @Test(
        "a failing sink: the batches stay pending, and the next poll hands on the same events (same ids) first",
        arguments: StoreKind.available
    )
    func failingSinkThenNextPoll(kind: StoreKind) async throws {
        let place = try await StoragePlace.make(kind, folder: try temporaryFolder("pipeline-refused-sink"))
        let clock = ManualClock()
        let box = BatchBox()
        box.refuse(true)
        let poller = try await Self.poller(place: place, clock: clock, box: box)
        #expect(await poller.pollOnce() == [])
        let pending = await poller.journal.pending
        #expect(pending.flatMap(\.events).map(\.type) == [.targetDown])

        box.refuse(false)
        clock.advance(by: .seconds(10))
        _ = await poller.pollOnce()
        #expect(box.all.flatMap(\.events).map(\.id) == pending.flatMap(\.events).map(\.id))
        #expect(await poller.journal.pending.isEmpty)
        await place.close()
    }

    @Test(
        "a journal reopened from storage (a restart) hands its pending batches on first, with the same ids",
        arguments: StoreKind.available
    )
    func reopenedJournal(kind: StoreKind) async throws {
        let place = try await StoragePlace.make(kind, folder: try temporaryFolder("pipeline-restart"))
        let clock = ManualClock()
        let refusing = BatchBox()
        refusing.refuse(true)
        let first = try await Self.poller(place: place, clock: clock, box: refusing)
        _ = await first.pollOnce()
        let stored = try await place.storage(clock: clock).loadTarget(Self.target.name)
        #expect(stored.value.pending.flatMap(\.events).map(\.type) == [.targetDown])

        let box = BatchBox()
        let second = try await Self.poller(place: place, clock: clock, box: box)
        #expect(await second.journal.pending == stored.value.pending)
        _ = await second.pollOnce()
        #expect(box.all == stored.value.pending, "handed on first, unchanged; the target stays down, nothing new")
        await place.close()
    }

    @Test("a state file written by the previous version, with `handoff` inside the tracker's state, loads")
    func previousFormatLoads() async throws {
        let folder = try temporaryFolder("pipeline-format")
        defer { try? FileManager.default.removeItem(at: folder) }
        let clock = ManualClock()
        let batch = targetDown("prod-east", at: 0)
        var state = TrackerState()
        state.targetDown = true
        state.downEpisodes = 1
        state.consecutiveFailedPolls = 1
        // The previous version's file: the state's fields and `handoff` in one object, keys sorted.
        let stateObject = try #require(
            try JSONSerialization.jsonObject(with: JSONEncoder().encode(state)) as? [String: Any]
        )
        var previous = stateObject
        previous["handoff"] = try JSONSerialization.jsonObject(with: JSONEncoder().encode([batch]))
        let file = StateStore(directory: folder).fileURL(target: "prod-east")
        try JSONSerialization.data(withJSONObject: previous, options: [.sortedKeys]).write(to: file)

        let loaded = await LocalStateFolder(directory: folder, clock: clock).loadTarget("prod-east")
        #expect(loaded.warning == nil)
        #expect(loaded.value == TargetRecord(tracker: state, pending: [batch]))

        // And what this version writes is that same object: the state's fields, `handoff` beside them.
        try await LocalStateFolder(directory: folder, clock: clock).saveTarget(loaded.value, name: "prod-east")
        let written = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any]
        )
        #expect(Set(written.keys) == Set(stateObject.keys).union(["handoff"]))
        let clean = TargetRecord(tracker: state)
        try await LocalStateFolder(directory: folder, clock: clock).saveTarget(clean, name: "prod-east")
        let cleanBytes = try Data(contentsOf: file)
        #expect(cleanBytes == (try Self.sortedEncoding(of: state)), "no handoff: the bare state's bytes")
    }

    private static func sortedEncoding(of state: TrackerState) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(state)
    }
}
