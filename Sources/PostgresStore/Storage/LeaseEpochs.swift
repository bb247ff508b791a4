import Synchronization

/// What a target's writes carry to prove that this instance may still make them.
package struct FencingToken: Sendable, Hashable {
    /// The epoch of the lease the writes are made under; a record is written only over one of the same epoch or
    /// an older one.
    package var epoch: Int64
    /// The replica that holds the lease, when there is lease machinery: the write then also checks, in its
    /// transaction, that `target_lease` still has this holder and epoch and has not expired. `nil` writes with the
    /// epoch guard alone (a single instance without leases).
    package var holder: String?

    /// Makes a token.
    package init(epoch: Int64, holder: String? = nil) {
        self.epoch = epoch
        self.holder = holder
    }

    /// What an instance without lease machinery writes with: epoch 0, no lease row checked.
    package static let unleased = FencingToken(epoch: 0)
}

/// The fencing token of each target this instance writes for: the one place the lease manager tells the storage
/// which leases it holds.
///
/// Without lease machinery every target writes with ``FencingToken/unleased``. With it, the manager makes this
/// with `fallback: nil` (a target whose lease is not held cannot be written at all), calls ``grant(_:target:)``
/// when it acquires a lease, ``suspend(target:reason:)`` when it can no longer confirm one (writes are then refused
/// as unreachable, to be retried) and ``revoke(target:)`` the moment it loses or gives one up. The storage tells it
/// the epoch of every record it wrote (``saved(target:epoch:)``): a suspended lease resumes its poller only when
/// the stored record is still the one this instance wrote last.
package final class LeaseEpochs: Sendable {
    private enum Standing: Sendable {
        case granted(FencingToken)
        case suspended(reason: String)
    }

    private struct State {
        var standings: [String: Standing] = [:]
        var lastSaved: [String: Int64] = [:]
    }

    private let state = Mutex(State())
    private let fallback: FencingToken?

    /// Makes the table.
    /// - Parameter fallback: The token of a target that was granted none; `nil` refuses writes for it.
    package init(fallback: FencingToken? = .unleased) {
        self.fallback = fallback
    }

    /// The token writes for `target` carry; `nil` when this instance may not write for it (suspended included).
    package func token(for target: String) -> FencingToken? {
        let standing = self.state.withLock { $0.standings[target] }
        switch standing {
        case .granted(let token): return token
        case .suspended: return nil
        case nil: return self.fallback
        }
    }

    /// Why writes for `target` are held back, when its lease is suspended.
    package func suspension(of target: String) -> String? {
        guard case .suspended(let reason) = self.state.withLock({ $0.standings[target] }) else { return nil }
        return reason
    }

    /// Records a lease acquired (or resumed with a new epoch). The record writes counted from here on are the
    /// new holding's.
    package func grant(_ token: FencingToken, target: String) {
        self.state.withLock { state in
            state.standings[target] = .granted(token)
            state.lastSaved[target] = nil
        }
    }

    /// Withholds the token of a lease that cannot be confirmed: writes for the target are refused, as
    /// unreachable, with `reason`, until it is granted again or revoked.
    package func suspend(target: String, reason: String) {
        self.state.withLock { $0.standings[target] = .suspended(reason: reason) }
    }

    /// Forgets a lease lost or released: writes for the target then carry the fallback (none, with leases).
    package func revoke(target: String) {
        self.state.withLock { _ = $0.standings.removeValue(forKey: target) }
    }

    /// A record of `target` was written with `epoch`.
    package func saved(target: String, epoch: Int64) {
        self.state.withLock { $0.lastSaved[target] = epoch }
    }

    /// The epoch of the last record of `target` this instance wrote; `nil` when it wrote none.
    package func lastSaved(target: String) -> Int64? {
        self.state.withLock { $0.lastSaved[target] }
    }
}
