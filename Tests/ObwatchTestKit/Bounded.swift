import Synchronization

/// How long a test waits for something that a correct run does in milliseconds, before it fails.
///
/// The bound is there so that a broken component fails its test with a message instead of hanging the suite; it is
/// never what a test measures, so it is generous enough that no load on the machine can trip it.
package enum TestBound {
    /// The bound of every wait that does not name its own: 30 seconds.
    package static let standard: Duration = .seconds(30)
}

/// A wait that did not end within its bound.
package struct TestTimeout: Error, CustomStringConvertible {
    /// What was awaited, and for how long.
    package var description: String

    /// Makes the error.
    /// - Parameters:
    ///   - what: What was awaited, as the test names it.
    ///   - bound: How long it was awaited.
    package init(_ what: String, after bound: Duration) {
        self.description = "\(what): not within \(bound) (the bound of a wait that should take milliseconds)"
    }
}

/// Awaits `body`, which waits for an event (a continuation, an `AsyncStream`, a clock's sleepers), and fails with
/// ``TestTimeout`` instead of hanging when it has not returned within `bound`.
///
/// `body` runs in a task of its own and is cancelled when the bound passes; the caller returns then even if `body`
/// ignores the cancellation, so the test always ends.
/// - Parameters:
///   - what: What is awaited, for the failure message (`"the third delivery"`).
///   - bound: How long to wait at most; far beyond any correct run.
///   - body: The wait.
/// - Returns: What `body` returned.
/// - Throws: ``TestTimeout`` when the bound passed, `CancellationError` when the caller was cancelled, or what
///   `body` threw.
package func awaitEvent<Value: Sendable>(
    _ what: String,
    within bound: Duration = TestBound.standard,
    _ body: @escaping @Sendable () async throws -> Value
) async throws -> Value {
    let race = Race<Value>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
            race.start(continuation)
            let work = Task {
                do {
                    race.finish(.success(try await body()))
                } catch {
                    race.finish(.failure(error))
                }
            }
            let timer = Task {
                // The one real-time wait in the test kit: the bound itself.
                try? await ContinuousClock().sleep(for: bound)
                race.finish(.failure(TestTimeout(what, after: bound)))
            }
            race.track([work, timer])
        }
    } onCancel: {
        race.finish(.failure(CancellationError()))
    }
}

/// Asks `probe` again and again, `interval` apart, until it returns a value, and fails with ``TestTimeout`` after
/// `bound`.
///
/// Only for a peer in another process that offers nothing to await (a daemon's `/metrics`, a file it writes):
/// everything in this process is awaited with ``awaitEvent(_:within:_:)`` instead. The interval paces the probe so
/// that it does not compete for the CPU with the process it waits for.
/// - Parameters:
///   - what: What is awaited, for the failure message.
///   - interval: The pause between two probes.
///   - bound: How long to ask at most.
///   - probe: One look; `nil` while the awaited state is not there.
/// - Returns: The first value `probe` returned.
/// - Throws: ``TestTimeout`` when the bound passed; `CancellationError` when cancelled.
package func probeUntil<Value: Sendable>(
    _ what: String,
    every interval: Duration = .milliseconds(50),
    within bound: Duration = .seconds(60),
    _ probe: @escaping @Sendable () async -> Value?
) async throws -> Value {
    try await awaitEvent(what, within: bound) {
        let clock = ContinuousClock()
        while true {
            if let value = await probe() { return value }
            try await clock.sleep(for: interval)
        }
    }
}

/// The first of a wait's result, its bound and a cancellation, delivered once.
private final class Race<Value: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Value, any Error>?
        var finished = false
        var tasks: [Task<Void, Never>] = []
    }

    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<Value, any Error>) {
        let finishedEarly = self.state.withLock { state -> Bool in
            guard !state.finished else { return true }
            state.continuation = continuation
            return false
        }
        // Cancelled before the wait began.
        if finishedEarly { continuation.resume(throwing: CancellationError()) }
    }

    /// Keeps the tasks to cancel once the race is decided (at once when it already is).
    func track(_ tasks: [Task<Void, Never>]) {
        let decided = self.state.withLock { state -> Bool in
            if !state.finished { state.tasks += tasks }
            return state.finished
        }
        if decided { for task in tasks { task.cancel() } }
    }

    func finish(_ result: Result<Value, any Error>) {
        let (continuation, tasks) = self.state.withLock { state in
            guard !state.finished else { return (CheckedContinuation<Value, any Error>?.none, [Task<Void, Never>]()) }
            state.finished = true
            defer {
                state.continuation = nil
                state.tasks = []
            }
            return (state.continuation, state.tasks)
        }
        continuation?.resume(with: result)
        for task in tasks { task.cancel() }
    }
}
