package import Logging
package import Support

/// What happened to one of this replica's leases, for the daemon (start or stop the target's poller) and metrics.
package enum LeaseChange: Sendable, Hashable {
    /// The lease was acquired at this epoch: the target may be polled and written for by a fresh poller (loaded
    /// from the store). `atOnce`: its first poll comes at once (a takeover), not at a random phase (the first
    /// start of the replica, which spreads the polls).
    case acquired(target: String, epoch: Int64, atOnce: Bool)
    /// The lease's trust window passed without a confirmed renewal: its token is withheld (writes are refused
    /// as unreachable, and kept), but the poller goes on observing until the lease is resumed or lost.
    case suspended(target: String)
    /// A suspended lease is held again at `epoch`, and nobody else held or wrote the target meanwhile: the same
    /// poller goes on and writes what it kept under the new token.
    case resumed(target: String, epoch: Int64)
    /// The lease is lost (a renewal updated nothing, another replica took a suspended lease, a write was
    /// fenced): the token is already revoked; stop polling the target at once.
    case lost(target: String, why: LossReason)
    /// The lease is about to be given up (above the fair share, or a stop): stop polling the target and wait for
    /// the poller to end; the token is revoked and the lease released after.
    case releasing(target: String)

    /// Why a lease was lost.
    package enum LossReason: String, Sendable, Hashable {
        /// A renewal found no row with this holder and epoch unexpired: another replica took it, or it expired.
        case renewalRefused = "renewal_refused"
        /// A suspended lease was held or written by another replica meanwhile.
        case takenOver = "taken_over"
        /// A suspended lease was not resumed in time once the database answered again (above the fair share).
        case notResumed = "not_resumed"
        /// A write for the target was refused by the fence.
        case fenced = "fenced"
    }
}

