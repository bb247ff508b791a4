/// How long a target whose password the agent refused waits before its next poll: the poll interval after the first
/// refusal, doubling with each one after it, up to ``maximum``.
///
/// Every refused poll is a failed root@sys login on the cluster; polling at the normal cadence with a wrong
/// password would make thousands a day, enough to trip account lockout and security alarms. At a 1 s interval this
/// makes 10 refused logins in the first 10 minutes (at 0, 1, 3, 7, … 511 s).
package struct AuthBackoff: Sendable, Hashable {
    /// The longest wait between two tries.
    package static let maximum = Duration.seconds(15 * 60)

    /// Refusals in a row.
    package private(set) var refusals = 0

    /// No refusal yet.
    package init() {}

    /// Records a refusal and returns how long to wait before the next try.
    /// - Parameter interval: The target's poll interval.
    package mutating func refused(interval: Duration) -> Duration {
        self.refusals += 1
        return Self.delay(afterRefusals: self.refusals, interval: interval)
    }

    /// The wait after `refusals` refusals in a row: `interval × 2^(refusals − 1)`, at most ``maximum``.
    package static func delay(afterRefusals refusals: Int, interval: Duration) -> Duration {
        guard refusals > 0, interval > .zero else { return interval }
        var delay = interval
        for _ in 1..<min(refusals, 40) {
            delay *= 2
            if delay >= Self.maximum { return Self.maximum }
        }
        return min(delay, Self.maximum)
    }
}
