package import ConfigModel
package import Tracker

/// What one ``Router/route(_:at:state:)`` or ``Router/tick(at:state:)`` call produced.
package struct RoutingResult: Sendable, Hashable {
    /// The events with `routes` filled: the routed events in their input order, or the reminders in time order.
    package var events: [Event]
    /// The notifications now due, in the order their first event was routed.
    package var notifications: [OutboundNotification]

    /// Makes a result.
    package init(events: [Event] = [], notifications: [OutboundNotification] = []) {
        self.events = events
        self.notifications = notifications
    }
}
