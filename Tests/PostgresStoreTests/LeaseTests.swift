import ConfigModel
import Foundation
import Logging
import ObwatchTestKit
import PeerSupport
import Pipeline
import PostgresStore
import Support
import Synchronization
import Testing

@Suite(
    "fenced per-target leases shared by replicas",
    .enabled(if: PostgresServer.isAvailable, "\(PostgresServer.unavailableReason)")
)
struct LeaseTests {
    /// One replica on a schema: its store, its leases and the tokens its storage writes with.
    struct Replica {
        let store: PostgresStore
        let epochs: LeaseEpochs
        let leases: PostgresLeases
        var storage: PostgresPipelineStorage { PostgresPipelineStorage(store: self.store, epochs: self.epochs) }

        init(_ fixture: StoreFixture, name: String, clock: any ObwatchClock = SystemClock()) throws {
            self.store = try fixture.another()
            self.epochs = LeaseEpochs(fallback: nil)
            self.leases = PostgresLeases(
                store: self.store,
                replica: ReplicaIdentity(host: "test", pid: 1, suffix: name),
                epochs: self.epochs,
                version: "test",
                clock: clock,
                logger: Logger(label: "test.lease")
            )
        }
    }

    static func migrated() async throws -> StoreFixture {
        let fixture = try await StoreFixture.make()
        _ = try await fixture.store.migrate(appliedBy: "test")
        return fixture
    }

    static let minute = LeasedTarget(name: "prod-east", length: .seconds(60))

