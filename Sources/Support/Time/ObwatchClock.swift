package import Foundation

/// obwatch's one time source: monotonic waits, and the wall-clock reading that goes with them.
///
/// Everything that waits or stamps a time (the poller, the outbox, the ticker, `watch`) takes one of these, so a
/// test moves one clock and every part sees the same time. ``SystemClock`` is the real one; the test kit has a
/// manual and an immediate clock.
package protocol ObwatchClock: Clock, Sendable where Duration == Swift.Duration {
    /// The wall-clock time now: what events, captures and journals are stamped with.
    var wallNow: Date { get }
}

extension ObwatchClock {
    /// Waits until the wall clock reads `date`; returns at once when it has passed.
    /// - Throws: `CancellationError` when the task is cancelled.
    package func sleep(untilWall date: Date) async throws {
        let seconds = date.timeIntervalSince(self.wallNow)
        guard seconds > 0 else { return }
        let wait = Duration.nanoseconds(Int64((seconds * 1e9).rounded(.up)))
        try await self.sleep(until: self.now.advanced(by: wait), tolerance: nil)
    }
}

/// The real time: `ContinuousClock` for waits, the system's calendar time for `wallNow`.
package struct SystemClock: ObwatchClock {
    /// An instant of the continuous clock.
    package typealias Instant = ContinuousClock.Instant

    private let continuous = ContinuousClock()

    /// Makes the clock.
    package init() {}

    package var now: Instant { self.continuous.now }
    package var minimumResolution: Duration { self.continuous.minimumResolution }
    package var wallNow: Date { Date() }

    package func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try await self.continuous.sleep(until: deadline, tolerance: tolerance)
    }
}
