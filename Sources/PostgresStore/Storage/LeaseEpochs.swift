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
/// when it acquires a lease and ``revoke(target:)`` the moment it loses or gives one up.
package final class LeaseEpochs: Sendable {
    private let tokens = Mutex<[String: FencingToken]>([:])
    private let fallback: FencingToken?

    /// Makes the table.
    /// - Parameter fallback: The token of a target that was granted none; `nil` refuses writes for it.
    package init(fallback: FencingToken? = .unleased) {
        self.fallback = fallback
    }

    /// The token writes for `target` carry; `nil` when this instance may not write for it.
    package func token(for target: String) -> FencingToken? {
        self.tokens.withLock { $0[target] } ?? self.fallback
    }

    /// Records a lease acquired (or renewed with a new epoch).
    package func grant(_ token: FencingToken, target: String) {
        self.tokens.withLock { $0[target] = token }
    }

    /// Forgets a lease lost or released: writes for the target then carry the fallback (none, with leases).
    package func revoke(target: String) {
        self.tokens.withLock { _ = $0.removeValue(forKey: target) }
    }
}
