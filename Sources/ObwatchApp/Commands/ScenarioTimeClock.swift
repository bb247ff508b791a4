import Foundation
import Support

/// The demo's clock: it waits in real time, and its wall time is the scenario's (what the simulator's clock reads),
/// so observations, stall clocks and events read as the scenario's.
struct ScenarioTimeClock: ObwatchClock {
    typealias Instant = SystemClock.Instant

    private let system = SystemClock()
    private let wall: @Sendable () -> Date

    /// - Parameter wall: The scenario's time now.
    init(wall: @escaping @Sendable () -> Date) {
        self.wall = wall
    }

    var now: Instant { self.system.now }
    var minimumResolution: Duration { self.system.minimumResolution }
    var wallNow: Date { self.wall() }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try await self.system.sleep(until: deadline, tolerance: tolerance)
    }
}
