public import Tracker

/// What one receiver is sent through one rule: the events gathered for that (receiver, rule) pair.
///
public struct OutboundNotification: Sendable, Hashable, Codable {
    /// A stable idempotency key: the same receiver, rule and events always give the same id.
    public var id: String
    /// The receiver's name.
    public var receiver: String
    /// The rule's name.
    public var rule: String
    /// `firing` when any event fires, else `resolved` when any resolves, else `info`.
    public var status: EventStatus
    /// The events in routing order, each with its full `routes`.
    public var events: [Event]
    /// The distinct incidents of the events, in the order they first appear.
    public var incidents: [String]

    /// Makes a notification; its id, status and incidents follow from the events.
    /// - Parameters:
    ///   - receiver: The receiver's name.
    ///   - rule: The rule's name.
    ///   - events: The events, in routing order.
    public init(receiver: String, rule: String, events: [Event]) {
        self.id = EventID.make([receiver, rule] + events.map(\.id))
        self.receiver = receiver
        self.rule = rule
        self.events = events
        if events.contains(where: { $0.status == .firing }) {
            self.status = .firing
        } else if events.contains(where: { $0.status == .resolved }) {
            self.status = .resolved
        } else {
            self.status = .info
        }
        var incidents: [String] = []
        for incident in events.compactMap(\.incident) where !incidents.contains(incident) {
            incidents.append(incident)
        }
        self.incidents = incidents
    }
}
