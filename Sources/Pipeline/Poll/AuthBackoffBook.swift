package import ObshellModel
package import Support
import Synchronization

/// The back-off of every target, kept across a reload: a SIGHUP that leaves a target's password as it was must not
/// reset its back-off (or a reload would be a way to hammer the agent), one that changes it tries again at once.
package final class AuthBackoffBook: Sendable {
    private struct Entry {
        var password: Password
        var backoff: AuthBackoff
        /// When the next try may go, on ``stopwatch``.
        var notBefore: Duration
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let stopwatch: Stopwatch

    /// Makes an empty book.
    /// - Parameter clock: What back-offs are timed on.
    package init(clock: any ObwatchClock) {
        self.stopwatch = Stopwatch(clock)
    }

    /// Records a refusal of `password` by `target`'s agent.
    /// - Returns: How long to wait before the next poll.
    package func refused(target: String, password: Password, interval: Duration) -> Duration {
        let now = self.stopwatch.elapsed
        return self.entries.withLock { entries in
            var entry =
                entries[target].flatMap { $0.password == password ? $0 : nil }
                ?? Entry(password: password, backoff: AuthBackoff(), notBefore: now)
            let delay = entry.backoff.refused(interval: interval)
            entry.notBefore = now + delay
            entries[target] = entry
            return delay
        }
    }

    /// The password was accepted (or the poll failed for another reason): the back-off ends.
    package func accepted(target: String) {
        _ = self.entries.withLock { $0.removeValue(forKey: target) }
    }

    /// How long a poller starting now must wait before its first poll: the rest of the back-off when the same
    /// password was refused before, else `nil`.
    package func remainingWait(target: String, password: Password) -> Duration? {
        let now = self.stopwatch.elapsed
        return self.entries.withLock { entries in
            guard let entry = entries[target], entry.password == password else { return nil }
            let remaining = entry.notBefore - now
            return remaining > .zero ? remaining : nil
        }
    }

    /// How many refusals in a row a target has had with its current password.
    package func refusals(target: String) -> Int {
        self.entries.withLock { $0[target]?.backoff.refusals ?? 0 }
    }
}
