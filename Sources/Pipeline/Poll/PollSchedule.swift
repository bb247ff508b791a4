/// When a target is polled: the first poll within the first interval, spread so that targets started together do
/// not poll together (see ``firstPhase(index:of:jitter:)``), then every interval.
package struct PollSchedule: Sendable, Hashable {
    /// The configured interval.
    package var interval: Duration

    /// Makes a schedule.
    package init(interval: Duration) {
        self.interval = interval
    }

    /// The wait before the first poll: a random phase within the interval, so that many targets' polls spread
    /// over it instead of coming all at once.
    /// - Parameter unit: A number in `0..<1` (random in the daemon, fixed in tests).
    package func firstDelay(unit: Double) -> Duration {
        self.interval * min(max(unit, 0), 1)
    }

    /// Where in the first interval the first poll of the `index`th of `count` targets started together falls, as a
    /// unit for ``firstDelay(unit:)``.
    ///
    /// The first target is polled at once, so that a starting daemon's first poll goes out as soon as it can (cold
    /// start). Each other target gets a slot of its own, `1/count` of the interval wide, and a random point within
    /// it: the polls of the first interval come at the same even rate as later ones, so the start-up costs no more at
    /// once than the steady state (independent random phases bunch up, a few slots getting several polls).
    /// - Parameters:
    ///   - index: The target's place among those started together, from 0.
    ///   - count: How many targets started together.
    ///   - jitter: A number in `0..<1` (random in the daemon, fixed in tests): where in its slot the target falls.
    package static func firstPhase(index: Int, of count: Int, jitter: Double) -> Double {
        guard count > 1, index > 0 else { return 0 }
        let within = min(max(jitter, 0), 1)
        return min((Double(min(index, count - 1)) + within) / Double(count), 1)
    }

    /// How far after the previous poll's deadline the next one lies: one interval, so a target is polled at a
    /// steady cadence and a change waits at most one interval to be seen. A poll that ran past one or more
    /// deadlines skips them rather than polling back to back to catch up.
    /// - Parameter elapsed: How long ago the previous deadline was.
    package func nextDeadline(afterDeadlineElapsed elapsed: Duration) -> Duration {
        guard elapsed >= self.interval, self.interval > .zero else { return self.interval }
        let missed = Int((elapsed / self.interval).rounded(.down))
        return self.interval * (missed + 1)
    }
}
