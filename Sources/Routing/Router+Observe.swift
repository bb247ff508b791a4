import ObshellModel
package import Tracker

extension Router {
    /// Routes the events of one observation: what fell due before it first (reminders, waiting groups, at its
    /// time less a nanosecond, so that one due at the very instant waits for it and a resolution at that instant
    /// stops it), then its events.
    ///
    /// The daemon's routing stage and `obwatch replay` both route through this one step, so live and replayed
    /// output agree.
    /// - Parameters:
    ///   - batch: The observation's events and time.
    ///   - state: The router's memory, updated.
    /// - Returns: What fell due (only when anything did), then what the events gave.
    package func observe(_ batch: EventBatch, state: inout RouterState) -> [RoutingResult] {
        let due = self.tick(at: batch.at.adding(.nanoseconds(-1)), state: &state)
        let routed = self.route(batch.events, at: batch.at, state: &state)
        let dueMatters = !due.events.isEmpty || !due.notifications.isEmpty
        return dueMatters ? [due, routed] : [routed]
    }
}
