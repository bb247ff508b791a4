/// Exponential backoff with full jitter: the n-th retry waits a random time between zero and
/// `min(maximum, initial × 2^(n−1))`, and never less than what the far end asked for (Retry-After).
///
/// Full jitter spreads the retries of many notifications over the whole window, so a receiver that comes back is
/// not hit by all of them at once.
package struct RetryPolicy: Sendable, Hashable {
    /// The ceiling of the first retry's delay.
    package var initial: Duration
    /// The largest ceiling.
    package var maximum: Duration

    /// Makes a policy.
    package init(initial: Duration, maximum: Duration) {
        self.initial = max(initial, .milliseconds(1))
        self.maximum = max(maximum, self.initial)
    }

    /// The ceiling of the delay before retry number `retry` (1 for the first retry).
    package func ceiling(retry: Int) -> Duration {
        var ceiling = self.initial
        var step = 1
        while step < retry && ceiling < self.maximum {
            ceiling = ceiling * 2
            step += 1
        }
        return min(ceiling, self.maximum)
    }

    /// The delay before retry number `retry`.
    /// - Parameters:
    ///   - retry: 1 for the first retry.
    ///   - unit: A random number in `0..<1`.
    ///   - requested: What the far end asked for, if anything; the delay is never shorter.
    package func delay(retry: Int, unit: Double, requested: Duration?) -> Duration {
        let jittered = self.ceiling(retry: retry) * min(max(unit, 0), 1)
        guard let requested else { return jittered }
        return max(jittered, requested)
    }
}
