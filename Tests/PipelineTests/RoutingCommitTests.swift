import ConfigModel
import Delivery
import Foundation
import Logging
import ObwatchTestKit
import Pipeline
import Routing
import Synchronization
import Testing
import Tracker

@Suite("the routing step through each store's commit: group commit, results handed on only once durable")
struct RoutingCommitTests {
    /// What the local outbox was given and what the stage handed on.
    final class Record: Sendable {
        let deliveries = Mutex<[[OutboundNotification]]>([])
        let outputs = Mutex<[RoutingResult]>([])
    }

    static func stage(
        place: StoragePlace,
        folder: URL,
        record: Record,
        refuse: Bool = false
    ) async throws
        -> RoutingStage
    {
        let config = try everyEventToHook(in: folder)
        let commit = try place.routingCommit(clock: ManualClock()) { notifications throws(DeliveryError) in
            record.deliveries.withLock { $0.append(notifications) }
            if refuse { throw DeliveryError(code: .stopped, message: "refused") }
        }
        return try await RoutingStage(
            router: Router(config: config),
            commit: commit,
            logger: Logger(label: "test"),
            output: { result in record.outputs.withLock { $0.append(result) } }
        )
    }

    @Test(
        "three buffered batches: one commit, the outbox holds their notifications in order, the state is stored",
        arguments: StoreKind.available
    )
    func groupCommit(kind: StoreKind) async throws {
        let folder = try temporaryFolder("pipeline-commit")
        let place = try await StoragePlace.make(kind, folder: folder)
        let record = Record()
        let stage = try await Self.stage(place: place, folder: folder, record: record)
        let batches = [targetDown("a", at: 0), targetDown("b", at: 1), targetDown("c", at: 2)]

        let results = try await RoutingStageTests.routeTogether(batches, through: stage)

        #expect(results.allSatisfy { (try? $0.get()) != nil }, "every batch acknowledged: \(results)")
        let eventIDs = batches.flatMap(\.events).map(\.id)
        #expect(record.outputs.withLock { $0 }.flatMap(\.events).map(\.id) == eventIDs)
        let routed = record.outputs.withLock { $0 }.flatMap(\.notifications).map(\.id)
        #expect(routed.count == 3)
        switch kind {
        case .local:
            #expect(record.deliveries.withLock { $0 }.count == 1, "one outbox write for the group")
            #expect(record.deliveries.withLock { $0 }.first?.map(\.id) == routed)
        case .postgres:
            #expect(record.deliveries.withLock { $0 }.isEmpty, "PostgreSQL's outbox is the table, not the journal")
            #expect(try await place.sharedOutbox() == routed, "the outbox rows, in routing order")
        }
        let memory = try await place.storage(clock: ManualClock()).loadRouterState()
        #expect(memory.value != RouterState(), "the router's memory after the group is stored")
        await place.close()
    }

    @Test(
        "a commit that fails hands nothing on and stores nothing; routed again, the same notifications",
        arguments: StoreKind.available
    )
    func failedCommit(kind: StoreKind) async throws {
        let folder = try temporaryFolder("pipeline-commit-fail")
        let place = try await StoragePlace.make(kind, folder: folder)
        let batches = [targetDown("a", at: 0), targetDown("b", at: 1)]
        let failing = Record()
        if kind == .local {
            let stage = try await Self.stage(place: place, folder: folder, record: failing, refuse: true)
            let results = try await RoutingStageTests.routeTogether(batches, through: stage)
            #expect(results.allSatisfy { (try? $0.get()) == nil })
            #expect(failing.outputs.withLock { $0 }.isEmpty)
            #expect(try await place.storage(clock: ManualClock()).loadRouterState().value == RouterState())
        }
        let record = Record()
        let stage = try await Self.stage(place: place, folder: folder, record: record)
        let results = try await RoutingStageTests.routeTogether(batches, through: stage)
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        let routed = record.outputs.withLock { $0 }.flatMap(\.notifications).map(\.id)
        #expect(routed.count == 2)
        if kind == .local {
            #expect(failing.deliveries.withLock { $0 }.first?.map(\.id) == routed, "the same notifications")
        } else {
            #expect(try await place.sharedOutbox() == routed)
        }
        await place.close()
    }
}