    @Test("acquiring inserts the row at epoch 1, sets the holder; another replica cannot take an unexpired lease")
    func acquireAndExclude() async throws {
        let fixture = try await Self.migrated()
        let a = try Replica(fixture, name: "a")
        let b = try Replica(fixture, name: "b")
        let schema = fixture.settings.schema

        #expect(try await a.leases.acquire(Self.minute) == 1)
        #expect(
            try await fixture.sql("SELECT holder || ':' || epoch FROM \(schema).target_lease") == ["test-1-a:1"]
        )
        #expect(try await b.leases.acquire(Self.minute) == nil)
        #expect(try await a.leases.acquire(Self.minute) == nil, "held, even by itself: no second epoch")
        // Expiry is the database's: its own now() at the acquisition plus the length (no local clock involved).
        let length = try await fixture.sql(
            "SELECT (expires_at - acquired_at = interval '60 seconds' AND renewed_at = acquired_at)::text "
                + "FROM \(schema).target_lease"
        )
        #expect(length == ["true"])
        // Released: free at once, and the next acquisition raises the epoch.
        try await a.leases.release([LeaseRenewal(target: "prod-east", epoch: 1, length: .seconds(60))])
        #expect(try await b.leases.acquire(Self.minute) == 2)
        #expect(
            try await fixture.sql("SELECT holder || ':' || epoch FROM \(schema).target_lease") == ["test-1-b:2"]
        )
        await a.store.close()
        await b.store.close()
        await fixture.store.close()
    }

    @Test("a renewal with a stale epoch, by a non-holder, or of an expired lease updates nothing")
    func renewalScoped() async throws {
        let fixture = try await Self.migrated()
        let a = try Replica(fixture, name: "a")
        let b = try Replica(fixture, name: "b")
        let schema = fixture.settings.schema
        let epoch = try #require(try await a.leases.acquire(Self.minute))
        try await fixture.sql("UPDATE \(schema).target_lease SET renewed_at = now() - interval '1 hour'")
        func renewedAt() async throws -> [String?] {
            try await fixture.sql("SELECT (renewed_at > now() - interval '1 minute')::text FROM \(schema).target_lease")
        }

        let stale = LeaseRenewal(target: "prod-east", epoch: epoch - 1, length: .seconds(60))
        #expect(try await a.leases.renew([stale]).isEmpty)
        #expect(
            try await b.leases.renew([LeaseRenewal(target: "prod-east", epoch: epoch, length: .seconds(60))]).isEmpty
        )
        #expect(try await renewedAt() == ["false"], "neither touched the row")

        let current = LeaseRenewal(target: "prod-east", epoch: epoch, length: .seconds(60))
        #expect(try await a.leases.renew([current]) == ["prod-east"])
        #expect(try await renewedAt() == ["true"])

        // Expired: the holder's renewal comes too late and does not revive it.
        try await fixture.sql("UPDATE \(schema).target_lease SET expires_at = now() - interval '1 second'")
        #expect(try await a.leases.renew([current]).isEmpty)
        await a.store.close()
        await b.store.close()
        await fixture.store.close()
    }

    @Test("an expired lease is taken over at epoch + 1; the old holder's save is refused as fenced")
    func takeoverFencesTheOldHolder() async throws {
        let fixture = try await Self.migrated()
        let a = try Replica(fixture, name: "a")
        let b = try Replica(fixture, name: "b")
        let schema = fixture.settings.schema
        let first = try #require(try await a.leases.acquire(Self.minute))
        a.leases.fence(target: "prod-east", epoch: first)
        try await a.storage.saveTarget(PipelineStorageTests.record(1), name: "prod-east")

        // A paused past its lease: expired by the database's clock (no sleeping here).
        try await fixture.sql("UPDATE \(schema).target_lease SET expires_at = now() - interval '1 second'")
        let second = try #require(try await b.leases.acquire(Self.minute))
        #expect(second == first + 1)
        b.leases.fence(target: "prod-east", epoch: second)
        try await b.storage.saveTarget(PipelineStorageTests.record(2), name: "prod-east")

        // A wakes up still holding its old token: the write is refused and changes nothing.
        let refused = try await #require(throws: StorageError.self) {
            try await a.storage.saveTarget(PipelineStorageTests.record(3), name: "prod-east")
        }
        #expect(refused.kind == .fenced)
        #expect(try await b.storage.loadTarget("prod-east").value == PipelineStorageTests.record(2))
        #expect(
            try await fixture.sql("SELECT epoch::text FROM \(schema).target_record") == ["\(second)"]
        )
        await a.store.close()
        await b.store.close()
        await fixture.store.close()
    }

    @Test("fair share: coordinators over N targets converge to ceil(N / live) each, every target held once")
    func fairShareConverges() async throws {
        for (count, replicas) in [(6, 3), (5, 2), (7, 3)] {
            let fixture = try await Self.migrated()
            let targets = (1...count).map { LeasedTarget(name: "t\($0)", length: .seconds(600)) }
            let clock = ManualClock()
            var stores: [PostgresStore] = []
            var coordinators: [LeaseCoordinator] = []
            for index in 0..<replicas {
                let replica = try Replica(fixture, name: "r\(index)", clock: clock)
                stores.append(replica.store)
                coordinators.append(
                    LeaseCoordinator(
                        store: replica.leases,
                        targets: targets,
                        clock: clock,
                        logger: Logger(label: "test.lease"),
                        observe: { _ in }
                    )
                )
            }
            // The first replica starts alone and takes everything; the others join; cycles go round.
            await coordinators[0].cycle()
            #expect(await coordinators[0].held.count == count)
            var rounds = 0
            let share = LeaseBook.fairShare(targets: count, liveReplicas: replicas)
            while rounds < 4 * count {
                for coordinator in coordinators { await coordinator.cycle() }
                rounds += 1
                let held = await Self.heldCounts(coordinators)
                if held.allSatisfy({ $0 <= share }) && held.reduce(0, +) == count { break }
            }
            let held = await Self.heldCounts(coordinators)
            #expect(held.allSatisfy { $0 <= share }, "\(count) targets, \(replicas) replicas: \(held)")
            #expect(held.reduce(0, +) == count)
            if count % replicas == 0 { #expect(held.allSatisfy { $0 == share }) }
            // The database agrees: each target held by exactly one live holder.
            let rows = try await fixture.sql(
                "SELECT count(DISTINCT target)::text FROM \(fixture.settings.schema).target_lease "
                    + "WHERE expires_at > now() AND holder IS NOT NULL"
            )
            #expect(rows == ["\(count)"])
            for store in stores { await store.close() }
            await fixture.store.close()
        }
    }

    static func heldCounts(_ coordinators: [LeaseCoordinator]) async -> [Int] {
        var counts: [Int] = []
        for coordinator in coordinators { counts.append(await coordinator.held.count) }
        return counts
    }

    @Test("past the trust window: token withheld before any answer, poller kept; resumed once the database answers")
    func trustWindowRevokes() async throws {
        let fixture = try await Self.migrated()
        let clock = ManualClock()
        let replica = try Replica(fixture, name: "a", clock: clock)
        let gated = ObservedLeases(replica.leases)
        // Five minutes: the row stays valid in the database (real time) whatever the load; the manual clock moves.
        let target = LeasedTarget(name: "prod-east", length: .seconds(300))
        let changes = Recording<LeaseChange>()
        let poller = Mutex<Task<Void, Never>?>(nil)
        let coordinator = LeaseCoordinator(
            store: gated,
            targets: [target],
            clock: clock,
            logger: Logger(label: "test.lease"),
            random: { 0.5 },
            observe: { change in
                switch change {
                case .acquired:
                    // The poller: runs until cancelled (a stream nothing is ever yielded to ends only then).
                    let (never, kept) = AsyncStream.makeStream(of: Void.self)
                    poller.withLock {
                        $0 = Task {
                            for await _ in never {}
                            kept.finish()
                        }
                    }
                case .lost, .releasing:
                    poller.withLock { $0?.cancel() }
                case .suspended, .resumed:
                    break
                }
                changes.append(change)
            }
        )
        let running = Task { await coordinator.run() }
        #expect(
            try await changes.waitForCount(1, "acquisitions")
                == [.acquired(target: "prod-east", epoch: 1, atOnce: false)]
        )
        #expect(replica.epochs.token(for: "prod-east") == FencingToken(epoch: 1, holder: "test-1-a"))

        // The database stops answering renewals (a pause, a partition); the cycle's renewal hangs.
        await clock.sleepers(atLeast: 2)  // the cycle's pause and the watchdog
        gated.holdRenewals()
        let answered = gated.renewalsAnswered
        clock.advance(by: .seconds(100))
        try await gated.awaitRenewalStarted()
        // Past the trust window: 300 s × 0.9 after the acquisition's start.
        await clock.sleepers(atLeast: 1)
        clock.advance(by: .seconds(180))
        let all = try await changes.waitForCount(2, "changes")
        #expect(all.last == .suspended(target: "prod-east"))
        #expect(replica.epochs.token(for: "prod-east") == nil, "withheld")
        #expect(replica.epochs.suspension(of: "prod-east")?.contains("PostgreSQL does not answer") == true)
        #expect(poller.withLock { $0?.isCancelled } == false, "the poller goes on")
        #expect(gated.renewalsAnswered == answered, "all of it before the database answered")
        let refused = try await #require(throws: StorageError.self) {
            try await replica.storage.saveTarget(PipelineStorageTests.record(1), name: "prod-east")
        }
        #expect(refused.kind == .unreachable, "held back, not fenced")

        // The late answer: the row is still this replica's at epoch 1, so the lease is resumed at it.
        gated.releaseRenewals()
        let resumed = try await changes.waitForCount(3, "changes")
        #expect(resumed.last == .resumed(target: "prod-east", epoch: 1))
        #expect(await coordinator.held == ["prod-east": 1])
        #expect(replica.epochs.token(for: "prod-east") == FencingToken(epoch: 1, holder: "test-1-a"))
        #expect(poller.withLock { $0?.isCancelled } == false)
        running.cancel()
        await running.value
        await replica.store.close()
        await fixture.store.close()
    }

    @Test("a graceful release wakes another replica through NOTIFY; it acquires without waiting for expiry")
    func releaseWakesOthers() async throws {
        let fixture = try await Self.migrated()
        let clock = ManualClock()
        let a = try Replica(fixture, name: "a", clock: clock)
        let b = try Replica(fixture, name: "b", clock: clock)
        let observedB = ObservedLeases(b.leases)
        // An hour: only the release can free it within the test.
        let targets = [LeasedTarget(name: "prod-east", length: .seconds(3600))]
        let changesB = Recording<LeaseChange>()
        let coordinatorA = LeaseCoordinator(
            store: a.leases,
            targets: targets,
            clock: clock,
            logger: Logger(label: "test.lease.a"),
            observe: { _ in }
        )
        let coordinatorB = LeaseCoordinator(
            store: observedB,
            targets: targets,
            clock: clock,
            logger: Logger(label: "test.lease.b"),
            observe: { changesB.append($0) }
        )
        await coordinatorA.cycle()
        #expect(await coordinatorA.held == ["prod-east": 1])
        let runningB = Task { await coordinatorB.run() }
        try await observedB.awaitListening()
        await clock.sleepers(atLeast: 2)  // B's first cycle ended (it found the lease held): later ones take over
        // B's cycles see the lease held; the manual clock never moves, so only a wake-up makes B look again.
        await coordinatorA.resign(leaving: true)
        #expect(a.epochs.token(for: "prod-east") == nil)
        let seen = try await changesB.waitForCount(1, "acquisitions by B")
        #expect(seen == [.acquired(target: "prod-east", epoch: 2, atOnce: true)], "a takeover polls at once")
        #expect(b.epochs.token(for: "prod-east") == FencingToken(epoch: 2, holder: "test-1-b"))
        #expect(
            try await fixture.sql("SELECT replica_id FROM \(fixture.settings.schema).replica") == ["test-1-b"],
            "A left the live set"
        )
        runningB.cancel()
        await runningB.value
        await a.store.close()
        await b.store.close()
        await fixture.store.close()
    }
}

