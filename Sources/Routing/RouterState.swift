import ConfigModel
import ObshellModel
import Tracker

/// What the ``Router`` remembers between observations: open inhibiting incidents, who was sent each open incident,
/// the repeat reminders due, and the notifications still gathering events.
///
/// The daemon persists it (JSON through `Codable`) so that a restart neither loses a pending group nor forgets where
/// a page must be resolved. Every collection is an array kept in the order things happened, never a dictionary, so
/// that nothing about the output depends on hashing.
package struct RouterState: Sendable, Hashable, Codable {
    /// The layout version this code writes and reads.
    package static let currentVersion = 1

    /// An open incident of a firing event whose type is an inhibition source: it inhibits events of its target and
    /// DAG (or of every DAG of the target, when it has none, as `target_down`) until a resolved event closes it.
    struct Inhibitor: Sendable, Hashable, Codable {
        /// The target the incident is on.
        var target: String
        /// The DAG's generic id; `nil` for a target-wide incident.
        var dag: String?
        /// The incident string of the source events; a resolved event carrying it closes the inhibitor.
        var incident: String
        /// The source types seen for this incident, in order.
        var types: [EventType]
    }

    /// One (rule, receiver) pair that was really sent a firing event.
    struct Delivery: Sendable, Hashable, Codable {
        /// The rule's name.
        var rule: String
        /// The receiver's name.
        var receiver: String
    }

    /// Everyone who was really sent a firing event of one open incident, in the order they were first sent one.
    struct IncidentSenders: Sendable, Hashable, Codable {
        /// The incident string.
        var incident: String
        /// The pairs that got a firing event of it.
        var deliveries: [Delivery]
        /// The latest firing event sent for the incident (without routes): an acknowledgement is about it. Absent in
        /// state written before acknowledgements existed.
        var latest: Event?
    }

    /// The next repeat reminder of one rule for one open incident.
    struct Reminder: Sendable, Hashable, Codable {
        /// The rule with `repeat:` that sent the incident.
        var rule: String
        /// The incident it reminds of.
        var incident: String
        /// The latest firing event this rule sent for the incident (its `routes` cleared).
        var original: Event
        /// How many reminders of ``original`` were already emitted.
        var count: Int
        /// When the next one is due.
        var due: ObshellTime
    }

    /// Events gathered for one receiver through one rule, waiting for `group_wait` to pass.
    struct Group: Sendable, Hashable, Codable {
        /// The receiver's name.
        var receiver: String
        /// The rule whose `group_wait` gathers the events: the first rule that routed each of them to the receiver.
        var rule: String
        /// Every rule that routed one of the events to the receiver, ``rule`` first.
        var rules: [String]
        /// Orders notifications by when their first event was routed.
        var sequence: Int
        /// When the group is sent; `nil` for a group sent at the end of the call that made it (no `group_wait`).
        var deadline: ObshellTime?
        /// The events, in routing order, each with its `routes`.
        var events: [Event]

        init(receiver: String, rule: String, rules: [String], sequence: Int, deadline: ObshellTime?, events: [Event]) {
            self.receiver = receiver
            self.rule = rule
            self.rules = rules
            self.sequence = sequence
            self.deadline = deadline
            self.events = events
        }

        enum CodingKeys: String, CodingKey {
            case receiver, rule, rules, sequence, deadline, events
        }

        /// Decodes a group; one saved before `rules` existed gets `[rule]`.
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.receiver = try container.decode(String.self, forKey: .receiver)
            self.rule = try container.decode(String.self, forKey: .rule)
            self.rules = try container.decodeIfPresent([String].self, forKey: .rules) ?? [self.rule]
            self.sequence = try container.decode(Int.self, forKey: .sequence)
            self.deadline = try container.decodeIfPresent(ObshellTime.self, forKey: .deadline)
            self.events = try container.decode([Event].self, forKey: .events)
        }
    }

    /// The layout version this state was written with.
    package var version: Int
    var inhibitors: [Inhibitor]
    var senders: [IncidentSenders]
    var reminders: [Reminder]
    var pendingGroups: [Group]
    var nextSequence: Int
    /// The open incidents someone acknowledged (`obwatch ack`): no `repeat` reminder goes out for them until they
    /// close; their events still route.
    package var acknowledged: [String]

    /// An empty state: nothing open, nothing pending.
    package init() {
        self.version = Self.currentVersion
        self.inhibitors = []
        self.senders = []
        self.reminders = []
        self.pendingGroups = []
        self.nextSequence = 0
        self.acknowledged = []
    }

    /// Whether nothing is open or pending.
    package var isEmpty: Bool {
        self.inhibitors.isEmpty && self.senders.isEmpty && self.reminders.isEmpty && self.pendingGroups.isEmpty
    }

    /// The incidents the router currently considers open (inhibiting, sent, or being reminded of), sorted.
    package var openIncidents: [String] {
        var incidents = Set(self.inhibitors.map(\.incident))
        incidents.formUnion(self.senders.map(\.incident))
        incidents.formUnion(self.reminders.map(\.incident))
        return incidents.sorted()
    }

    /// How many notifications are waiting for their `group_wait` to pass.
    package var pendingNotificationCount: Int { self.pendingGroups.count }

    enum CodingKeys: String, CodingKey {
        case version, inhibitors, senders, reminders, pendingGroups, nextSequence, acknowledged
    }

    /// Decodes a persisted state.
    /// - Throws: `DecodingError` when the data is not a router state, or was written by a newer layout version.
    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let version = try container.decode(Int.self, forKey: .version)
        guard version == Self.currentVersion else {
            throw DecodingError.dataCorruptedError(
                forKey: .version,
                in: container,
                debugDescription:
                    "router state version \(version) is not \(Self.currentVersion), the one this build reads"
            )
        }
        self.version = version
        self.inhibitors = try container.decodeIfPresent([Inhibitor].self, forKey: .inhibitors) ?? []
        self.senders = try container.decodeIfPresent([IncidentSenders].self, forKey: .senders) ?? []
        self.reminders = try container.decodeIfPresent([Reminder].self, forKey: .reminders) ?? []
        self.pendingGroups = try container.decodeIfPresent([Group].self, forKey: .pendingGroups) ?? []
        // A sequence below an existing group's would reorder notifications after a restart.
        let floor = (self.pendingGroups.map(\.sequence).max() ?? -1) + 1
        self.nextSequence = max(try container.decodeIfPresent(Int.self, forKey: .nextSequence) ?? 0, floor)
        self.acknowledged = try container.decodeIfPresent([String].self, forKey: .acknowledged) ?? []
    }

    /// Encodes the state.
    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.version, forKey: .version)
        try container.encode(self.inhibitors, forKey: .inhibitors)
        try container.encode(self.senders, forKey: .senders)
        try container.encode(self.reminders, forKey: .reminders)
        try container.encode(self.pendingGroups, forKey: .pendingGroups)
        try container.encode(self.nextSequence, forKey: .nextSequence)
        // Left out while empty, so that a state without acknowledgements is written as before.
        if !self.acknowledged.isEmpty { try container.encode(self.acknowledged, forKey: .acknowledged) }
    }

    /// Hands out the next group sequence number.
    mutating func takeSequence() -> Int {
        let sequence = self.nextSequence
        self.nextSequence += 1
        return sequence
    }

    /// Forgets everything about a resolved incident: its inhibitor, its senders and its reminders.
    mutating func close(incident: String) {
        self.inhibitors.removeAll { $0.incident == incident }
        self.senders.removeAll { $0.incident == incident }
        self.reminders.removeAll { $0.incident == incident }
        self.acknowledged.removeAll { $0 == incident }
    }

    /// Records that `rule` really sent a firing event of `incident` to `receiver`.
    mutating func recordDelivery(incident: String, rule: String, receiver: String, event: Event) {
        let delivery = Delivery(rule: rule, receiver: receiver)
        var latest = event
        latest.routes = nil
        if let index = self.senders.firstIndex(where: { $0.incident == incident }) {
            if !self.senders[index].deliveries.contains(delivery) {
                self.senders[index].deliveries.append(delivery)
            }
            self.senders[index].latest = latest
        } else {
            self.senders.append(IncidentSenders(incident: incident, deliveries: [delivery], latest: latest))
        }
    }

    /// Opens (or extends) the inhibitor of a firing source event.
    mutating func openInhibitor(for event: Event, incident: String) {
        if let index = self.inhibitors.firstIndex(where: { $0.incident == incident }) {
            if !self.inhibitors[index].types.contains(event.type) { self.inhibitors[index].types.append(event.type) }
        } else {
            self.inhibitors.append(Inhibitor(event: event, incident: incident))
        }
    }
}

extension RouterState.Inhibitor {
    /// The inhibitor a firing source event opens.
    init(event: Event, incident: String) {
        self.init(
            target: event.target.name,
            dag: event.dag?.id,
            incident: incident,
            types: [event.type]
        )
    }

    /// Whether `event` is on this inhibitor's target and DAG (any DAG of the target for a target-wide one).
    func covers(_ event: Event) -> Bool {
        guard event.target.name == self.target else { return false }
        guard let dag = self.dag else { return true }
        return event.dag?.id == dag
    }
}
