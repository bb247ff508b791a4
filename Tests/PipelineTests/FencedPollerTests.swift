import ConfigModel
import Foundation
import Logging
import ObwatchTestKit
import PeerSupport
import Pipeline
import PostgresStore
import Support
import Testing
import Tracker

@Suite(
    "a poller whose save is fenced stops writing and handing on; fenced writes are counted, logged once",
    .enabled(if: PostgresServer.isAvailable, "\(PostgresServer.unavailableReason)")
)
struct FencedPollerTests {
    @Test("a fenced save is reported once, hands nothing on, is not a save failure, and is not tried again")
    func fencedSaveStops() async throws {
        let folder = try temporaryFolder("obwatch-fenced")
        let place = try await StoragePlace.make(.postgres, folder: folder)
        let clock = ManualClock()
        guard let base = try place.storage(clock: clock) as? PostgresPipelineStorage else {
            Issue.record("not a PostgreSQL storage")
            return
        }
        // A replica that holds no lease on the target: every write of it is refused.
        let storage = PostgresPipelineStorage(store: base.store, epochs: LeaseEpochs(fallback: nil))
        let health = PipelineHealth(logger: Logger(label: "test.health"), clock: clock)
        let refusals = Recording<StorageError>()
        let handedOn = Recording<EventBatch>()
        let poller = try await TargetPoller(
            target: CrashHandOffTests.target,
            settings: TrackerSettings(downAfter: 1),
            storage: storage,
            transport: ScriptedAgent.unreachable(),
            clock: clock,
            health: health,
            onFenced: { refusals.append($0) },
            sink: { handedOn.append($0) }
        )
        #expect(await poller.pollOnce().isEmpty, "target_down was made but not handed on")
        #expect(refusals.count == 1)
        #expect(refusals.all.first?.kind == .fenced)
        #expect(handedOn.count == 0)
        #expect(health.stateProblem == nil, "a fenced write is not a store failure: /readyz stays as it was")
        // Nothing more: no poll, no write, no second report.
        #expect(await poller.pollOnce().isEmpty)
        #expect(refusals.count == 1)
        await place.close()
    }

    @Test("every refusal is counted; the log line comes once per target and kind until the lease is reacquired")
    func countedEveryTime() {
        let counted = Recording<String>()
        let writes = FencedWrites(logger: Logger(label: "test.fenced"), count: { counted.append($0) })
        let error = StorageError(reason: "the lease of a at epoch 3 is no longer valid", kind: .fenced)
        writes.refused(kind: "target", target: "prod-east", error: error)
        writes.refused(kind: "target", target: "prod-east", error: error)
        writes.refused(kind: "outbox", target: "prod-east", error: error)
        writes.reacquired(target: "prod-east")
        writes.refused(kind: "target", target: "prod-east", error: error)
        #expect(counted.all == ["target", "target", "outbox", "target"])
    }
}
