import ConfigModel
import Delivery
import Foundation
import Logging
import ObshellModel
import ObwatchTestKit
import Pipeline
import Routing
import Synchronization
import Testing
import Tracker

@Suite("the routing stage: a group commit")
struct RoutingStageTests {
    /// What a stage did, as its callers and its far sides saw it.
    final class Record: Sendable {
        let deliveries = Mutex<[[OutboundNotification]]>([])
        let outputs = Mutex<[RoutingResult]>([])
    }

    /// A stage over the real outbox and state folder, its rules sending every event to `hook`.
    static func stage(
        folder: URL,
        place: StoragePlace? = nil,
        outbox: Outbox,
        record: Record
    ) async throws -> (RoutingStage, CountingStorage) {
        let config = try everyEventToHook(in: folder)
        let inner =
            try place?.storage(clock: ManualClock()) ?? LocalStateFolder(directory: folder, clock: ManualClock())
        let storage = CountingStorage(inner)
        let stage = try await RoutingStage(
            router: Router(config: config),
            storage: storage,
            logger: Logger(label: "test"),
            deliver: { notifications throws(DeliveryError) in
                record.deliveries.withLock { $0.append(notifications) }
                try await outbox.accept(notifications)
            },
            output: { result in record.outputs.withLock { $0.append(result) } }
        )
        return (stage, storage)
    }

    /// Submits each batch from a task of its own, in order (each waits until the one before is buffered), then
    /// runs the stage and returns what each submission got.
    static func routeTogether(
        _ batches: [EventBatch],
        through stage: RoutingStage
    ) async throws -> [Result<Void, DeliveryError>] {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var submissions: [Task<Result<Void, DeliveryError>, Never>] = []
            for (index, batch) in batches.enumerated() {
                submissions.append(
                    Task {
                        do throws(DeliveryError) {
                            try await stage.observed(batch)
                            return .success(())
                        } catch {
                            return .failure(error)
                        }
                    }
                )
                await stage.queued(atLeast: index + 1)
            }
            group.addTask { try await stage.run() }
            var results: [Result<Void, DeliveryError>] = []
            for submission in submissions { results.append(await submission.value) }
            group.cancelAll()
            return results
        }
    }

    @Test(
        "three buffered batches: one outbox write, one router-state save, order kept, every batch acknowledged",
        arguments: StoreKind.available
    )
    func groupCommit(kind: StoreKind) async throws {
        let folder = try temporaryFolder("pipeline-group")
        let place = try await StoragePlace.make(kind, folder: folder)
        let config = try everyEventToHook(in: folder)
        let outbox = Outbox(receivers: config.receivers, stateDirectory: folder, makeSender: { _ in UnusedSender() })
        let record = Record()
        let (stage, storage) = try await Self.stage(folder: folder, place: place, outbox: outbox, record: record)
        let batches = [targetDown("a", at: 0), targetDown("b", at: 1), targetDown("c", at: 2)]

        let results = try await Self.routeTogether(batches, through: stage)

        #expect(results.allSatisfy { (try? $0.get()) != nil }, "every batch acknowledged: \(results)")
        let deliveries = record.deliveries.withLock { $0 }
        #expect(deliveries.count == 1, "one outbox write for the group")
        #expect(storage.routerSaves == 1, "one save of the router's memory for the group")
        let eventIDs = batches.flatMap(\.events).map(\.id)
        #expect(deliveries.first?.flatMap(\.events).map(\.id) == eventIDs)
        #expect(record.outputs.withLock { $0 }.flatMap(\.events).map(\.id) == eventIDs)
        // Acknowledged means on the outbox's disk, and the router's memory in storage.
        #expect(journal(folder, receiver: "hook").flatMap(\.events).map(\.id) == eventIDs)
        let memory = try await place.storage(clock: ManualClock()).loadRouterState()
        #expect(memory.value != RouterState(), "the router's memory after the group is stored")
        if kind == .local {
            #expect(FileManager.default.fileExists(atPath: LocalStateFolder.routerStateFile(in: folder).path))
        }
        await outbox.stop(grace: .zero)
        await place.close()
    }

    @Test(
        "an outbox that refuses the group fails every batch and leaves the router's memory as it was",
        arguments: StoreKind.available
    )
    func failingOutbox(kind: StoreKind) async throws {
        let folder = try temporaryFolder("pipeline-refused")
        let place = try await StoragePlace.make(kind, folder: folder)
        let config = try everyEventToHook(in: folder)
        let outbox = Outbox(receivers: config.receivers, stateDirectory: folder, makeSender: { _ in UnusedSender() })
        await outbox.stop(grace: .zero)
        let record = Record()
        let (stage, storage) = try await Self.stage(folder: folder, place: place, outbox: outbox, record: record)
        let batches = [targetDown("a", at: 0), targetDown("b", at: 1), targetDown("c", at: 2)]

        let results = try await Self.routeTogether(batches, through: stage)

        #expect(results.count == 3)
        for result in results {
            guard case .failure(let error) = result else {
                Issue.record("a batch was acknowledged though the outbox refused it")
                continue
            }
            #expect(error.code == .stopped)
        }
        #expect(record.deliveries.withLock { $0 }.count == 1)
        #expect(storage.routerSaves == 0)
        #expect(record.outputs.withLock { $0 }.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: LocalStateFolder.routerStateFile(in: folder).path))
        #expect(try await place.storage(clock: ManualClock()).loadRouterState().value == RouterState())

        // The memory is as it was: the same batches through a stage on a working outbox give the same notifications
        // as they would have the first time.
        let working = Outbox(receivers: config.receivers, stateDirectory: folder, makeSender: { _ in UnusedSender() })
        let retried = Record()
        let (again, _) = try await Self.stage(folder: folder, place: place, outbox: working, record: retried)
        let second = try await Self.routeTogether(batches, through: again)
        #expect(second.allSatisfy { (try? $0.get()) != nil })
        #expect(
            retried.deliveries.withLock { $0 }.first?.map(\.id)
                == record.deliveries.withLock { $0 }.first?.map(\.id)
        )
        await working.stop(grace: .zero)
        await place.close()
    }

    @Test("a stopped stage refuses new work at once instead of hanging")
    func stoppedStage() async throws {
        let folder = try temporaryFolder("pipeline-stopped")
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = try everyEventToHook(in: folder)
        let outbox = Outbox(receivers: config.receivers, stateDirectory: folder, makeSender: { _ in UnusedSender() })
        let (stage, _) = try await Self.stage(folder: folder, outbox: outbox, record: Record())
        let running = Task { try await stage.run() }
        running.cancel()
        try await running.value
        await #expect(throws: DeliveryError.self) { try await stage.observed(targetDown("a", at: 0)) }
        await outbox.stop(grace: .zero)
    }
}
