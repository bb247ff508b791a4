package import Foundation
package import Support
import Synchronization

/// A clock on which every wait returns at once, moving its time to the deadline and writing the wait down.
///
/// It lets a loop run on virtual time: tests check its schedule without waiting for it, and `stopAfter` ends the
/// loop as a cancellation would.
package final class ImmediateClock: ObwatchClock {
    /// An instant: an offset from the clock's start.
    package struct Instant: InstantProtocol {
        /// How far from the clock's start.
        package var offset: Duration

        /// Makes an instant.
        package init(offset: Duration) { self.offset = offset }
        package func advanced(by duration: Duration) -> Instant { Instant(offset: self.offset + duration) }
        package func duration(to other: Instant) -> Duration { other.offset - self.offset }
        package static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private let state = Mutex<(now: Instant, waits: [Duration])>((Instant(offset: .zero), []))
    private let stopAfter: Int?
    private let wallStart: Date

    /// Makes a clock at offset zero.
    /// - Parameters:
    ///   - stopAfter: The wait with this number (counting from 1) throws `CancellationError` instead of returning,
    ///     and so does every later one: `stopAfter: 3` lets a loop wait twice.
    ///   - wallStart: What ``wallNow`` reads at offset zero.
    package init(stopAfter: Int? = nil, wallStart: Date = Date(timeIntervalSince1970: 1_700_000_000)) {
        self.stopAfter = stopAfter
        self.wallStart = wallStart
    }

    package var now: Instant { self.state.withLock { $0.now } }
    package var minimumResolution: Duration { .nanoseconds(1) }
    package var wallNow: Date {
        let offset = self.now.offset
        return self.wallStart.addingTimeInterval(
            Double(offset.components.seconds) + Double(offset.components.attoseconds) / 1e18
        )
    }
    /// Every wait so far, as durations from the time it was asked.
    package var waits: [Duration] { self.state.withLock { $0.waits } }

    /// Moves the clock forward without a wait: time that work spends (a request that runs into its timeout).
    package func advance(by duration: Duration) {
        self.state.withLock { $0.now = $0.now.advanced(by: duration) }
    }

    package func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try Task.checkCancellation()
        let count = self.state.withLock { state in
            state.waits.append(state.now.duration(to: deadline))
            state.now = max(state.now, deadline)
            return state.waits.count
        }
        if let stopAfter = self.stopAfter, count >= stopAfter { throw CancellationError() }
    }
}
