import Pipeline
import Testing

@Suite("the lease book: fair share, trust window, renewals, what a cycle does")
struct LeaseBookTests {
    static let targets = (1...5).map { LeasedTarget(name: "t\($0)", length: .seconds(3)) }

    @Test("the fair share is ceil(targets / live replicas); no live replica counts as one")
    func fairShare() {
        #expect(LeaseBook.fairShare(targets: 6, liveReplicas: 3) == 2)
        #expect(LeaseBook.fairShare(targets: 7, liveReplicas: 3) == 3)
        #expect(LeaseBook.fairShare(targets: 5, liveReplicas: 2) == 3)
        #expect(LeaseBook.fairShare(targets: 2, liveReplicas: 5) == 1)
        #expect(LeaseBook.fairShare(targets: 4, liveReplicas: 0) == 4)
    }

    @Test("the lease length defaults to 1.5 poll intervals, a cycle is a third of it, the live window one length")
    func timing() {
        #expect(LeasedTarget.defaultLength(pollInterval: .seconds(2)) == .seconds(3))
        let book = LeaseBook(targets: Self.targets + [LeasedTarget(name: "slow", length: .seconds(30))])
        #expect(book.cyclePeriod == .seconds(1))
        #expect(book.liveWindow == .seconds(3))
        #expect(LeaseBook.trustWindow(length: .seconds(3)) == .milliseconds(2700))
    }

    @Test("below the share it acquires free targets in a replica's own order; above it, releases the newest")
    func plan() {
        var book = LeaseBook(targets: Self.targets)
        let all = Set(Self.targets.map(\.name))
        guard
            case .acquire(let first, let count) = book.plan(
                after: LeaseSurvey(liveReplicas: 2, available: all),
                holder: "a"
            )
        else {
            Issue.record("expected an acquisition")
            return
        }
        #expect(count == 3)
        #expect(Set(first.map(\.name)) == all)
        guard case .acquire(let other, _) = book.plan(after: LeaseSurvey(liveReplicas: 2, available: all), holder: "b")
        else {
            Issue.record("expected an acquisition")
            return
        }
        #expect(other.map(\.name) != first.map(\.name), "replicas try the free rows in different orders")
        for (index, target) in Self.targets.enumerated() {
            book.acquired(target, epoch: 1, startedAt: .seconds(index))
        }
        // Alone it keeps all five; with a second replica live, it gives up the newest, one per cycle.
        #expect(book.plan(after: LeaseSurvey(liveReplicas: 1, available: []), holder: "a") == .hold)
        #expect(book.plan(after: LeaseSurvey(liveReplicas: 2, available: []), holder: "a") == .release("t5"))
        book.drop("t5")
        #expect(book.plan(after: LeaseSurvey(liveReplicas: 2, available: []), holder: "a") == .release("t4"))
    }

    @Test("trust runs from the start of the last confirmed renewal; an unconfirmed renewal loses the lease")
    func trustAndRenewal() {
        var book = LeaseBook(targets: Self.targets)
        book.acquired(Self.targets[0], epoch: 4, startedAt: .zero)
        book.acquired(Self.targets[1], epoch: 7, startedAt: .zero)
        #expect(book.nextTrustDeadline == .milliseconds(2700))
        #expect(book.suspendDistrusted(at: .milliseconds(2699)).isEmpty)

        let asked = book.renewals
        #expect(asked.map(\.epoch) == [4, 7])
        let lost = book.renewed(asked, confirmed: ["t1"], startedAt: .seconds(1))
        #expect(lost == ["t2"])
        #expect(book.held["t1"]?.trustedUntil == .milliseconds(3700))
        #expect(book.held["t2"] == nil)
        // A renewal of an epoch no longer held does not revive anything.
        book.drop("t1")
        book.acquired(Self.targets[0], epoch: 5, startedAt: .seconds(2))
        #expect(book.renewed(asked, confirmed: ["t1", "t2"], startedAt: .seconds(3)).isEmpty)
        #expect(book.held["t1"]?.trustedUntil == .milliseconds(4700))
        // No confirmation in time: suspended by the clock alone, its epoch kept for the resumption.
        #expect(book.suspendDistrusted(at: .milliseconds(4700)) == ["t1"])
        #expect(book.held.isEmpty)
        #expect(book.suspended["t1"]?.epoch == 5)
    }

    @Test("suspended leases are resumed oldest first within the fair share, and must be resolved in a lease length")
    func suspensions() {
        var book = LeaseBook(targets: Self.targets)
        for (index, target) in Self.targets.prefix(3).enumerated() {
            book.acquired(target, epoch: Int64(index + 1), startedAt: .zero)
        }
        #expect(book.suspendDistrusted(at: .seconds(3)) == ["t1", "t2", "t3"])
        // Counted against the share: nothing new is taken while they are suspended.
        let all = Set(Self.targets.map(\.name))
        #expect(book.plan(after: LeaseSurvey(liveReplicas: 2, available: all), holder: "a") == .hold)
        let (resume, beyond) = book.resumptions(after: LeaseSurvey(liveReplicas: 3, available: []))
        #expect(resume == ["t1", "t2"])
        #expect(beyond == ["t3"])
        // The store answers at 10 s: each must be resolved within its length (3 s).
        #expect(book.dropUnresolved(at: .seconds(100)).isEmpty, "not while the store does not answer")
        book.storeAnswered(at: .seconds(10))
        #expect(book.nextTrustDeadline == .seconds(13))
        book.resumed("t1", epoch: 2, startedAt: .seconds(10))
        #expect(book.held["t1"]?.epoch == 2)
        #expect(book.held["t1"]?.trustedUntil == .milliseconds(12700))
        #expect(book.dropUnresolved(at: .seconds(13)) == ["t2", "t3"])
        #expect(book.suspended.isEmpty)
    }

    @Test("a follower below the share it would have without the earliest holder cycles when that lease is takeable")
    func earlyTakeover() {
        var book = LeaseBook(targets: Self.targets)
        let elsewhere: [String: Duration] = ["t1": .milliseconds(900), "t2": .milliseconds(400)]
        // 5 targets, 3 live: share 2; without one holder, 3. Holding 2, it would be below: cycle at 400 ms.
        book.acquired(Self.targets[3], epoch: 1, startedAt: .zero)
        book.acquired(Self.targets[4], epoch: 1, startedAt: .zero)
        let survey = LeaseSurvey(liveReplicas: 3, available: [], heldElsewhere: elsewhere)
        #expect(book.earlyTakeover(after: survey) == .milliseconds(400))
        // Alone (1 live): its share is every target whoever drops out; nothing held elsewhere: no early cycle.
        #expect(book.earlyTakeover(after: LeaseSurvey(liveReplicas: 1, available: [])) == nil)
        // Holding all 5 with 2 live: at its share even without the other.
        book.acquired(Self.targets[2], epoch: 1, startedAt: .zero)
        book.acquired(Self.targets[1], epoch: 1, startedAt: .zero)
        book.acquired(Self.targets[0], epoch: 1, startedAt: .zero)
        #expect(book.earlyTakeover(after: LeaseSurvey(liveReplicas: 2, available: [], heldElsewhere: elsewhere)) == nil)
    }
}
