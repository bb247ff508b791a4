import Obshell
import Tracker

/// Gathers the notifications of one ``Router`` call: groups without `group_wait` live only for the call, the others
/// wait in ``RouterState`` until their deadline.
struct NotificationCollector {
    /// Groups that are complete: sent at the end of the call.
    private var finished: [RouterState.Group] = []
    /// Groups without `group_wait`, gathering this call's events.
    private var immediate: [RouterState.Group] = []

    /// Adds one event for one (receiver, rule) pair.
    /// - Parameters:
    ///   - event: The event, its `routes` filled.
    ///   - receiver: The receiver it goes to.
    ///   - rule: The rule it goes through.
    ///   - wait: The rule's `group_wait`.
    ///   - instant: When the event is routed: a new group's deadline counts from it.
    ///   - state: Holds the waiting groups.
    mutating func add(
        _ event: Event,
        receiver: String,
        rule: String,
        wait: Duration,
        at instant: ObshellTime,
        state: inout RouterState
    ) {
        guard wait > .zero else {
            if let index = self.immediate.firstIndex(where: { $0.receiver == receiver && $0.rule == rule }) {
                self.immediate[index].events.append(event)
            } else {
                let group = RouterState.Group(
                    receiver: receiver,
                    rule: rule,
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
                return
            }
            // The waiting group was already due when this event came: it goes out as it was, and the event starts
            // the next one.
            self.finished.append(state.pendingGroups.remove(at: index))
        }
        let group = RouterState.Group(
            receiver: receiver,
            rule: rule,
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
            .map { OutboundNotification(receiver: $0.receiver, rule: $0.rule, events: $0.events) }
    }
}