extension LeaseTests {
    @Test("a follower below its share cycles when the database says a lease held elsewhere becomes takeable")
    func followerCyclesAtTakeover() async throws {
        let fixture = try await Self.migrated()
        let schema = fixture.settings.schema
        let clock = ManualClock()
        let a = try Replica(fixture, name: "a", clock: clock)
        let b = try Replica(fixture, name: "b", clock: clock)
        let observedB = ObservedLeases(b.leases, quiet: true)
        // Lengths of five minutes: a cycle every 100 s, a replica live for 300 s after its heartbeat.
        let targets = ["t1", "t2"].map { LeasedTarget(name: $0, length: .seconds(300)) }
        let coordinatorA = LeaseCoordinator(
            store: a.leases,
            targets: targets,
            clock: clock,
            logger: Logger(label: "test.lease.a"),
            observe: { _ in }
        )
        await coordinatorA.cycle()
        #expect(await coordinatorA.held.count == 2, "alone, A takes both")
        // A stops renewing (killed): by the database's clock its leases expire in 20 s, its heartbeat stops
        // counting in 10 s.
        try await fixture.sql("UPDATE \(schema).target_lease SET expires_at = now() + interval '20 seconds'")
        try await fixture.sql("UPDATE \(schema).replica SET heartbeat_at = now() - interval '290 seconds'")

        let changesB = Recording<LeaseChange>()
        let coordinatorB = LeaseCoordinator(
            store: observedB,
            targets: targets,
            clock: clock,
            logger: Logger(label: "test.lease.b"),
            random: { 0.5 },
            observe: { changesB.append($0) }
        )
        let running = Task { await coordinatorB.run() }
        await clock.sleepers(atLeast: 2)  // the cycle's pause and the watchdog
        let survey = try #require(observedB.surveys.first)
        #expect(observedB.surveys.count == 1)
        #expect(survey.liveReplicas == 2, "A still counts: B holds its share of one, and waits")
        let reported = try #require(survey.heldElsewhere.values.min())
        #expect(reported > .seconds(10) && reported <= .seconds(20), "the later of expiry and heartbeat: \(reported)")
        // The pause ends when the database said, not a cycle period (100 s) later.
        #expect(clock.advanceToNextDeadline() == reported + LeaseCoordinator.takeoverMargin)
        #expect(changesB.count == 0, "nothing taken before the database's expiry")
        running.cancel()
        await running.value
        await a.store.close()
        await b.store.close()
        await fixture.store.close()
    }
}

