package import Tracker

/// Collects the events a poller or a routing stage hands its sink, and waits for them.
package final class EventBox: Sendable {
    /// Every event so far, as a ``Recording`` to await.
    package let events = Recording<Event>()

    /// Makes an empty box.
    package init() {}

    /// Adds events in order (the sink).
    package func append(_ events: [Event]) { self.events.append(contentsOf: events) }

    /// Every event so far, in order.
    package var all: [Event] { self.events.all }

    /// Waits until at least `count` events arrived.
    /// - Returns: Every event by then.
    /// - Throws: ``TestTimeout`` when fewer arrived within `bound`.
    @discardableResult
    package func waitForCount(_ count: Int, within bound: Duration = TestBound.standard) async throws -> [Event] {
        try await self.events.waitForCount(count, "events", within: bound)
    }
}
