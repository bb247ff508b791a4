/// A target this replica may hold, with the length of its lease.
package struct LeasedTarget: Sendable, Hashable {
    /// The target's name (the lease's key).
    package var name: String
    /// How long one acquisition or renewal holds the lease, on the database's clock.
    package var length: Duration

    /// Makes a target.
    package init(name: String, length: Duration) {
        self.name = name
        self.length = length
    }

    /// The default lease length for a poll interval: one and a half intervals, so one late poll does not lose it.
    package static func defaultLength(pollInterval: Duration) -> Duration {
        pollInterval * 1.5
    }
}

/// A held lease to renew: scoped to its epoch, so a renewal never revives a lease that was lost and taken.
package struct LeaseRenewal: Sendable, Hashable {
    /// The target.
    package var target: String
    /// The epoch this replica holds it at.
    package var epoch: Int64
    /// How long the renewal holds it.
    package var length: Duration

    /// Makes a renewal.
    package init(target: String, epoch: Int64, length: Duration) {
        self.target = target
        self.epoch = epoch
        self.length = length
    }
}

/// What one look at the lease table found, as the database's clock sees it.
package struct LeaseSurvey: Sendable, Hashable {
    /// How many replicas heartbeat recently, this one included.
    package var liveReplicas: Int
    /// Of the targets asked about, those free (no row, or no holder) or expired.
    package var available: Set<String>
    /// Of the targets asked about, those another replica holds (unexpired), each with how long until it could be
    /// taken over: until its lease expires and its holder's heartbeat is too old to count it as live, both as the
    /// database's clock measures them when it answered.
    package var heldElsewhere: [String: Duration]

    /// Makes a survey.
    package init(liveReplicas: Int, available: Set<String>, heldElsewhere: [String: Duration] = [:]) {
        self.liveReplicas = liveReplicas
        self.available = available
        self.heldElsewhere = heldElsewhere
    }
}

/// What ``LeaseStore/resume(_:epoch:)`` found for a suspended lease.
package enum LeaseResumption: Sendable, Hashable {
    /// The lease is this replica's again at `epoch` (renewed at the same epoch, or acquired at the next one), and
    /// nobody held or wrote the target meanwhile: the same poller goes on, its held-back records written at `epoch`.
    case continued(epoch: Int64)
    /// The lease is this replica's again at `epoch`, but another replica held or wrote the target meanwhile: what
    /// the suspended poller observed is stale; a fresh poller must load the stored record.
    case reacquired(epoch: Int64)
    /// Another replica holds it.
    case taken
}

/// The shared table of per-target leases that ``LeaseCoordinator`` drives, and the local fence that goes with it.
///
/// The database is the only judge: every time is its `now()`, acquiring raises the epoch (the fencing token),
/// renewal is scoped to holder and epoch. `PostgresStore.PostgresLeases` is the implementation; the pipeline does
/// not know PostgreSQL.
package protocol LeaseStore: Sendable {
    /// This replica's id, the leases' `holder`.
    var holder: String { get }

    /// Heartbeats this replica (registering it on the first call), counts the live replicas and says which of
    /// `targets` are free or expired.
    /// - Parameters:
    ///   - targets: The configured targets.
    ///   - liveWithin: How recent a heartbeat must be for its replica to count as live.
    /// - Throws: ``StorageError`` when the database cannot be asked.
    func survey(targets: [String], liveWithin: Duration) async throws(StorageError) -> LeaseSurvey

    /// Takes `target`'s lease when it is free or expired (inserting its row when it has none), raising its epoch.
    /// - Returns: The new epoch, or `nil` when another replica holds it.
    func acquire(_ target: LeasedTarget) async throws(StorageError) -> Int64?

    /// Renews held leases, each only while this replica still holds it at its epoch and it has not expired.
    /// - Returns: The targets renewed; one missing was lost.
    func renew(_ leases: [LeaseRenewal]) async throws(StorageError) -> Set<String>

    /// Expires these held leases at once (each at its epoch) and wakes the other replicas.
    func release(_ leases: [LeaseRenewal]) async throws(StorageError)

    /// Expires every lease this replica holds, and, when `leaving`, removes it from the live replicas; wakes the
    /// others.
    func releaseAll(leaving: Bool) async throws(StorageError)

    /// Gives a suspended lease back to this replica if it can be: renews it when the database still has it at
    /// `epoch`, else acquires it when it is free or expired, and says whether anybody else held or wrote the target
    /// since. Grants no token (the caller fences after).
    /// - Parameters:
    ///   - target: The target.
    ///   - epoch: The epoch the lease was held at when it was suspended.
    func resume(_ target: LeasedTarget, epoch: Int64) async throws(StorageError) -> LeaseResumption

    /// Lets this instance write for `target` with `epoch` (the local side of the fence).
    func fence(target: String, epoch: Int64)

    /// Withholds the token of `target` while its lease cannot be confirmed: writes for it are refused locally as
    /// ``StorageError/Kind/unreachable`` (kept for later, not fenced) until ``fence(target:epoch:)`` or
    /// ``unfence(target:)``.
    func suspend(target: String)

    /// Forbids this instance to write for `target`, at once.
    func unfence(target: String)

    /// Calls `wake` whenever a replica releases leases, until the task is cancelled; reconnects after errors.
    /// A hint only: a wake-up can be lost, and polling stays the source of truth.
    func listenForReleases(_ wake: @escaping @Sendable () -> Void) async
}
