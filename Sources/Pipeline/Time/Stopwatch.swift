package import Support

/// Monotonic time on an ``ObwatchClock``, read as how long since the stopwatch was made: lets a type that is not
/// generic over the clock keep instants (a back-off's end, the last poll) as durations from one start.
package struct Stopwatch: Sendable {
    private let read: @Sendable () -> Duration

    /// Starts a stopwatch on `clock`.
    package init(_ clock: any ObwatchClock) {
        self.read = Self.reader(clock)
    }

    private static func reader<C: ObwatchClock>(_ clock: C) -> @Sendable () -> Duration {
        let start = clock.now
        return { start.duration(to: clock.now) }
    }

    /// How long since the stopwatch was made.
    package var elapsed: Duration { self.read() }
}
