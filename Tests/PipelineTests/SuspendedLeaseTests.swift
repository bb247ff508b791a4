import ConfigModel
import Foundation
import Logging
import ObshellAgent
import ObshellModel
import ObwatchTestKit
import PeerSupport
import Pipeline
import PostgresStore
import Support
import Synchronization
import Testing
import Tracker

@Suite(
    "a lease past its trust window is suspended: its poller keeps observing, and goes on only if nobody else wrote",
    .serialized,
    .enabled(if: PostgresServer.isAvailable, "\(PostgresServer.unavailableReason)")
)
struct SuspendedLeaseTests {
    /// Five minutes: the rows stay valid in the database (real time) whatever the load; the manual clock moves.
    static let lease = LeasedTarget(name: CrashHandOffTests.target.name, length: .seconds(300))

    /// One replica: its lease table (which a test can cut off), its tokens and its storage.
    struct Replica {
        let leases: PostgresLeases
        let cuttable: CuttableLeases
        let epochs: LeaseEpochs
        let storage: PostgresPipelineStorage

        init(store: PostgresStore, name: String, clock: ManualClock) {
            self.epochs = LeaseEpochs(fallback: nil)
            self.leases = PostgresLeases(
                store: store,
                replica: ReplicaIdentity(host: "test", pid: 1, suffix: name),
                epochs: self.epochs,
                version: "test",
                clock: clock,
                logger: Logger(label: "test.lease.\(name)")
            )
            self.cuttable = CuttableLeases(self.leases)
            self.storage = PostgresPipelineStorage(store: store, epochs: self.epochs)
        }

        /// Expires its lease in the database at once, as a long outage would have.
        func expire(epoch: Int64) async throws {
            try await self.leases.release([
                LeaseRenewal(
                    target: SuspendedLeaseTests.lease.name,
                    epoch: epoch,
                    length: SuspendedLeaseTests.lease.length
                )
            ])
        }
    }

    /// Everything one test needs: replica A with its coordinator and poller, and the store for a replica B.
    struct Scene {
        let place: StoragePlace
        let store: PostgresStore
        let clock: ManualClock
        let a: Replica
        let coordinator: LeaseCoordinator
        let changes: Recording<LeaseChange>
        let tokensAtStop: Recording<FencingToken?>
        let poller: TargetPoller
        let box: BatchBox
        let health: PipelineHealth

        static func make(_ answers: [Result<AgentResponse, ObshellError>]) async throws -> Scene {
            let place = try await StoragePlace.make(.postgres, folder: try temporaryFolder("obwatch-suspended"))
            let clock = ManualClock()
            guard let base = try place.storage(clock: clock) as? PostgresPipelineStorage else {
                throw StorageError(reason: "not a PostgreSQL storage")
            }
            let a = Replica(store: base.store, name: "a", clock: clock)
            let changes = Recording<LeaseChange>()
            let tokensAtStop = Recording<FencingToken?>()
            let coordinator = LeaseCoordinator(
                store: a.cuttable,
                targets: [SuspendedLeaseTests.lease],
                clock: clock,
                logger: Logger(label: "test.lease.a"),
                observe: { changes.append($0) },
                // What the daemon stops here is the old poller: it must end while no token is granted.
                beforeRelease: { target in tokensAtStop.append(a.epochs.token(for: target)) }
            )
            await coordinator.cycle()
            let health = PipelineHealth(logger: Logger(label: "test.health"), clock: clock)
            let box = BatchBox()
            let poller = try await TargetPoller(
                target: CrashHandOffTests.target,
                settings: TrackerSettings(downAfter: 1),
                storage: a.storage,
                transport: ScriptedAgent(answers),
                clock: clock,
                health: health,
                onFenced: { _ in },
                sink: { try box.take($0) }
            )
            return Scene(
                place: place,
                store: base.store,
                clock: clock,
                a: a,
                coordinator: coordinator,
                changes: changes,
                tokensAtStop: tokensAtStop,
                poller: poller,
                box: box,
                health: health
            )
        }

        /// The database stops answering and A's trust window passes: the lease is suspended.
        func suspend() async {
            self.a.cuttable.cut(true)
            self.clock.advance(by: .seconds(271))
            await self.coordinator.cycle()
        }
    }

