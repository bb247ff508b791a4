/// When a target is polled: the first poll at a random point within the first interval, so that targets started
/// together do not poll together, then every interval give or take up to a tenth.
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
