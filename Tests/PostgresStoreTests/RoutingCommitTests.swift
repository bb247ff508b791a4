import ConfigLoading
import ConfigModel
import Delivery
import Foundation
import Logging
import ObshellModel
import ObwatchTestKit
import PeerSupport
import Pipeline
import PostgresStore
import Routing
import Synchronization
import Testing
import Tracker

/// What a stage handed on.
final class Outputs: Sendable {
    let results = Mutex<[RoutingResult]>([])
}

@Suite("PostgreSQL's routing step: one transaction, fenced, shared by replicas", .serialized)
struct PostgresRoutingCommitTests {
    /// A migrated fixture, or `nil` (the test then passes vacuously, as the other suites here do) without server.
    static func fixture() async throws -> StoreFixture? {
        guard PostgresServer.isAvailable else { return nil }
        let fixture = try await StoreFixture.make()
        _ = try await fixture.store.migrate(appliedBy: "test")
        return fixture
    }

    static func router() throws -> Router {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("obw-pgroute-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("rules.yaml")
        try Data(
            """
            state_dir: state
            targets: [{ name: a, url: "http://127.0.0.1:1" }]
            receivers:
              - { name: hook, webhook: { format: generic, url: "https://hooks.example/x" }, rate_limit: none }
            rules:
              - { name: all, match: { event: "*" }, notify: [hook] }
            """.utf8
        ).write(to: file)
        return Router(config: try ConfigLoader(environment: [:]).loadValid(contentsOfFile: file.path).0)
    }

    static func targetDown(_ name: String, at seconds: Int64) -> EventBatch {
        let at = ObshellTime(seconds: 1_704_857_672 + seconds, nanoseconds: 0)
        let step = Tracker.step(
            TrackerState(),
            .failedPoll(reason: "cannot connect: refused", kind: .connect, at: at),
            settings: TrackerSettings(downAfter: 1),
            target: TargetIdentity(name: name)
        )
        return EventBatch(events: step.events, at: at)
    }

    /// Routes each batch through `stage` as one group; what each submission got.
    static func route(_ batches: [EventBatch], through stage: RoutingStage) async throws -> [DeliveryError.Code?] {
        var submissions: [Task<DeliveryError.Code?, Never>] = []
        for (index, batch) in batches.enumerated() {
            submissions.append(
                Task {
                    do throws(DeliveryError) {
                        try await stage.observed(batch)
                        return nil
                    } catch {
                        return error.code
                    }
                }
            )
            await stage.queued(atLeast: index + 1)
        }
        // Started once every batch is buffered: they are routed as one group.
        let running = Task { try await stage.run() }
        defer { running.cancel() }
        var results: [DeliveryError.Code?] = []
        for submission in submissions {
            results.append(try await awaitEvent("a routing acknowledgement") { await submission.value })
        }
        return results
    }

    static func stage(_ commit: PostgresRoutingCommit, outputs: Outputs) async throws -> RoutingStage {
        try await RoutingStage(
            router: try Self.router(),
            commit: commit,
            logger: Logger(label: "test"),
            output: { result in outputs.results.withLock { $0.append(result) } }
        )
    }

    @Test("a fenced batch enqueues nothing and fails with .fenced; the others of its group are routed")
    func fencedBatch() async throws {
        guard let fixture = try await Self.fixture() else { return }
        let epochs = LeaseEpochs(fallback: nil)
        // a: a token whose lease row does not exist (lost); b: no token; c: a token with a valid lease.
        epochs.grant(FencingToken(epoch: 3, holder: "r1"), target: "a")
        epochs.grant(FencingToken(epoch: 5, holder: "r1"), target: "c")
        try await fixture.sql(
            """
            INSERT INTO "\(fixture.settings.schema)".target_lease (target, holder, epoch, expires_at)
            VALUES ('c', 'r1', 5, now() + interval '1 hour')
            """
        )
        let fenced = Mutex<[String]>([])
        let enqueued = Mutex(0)
        let commit = PostgresRoutingCommit(
            store: fixture.store,
            epochs: epochs,
            onFenced: { target, _ in fenced.withLock { $0.append(target) } },
            onEnqueued: { count in enqueued.withLock { $0 += count } }
        )
        let outputs = Outputs()
        let stage = try await Self.stage(commit, outputs: outputs)

        let results = try await Self.route(
            [Self.targetDown("a", at: 0), Self.targetDown("b", at: 1), Self.targetDown("c", at: 2)],
            through: stage
        )

        #expect(results == [.fenced, .fenced, nil])
        #expect(fenced.withLock { $0 } == ["a", "b"], "the hook hears of each fenced batch")
        let rows = try await PostgresOutbox(store: fixture.store).inspect()
        #expect(rows.count == 1 && enqueued.withLock { $0 } == 1)
        #expect(rows.first?.producerEpoch == 5, "the row carries the epoch it was routed under")
        #expect(outputs.results.withLock { $0 }.flatMap(\.events).map(\.target.name) == ["c"])
        await fixture.store.close()
    }

    @Test("a batch handed on again with the state before it is one outbox row")
    func reHandedBatch() async throws {
        guard let fixture = try await Self.fixture() else { return }
        let commit = PostgresRoutingCommit(store: fixture.store)
        let batch = Self.targetDown("a", at: 0)
        let first = Outputs()
        #expect(try await Self.route([batch], through: try await Self.stage(commit, outputs: first)) == [nil])
        // A crash before the hand-off was recorded: the next holder routes the same batch against the state from
        // before it.
        try await fixture.sql("DELETE FROM \"\(fixture.settings.schema)\".router_state")
        let second = Outputs()
        #expect(try await Self.route([batch], through: try await Self.stage(commit, outputs: second)) == [nil])

        let ids = second.results.withLock { $0 }.flatMap(\.notifications).map(\.id)
        #expect(ids == first.results.withLock { $0 }.flatMap(\.notifications).map(\.id) && ids.count == 1)
        #expect(try await PostgresOutbox(store: fixture.store).inspect().map(\.key) == ids)
        #expect(
            try await PostgresOutbox(store: fixture.store).enqueue(
                second.results.withLock { $0 }.flatMap(\.notifications)
            ) == 0
        )
        await fixture.store.close()
    }