    static let up = Result<AgentResponse, ObshellError>.success(
        AgentResponse(status: 200, body: Data(#"{"successful":true,"status":200,"data":{"contents":null}}"#.utf8))
    )
    static let down = Result<AgentResponse, ObshellError>.failure(
        ObshellError(code: .unreachable, message: "connection refused")
    )

    @Test("suspended, the poller keeps its events; resumed with nobody between, they go out, same ids, new epoch")
    func resumedWithContinuity() async throws {
        let scene = try await Scene.make([Self.up, Self.down, Self.up, Self.up])
        #expect(scene.changes.all == [.acquired(target: Self.lease.name, epoch: 1, atOnce: false)])
        #expect(await scene.poller.pollOnce().isEmpty)
        #expect(scene.a.epochs.lastSaved(target: Self.lease.name) == 1, "written under the lease")

        await scene.suspend()
        #expect(scene.changes.all.last == .suspended(target: Self.lease.name))
        #expect(scene.a.epochs.token(for: Self.lease.name) == nil)
        // The agent goes down and comes back while the lease is suspended: both seen, nothing handed on.
        #expect(await scene.poller.pollOnce().isEmpty)
        #expect(await scene.poller.pollOnce().isEmpty)
        let kept = await scene.poller.journal.pending
        #expect(kept.flatMap(\.events).map(\.type) == [.targetDown, .targetUp])
        #expect(scene.box.all.isEmpty)
        #expect(scene.health.stateProblem?.contains("PostgreSQL does not answer") == true, "/readyz says why")

        // The database answers again; the lease expired there meanwhile, and nobody took it.
        try await scene.a.expire(epoch: 1)
        scene.a.cuttable.cut(false)
        await scene.coordinator.cycle()
        #expect(scene.changes.all.last == .resumed(target: Self.lease.name, epoch: 2))
        #expect(scene.tokensAtStop.all.isEmpty, "the same poller goes on")
        #expect(scene.a.epochs.token(for: Self.lease.name) == FencingToken(epoch: 2, holder: "test-1-a"))

        _ = await scene.poller.pollOnce()
        #expect(scene.box.all == kept, "handed on in order, with the ids they were made with")
        #expect(scene.a.epochs.lastSaved(target: Self.lease.name) == 2)
        #expect(try await scene.a.storage.loadTarget(Self.lease.name).value.pending.isEmpty)
        #expect(scene.health.stateProblem == nil)
        await scene.place.close()
    }

    @Test("resumed after another replica wrote: the old poller is stopped before any token, nothing of it written")
    func replacedAfterAnotherWriter() async throws {
        let scene = try await Scene.make([Self.up, Self.down, Self.down])
        #expect(await scene.poller.pollOnce().isEmpty)
        await scene.suspend()
        #expect(await scene.poller.pollOnce().isEmpty)
        #expect(await !scene.poller.journal.pending.isEmpty)

        // Meanwhile B took the expired lease, wrote its record and gave the lease up again.
        try await scene.a.expire(epoch: 1)
        let b = Replica(store: scene.store, name: "b", clock: scene.clock)
        let epoch = try #require(try await b.leases.acquire(Self.lease))
        #expect(epoch == 2)
        b.leases.fence(target: Self.lease.name, epoch: epoch)
        let written = TargetRecord()
        try await b.storage.saveTarget(written, name: Self.lease.name)
        try await b.expire(epoch: epoch)
        // A's suspended poller still cannot write anything.
        #expect(await scene.poller.pollOnce().isEmpty)

        scene.a.cuttable.cut(false)
        await scene.coordinator.cycle()
        #expect(
            Array(scene.changes.all.suffix(2)) == [
                .releasing(target: Self.lease.name), .acquired(target: Self.lease.name, epoch: 3, atOnce: true),
            ]
        )
        #expect(scene.tokensAtStop.all == [nil], "stopped while no token was granted")
        #expect(scene.a.epochs.token(for: Self.lease.name) == FencingToken(epoch: 3, holder: "test-1-a"))
        #expect(try await b.storage.loadTarget(Self.lease.name).value == written, "B's record stands")
        #expect(scene.box.all.isEmpty, "nothing the suspended poller saw was handed on")
        await scene.place.close()
    }

    @Test("a suspended target that another replica holds is lost at the next survey; its writes are refused")
    func takenWhileSuspended() async throws {
        let scene = try await Scene.make([Self.up, Self.down])
        #expect(await scene.poller.pollOnce().isEmpty)
        await scene.suspend()
        try await scene.a.expire(epoch: 1)
        let b = Replica(store: scene.store, name: "b", clock: scene.clock)
        #expect(try await b.leases.acquire(Self.lease) == 2)

        scene.a.cuttable.cut(false)
        await scene.coordinator.cycle()
        #expect(scene.changes.all.last == .lost(target: Self.lease.name, why: .takenOver))
        #expect(await scene.coordinator.suspended.isEmpty)
        #expect(await scene.coordinator.held.isEmpty)
        #expect(scene.a.epochs.suspension(of: Self.lease.name) == nil)
        let refused = await #expect(throws: StorageError.self) {
            try await scene.a.storage.saveTarget(TargetRecord(), name: Self.lease.name)
        }
        #expect(refused?.kind == .fenced)
        await scene.place.close()
    }
}

/// A lease table that can be cut off: every call then fails as unreachable, as when PostgreSQL is down.
final class CuttableLeases: LeaseStore {
    private let base: PostgresLeases
    private let isCut = Mutex(false)

    init(_ base: PostgresLeases) { self.base = base }

    func cut(_ cut: Bool) { self.isCut.withLock { $0 = cut } }

    private func check() throws(StorageError) {
        if self.isCut.withLock({ $0 }) {
            throw StorageError(reason: "cannot reach PostgreSQL (test)", kind: .unreachable)
        }
    }

    var holder: String { self.base.holder }

    func survey(targets: [String], liveWithin: Duration) async throws(StorageError) -> LeaseSurvey {
        try self.check()
        return try await self.base.survey(targets: targets, liveWithin: liveWithin)
    }

    func acquire(_ target: LeasedTarget) async throws(StorageError) -> Int64? {
        try self.check()
        return try await self.base.acquire(target)
    }

    func renew(_ leases: [LeaseRenewal]) async throws(StorageError) -> Set<String> {
        try self.check()
        return try await self.base.renew(leases)
    }

    func resume(_ target: LeasedTarget, epoch: Int64) async throws(StorageError) -> LeaseResumption {
        try self.check()
        return try await self.base.resume(target, epoch: epoch)
    }

    func release(_ leases: [LeaseRenewal]) async throws(StorageError) {
        try self.check()
        try await self.base.release(leases)
    }

    func releaseAll(leaving: Bool) async throws(StorageError) {
        try self.check()
        try await self.base.releaseAll(leaving: leaving)
    }

    func fence(target: String, epoch: Int64) { self.base.fence(target: target, epoch: epoch) }
    func suspend(target: String) { self.base.suspend(target: target) }
    func unfence(target: String) { self.base.unfence(target: target) }
    func listenForReleases(_ wake: @escaping @Sendable () -> Void) async {}
}