/// The real lease table with two things a test can see: renewals held at a gate (a database that stopped
/// answering), and the moment the listener is listening.
final class ObservedLeases: LeaseStore {
    private struct State {
        var holding = false
        var gate: [CheckedContinuation<Void, Never>] = []
        var started: [CheckedContinuation<Void, Never>] = []
        var renewalsStarted = 0
        var renewalsAnswered = 0
        var listening = false
        var listeners: [CheckedContinuation<Void, Never>] = []
        var surveys: [LeaseSurvey] = []
        var cut = false
    }

    private let base: PostgresLeases
    private let state = Mutex(State())
    private let quiet: Bool

    /// - Parameter quiet: Whether it never listens for released leases (nothing wakes the cycle early).
    init(_ base: PostgresLeases, quiet: Bool = false) {
        self.base = base
        self.quiet = quiet
    }

    var holder: String { self.base.holder }
    var renewalsAnswered: Int { self.state.withLock { $0.renewalsAnswered } }

    func holdRenewals() { self.state.withLock { $0.holding = true } }

    func releaseRenewals() {
        let gate = self.state.withLock { state in
            state.holding = false
            defer { state.gate = [] }
            return state.gate
        }
        for waiter in gate { waiter.resume() }
    }

    func awaitRenewalStarted() async throws {
        try await awaitEvent("a renewal held at the gate") {
            await withCheckedContinuation { continuation in
                let ready = self.state.withLock { state in
                    if !state.gate.isEmpty { return true }
                    state.started.append(continuation)
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }

    func awaitListening() async throws {
        try await awaitEvent("the listener") {
            await withCheckedContinuation { continuation in
                let ready = self.state.withLock { state in
                    if state.listening { return true }
                    state.listeners.append(continuation)
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }

    func survey(targets: [String], liveWithin: Duration) async throws(StorageError) -> LeaseSurvey {
        try self.check()
        let survey = try await self.base.survey(targets: targets, liveWithin: liveWithin)
        self.state.withLock { $0.surveys.append(survey) }
        return survey
    }

    /// Every survey's answer, in order.
    var surveys: [LeaseSurvey] { self.state.withLock { $0.surveys } }

    /// Makes every call fail as unreachable (a database that is down), or answer again.
    func cut(_ cut: Bool) { self.state.withLock { $0.cut = cut } }

    private func check() throws(StorageError) {
        if self.state.withLock({ $0.cut }) {
            throw StorageError(reason: "cannot reach PostgreSQL (test)", kind: .unreachable)
        }
    }

    func resume(_ target: LeasedTarget, epoch: Int64) async throws(StorageError) -> LeaseResumption {
        try self.check()
        return try await self.base.resume(target, epoch: epoch)
    }

    func suspend(target: String) { self.base.suspend(target: target) }

    func acquire(_ target: LeasedTarget) async throws(StorageError) -> Int64? {
        try self.check()
        return try await self.base.acquire(target)
    }

    func renew(_ leases: [LeaseRenewal]) async throws(StorageError) -> Set<String> {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let (held, started) = self.state.withLock { state -> (Bool, [CheckedContinuation<Void, Never>]) in
                state.renewalsStarted += 1
                guard state.holding else { return (false, []) }
                state.gate.append(continuation)
                defer { state.started = [] }
                return (true, state.started)
            }
            for waiter in started { waiter.resume() }
            if !held { continuation.resume() }
        }
        try self.check()
        let renewed = try await self.base.renew(leases)
        self.state.withLock { $0.renewalsAnswered += 1 }
        return renewed
    }

    func release(_ leases: [LeaseRenewal]) async throws(StorageError) { try await self.base.release(leases) }
    func releaseAll(leaving: Bool) async throws(StorageError) { try await self.base.releaseAll(leaving: leaving) }
    func fence(target: String, epoch: Int64) { self.base.fence(target: target, epoch: epoch) }
    func unfence(target: String) { self.base.unfence(target: target) }

    func listenForReleases(_ wake: @escaping @Sendable () -> Void) async {
        if self.quiet {
            // Until cancelled: an iteration of a stream that never yields ends with the task.
            let (never, _) = AsyncStream<Void>.makeStream()
            for await _ in never {}
            return
        }
        await self.base.listenForReleases {
            let listeners = self.state.withLock { state in
                state.listening = true
                defer { state.listeners = [] }
                return state.listeners
            }
            for listener in listeners { listener.resume() }
            wake()
        }
    }
}
