import ObshellModel
import Synchronization

/// How long a target whose password the agent refused waits before its next poll: the poll interval after the first
/// refusal, doubling with each one after it, up to ``maximum``.
///
/// Every refused poll is a failed root@sys login on the cluster; polling at the normal cadence with a wrong
/// password would make thousands a day, enough to trip account lockout and security alarms. At a 1 s interval this
/// makes 10 refused logins in the first 10 minutes (at 0, 1, 3, 7, … 511 s).
struct AuthBackoff: Sendable, Hashable {
    /// The longest wait between two tries.
    static let maximum = Duration.seconds(15 * 60)

    /// Refusals in a row.
    private(set) var refusals = 0

    /// Records a refusal and returns how long to wait before the next try.
    /// - Parameter interval: The target's poll interval.
    mutating func refused(interval: Duration) -> Duration {
        self.refusals += 1
        return Self.delay(afterRefusals: self.refusals, interval: interval)
    }

    /// The wait after `refusals` refusals in a row: `interval × 2^(refusals − 1)`, at most ``maximum``.
    static func delay(afterRefusals refusals: Int, interval: Duration) -> Duration {
        guard refusals > 0, interval > .zero else { return interval }
        var delay = interval
        for _ in 1..<min(refusals, 40) {
            delay *= 2
            if delay >= Self.maximum { return Self.maximum }
        }
        return min(delay, Self.maximum)
    }
}

/// The back-off of every target, kept across a reload: a SIGHUP that leaves a target's password as it was must not
/// reset its back-off (or a reload would be a way to hammer the agent), one that changes it tries again at once.
final class AuthBackoffBook: Sendable {
    private struct Entry {
        var password: Password
        var backoff: AuthBackoff
        var notBefore: ContinuousClock.Instant
    }

    private let entries = Mutex<[String: Entry]>([:])

    init() {}

    /// Records a refusal of `password` by `target`'s agent.
    /// - Returns: How long to wait before the next poll.
    func refused(target: String, password: Password, interval: Duration) -> Duration {
        self.entries.withLock { entries in
            var entry =
                entries[target].flatMap { $0.password == password ? $0 : nil }
                ?? Entry(password: password, backoff: AuthBackoff(), notBefore: .now)
            let delay = entry.backoff.refused(interval: interval)
            entry.notBefore = .now + delay
            entries[target] = entry
            return delay
        }
    }

    /// The password was accepted (or the poll failed for another reason): the back-off ends.
    func accepted(target: String) {
        _ = self.entries.withLock { $0.removeValue(forKey: target) }
    }

    /// How long a poller starting now must wait before its first poll: the rest of the back-off when the same
    /// password was refused before, else `nil`.
    func remainingWait(target: String, password: Password) -> Duration? {
        self.entries.withLock { entries in
            guard let entry = entries[target], entry.password == password else { return nil }
            let remaining = ContinuousClock.now.duration(to: entry.notBefore)
            return remaining > .zero ? remaining : nil
        }
    }

    /// How many refusals in a row a target has had with its current password.
    func refusals(target: String) -> Int {
        self.entries.withLock { $0[target]?.backoff.refusals ?? 0 }
    }
}
