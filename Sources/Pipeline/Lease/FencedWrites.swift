package import Logging
import Synchronization

/// Where every write refused by the fence is reported (``StorageError/Kind/fenced``): counted each time
/// (`obwatch_fenced_writes_total{kind}`), logged once per target and kind until the target's lease is acquired
/// again, never retried as an ordinary failure.
///
/// The daemon makes one and hands it to every part that writes under a lease: the pollers report `target`
/// saves; the routing step reports its own kinds (`outbox`, `router`).
package final class FencedWrites: Sendable {
    /// Told of every refused write: the metric.
    package typealias Counter = @Sendable (_ kind: String) -> Void

    private let logger: Logger
    private let count: Counter
    /// The (kind, target) pairs already logged.
    private let logged = Mutex<Set<[String]>>([])

    /// Makes the report.
    /// - Parameters:
    ///   - logger: Where the first refusal per target and kind is logged.
    ///   - count: Told of every refusal.
    package init(logger: Logger, count: @escaping Counter) {
        self.logger = logger
        self.count = count
    }

    /// A write was refused by the fence.
    /// - Parameters:
    ///   - kind: What was written: `target` (a target's record), `outbox`, `router`.
    ///   - target: The target it was written for.
    ///   - error: The refusal.
    package func refused(kind: String, target: String, error: StorageError) {
        self.count(kind)
        let first = self.logged.withLock { $0.insert([kind, target]).inserted }
        guard first else { return }
        self.logger.warning(
            "write refused by the fence: another replica holds the target now; this one stops writing for it",
            metadata: ["target": "\(target)", "kind": "\(kind)", "reason": "\(error.reason)"]
        )
    }

    /// The target's lease was acquired again: its next refusal is logged again.
    package func reacquired(target: String) {
        self.logged.withLock { logged in logged = logged.filter { $0.last != target } }
    }
}
