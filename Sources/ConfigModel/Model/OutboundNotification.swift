package import Tracker

/// What one receiver is sent: events gathered for it, each one only once however many rules routed it there.
///
/// A notification belongs to the first rule (in file order) that routed its first event to the receiver: that rule's
/// `group_wait` gathered it and its `template:` renders it. ``rules`` also names every other rule that routed one of
/// its events to the receiver (CONTRACT section 6: one notification per event and receiver).
package struct OutboundNotification: Sendable, Hashable, Codable {
    /// A stable idempotency key of the receiver, the first rule and the events' ids.
    ///
    /// Only the first rule takes part: a notification routed by one rule keeps the id it had before ``rules``
    /// existed, and a rule added further down the file does not make the same delivery look new after a restart.
    /// One event reaches a receiver at most once per routing, so the receiver and the events already tell two
    /// notifications apart.
    package var id: String
    /// The receiver's name.
    package var receiver: String
    /// The first rule (in file order) that routed the events: ``rules``'s first element.
    package var rule: String
    /// Every rule that routed one of the events to the receiver, ``rule`` first, each once.
    package var rules: [String]
    /// `firing` when any event fires, else `resolved` when any resolves, else `info`.
    package var status: EventStatus
    /// The events in routing order, each with its full `routes`.
    package var events: [Event]
    /// The distinct incidents of the events, in the order they first appear.
    package var incidents: [String]
    /// Set on an acknowledgement (`obwatch ack`): who acknowledged the incident of the events. Paging formats send
    /// their vendor's acknowledge instead of a trigger; the router makes these only for PagerDuty and Opsgenie.
    package var acknowledgedBy: String?

    /// Makes a notification; its id, status and incidents follow from the events.
    /// - Parameters:
    ///   - receiver: The receiver's name.
    ///   - rule: The first rule that routed the events to the receiver; its `group_wait` and `template:` apply.
    ///   - otherRules: The other rules that routed some of the events there too, in file order; repeats and `rule`
    ///     itself are left out.
    ///   - events: The events, in routing order.
    package init(receiver: String, rule: String, otherRules: [String] = [], events: [Event]) {
        self.id = EventID.make([receiver, rule] + events.map(\.id))
        self.receiver = receiver
        self.rule = rule
        var rules = [rule]
        for other in otherRules where !rules.contains(other) {
            rules.append(other)
        }
        self.rules = rules
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

    /// The same receiver and rules with other events: a new id, status and incidents follow from them.
    /// - Parameter events: The events, in routing order.
    package func with(events: [Event]) -> OutboundNotification {
        OutboundNotification(
            receiver: self.receiver,
            rule: self.rule,
            otherRules: Array(self.rules.dropFirst()),
            events: events
        )
    }

    enum CodingKeys: String, CodingKey {
        case id, receiver, rule, rules, status, events, incidents, acknowledgedBy
    }

    /// Decodes a notification; one journaled before ``rules`` existed gets `[rule]`.
    /// - Throws: `DecodingError` when a field other than `rules` is missing or malformed.
    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.id = try container.decode(String.self, forKey: .id)
        self.receiver = try container.decode(String.self, forKey: .receiver)
        let rule = try container.decode(String.self, forKey: .rule)
        self.rule = rule
        let rules = try container.decodeIfPresent([String].self, forKey: .rules) ?? []
        self.rules = rules.first == rule ? rules : [rule] + rules.filter { $0 != rule }
        self.status = try container.decode(EventStatus.self, forKey: .status)
        self.events = try container.decode([Event].self, forKey: .events)
        self.incidents = try container.decode([String].self, forKey: .incidents)
        self.acknowledgedBy = try container.decodeIfPresent(String.self, forKey: .acknowledgedBy)
    }
}
