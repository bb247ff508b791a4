/// The leases one replica holds and what it should do about them: a value type that ``LeaseCoordinator`` drives on
/// a monotonic clock, so every rule (trust window, fair share, which lease to give up) is tested without one.
///
/// Times here are durations on the coordinator's stopwatch (monotonic, local). They only ever decide when this
/// replica stops trusting itself; whether a lease is free, held or expired is the database's word.
package struct LeaseBook: Sendable, Hashable {
    /// A lease this replica holds.
    package struct Lease: Sendable, Hashable {
        /// Its epoch: the fencing token the database issued.
        package var epoch: Int64
        /// How long an acquisition or renewal holds it.
        package var length: Duration
        /// Until when this replica trusts that it still holds it: the start of the last confirmed acquisition or
        /// renewal, plus the length, minus a safety margin.
        package var trustedUntil: Duration
        /// The order of acquisition, to give up the newest first.
        package var order: Int
    }

    /// A lease whose trust window passed without a confirmed renewal (the database did not answer, or the
    /// process was paused): its token is withheld, but its poller goes on observing, and the lease is given back
    /// to it when the database answers again and nobody else held the target meanwhile.
    package struct Suspension: Sendable, Hashable {
        /// The epoch it was held at.
        package var epoch: Int64
        /// Its length.
        package var length: Duration
        /// The order of its acquisition: suspended leases are resumed oldest first.
        package var order: Int
        /// Until when it may stay suspended once the database answers again; `nil` while it does not.
        package var resolveBy: Duration?
    }

    /// What a cycle should do after its survey.
    package enum Plan: Sendable, Hashable {
        /// Nothing: this replica holds its fair share.
        case hold
        /// Try these targets in order until `count` are acquired.
        case acquire([LeasedTarget], count: Int)
        /// Give this lease up: the replica holds more than its share.
        case release(String)
    }

    /// The leases held, by target.
    package private(set) var held: [String: Lease] = [:]
    /// The suspended leases, by target.
    package private(set) var suspended: [String: Suspension] = [:]
    private let targets: [LeasedTarget]
    private var acquisitions = 0

    /// Makes an empty book.
    /// - Parameter targets: The configured targets, each with its lease length.
    package init(targets: [LeasedTarget]) {
        self.targets = targets
    }

    /// The most leases one replica takes: `ceil(targets / live replicas)`.
    package static func fairShare(targets: Int, liveReplicas: Int) -> Int {
        let live = max(liveReplicas, 1)
        return (targets + live - 1) / live
    }

    /// How long after the start of a confirmed acquisition or renewal the lease is trusted: its length minus a
    /// tenth, so that a local clock running a little fast or a slow answer never lets this replica act on a
    /// lease the database already expired.
    package static func trustWindow(length: Duration) -> Duration {
        length - length / 10
    }

    /// How often a cycle runs: a third of the shortest lease, so a lease is renewed twice before it could expire.
    package var cyclePeriod: Duration {
        (self.targets.map(\.length).min() ?? .seconds(15)) / 3
    }

    /// How recent a heartbeat must be for its replica to count as live: three cycles, one lease length. A dead
    /// replica stops counting as soon as its leases expire, so the survivors' share grows in time to take them.
    package var liveWindow: Duration {
        self.cyclePeriod * 3
    }

    /// The earliest time a held lease stops being trusted, or a suspended one must be resolved by.
    package var nextTrustDeadline: Duration? {
        (self.held.values.map(\.trustedUntil) + self.suspended.values.compactMap(\.resolveBy)).min()
    }

    /// Suspends every lease no longer trusted at `now`.
    /// - Returns: Their targets, sorted: the caller withholds their tokens before anything else.
    package mutating func suspendDistrusted(at now: Duration) -> [String] {
        let expired = self.held.filter { $0.value.trustedUntil <= now }.keys.sorted()
        for target in expired {
            guard let lease = self.held.removeValue(forKey: target) else { continue }
            self.suspended[target] = Suspension(epoch: lease.epoch, length: lease.length, order: lease.order)
        }
        return expired
    }

    /// The database answered at `now`: each suspended lease must be resolved (resumed, replaced or given up)
    /// within one lease length from the first answer.
    package mutating func storeAnswered(at now: Duration) {
        for (target, suspension) in self.suspended where suspension.resolveBy == nil {
            self.suspended[target]?.resolveBy = now + suspension.length
        }
    }

    /// Gives up every suspended lease not resolved in time.
    /// - Returns: Their targets, sorted.
    package mutating func dropUnresolved(at now: Duration) -> [String] {
        let late = self.suspended.filter { ($0.value.resolveBy ?? .seconds(Int64.max)) <= now }.keys.sorted()
        for target in late { self.suspended.removeValue(forKey: target) }
        return late
    }

    /// The suspended leases in the order they are resumed (oldest acquisition first), and those beyond the room
    /// the fair share leaves, which are given up.
    /// - Parameter survey: The database's answer.
    package func resumptions(after survey: LeaseSurvey) -> (resume: [String], beyondShare: [String]) {
        let share = Self.fairShare(targets: self.targets.count, liveReplicas: survey.liveReplicas)
        let room = max(share - self.held.count, 0)
        let ordered = self.suspended.sorted { ($0.value.order, $0.key) < ($1.value.order, $1.key) }.map(\.key)
        return (Array(ordered.prefix(room)), Array(ordered.dropFirst(room)))
    }

    /// A suspended lease is held again at `epoch`, trusted from `startedAt`, keeping its order.
    package mutating func resumed(_ target: String, epoch: Int64, startedAt: Duration) {
        guard let suspension = self.suspended.removeValue(forKey: target) else { return }
        self.held[target] = Lease(
            epoch: epoch,
            length: suspension.length,
            trustedUntil: startedAt + Self.trustWindow(length: suspension.length),
            order: suspension.order
        )
    }

    /// Forgets a suspended lease (taken by another replica, or given up).
    /// - Returns: The suspension, when there was one.
    @discardableResult
    package mutating func dropSuspended(_ target: String) -> Suspension? {
        self.suspended.removeValue(forKey: target)
    }

    /// Whether a cycle should run before its period: this replica would be below its fair share once the
    /// holder of the earliest lease held elsewhere dropped out, and that lease becomes takeable sooner.
    /// - Parameter survey: The database's answer.
    /// - Returns: How long after the survey the lease becomes takeable, or `nil` for no early cycle.
    package func earlyTakeover(after survey: LeaseSurvey) -> Duration? {
        guard let earliest = survey.heldElsewhere.values.min() else { return nil }
        let share = Self.fairShare(targets: self.targets.count, liveReplicas: max(survey.liveReplicas - 1, 1))
        guard self.held.count + self.suspended.count < share else { return nil }
        return max(earliest, .zero)
    }

    /// The renewals of every held lease.
    package var renewals: [LeaseRenewal] {
        self.held.sorted { $0.key < $1.key }.map {
            LeaseRenewal(target: $0.key, epoch: $0.value.epoch, length: $0.value.length)
        }
    }

    /// Records a renewal's answer: each lease renewed is trusted from the renewal's start; each asked for and
    /// not renewed is lost (unless it was already dropped, or is now held at another epoch).
    /// - Parameters:
    ///   - asked: The renewals sent.
    ///   - confirmed: The targets the database renewed.
    ///   - startedAt: When the renewal was started.
    /// - Returns: The targets lost, sorted.
    package mutating func renewed(
        _ asked: [LeaseRenewal],
        confirmed: Set<String>,
        startedAt: Duration
    ) -> [String] {
        var lost: [String] = []
        for renewal in asked {
            guard var lease = self.held[renewal.target], lease.epoch == renewal.epoch else { continue }
            if confirmed.contains(renewal.target) {
                lease.trustedUntil = max(lease.trustedUntil, startedAt + Self.trustWindow(length: lease.length))
                self.held[renewal.target] = lease
            } else {
                self.held.removeValue(forKey: renewal.target)
                lost.append(renewal.target)
            }
        }
        return lost.sorted()
    }

    /// What to do after a survey: take free or expired leases while below the fair share, give the newest one up
    /// while above it (one per cycle: moves stay slow and never thrash).
    /// - Parameters:
    ///   - survey: The database's answer.
    ///   - holder: This replica's id, to order the candidates differently on every replica.
    package func plan(after survey: LeaseSurvey, holder: String) -> Plan {
        let share = Self.fairShare(targets: self.targets.count, liveReplicas: survey.liveReplicas)
        if self.held.count + self.suspended.count > share {
            guard let newest = self.held.max(by: { $0.value.order < $1.value.order }) else { return .hold }
            return .release(newest.key)
        }
        let wanted = share - self.held.count - self.suspended.count
        let candidates = self.targets.filter {
            survey.available.contains($0.name) && self.held[$0.name] == nil && self.suspended[$0.name] == nil
        }
        guard wanted > 0, !candidates.isEmpty else { return .hold }
        // Each replica tries the free targets in an order of its own, so replicas starting together mostly try
        // different rows instead of all racing for the first.
        let ordered = candidates.sorted {
            (Self.rank(holder, $0.name), $0.name) < (Self.rank(holder, $1.name), $1.name)
        }
        return .acquire(ordered, count: wanted)
    }

    /// Records an acquisition: trusted from its start.
    package mutating func acquired(_ target: LeasedTarget, epoch: Int64, startedAt: Duration) {
        self.acquisitions += 1
        self.held[target.name] = Lease(
            epoch: epoch,
            length: target.length,
            trustedUntil: startedAt + Self.trustWindow(length: target.length),
            order: self.acquisitions
        )
    }

    /// Forgets a lease (released, or known lost).
    /// - Returns: The lease, when it was held.
    @discardableResult
    package mutating func drop(_ target: String) -> Lease? {
        self.held.removeValue(forKey: target)
    }

    /// A stable pseudo-random rank of a target for a replica (FNV-1a): the same on every run, different per replica.
    private static func rank(_ holder: String, _ target: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in holder.utf8 + [0] + target.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}
