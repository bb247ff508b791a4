package import ConfigModel
package import ObshellModel
import Tracker

/// What ``Router/acknowledge(incident:by:at:pagingReceivers:state:)`` did.
package enum AcknowledgeOutcome: Sendable, Hashable {
    /// The incident is not open (never sent anywhere, or closed already).
    case notOpen
    /// It was acknowledged before: nothing changed.
    case alreadyAcknowledged
    /// Acknowledged now; the notifications tell its paging receivers.
    case acknowledged(RoutingResult)
}

extension Router {
    /// Acknowledges an open incident: its `repeat` reminders stop (until it closes; a new firing event of it does
    /// not restart them), its events keep routing, and each of its paging receivers that was sent it gets an
    /// acknowledgement (PagerDuty `acknowledge`, Opsgenie `acknowledge`), through the first rule that sent it there.
    /// - Parameters:
    ///   - incident: The incident, e.g. `prod-east/1234/failed`.
    ///   - author: Who acknowledged, carried in the notifications.
    ///   - now: The instant of the acknowledgement: the acknowledgement event's `at`.
    ///   - pagingReceivers: The receivers whose format has an acknowledge (PagerDuty, Opsgenie).
    ///   - state: The router's memory; updated.
    /// - Returns: What happened; the caller delivers the notifications and saves the state.
    package func acknowledge(
        incident: String,
        by author: String,
        at now: ObshellTime,
        pagingReceivers: Set<String>,
        state: inout RouterState
    ) -> AcknowledgeOutcome {
        guard state.openIncidents.contains(incident) else { return .notOpen }
        guard !state.acknowledged.contains(incident) else { return .alreadyAcknowledged }
        state.acknowledged.append(incident)
        state.reminders.removeAll { $0.incident == incident }
        guard let senders = state.senders.first(where: { $0.incident == incident }), var event = senders.latest else {
            return .acknowledged(RoutingResult())
        }
        event.id += "/ack"
        event.at = now
        var notifications: [OutboundNotification] = []
        var routes: [Event.Route] = []
        for delivery in senders.deliveries where pagingReceivers.contains(delivery.receiver) {
            guard !notifications.contains(where: { $0.receiver == delivery.receiver }) else { continue }
            routes.append(Event.Route(rule: delivery.rule, receivers: [delivery.receiver]))
        }
        event.routes = routes
        for route in routes {
            for receiver in route.receivers {
                var notification = OutboundNotification(receiver: receiver, rule: route.rule, events: [event])
                notification.acknowledgedBy = author
                notifications.append(notification)
            }
        }
        return .acknowledged(RoutingResult(events: [], notifications: notifications))
    }
}
