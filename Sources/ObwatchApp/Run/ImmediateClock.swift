import Synchronization

/// A clock on which every wait returns at once, moving its time to the deadline and writing the wait down.
///
/// It lets the poll loop run on virtual time: tests check the loop's schedule without waiting for it, and
/// `stopAfter` ends the loop as a cancellation would.
final class ImmediateClock: Clock, Sendable {
    /// An instant: an offset from the clock's start.
    struct Instant: InstantProtocol {
        var offset: Duration

        func advanced(by duration: Duration) -> Instant { Instant(offset: self.offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - self.offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private let state = Mutex<(now: Instant, waits: [Duration])>((Instant(offset: .zero), []))
    private let stopAfter: Int?

    /// Makes a clock at offset zero.
    /// - Parameter stopAfter: After this many waits, the next one throws `CancellationError`.
    init(stopAfter: Int? = nil) {
        self.stopAfter = stopAfter
    }

    var now: Instant { self.state.withLock { $0.now } }
    var minimumResolution: Duration { .nanoseconds(1) }
    /// Every wait so far, as durations from the time it was asked.
    var waits: [Duration] { self.state.withLock { $0.waits } }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        let count = self.state.withLock { state in
            state.waits.append(state.now.duration(to: deadline))
            state.now = deadline
            return state.waits.count
        }
        if let stopAfter = self.stopAfter, count >= stopAfter { throw CancellationError() }
    }
}
