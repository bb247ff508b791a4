import Synchronization

/// What the code under test reported, in order, and waits for what it has not reported yet.
///
/// A test hands ``append(_:)`` to the component (as a callback, a sink, a sender) and then awaits
/// ``waitForCount(_:_:within:)`` or ``wait(until:within:_:)`` instead of spinning: the wait returns as soon as the
/// record that satisfies it arrives, and fails with ``TestTimeout`` when it never does.
package final class Recording<Element: Sendable>: Sendable {
    private struct Waiter {
        var id: UInt64
        var count: Int
        var continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var elements: [Element] = []
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Makes an empty recording.
    package init() {}

    /// Everything recorded so far, in order.
    package var all: [Element] { self.state.withLock { $0.elements } }

    /// How many records there are.
    package var count: Int { self.state.withLock { $0.elements.count } }

    /// Records one element and wakes the waits it satisfies.
    package func append(_ element: Element) {
        self.append(contentsOf: [element])
    }

    /// Records elements in order and wakes the waits they satisfy.
    package func append(contentsOf elements: some Sequence<Element>) {
        let woken = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.elements.append(contentsOf: elements)
            let count = state.elements.count
            let due = state.waiters.filter { $0.count <= count }
            state.waiters.removeAll { $0.count <= count }
            return due.map(\.continuation)
        }
        for continuation in woken { continuation.resume() }
    }

    /// Waits until at least `count` elements are recorded.
    /// - Parameters:
    ///   - count: How many records to wait for.
    ///   - what: What they are, for the failure message.
    ///   - bound: How long to wait at most.
    /// - Returns: Everything recorded by then.
    /// - Throws: ``TestTimeout`` when fewer arrived within `bound`.
    @discardableResult
    package func waitForCount(
        _ count: Int,
        _ what: String = "records",
        within bound: Duration = TestBound.standard
    ) async throws -> [Element] {
        try await awaitEvent("\(count) \(what) (\(self.count) so far)", within: bound) {
            await self.arrival(ofCount: count)
            return self.all
        }
    }

    /// Waits until `condition` holds for what was recorded; it is asked again after every record.
    /// - Parameters:
    ///   - what: What is awaited, for the failure message.
    ///   - bound: How long to wait at most.
    ///   - condition: The test on the records so far.
    /// - Returns: Everything recorded by then.
    /// - Throws: ``TestTimeout`` when it never held within `bound`.
    @discardableResult
    package func wait(
        until what: String,
        within bound: Duration = TestBound.standard,
        _ condition: @escaping @Sendable ([Element]) -> Bool
    ) async throws -> [Element] {
        try await awaitEvent(what, within: bound) {
            while true {
                let (seen, elements) = self.state.withLock { ($0.elements.count, $0.elements) }
                if condition(elements) { return elements }
                await self.arrival(ofCount: seen + 1)
                try Task.checkCancellation()
            }
        }
    }

    /// Waits until a condition on the code under test holds (an actor's depth, a file), asking it again after every
    /// record: for a state that only changes together with a record.
    /// - Parameters:
    ///   - what: What is awaited, for the failure message.
    ///   - bound: How long to wait at most.
    ///   - condition: The test; asked once at first and once after each new record.
    /// - Throws: ``TestTimeout`` when it never held within `bound`.
    package func wait(
        until what: String,
        within bound: Duration = TestBound.standard,
        checking condition: @escaping @Sendable () async -> Bool
    ) async throws {
        try await awaitEvent(what, within: bound) {
            while true {
                // The count is read before the check, so a record that lands during the check wakes the wait.
                let seen = self.count
                if await condition() { return }
                await self.arrival(ofCount: seen + 1)
                try Task.checkCancellation()
            }
        }
    }

    /// Returns once `count` elements are recorded, or when the task is cancelled.
    private func arrival(ofCount count: Int) async {
        let id = self.state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = self.state.withLock { state -> Bool in
                    if state.elements.count >= count || Task.isCancelled { return true }
                    state.waiters.append(Waiter(id: id, count: count, continuation: continuation))
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            let cancelled = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            cancelled?.resume()
        }
    }
}
