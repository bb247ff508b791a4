package import Foundation
package import Support
import Synchronization
package import Testing

/// A clock only the test moves: a wait suspends until ``advance(by:)`` passes its deadline.
///
/// ``sleepers(atLeast:)`` lets a test wait, without spinning, until the code under test is parked on the clock,
/// so "advance, then check" never races the code it drives.
package final class ManualClock: ObwatchClock {
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

    private struct Sleeper {
        var id: UInt64
        var deadline: Instant
        var continuation: CheckedContinuation<Void, Never>
    }

    private struct Watch {
        var id: UInt64
        var count: Int
        var continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var sleepers: [Sleeper] = []
        var watches: [Watch] = []
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())
    private let wallStart: Date

    /// Makes a clock at offset zero.
    /// - Parameter wallStart: What ``wallNow`` reads at offset zero.
    package init(wallStart: Date = Date(timeIntervalSince1970: 1_700_000_000)) {
        self.wallStart = wallStart
    }

    package var now: Instant { self.state.withLock { $0.now } }
    package var minimumResolution: Duration { .nanoseconds(1) }
    package var wallNow: Date { self.wallStart.addingTimeInterval(Self.seconds(self.now.offset)) }

    /// How many waits are pending.
    package var sleeping: Int { self.state.withLock { $0.sleepers.count } }

    package func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        let id = self.state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let (ready, woken) = self.state.withLock { state -> (Bool, [CheckedContinuation<Void, Never>]) in
                    if deadline <= state.now || Task.isCancelled { return (true, []) }
                    state.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: continuation))
                    return (false, Self.takeSatisfiedWatches(&state))
                }
                if ready { continuation.resume() }
                for watch in woken { watch.resume() }
            }
            try Task.checkCancellation()
        } onCancel: {
            let cancelled = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                guard let index = state.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.sleepers.remove(at: index).continuation
            }
            cancelled?.resume()
        }
    }

    /// Moves the clock forward and wakes every wait whose deadline it passed, earliest first.
    package func advance(by duration: Duration) {
        let due = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.sleepers.filter { $0.deadline <= now }.sorted { $0.deadline < $1.deadline }
            state.sleepers.removeAll { $0.deadline <= now }
            return due.map(\.continuation)
        }
        for continuation in due { continuation.resume() }
    }

    /// Moves the clock to the earliest pending deadline and wakes what waits for it; nothing when none waits.
    /// - Returns: How far the clock moved, or `nil` when nothing was waiting.
    @discardableResult
    package func advanceToNextDeadline() -> Duration? {
        let step = self.state.withLock { state -> Duration? in
            state.sleepers.map(\.deadline).min().map { max(state.now.duration(to: $0), .zero) }
        }
        guard let step else { return nil }
        self.advance(by: step)
        return step
    }

    /// Returns once at least `count` waits are pending on the clock (at once if they already are).
    ///
    /// The wait is bounded: when the code under test never parks `count` waits on the clock within `bound`, the test
    /// gets an issue naming the count, and this returns, so a broken component fails its test instead of hanging it.
    /// - Parameters:
    ///   - count: How many pending waits to wait for.
    ///   - bound: How long to wait at most, in real time.
    package func sleepers(
        atLeast count: Int,
        within bound: Duration = TestBound.standard,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async {
        do {
            try await self.waitForSleepers(atLeast: count, within: bound)
        } catch {
            Issue.record("\(error) (\(self.sleeping) pending)", sourceLocation: sourceLocation)
        }
    }

    /// Returns once at least `count` waits are pending on the clock, or throws when they are not within `bound`.
    /// - Throws: ``TestTimeout`` when fewer waits were pending within `bound`; `CancellationError` when cancelled.
    package func waitForSleepers(atLeast count: Int, within bound: Duration = TestBound.standard) async throws {
        try await awaitEvent("\(count) waits on the manual clock", within: bound) {
            await self.pendingSleepers(atLeast: count)
        }
    }

    /// Returns once at least `count` waits are pending, or when the task is cancelled.
    private func pendingSleepers(atLeast count: Int) async {
        let id = self.state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = self.state.withLock { state -> Bool in
                    if state.sleepers.count >= count || Task.isCancelled { return true }
                    state.watches.append(Watch(id: id, count: count, continuation: continuation))
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            let cancelled = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                guard let index = state.watches.firstIndex(where: { $0.id == id }) else { return nil }
                return state.watches.remove(at: index).continuation
            }
            cancelled?.resume()
        }
    }

    private static func takeSatisfiedWatches(_ state: inout State) -> [CheckedContinuation<Void, Never>] {
        let count = state.sleepers.count
        let satisfied = state.watches.filter { $0.count <= count }.map(\.continuation)
        state.watches.removeAll { $0.count <= count }
        return satisfied
    }

    private static func seconds(_ duration: Duration) -> TimeInterval {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