/// Holds this replica's share of the per-target leases: renews them, takes free or expired ones while below the
/// fair share, gives up the newest while above it, and stops trusting a lease on its own clock before the
/// database could expire it.
///
/// Three loops run in ``run()``: the cycle (renew, survey, resume, acquire or release, every
/// ``LeaseBook/cyclePeriod``, earlier when another replica releases or when a lease held elsewhere becomes
/// takeable sooner), the trust watchdog (on the monotonic clock, independent of any database answer: a lease past
/// its trust window is suspended, its token withheld, even while a renewal hangs), and the wake-up listener.
///
/// A suspended lease keeps its poller: when the database answers again it is resumed first (within the fair
/// share), and the same poller goes on only when nobody else held or wrote the target meanwhile; otherwise the
/// poller is replaced by a fresh one, or stopped when another replica holds the target.
///
/// Every acquisition is fenced (``LeaseStore/fence(target:epoch:)``) before
/// ``LeaseChange/acquired(target:epoch:atOnce:)`` is told; every loss is unfenced before anything else happens.
package actor LeaseCoordinator {
    /// Told of every change, in order, on the coordinator: keep it quick (start or cancel a task).
    package typealias Observer = @Sendable (LeaseChange) -> Void
    /// Told before a lease is released, and awaited: stop the target's poller so its last write still holds
    /// the lease.
    package typealias Releasing = @Sendable (String) async -> Void

    /// How long after a lease held elsewhere becomes takeable (by the database's word) an early cycle runs: the
    /// database's answer took a little time to arrive, and a cycle a few milliseconds early finds it still held.
    package static let takeoverMargin = Duration.milliseconds(5)

    private let store: any LeaseStore
    private let clock: any ObwatchClock
    private let stopwatch: Stopwatch
    private let logger: Logger
    private let random: @Sendable () -> Double
    private let observe: Observer
    private let beforeRelease: Releasing
    private var book: LeaseBook
    private let targets: [LeasedTarget]
    /// The cycle's pause; a wake-up cancels it.
    private var nap: Task<Void, Never>?
    /// A wake-up that came while no pause was running: the next pause is skipped.
    private var rung = false
    /// Set once ``resign(leaving:)`` ran: no more acquisitions.
    private var resigned = false
    /// Whether the last cycle could reach the store, to log a failing spell once.
    private var failing = false
    /// Set after the first cycle the store answered: acquisitions after it are takeovers, polled at once.
    private var started = false
    /// After a spell in which the store did not answer, until when (on the stopwatch) only this replica's own
    /// suspended leases are taken back: every replica was cut off alike, and each resumes its own first.
    private var recoveringUntil: Duration?
    /// When (on the stopwatch) the next cycle runs early, to take over a lease as soon as it is takeable.
    private var earlyCycle: Duration?

    /// Makes a coordinator; nothing happens until ``run()``.
    /// - Parameters:
    ///   - store: The lease table and the local fence.
    ///   - targets: The configured targets with their lease lengths.
    ///   - clock: What the cycle and the trust window run on.
    ///   - logger: Where acquisitions, losses and store failures are logged.
    ///   - random: Numbers in `0..<1`, to jitter the cycle by ±10 % (replicas started together spread out).
    ///   - observe: Told of every change.
    ///   - beforeRelease: Awaited before a lease is given up, and before a suspended target's poller is replaced.
    package init(
        store: any LeaseStore,
        targets: [LeasedTarget],
        clock: any ObwatchClock,
        logger: Logger,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        observe: @escaping Observer,
        beforeRelease: @escaping Releasing = { _ in }
    ) {
        self.store = store
        self.clock = clock
        self.stopwatch = Stopwatch(clock)
        self.logger = logger
        self.random = random
        self.observe = observe
        self.beforeRelease = beforeRelease
        self.targets = targets
        self.book = LeaseBook(targets: targets)
    }

    /// The leases held now: target to epoch.
    package var held: [String: Int64] {
        self.book.held.mapValues(\.epoch)
    }

    /// The suspended leases now: target to the epoch they were held at.
    package var suspended: [String: Int64] {
        self.book.suspended.mapValues(\.epoch)
    }

    /// Runs the cycle, the trust watchdog and the wake-up listener until the task is cancelled.
    package func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.watchTrust() }
            group.addTask {
                await self.store.listenForReleases { [weak self] in
                    guard let self else { return }
                    Task { await self.wake() }
                }
            }
            group.addTask { await self.cycleLoop() }
            await group.waitForAll()
        }
    }

    /// Runs one cycle now: what ``run()`` does every period. For tests and the first start.
    package func cycle() async {
        self.checkTrust()
        guard !self.resigned else { return }
        // Renew first: a lease about to expire matters more than a new one.
        let asked = self.book.renewals
        if !asked.isEmpty {
            let started = self.stopwatch.elapsed
            do {
                let confirmed = try await self.store.renew(asked)
                for target in self.book.renewed(asked, confirmed: confirmed, startedAt: started) {
                    self.lose(target, why: .renewalRefused)
                }
            } catch {
                // Unanswered: the leases stay trusted until their window passes, then the watchdog suspends them.
                self.storeFailed(error, doing: "renew leases")
                return
            }
        }
        guard !self.resigned else { return }
        let survey: LeaseSurvey
        do {
            survey = try await self.store.survey(targets: self.targets.map(\.name), liveWithin: self.book.liveWindow)
        } catch {
            self.storeFailed(error, doing: "survey leases")
            return
        }
        let surveyed = self.stopwatch.elapsed
        self.storeAnswered()
        guard !self.resigned else { return }
        guard await self.resolveSuspensions(after: survey) else { return }
        guard !self.resigned else { return }
        switch self.book.plan(after: survey, holder: self.store.holder) {
        case .hold:
            break
        case .release(let target):
            await self.release([target], why: "above the fair share")
        case .acquire(let candidates, let count):
            if let until = self.recoveringUntil, self.stopwatch.elapsed < until { break }
            self.recoveringUntil = nil
            guard await self.acquire(candidates, count: count) else { return }
        }
        self.started = true
        self.earlyCycle = self.book.earlyTakeover(after: survey).map { surveyed + $0 + Self.takeoverMargin }
    }

    /// A write for `target` was refused by the fence: the lease is lost whatever the book says.
    package func fenced(target: String) {
        if self.book.held[target] != nil {
            self.book.drop(target)
        } else if self.book.dropSuspended(target) == nil {
            return
        }
        self.lose(target, why: .fenced)
    }

    /// Wakes the cycle now (another replica released leases).
    package func wake() {
        if let nap = self.nap {
            nap.cancel()
        } else {
            self.rung = true
        }
    }

    /// Gives every lease up: each target's poller is stopped (``LeaseChange/releasing(target:)``, awaited), its
    /// token revoked, and the leases expired in the database at once, waking the other replicas.
    /// - Parameter leaving: Whether this replica also leaves the live set (a stop, not a reload).
    package func resign(leaving: Bool) async {
        self.resigned = true
        let targets = Set(self.book.held.keys).union(self.book.suspended.keys).sorted()
        for target in targets { self.observe(.releasing(target: target)) }
        for target in targets { await self.beforeRelease(target) }
        for target in targets {
            self.book.drop(target)
            self.book.dropSuspended(target)
            self.store.unfence(target: target)
        }
        do {
            try await self.store.releaseAll(leaving: leaving)
            if !targets.isEmpty {
                self.logger.info("leases released", metadata: ["targets": "\(targets.joined(separator: ","))"])
            }
        } catch {
            // They expire by themselves within a lease length.
            self.logger.warning(
                "leases could not be released; they expire by themselves",
                metadata: ["reason": "\(error.reason)"]
            )
        }
    }

    // MARK: - Cycle steps

    /// Resolves the suspended leases once the store answered: those another replica holds are lost, those beyond
    /// the fair share given up, the others resumed (oldest first).
    /// - Returns: Whether the store answered throughout.
    private func resolveSuspensions(after survey: LeaseSurvey) async -> Bool {
        for target in self.book.suspended.keys.sorted() where survey.heldElsewhere[target] != nil {
            self.book.dropSuspended(target)
            self.lose(target, why: .takenOver)
        }
        let (resume, beyondShare) = self.book.resumptions(after: survey)
        var given: [LeaseRenewal] = []
        for target in beyondShare {
            guard let suspension = self.book.dropSuspended(target) else { continue }
            given.append(LeaseRenewal(target: target, epoch: suspension.epoch, length: suspension.length))
            self.lose(target, why: .notResumed)
        }
        // Still valid in the database, perhaps: expired now so another replica takes it without waiting.
        if !given.isEmpty { try? await self.store.release(given) }
        for target in resume {
            guard let suspension = self.book.suspended[target],
                let leased = self.targets.first(where: { $0.name == target })
            else { continue }
            let started = self.stopwatch.elapsed
            let answer: LeaseResumption
            do {
                answer = try await self.store.resume(leased, epoch: suspension.epoch)
            } catch {
                self.storeFailed(error, doing: "resume the lease of \(target)")
                return false
            }
            // Resolved meanwhile (a fenced write, a stop).
            guard self.book.suspended[target]?.epoch == suspension.epoch, !self.resigned else { continue }
            switch answer {
            case .continued(let epoch):
                self.book.resumed(target, epoch: epoch, startedAt: started)
                self.store.fence(target: target, epoch: epoch)
                self.logger.notice(
                    "lease resumed; the target's poller goes on and writes what it kept",
                    metadata: ["target": "\(target)", "epoch": "\(epoch)"]
                )
                self.observe(.resumed(target: target, epoch: epoch))
            case .reacquired(let epoch):
                self.book.resumed(target, epoch: epoch, startedAt: started)
                self.logger.warning(
                    "lease acquired again, but another replica held the target meanwhile; its poller starts afresh",
                    metadata: ["target": "\(target)", "epoch": "\(epoch)"]
                )
                // The suspended poller ends before the token is granted: it never writes under the new epoch.
                self.observe(.releasing(target: target))
                await self.beforeRelease(target)
                guard self.book.held[target]?.epoch == epoch, !self.resigned else { continue }
                self.store.fence(target: target, epoch: epoch)
                self.observe(.acquired(target: target, epoch: epoch, atOnce: true))
            case .taken:
                self.book.dropSuspended(target)
                self.lose(target, why: .takenOver)
            }
        }
        return true
    }

    /// Tries `candidates` in order until `count` are acquired.
    /// - Returns: Whether the store answered throughout.
    private func acquire(_ candidates: [LeasedTarget], count: Int) async -> Bool {
        var taken = 0
        for target in candidates where taken < count && !self.resigned {
            let started = self.stopwatch.elapsed
            let epoch: Int64?
            do {
                epoch = try await self.store.acquire(target)
            } catch {
                self.storeFailed(error, doing: "acquire the lease of \(target.name)")
                return false
            }
            guard let epoch else { continue }
            taken += 1
            self.book.acquired(target, epoch: epoch, startedAt: started)
            self.store.fence(target: target.name, epoch: epoch)
            self.logger.info("lease acquired", metadata: ["target": "\(target.name)", "epoch": "\(epoch)"])
            self.observe(.acquired(target: target.name, epoch: epoch, atOnce: self.started))
        }
        return true
    }

    // MARK: - Loops

    private func cycleLoop() async {
        while !Task.isCancelled {
            await self.cycle()
            guard !Task.isCancelled else { return }
            if self.rung {
                self.rung = false
                continue
            }
            var period = self.book.cyclePeriod * (0.9 + 0.2 * min(max(self.random(), 0), 1))
            if let early = self.earlyCycle { period = min(period, max(early - self.stopwatch.elapsed, .zero)) }
            let clock = self.clock
            let nap = Task { [period] in _ = try? await clock.sleep(for: period) }
            self.nap = nap
            await withTaskCancellationHandler {
                await nap.value
            } onCancel: {
                nap.cancel()
            }
            self.nap = nil
        }
    }

    /// Sleeps until the next trust deadline (at most a cycle period), and suspends what passed it.
    private func watchTrust() async {
        while !Task.isCancelled {
            self.checkTrust()
            let now = self.stopwatch.elapsed
            let period = self.book.cyclePeriod
            let next = min(self.book.nextTrustDeadline ?? now + period, now + period)
            do {
                try await self.clock.sleep(for: max(next - now, .zero))
            } catch {
                return
            }
        }
    }

    private func checkTrust() {
        let now = self.stopwatch.elapsed
        for target in self.book.suspendDistrusted(at: now) {
            // Withheld first: from here on no write for the target leaves this process.
            self.store.suspend(target: target)
            self.logger.warning(
                "lease suspended: not confirmed in time; the target is still polled, what is observed is kept",
                metadata: ["target": "\(target)"]
            )
            self.observe(.suspended(target: target))
        }
        for target in self.book.dropUnresolved(at: now) {
            self.lose(target, why: .notResumed)
        }
    }

    // MARK: - Changes

    /// A lease is lost: revoke its token first, then tell (the poller is cancelled).
    private func lose(_ target: String, why: LeaseChange.LossReason) {
        self.store.unfence(target: target)
        self.logger.warning(
            "lease lost; polling of the target stopped",
            metadata: ["target": "\(target)", "why": "\(why.rawValue)"]
        )
        self.observe(.lost(target: target, why: why))
    }

    private func release(_ targets: [String], why: String) async {
        var leases: [LeaseRenewal] = []
        for target in targets {
            guard let lease = self.book.held[target] else { continue }
            leases.append(LeaseRenewal(target: target, epoch: lease.epoch, length: lease.length))
            self.observe(.releasing(target: target))
        }
        for lease in leases { await self.beforeRelease(lease.target) }
        for lease in leases {
            // Lost meanwhile (the watchdog, a fenced write): already revoked and told.
            guard self.book.held[lease.target]?.epoch == lease.epoch else { continue }
            self.book.drop(lease.target)
            self.store.unfence(target: lease.target)
        }
        do {
            try await self.store.release(leases)
            for lease in leases {
                self.logger.info("lease released", metadata: ["target": "\(lease.target)", "why": "\(why)"])
            }
        } catch {
            self.storeFailed(error, doing: "release leases")
        }
    }

    private func storeFailed(_ error: StorageError, doing what: String) {
        guard !self.failing else { return }
        self.failing = true
        self.logger.error(
            "cannot \(what); held leases stay trusted until their window passes, then are suspended",
            metadata: ["reason": "\(error.reason)"]
        )
    }

    private func storeAnswered() {
        self.book.storeAnswered(at: self.stopwatch.elapsed)
        guard self.failing else { return }
        self.failing = false
        // Every replica was cut off alike: each takes its own suspended leases back before anyone takes another's.
        self.recoveringUntil = self.stopwatch.elapsed + self.book.liveWindow * 2
        self.logger.notice("the lease table answers again")
    }
}
