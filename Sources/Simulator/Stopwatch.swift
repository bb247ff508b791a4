import Support

/// The time passed since it was made, on an ``ObwatchClock``: how long an answer took, how long the simulator has
/// run in real time.
struct Stopwatch: Sendable {
    private let reading: @Sendable () -> Duration

    /// Starts reading `clock` now.
    init(_ clock: any ObwatchClock) {
        self.reading = Self.start(clock)
    }

    /// The time passed since the stopwatch was made.
    var elapsed: Duration { self.reading() }

    private static func start<Clock: ObwatchClock>(_ clock: Clock) -> @Sendable () -> Duration {
        let start = clock.now
        return { start.duration(to: clock.now) }
    }
}
