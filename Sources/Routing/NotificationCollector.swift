import ConfigModel
import ObshellModel
import Tracker

/// Gathers the notifications of one ``Router`` call: groups without `group_wait` live only for the call, the others
/// wait in ``RouterState`` until their deadline.
///
/// A group is keyed by (receiver, rule), where the rule is the first one (in file order) that routed an event to the
/// receiver; the later rules that routed the same event there are only named in the group's `rules`, so the event
/// reaches the receiver once.
struct NotificationCollector {
    /// The file position of each rule: a group lists its rules in this order, unknown (removed) rules last.
    private let ruleOrder: [String: Int]
    /// Groups that are complete: sent at the end of the call.
    private var finished: [RouterState.Group] = []
    /// Groups without `group_wait`, gathering this call's events.
    private var immediate: [RouterState.Group] = []

    /// Makes a collector.
    /// - Parameter ruleOrder: The file position of each rule of the configuration.
    init(ruleOrder: [String: Int]) {
        self.ruleOrder = ruleOrder
    }

    /// Adds one event for one receiver.
    /// - Parameters:
    ///   - event: The event, its `routes` filled.
    ///   - receiver: The receiver it goes to.
    ///   - rules: Every rule that routes it to `receiver`, in `routes` order; the first one's group takes it.
    ///   - wait: The first rule's `group_wait`.
    ///   - instant: When the event is routed: a new group's deadline counts from it.
    ///   - state: Holds the waiting groups.
    mutating func add(
        _ event: Event,
        receiver: String,
        rules: [String],
        wait: Duration,
        at instant: ObshellTime,
        state: inout RouterState
    ) {
        guard let rule = rules.first else { return }
        guard wait > .zero else {
            if let index = self.immediate.firstIndex(where: { $0.receiver == receiver && $0.rule == rule }) {
                self.immediate[index].events.append(event)
                self.immediate[index].rules = self.merged(self.immediate[index].rules, rules)
            } else {
                let group = RouterState.Group(
                    receiver: receiver,
                    rule: rule,
                    rules: self.merged([rule], rules),
                    sequence: state.takeSequence(),
                    deadline: nil,
                    events: [event]
                )
                self.immediate.append(group)
            }
            return
        }
        if let index = state.pendingGroups.firstIndex(where: { $0.receiver == receiver && $0.rule == rule }) {
            if let deadline = state.pendingGroups[index].deadline, deadline.isLater(than: instant) {
                state.pendingGroups[index].events.append(event)
                state.pendingGroups[index].rules = self.merged(state.pendingGroups[index].rules, rules)
                return
            }
            // The waiting group was already due when this event came: it goes out as it was, and the event starts
            // the next one.
            self.finished.append(state.pendingGroups.remove(at: index))
        }
        let group = RouterState.Group(
            receiver: receiver,
            rule: rule,
            rules: self.merged([rule], rules),
            sequence: state.takeSequence(),
            deadline: instant.adding(wait),
            events: [event]
        )
        state.pendingGroups.append(group)
    }

    /// Takes every waiting group whose deadline is at or before `now`.
    mutating func collectDue(at now: ObshellTime, state: inout RouterState) {
        var waiting: [RouterState.Group] = []
        for group in state.pendingGroups {
            if let deadline = group.deadline, deadline.isLater(than: now) {
                waiting.append(group)
            } else {
                self.finished.append(group)
            }
        }
        state.pendingGroups = waiting
    }

    /// The notifications of the call, in the order their first event was routed.
    func notifications() -> [OutboundNotification] {
        (self.finished + self.immediate)
            .sorted { $0.sequence < $1.sequence }
            .map {
                OutboundNotification(
                    receiver: $0.receiver,
                    rule: $0.rule,
                    otherRules: Array($0.rules.dropFirst()),
                    events: $0.events
                )
            }
    }

    /// A group's rules with `added` joined: the group's own rule stays first, the others follow in file order
    /// (rules a reload removed last, in the order they came), each once.
    private func merged(_ rules: [String], _ added: [String]) -> [String] {
        guard let first = rules.first else { return added }
        var others: [String] = []
        for rule in rules.dropFirst() + added where rule != first && !others.contains(rule) {
            others.append(rule)
        }
        let ordered = others.enumerated()
            .sorted { lhs, rhs in
                (self.ruleOrder[lhs.element] ?? Int.max, lhs.offset) < (
                    self.ruleOrder[rhs.element] ?? Int.max, rhs.offset
                )
            }
            .map(\.element)
        return [first] + ordered
    }
}
