import Foundation
import ObwatchTestKit
import Pipeline

extension ManualClock {
    /// A clock for scenario time: its wall time is the Unix epoch plus its offset, moved on with
    /// ``advance(toWall:)``.
    static func scenario() -> ManualClock { ManualClock(wallStart: Date(timeIntervalSince1970: 0)) }

    /// Moves a ``scenario()`` clock forward until its wall time reads `date` (the simulator's time); never back.
    func advance(toWall date: Date) {
        let target = Duration.nanoseconds(Int64((date.timeIntervalSince1970 * 1e9).rounded()))
        let step = target - self.now.offset
        if step > .zero { self.advance(by: step) }
    }
}

/// Runs `body` while `stage` routes in a child task, then stops the stage.
func withRunning<Result: Sendable>(
    _ stage: RoutingStage,
    _ body: () async throws -> Result
) async throws -> Result {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await stage.run() }
        defer { group.cancelAll() }
        return try await body()
    }
}
