import ConfigModel
package import Foundation
package import Logging
package import Pipeline
import PostgresNIO
package import Support

/// The per-target leases in PostgreSQL (`target_lease`, `replica`): what ``LeaseCoordinator`` drives.
///
/// Every time is the database's `now()`; no local clock is ever compared with it. Acquiring raises the epoch;
/// renewing is scoped to holder, epoch and an unexpired row; releasing expires the row at once (the holder and
/// epoch stay, for the cluster view) and sends `NOTIFY` on the schema's channel so the other replicas take over
/// without waiting. The local side of the fence is ``LeaseEpochs``: a grant per acquisition, a revoke per loss.
package struct PostgresLeases: LeaseStore {
    /// The store.
    package let store: PostgresStore
    /// This replica.
    package let replica: ReplicaIdentity
    /// The tokens the pipeline's storage writes with.
    package let epochs: LeaseEpochs
    private let version: String
    private let clock: any ObwatchClock
    private let logger: Logger

    /// Makes the lease table's operations.
    /// - Parameters:
    ///   - store: The schema's store (migrated).
    ///   - replica: This replica.
    ///   - epochs: The tokens ``PostgresPipelineStorage`` writes with; made with `fallback: nil`.
    ///   - version: This obwatch's version, shown in the cluster view.
    ///   - clock: What the listener waits on between reconnections.
    ///   - logger: Where the listener says it lost its connection.
    package init(
        store: PostgresStore,
        replica: ReplicaIdentity,
        epochs: LeaseEpochs,
        version: String,
        clock: any ObwatchClock,
        logger: Logger
    ) {
        self.store = store
        self.replica = replica
        self.epochs = epochs
        self.version = version
        self.clock = clock
        self.logger = logger
    }

    package var holder: String { self.replica.id }

    /// The channel released leases are announced on: one per schema, so two schemas in one database never wake
    /// each other.
    package var channel: String { "obwatch_lease_" + self.store.settings.schema }

    package func survey(targets: [String], liveWithin: Duration) async throws(StorageError) -> LeaseSurvey {
        let replicas = self.store.table("replica")
        let leases = self.store.table("target_lease")
        let replica = self.replica
        let version = self.version
        return try await self.run("survey the leases") { connection, logger in
            var heartbeat = PostgresQuery(
                unsafeSQL: """
                    INSERT INTO \(replicas) (replica_id, host, started_at, heartbeat_at, version)
                    VALUES ($1, $2, now(), now(), $3)
                    ON CONFLICT (replica_id) DO UPDATE SET heartbeat_at = now()
                    """
            )
            heartbeat.binds.append(replica.id)
            heartbeat.binds.append(replica.host)
            heartbeat.binds.append(version)
            try await connection.query(heartbeat, logger: logger)
            // Replicas gone for good (crashed, or stopped without leaving) are forgotten after a while.
            var prune = PostgresQuery(
                unsafeSQL: """
                    DELETE FROM \(replicas) WHERE heartbeat_at < now() - make_interval(secs => $1)
                    """
            )
            prune.binds.append(Self.seconds(liveWithin * Self.replicaRetention))
            try await connection.query(prune, logger: logger)
            var live = PostgresQuery(
                unsafeSQL: """
                    SELECT count(*) FROM \(replicas) WHERE heartbeat_at > now() - make_interval(secs => $1)
                    """
            )
            live.binds.append(Self.seconds(liveWithin))
            var count = 1
            for try await value in try await connection.query(live, logger: logger).decode(Int64.self) {
                count = Int(value)
            }
            var free = PostgresQuery(
                unsafeSQL: """
                    SELECT t.name FROM unnest($1::text[]) AS t(name)
                    LEFT JOIN \(leases) l ON l.target = t.name
                    WHERE l.target IS NULL OR l.holder IS NULL OR l.expires_at <= now()
                    """
            )
            free.binds.append(targets)
            var available: Set<String> = []
            for try await name in try await connection.query(free, logger: logger).decode(String.self) {
                available.insert(name)
            }
            // When each lease held elsewhere can be taken over: expired, and its holder no longer counted live.
            var elsewhere = PostgresQuery(
                unsafeSQL: """
                    SELECT l.target, extract(epoch FROM greatest(
                               l.expires_at,
                               coalesce(r.heartbeat_at + make_interval(secs => $3), l.expires_at)
                           ) - now())::float8
                    FROM \(leases) l LEFT JOIN \(replicas) r ON r.replica_id = l.holder
                    WHERE l.target = ANY($1) AND l.holder IS NOT NULL AND l.holder <> $2 AND l.expires_at > now()
                    """
            )
            elsewhere.binds.append(targets)
            elsewhere.binds.append(replica.id)
            elsewhere.binds.append(Self.seconds(liveWithin))
            var heldElsewhere: [String: Duration] = [:]
            let rows = try await connection.query(elsewhere, logger: logger)
            for try await (name, seconds) in rows.decode((String, Double).self) {
                heldElsewhere[name] = .milliseconds(Int64((max(seconds, 0) * 1000).rounded(.up)))
            }
            return LeaseSurvey(liveReplicas: max(count, 1), available: available, heldElsewhere: heldElsewhere)
        }
    }

    package func resume(_ target: LeasedTarget, epoch: Int64) async throws(StorageError) -> LeaseResumption {
        let leases = self.store.table("target_lease")
        let records = self.store.table("target_record")
        let holder = self.holder
        let lastSaved = self.epochs.lastSaved(target: target.name)
        return try await self.transaction("resume the lease of \(target.name)") { connection, logger in
            // Still this replica's at its epoch in the database: nobody else can have held it.
            var renew = PostgresQuery(
                unsafeSQL: """
                    UPDATE \(leases) SET renewed_at = now(), expires_at = now() + make_interval(secs => $4)
                    WHERE target = $1 AND holder = $2 AND epoch = $3 AND expires_at > now()
                    RETURNING epoch
                    """
            )
            renew.binds.append(target.name)
            renew.binds.append(holder)
            renew.binds.append(epoch)
            renew.binds.append(Self.seconds(target.length))
            for try await renewed in try await connection.query(renew, logger: logger).decode(Int64.self) {
                return .continued(epoch: renewed)
            }
            var acquire = PostgresQuery(
                unsafeSQL: """
                    UPDATE \(leases) AS l
                    SET holder = $2, epoch = l.epoch + 1, acquired_at = now(), renewed_at = now(),
                        expires_at = now() + make_interval(secs => $3)
                    WHERE l.target = $1 AND (l.holder IS NULL OR l.expires_at <= now())
                    RETURNING l.epoch
                    """
            )
            acquire.binds.append(target.name)
            acquire.binds.append(holder)
            acquire.binds.append(Self.seconds(target.length))
            var acquired: Int64?
            for try await value in try await connection.query(acquire, logger: logger).decode(Int64.self) {
                acquired = value
            }
            guard let acquired else { return .taken }
            // A statement of its own, after the lease row is locked: it sees every record write that committed
            // before, and none can commit after (a writer's fence check waits on the row, then finds it changed).
            var stored = PostgresQuery(unsafeSQL: "SELECT epoch FROM \(records) WHERE target = $1")
            stored.binds.append(target.name)
            var recordEpoch: Int64?
            for try await value in try await connection.query(stored, logger: logger).decode(Int64.self) {
                recordEpoch = value
            }
            // Continuous when nobody acquired it between this replica's epoch and the new one, and the stored
            // record is the one this replica wrote last (or none, when it wrote none and none is stored).
            let nobodyHeldIt = acquired == epoch + 1
            let untouched = lastSaved.map { recordEpoch == $0 } ?? (recordEpoch.map { $0 <= epoch } ?? true)
            return nobodyHeldIt && untouched ? .continued(epoch: acquired) : .reacquired(epoch: acquired)
        }
    }

    package func acquire(_ target: LeasedTarget) async throws(StorageError) -> Int64? {
        let leases = self.store.table("target_lease")
        let holder = self.holder
        return try await self.run("acquire the lease of \(target.name)") { connection, logger in
            var acquire = PostgresQuery(
                unsafeSQL: """
                    INSERT INTO \(leases) AS l (target, holder, epoch, acquired_at, renewed_at, expires_at)
                    VALUES ($1, $2, 1, now(), now(), now() + make_interval(secs => $3))
                    ON CONFLICT (target) DO UPDATE
                    SET holder = EXCLUDED.holder, epoch = l.epoch + 1, acquired_at = now(), renewed_at = now(),
                        expires_at = EXCLUDED.expires_at
                    WHERE l.holder IS NULL OR l.expires_at <= now()
                    RETURNING l.epoch
                    """
            )
            acquire.binds.append(target.name)
            acquire.binds.append(holder)
            acquire.binds.append(Self.seconds(target.length))
            for try await epoch in try await connection.query(acquire, logger: logger).decode(Int64.self) {
                return epoch
            }
            return nil
        }
    }

    package func renew(_ renewals: [LeaseRenewal]) async throws(StorageError) -> Set<String> {
        guard !renewals.isEmpty else { return [] }
        let leases = self.store.table("target_lease")
        let holder = self.holder
        return try await self.run("renew leases") { connection, logger in
            var renew = PostgresQuery(
                unsafeSQL: """
                    UPDATE \(leases) AS l
                    SET renewed_at = now(), expires_at = now() + make_interval(secs => r.secs)
                    FROM unnest($2::text[], $3::int8[], $4::float8[]) AS r(target, epoch, secs)
                    WHERE l.target = r.target AND l.epoch = r.epoch AND l.holder = $1 AND l.expires_at > now()
                    RETURNING l.target
                    """
            )
            renew.binds.append(holder)
            renew.binds.append(renewals.map(\.target))
            renew.binds.append(renewals.map(\.epoch))
            renew.binds.append(renewals.map { Self.seconds($0.length) })
            var renewed: Set<String> = []
            for try await target in try await connection.query(renew, logger: logger).decode(String.self) {
                renewed.insert(target)
            }
            return renewed
        }
    }

    package func release(_ released: [LeaseRenewal]) async throws(StorageError) {
        guard !released.isEmpty else { return }
        let leases = self.store.table("target_lease")
        let holder = self.holder
        let channel = self.channel
        try await self.run("release leases") { connection, logger in
            var release = PostgresQuery(
                unsafeSQL: """
                    UPDATE \(leases) AS l SET expires_at = now()
                    FROM unnest($2::text[], $3::int8[]) AS r(target, epoch)
                    WHERE l.target = r.target AND l.epoch = r.epoch AND l.holder = $1 AND l.expires_at > now()
                    """
            )
            release.binds.append(holder)
            release.binds.append(released.map(\.target))
            release.binds.append(released.map(\.epoch))
            try await connection.query(release, logger: logger)
            try await Self.notify(channel: channel, payload: holder, on: connection, logger: logger)
        }
    }

    package func releaseAll(leaving: Bool) async throws(StorageError) {
        let leases = self.store.table("target_lease")
        let replicas = self.store.table("replica")
        let holder = self.holder
        let channel = self.channel
        try await self.run("release leases") { connection, logger in
            var release = PostgresQuery(
                unsafeSQL: "UPDATE \(leases) SET expires_at = now() WHERE holder = $1 AND expires_at > now()"
            )
            release.binds.append(holder)
            try await connection.query(release, logger: logger)
            if leaving {
                var leave = PostgresQuery(unsafeSQL: "DELETE FROM \(replicas) WHERE replica_id = $1")
                leave.binds.append(holder)
                try await connection.query(leave, logger: logger)
            }
            try await Self.notify(channel: channel, payload: holder, on: connection, logger: logger)
        }
    }

    package func fence(target: String, epoch: Int64) {
        self.epochs.grant(FencingToken(epoch: epoch, holder: self.holder), target: target)
    }

    package func unfence(target: String) {
        self.epochs.revoke(target: target)
    }

    package func suspend(target: String) {
        self.epochs.suspend(
            target: target,
            reason: "the lease of target \(target) cannot be renewed: PostgreSQL does not answer; observations are "
                + "kept until it does"
        )
    }

    package func listenForReleases(_ wake: @escaping @Sendable () -> Void) async {
        let channel = self.channel
        let holder = self.holder
        var failing = false
        while !Task.isCancelled {
            do {
                let connection = try await self.store.dedicatedConnection(id: 1_000_000)
                defer { connection.close().whenComplete { _ in withExtendedLifetime(connection) {} } }
                try await connection.listen(on: channel) { notifications in
                    if failing {
                        failing = false
                        self.logger.notice("listening for released leases again")
                    }
                    // Anything missed while no one listened: the next cycle looks anyway.
                    wake()
                    for try await notification in notifications where notification.payload != holder {
                        wake()
                    }
                }
            } catch {
                if Task.isCancelled { return }
                if !failing {
                    failing = true
                    self.logger.warning(
                        "not listening for released leases (polling still takes them over); reconnecting",
                        metadata: ["reason": "\(Self.plain(error))"]
                    )
                }
            }
            do { try await self.clock.sleep(for: .seconds(1)) } catch { return }
        }
    }

    /// Everything the cluster view shows: every replica and every lease, with the database's time.
    /// - Parameter liveWithin: How recent a heartbeat must be for its replica to count as live.
    package func clusterView(liveWithin: Duration) async throws(StorageError) -> ClusterView {
        let replicas = self.store.table("replica")
        let leases = self.store.table("target_lease")
        return try await self.run("read the cluster view") { connection, logger in
            var now = Date(timeIntervalSince1970: 0)
            for try await value in try await connection.query("SELECT now()", logger: logger).decode(Date.self) {
                now = value
            }
            var replicaQuery = PostgresQuery(
                unsafeSQL: """
                    SELECT replica_id, host, started_at, heartbeat_at, version,
                           coalesce(heartbeat_at > now() - make_interval(secs => $1), false)
                    FROM \(replicas) ORDER BY replica_id
                    """
            )
            replicaQuery.binds.append(Self.seconds(liveWithin))
            var replicaRows: [ClusterView.Replica] = []
            let replicaAnswer = try await connection.query(replicaQuery, logger: logger)
            for try await (id, host, started, heartbeat, version, live) in replicaAnswer.decode(
                (String, String?, Date?, Date?, String?, Bool).self
            ) {
                replicaRows.append(
                    ClusterView.Replica(
                        id: id,
                        host: host,
                        startedAt: started,
                        heartbeatAt: heartbeat,
                        version: version,
                        live: live
                    )
                )
            }
            let leaseQuery = PostgresQuery(
                unsafeSQL: """
                    SELECT target, holder, epoch, acquired_at, renewed_at, expires_at,
                           holder IS NOT NULL AND expires_at > now()
                    FROM \(leases) ORDER BY target
                    """
            )
            var leaseRows: [ClusterView.Lease] = []
            let leaseAnswer = try await connection.query(leaseQuery, logger: logger)
            for try await (target, holder, epoch, acquired, renewed, expires, held) in leaseAnswer.decode(
                (String, String?, Int64, Date?, Date?, Date, Bool).self
            ) {
                leaseRows.append(
                    ClusterView.Lease(
                        target: target,
                        holder: holder,
                        epoch: epoch,
                        acquiredAt: acquired,
                        renewedAt: renewed,
                        expiresAt: expires,
                        held: held
                    )
                )
            }
            return ClusterView(now: now, replicas: replicaRows, leases: leaseRows)
        }
    }

    // MARK: - Helpers

    /// How many live windows a replica's heartbeat may be old before its row is removed.
    static let replicaRetention = 10

    private func transaction<Value: Sendable>(
        _ what: String,
        _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> Value
    ) async throws(StorageError) -> Value {
        do {
            return try await self.store.transaction(body)
        } catch {
            throw Self.storageError(error, doing: what)
        }
    }

    private static func storageError(_ error: StoreError, doing what: String) -> StorageError {
        let kind: StorageError.Kind =
            switch error.code {
            case .unreachable, .loginRefused: .unreachable
            case .fenced: .fenced
            case .newerSchema, .failed: .failed
            }
        return StorageError(reason: "cannot \(what): \(error.message)", kind: kind)
    }

    private func run<Value: Sendable>(
        _ what: String,
        _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> Value
    ) async throws(StorageError) -> Value {
        do {
            return try await self.store.withConnection(body)
        } catch {
            let kind: StorageError.Kind =
                switch error.code {
                case .unreachable, .loginRefused: .unreachable
                case .fenced: .fenced
                case .newerSchema, .failed: .failed
                }
            throw StorageError(reason: "cannot \(what): \(error.message)", kind: kind)
        }
    }

    private static func notify(
        channel: String,
        payload: String,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        var notify = PostgresQuery(unsafeSQL: "SELECT pg_notify($1, $2)")
        notify.binds.append(channel)
        notify.binds.append(payload)
        try await connection.query(notify, logger: logger)
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// An error of the listener's connection in words, with no password (PostgresNIO's errors hold none, and the
    /// server's messages name no password either).
    private static func plain(_ error: any Error) -> String {
        if let error = error as? PSQLError, let message = error.serverInfo?[.message] { return message }
        return String(describing: type(of: error))
    }
}

/// What `/api/v1/cluster` shows: the replicas, the leases and the database's time they were read at.
package struct ClusterView: Sendable, Hashable {
    /// A replica, as it heartbeats.
    package struct Replica: Sendable, Hashable {
        /// Its id.
        package var id: String
        /// Its host.
        package var host: String?
        /// When it first heartbeat.
        package var startedAt: Date?
        /// When it last heartbeat.
        package var heartbeatAt: Date?
        /// Its obwatch version.
        package var version: String?
        /// Whether its heartbeat is recent enough to count for the fair share.
        package var live: Bool
    }

    /// A target's lease.
    package struct Lease: Sendable, Hashable {
        /// The target.
        package var target: String
        /// Who holds it (or last held it).
        package var holder: String?
        /// The fencing epoch.
        package var epoch: Int64
        /// When it was last acquired.
        package var acquiredAt: Date?
        /// When it was last renewed.
        package var renewedAt: Date?
        /// When it expires (or expired).
        package var expiresAt: Date
        /// Whether it is held now (a holder and not expired).
        package var held: Bool
    }

    /// The database's time of the view.
    package var now: Date
    /// Every replica that ever registered in the schema, by id.
    package var replicas: [Replica]
    /// Every lease, by target.
    package var leases: [Lease]
}
