public import Foundation

/// Where the outbox reads the time and waits: the real clock in the daemon, a virtual one in tests (so a test of a
/// receiver that fails for minutes takes no minutes).
public protocol DeliveryClock: Sendable {
    /// The current time.
    func now() -> Date
    /// Waits until `deadline`; returns at once if it has passed.
    /// - Throws: `CancellationError` when the task is cancelled.
    func wait(until deadline: Date) async throws
}

/// The wall clock.
public struct SystemDeliveryClock: DeliveryClock {
    /// Makes the clock.
    public init() {}

    public func now() -> Date { Date() }

    public func wait(until deadline: Date) async throws {
        let seconds = deadline.timeIntervalSinceNow
        guard seconds > 0 else { return }
        try await Task.sleep(for: .milliseconds(Int64((seconds * 1000).rounded(.up))))
    }
}
