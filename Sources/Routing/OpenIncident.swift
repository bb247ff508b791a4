package import ObshellModel
package import Tracker

/// One open incident as the router remembers it: what was last sent for it, to whom, whether someone acknowledged
/// it, and when its next `repeat` reminder is due. The status API's `/api/v1/incidents` and the web console show
/// these; they are the incidents obwatch told someone about (or that inhibit others), not every firing event.
package struct OpenIncident: Sendable, Hashable {
    /// The incident string (`TARGET/DAG/KIND`, or `TARGET/target_down`).
    package var incident: String
    /// The target the incident is on, when known from an inhibitor or the latest event.
    package var target: String?
    /// The latest firing event sent for the incident (without routes); `nil` when it only inhibits so far.
    package var latest: Event?
    /// Every receiver that was sent a firing event of it, in the order they were first sent one.
    package var receivers: [String]
    /// Whether someone acknowledged it (`obwatch ack`): its reminders stop until it closes.
    package var acknowledged: Bool
    /// Whether it inhibits other events of its target (and DAG).
    package var inhibiting: Bool
    /// When the next `repeat` reminder is due, the earliest over its rules; `nil` without one.
    package var nextReminder: ObshellTime?
}

extension RouterState {
    /// The open incidents with what the router knows of each, sorted by incident string (as ``openIncidents``).
    package var openIncidentDetails: [OpenIncident] {
        self.openIncidents.map { incident in
            let sent = self.senders.first { $0.incident == incident }
            let inhibitor = self.inhibitors.first { $0.incident == incident }
            let reminders = self.reminders.filter { $0.incident == incident }
            let latest = sent?.latest ?? reminders.last?.original
            var receivers: [String] = []
            for delivery in sent?.deliveries ?? [] where !receivers.contains(delivery.receiver) {
                receivers.append(delivery.receiver)
            }
            return OpenIncident(
                incident: incident,
                target: inhibitor?.target ?? latest?.target.name,
                latest: latest,
                receivers: receivers,
                acknowledged: self.acknowledged.contains(incident),
                inhibiting: inhibitor != nil,
                nextReminder: self.acknowledged.contains(incident) ? nil : reminders.map(\.due).min()
            )
        }
    }
}