    @Test("two replicas' stages route against the shared state, not their own stale memory")
    func replicasShareState() async throws {
        guard let fixture = try await Self.fixture() else { return }
        let other = try fixture.another()
        let outputs = Outputs()
        // Both load the (empty) state first; then each routes one batch.
        let one = try await Self.stage(PostgresRoutingCommit(store: fixture.store), outputs: outputs)
        let two = try await Self.stage(PostgresRoutingCommit(store: other), outputs: outputs)
        let batches = [Self.targetDown("a", at: 0), Self.targetDown("b", at: 1)]
        #expect(try await Self.route([batches[0]], through: one) == [nil])
        #expect(try await Self.route([batches[1]], through: two) == [nil])

        // What one process routing both in turn remembers.
        let router = try Self.router()
        var expected = RouterState()
        for batch in batches { _ = router.observe(batch, state: &expected) }
        let stored = try await PostgresPipelineStorage(store: fixture.store).loadRouterState().value
        #expect(stored == expected)
        await other.close()
        await fixture.store.close()
    }

    @Test("a step whose outbox insert fails commits nothing: no row, no state, nothing handed on")
    func failedStep() async throws {
        guard let fixture = try await Self.fixture() else { return }
        let schema = "\"\(fixture.settings.schema)\""
        let commit = PostgresRoutingCommit(store: fixture.store)
        let outputs = Outputs()
        let stage = try await Self.stage(commit, outputs: outputs)
        try await fixture.sql("ALTER TABLE \(schema).outbox RENAME TO outbox_away")
        let results = try await Self.route([Self.targetDown("a", at: 0)], through: stage)
        try await fixture.sql("ALTER TABLE \(schema).outbox_away RENAME TO outbox")

        #expect(results == [.storage])
        #expect(outputs.results.withLock { $0 }.isEmpty)
        #expect(try await fixture.sql("SELECT count(*)::text FROM \(schema).router_state") == ["0"])
        #expect(try await PostgresOutbox(store: fixture.store).inspect().isEmpty)
        await fixture.store.close()
    }
}
