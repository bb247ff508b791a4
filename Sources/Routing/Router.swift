package import ConfigModel
import History
package import ObshellModel
package import Tracker

/// Decides where events go: rules, silences, inhibition, resolved-to-senders, `repeat` reminders and `group_wait`
/// grouping (CONTRACT section 4, "Routing, precisely").
///
/// The router is a pure value: everything it remembers lives in the ``RouterState`` the caller passes in and persists,
/// and time comes only from the instants it is given, so the same calls always give the same answers.
///
/// Choices where the contract leaves room:
/// - A silence or an inhibition that covers a resolved event holds it back from everyone, the receivers of its
///   incident's firing events included; the incident is closed all the same.
/// - Sources of one incident never inhibit each other, and a resolved event is never inhibited by the incident it
///   closes.
/// - A `stalled` event without a `threshold` counts as one of `defaults.stall_after`.
/// - Reminders count from the `at` of the latest firing event the rule sent for the incident; every missed one comes
///   out once (see ``maximumCatchUpReminders``), and a reminder's new group counts its `group_wait` from its own `at`.
/// - A rule a reload removed keeps getting the resolved events of what it sent (through its old name, without
///   `group_wait`), but no reminders.
/// - `routes` lists every matching rule, but an event reaches each receiver once (CONTRACT section 6): it joins the
///   group of the first rule that sends it there, which takes that rule's `group_wait` and `template:`, and the
///   other rules are named in the notification's ``OutboundNotification/rules``. Reminders go through their own rule
///   only.
/// - A rule without `after:` that takes every event type receives `stalled` at every threshold in use, so an audit
///   trail never sees a `resumed` without its `stalled`; a rule that lists `stalled` keeps the default threshold.
package struct Router: Sendable {
    /// At most this many overdue reminders of one rule and incident come out of one ``tick(at:state:)``: after a long
    /// outage the oldest missed ones are skipped (their numbers are not reused), so a tiny `repeat` cannot flood.
    package static let maximumCatchUpReminders = 100

    /// The rules, in file order: `routes` lists them in this order.
    package let rules: [Rule]
    /// The silences.
    package let silences: [Silence]
    /// The inhibitions.
    package let inhibitions: [Inhibition]
    /// `defaults.stall_after`: the threshold of the rules without `after:`.
    package let defaultStallThreshold: StallThreshold
    /// Every distinct stall threshold (by its written text): `defaults.stall_after` first, then each rule's `after:`
    /// in file order. The tracker fires one `stalled` per threshold; a catch-all rule receives each of them.
    package let thresholdsInUse: [StallThreshold]

    private let ruleIndexByName: [String: Int]
    private let sourceTypes: Set<EventType>

    /// Makes a router.
    /// - Parameters:
    ///   - rules: The rules, in file order; names are unique (the first of a repeated name wins).
    ///   - silences: The silences.
    ///   - inhibitions: The inhibitions.
    ///   - defaultStallThreshold: `defaults.stall_after`.
    package init(
        rules: [Rule],
        silences: [Silence],
        inhibitions: [Inhibition],
        defaultStallThreshold: StallThreshold
    ) {
        self.rules = rules
        self.silences = silences
        self.inhibitions = inhibitions
        self.defaultStallThreshold = defaultStallThreshold
        var indexByName: [String: Int] = [:]
        for (index, rule) in rules.enumerated() where indexByName[rule.name] == nil {
            indexByName[rule.name] = index
        }
        self.ruleIndexByName = indexByName
        var thresholds = [defaultStallThreshold]
        for case let after? in rules.map(\.after) where !thresholds.contains(where: { $0.text == after.text }) {
            thresholds.append(after)
        }
        self.thresholdsInUse = thresholds
        self.sourceTypes = inhibitions.reduce(into: []) { $0.formUnion($1.sources) }
    }

    /// Makes the router of a configuration.
    /// - Parameter config: The checked configuration.
    package init(config: ObwatchConfig) {
        self.init(
            rules: config.rules,
            silences: config.silences,
            inhibitions: config.inhibitions,
            defaultStallThreshold: config.defaults.stallAfter
        )
    }

    /// The same rules with `extra` silences after the configured ones: the run-time silences (`obwatch silence add`),
    /// which the caller reads from its store and passes in, so routing stays a function of its inputs.
    /// - Parameter extra: The silences to add.
    /// - Returns: The router with every silence.
    package func adding(silences extra: [Silence]) -> Router {
        guard !extra.isEmpty else { return self }
        return Router(
            rules: self.rules,
            silences: self.silences + extra,
            inhibitions: self.inhibitions,
            defaultStallThreshold: self.defaultStallThreshold
        )
    }

    /// Routes the events of one observation (one poll's or one confirmation's, as the tracker emits them together).
    ///
    /// - Parameters:
    ///   - events: The observation's events, in the tracker's order.
    ///   - now: The instant of routing: silences are read at it and `group_wait` counts from it.
    ///   - state: The router's memory; updated.
    /// - Returns: Every event with `routes` filled, in input order, and the notifications now due: this call's
    ///   groups without `group_wait`, and any waiting groups whose deadline is at or before `now`. An event reaches
    ///   each receiver once, in the group of the first rule (in `routes` order) that sends it there; the other
    ///   rules that send it there are named in that notification's `rules`.
    package func route(_ events: [Event], at now: ObshellTime, state: inout RouterState) -> RoutingResult {
        var collector = NotificationCollector(ruleOrder: self.ruleIndexByName)
        collector.collectDue(at: now, state: &state)
        var routed: [Event] = []
        routed.reserveCapacity(events.count)
        for (position, original) in events.enumerated() {
            var event = original
            let blocked =
                self.isSilenced(event, at: now)
                || self.isInhibited(event, comingNext: events[(position + 1)...], state: state)
            var routes = self.matchingRules(for: event).map { rule in
                Event.Route(rule: rule.name, receivers: blocked ? [] : Self.unique(rule.receivers))
            }
            if event.status == .resolved, !blocked, let incident = event.incident,
                let senders = state.senders.first(where: { $0.incident == incident })
            {
                routes = self.merging(senders.deliveries, into: routes)
            }
            routes = Self.sparingDegraded(routes, of: event)
            event.routes = routes
            self.remember(event, state: &state)
            for (receiver, rules) in Self.rulesByReceiver(routes) {
                let wait = rules.first.flatMap { self.rule(named: $0)?.groupWait } ?? .zero
                collector.add(event, receiver: receiver, rules: rules, wait: wait, at: now, state: &state)
            }
            routed.append(event)
        }
        return RoutingResult(events: routed, notifications: collector.notifications())
    }

    /// Advances time without events: emits the `repeat` reminders that fell due and the notifications now due.
    ///
    /// Call it before ``route(_:at:state:)`` for each observation, and on a timer at ``nextDeadline(in:)``. A tick
    /// that jumps several intervals yields every missed reminder once, in time order (at most
    /// ``maximumCatchUpReminders`` per rule and incident).
    /// - Parameters:
    ///   - now: The current instant.
    ///   - state: The router's memory; updated.
    /// - Returns: The reminders (with `routes`, in time order) and the notifications now due, reminders included.
    package func tick(at now: ObshellTime, state: inout RouterState) -> RoutingResult {
        var collector = NotificationCollector(ruleOrder: self.ruleIndexByName)
        // A reload may have removed the rule or its `repeat:`: its reminders end with it.
        state.reminders.removeAll { self.repeatInterval(ofRule: $0.rule) == nil }
        self.skipFloodedReminders(at: now, state: &state)
        var reminders: [Event] = []
        while let index = Self.earliestReminder(dueBy: now, in: state.reminders),
            let rule = self.rule(named: state.reminders[index].rule),
            let interval = self.repeatInterval(ofRule: rule.name)
        {
            var schedule = state.reminders[index]
            schedule.count += 1
            var event = schedule.original
            event.id = schedule.original.id + "/r" + String(schedule.count)
            event.at = schedule.due
            let blocked =
                self.isSilenced(event, at: schedule.due)
                || self.isInhibited(event, comingNext: [], state: state)
            let receivers =
                blocked
                ? [] : Self.unique(rule.receivers).filter { !(event.degradedReceivers ?? []).contains($0) }
            event.routes = [Event.Route(rule: rule.name, receivers: receivers)]
            schedule.due = schedule.due.adding(interval)
            state.reminders[index] = schedule
            for receiver in receivers {
                collector.add(
                    event,
                    receiver: receiver,
                    rules: [rule.name],
                    wait: rule.groupWait,
                    at: event.at,
                    state: &state
                )
            }
            reminders.append(event)
        }
        collector.collectDue(at: now, state: &state)
        return RoutingResult(events: reminders, notifications: collector.notifications())
    }

    /// When ``tick(at:state:)`` next has something to do: the earliest reminder or group deadline.
    /// - Parameter state: The router's memory.
    /// - Returns: That instant, or `nil` when nothing is pending.
    package func nextDeadline(in state: RouterState) -> ObshellTime? {
        var candidates = state.pendingGroups.compactMap(\.deadline)
        for reminder in state.reminders where self.repeatInterval(ofRule: reminder.rule) != nil {
            candidates.append(reminder.due)
        }
        return candidates.min { $1.isLater(than: $0) }
    }

    // MARK: - Matching

    /// Whether `rule` is routed the `stalled` events of `threshold` (see
    /// ``Rule/receivesStalled(threshold:default:thresholdsInUse:)``): its own `after:`, or, without one, every
    /// threshold in use for a rule that takes every event type and `defaults.stall_after` for any other.
    /// - Parameters:
    ///   - rule: The rule.
    ///   - threshold: The threshold as written, e.g. `30m`.
    package func receivesStalled(rule: Rule, threshold: String) -> Bool {
        rule.receivesStalled(
            threshold: threshold,
            default: self.defaultStallThreshold,
            thresholdsInUse: self.thresholdsInUse
        )
    }

    /// The rules that match `event`, in file order; a `stalled` event goes only to the rules that receive its
    /// threshold.
    func matchingRules(for event: Event) -> [Rule] {
        self.rules.filter { rule in
            guard rule.matcher.matches(event) else { return false }
            if event.type == .slow { return rule.receivesSlow(threshold: event.threshold ?? SlowerThan.usual.text) }
            guard event.type == .stalled else { return true }
            // A stalled event without a threshold can only come from the default clock.
            let threshold = event.threshold ?? self.defaultStallThreshold.text
            return self.receivesStalled(rule: rule, threshold: threshold)
        }
    }

    private func isSilenced(_ event: Event, at instant: ObshellTime) -> Bool {
        self.silences.contains { silence in
            switch silence.window {
            case .absolute(let from, let until):
                // `Silence.silences(_:at:)` compares with `ObshellTime.<`, which orders equal instants written in
                // different offsets by their text: 18:00Z would fall before 02:00+08:00. Silences compare instants.
                silence.matcher.matches(event) && !from.isLater(than: instant) && until.isLater(than: instant)
            case .weekly:
                silence.silences(event, at: instant)
            }
        }
    }

    /// Whether an open source incident of the same target and DAG suppresses `event`.
    ///
    /// - Parameters:
    ///   - event: The event to send.
    ///   - comingNext: The rest of the observation: a source in it already inhibits, unless a resolved event of its
    ///     incident comes between (then it opens a new episode after this event).
    ///   - state: The open inhibitors.
    private func isInhibited(
        _ event: Event,
        comingNext: ArraySlice<Event>,
        state: RouterState
    ) -> Bool {
        let applicable = self.inhibitions.filter { $0.suppressed.contains(event.type) }
        guard !applicable.isEmpty else { return false }
        var inhibitors = state.inhibitors
        var closedMeanwhile: Set<String> = []
        for later in comingNext {
            guard let incident = later.incident else { continue }
            if later.status == .resolved {
                closedMeanwhile.insert(incident)
            } else if later.status == .firing, self.sourceTypes.contains(later.type),
                !closedMeanwhile.contains(incident)
            {
                inhibitors.append(RouterState.Inhibitor(event: later, incident: incident))
            }
        }
        return inhibitors.contains { inhibitor in
            guard inhibitor.covers(event) else { return false }
            // A source never suppresses itself nor another source of its incident (a reminder of it included), and
            // the resolved event that closes an incident is never held back by that incident.
            if event.incident == inhibitor.incident, event.status == .resolved || self.sourceTypes.contains(event.type)
            {
                return false
            }
            return applicable.contains { inhibition in inhibitor.types.contains(where: inhibition.sources.contains) }
        }
    }

    /// A receiver that is stuck is never asked to carry the news of its own failure (`watcher_degraded` names it in
    /// `degraded_receivers`): it is taken out of the event's routes, and another rule's receiver speaks.
    private static func sparingDegraded(_ routes: [Event.Route], of event: Event) -> [Event.Route] {
        guard let degraded = event.degradedReceivers, !degraded.isEmpty else { return routes }
        return routes.map { route in
            Event.Route(rule: route.rule, receivers: route.receivers.filter { !degraded.contains($0) })
        }
    }

    /// Adds the (rule, receiver) pairs that were sent the firing side of a resolved event's incident.
    private func merging(_ deliveries: [RouterState.Delivery], into routes: [Event.Route]) -> [Event.Route] {
        var merged = routes
        for delivery in deliveries {
            if let index = merged.firstIndex(where: { $0.rule == delivery.rule }) {
                if !merged[index].receivers.contains(delivery.receiver) {
                    merged[index].receivers.append(delivery.receiver)
                }
            } else {
                merged.append(Event.Route(rule: delivery.rule, receivers: [delivery.receiver]))
            }
        }
        // Rules keep file order; a rule a reload removed goes last, where it was first added.
        return merged.enumerated()
            .sorted { lhs, rhs in
                let lhsKey = (self.ruleIndexByName[lhs.element.rule] ?? Int.max, lhs.offset)
                let rhsKey = (self.ruleIndexByName[rhs.element.rule] ?? Int.max, rhs.offset)
                return lhsKey < rhsKey
            }
            .map(\.element)
    }

    // MARK: - State

    /// Records what a routed event opens or closes.
    private func remember(_ event: Event, state: inout RouterState) {
        guard let incident = event.incident else { return }
        switch event.status {
        case .firing:
            // Tracked whether or not any rule took the event: inhibition is about the DAG, not the routing.
            if self.sourceTypes.contains(event.type) {
                state.openInhibitor(for: event, incident: incident)
            }
            for route in event.routes ?? [] where !route.receivers.isEmpty {
                for receiver in route.receivers {
                    state.recordDelivery(incident: incident, rule: route.rule, receiver: receiver, event: event)
                }
                // An acknowledged incident's new events still go out, but nobody is reminded of it any more.
                if let interval = self.repeatInterval(ofRule: route.rule), !state.acknowledged.contains(incident) {
                    self.schedule(event, rule: route.rule, incident: incident, interval: interval, state: &state)
                }
            }
        case .resolved:
            state.close(incident: incident)
        case .info:
            break
        }
    }

    /// Starts (or restarts, from a newer firing event) the reminders of one rule for one incident.
    private func schedule(
        _ event: Event,
        rule: String,
        incident: String,
        interval: Duration,
        state: inout RouterState
    ) {
        var original = event
        original.routes = nil
        let reminder = RouterState.Reminder(
            rule: rule,
            incident: incident,
            original: original,
            count: 0,
            due: event.at.adding(interval)
        )
        if let index = state.reminders.firstIndex(where: { $0.rule == rule && $0.incident == incident }) {
            state.reminders[index] = reminder
        } else {
            state.reminders.append(reminder)
        }
    }

    /// Moves reminders that are more than ``maximumCatchUpReminders`` intervals overdue forward, counting the
    /// skipped ones, so that one tick emits a bounded number.
    private func skipFloodedReminders(at now: ObshellTime, state: inout RouterState) {
        let limit = Int128(Self.maximumCatchUpReminders)
        for index in state.reminders.indices {
            let reminder = state.reminders[index]
            guard let interval = self.repeatInterval(ofRule: reminder.rule), !reminder.due.isLater(than: now) else {
                continue
            }
            let step = Self.attoseconds(interval)
            let overdue = Self.attoseconds(from: reminder.due, to: now)
            let missed = overdue / step + 1
            guard missed > limit else { continue }
            let skipped = missed - limit
            let skip = skipped * step
            let perSecond: Int128 = 1_000_000_000_000_000_000
            let jump = Duration(
                secondsComponent: Int64(clamping: skip / perSecond),
                attosecondsComponent: Int64(clamping: skip % perSecond)
            )
            state.reminders[index].due = reminder.due.adding(jump)
            state.reminders[index].count += Int(clamping: skipped)
        }
    }

    // MARK: - Helpers

    private func rule(named name: String) -> Rule? {
        guard let index = self.ruleIndexByName[name] else { return nil }
        return self.rules[index]
    }

    /// A rule's `repeat:` when it is usable: at least a nanosecond, the resolution of event times.
    private func repeatInterval(ofRule name: String) -> Duration? {
        guard let interval = self.rule(named: name)?.repeatInterval, interval >= .nanoseconds(1) else { return nil }
        return interval
    }

    /// The index of the reminder due earliest, at or before `now`; the first one scheduled wins a tie.
    private static func earliestReminder(dueBy now: ObshellTime, in reminders: [RouterState.Reminder]) -> Int? {
        var best: Int?
        for (index, reminder) in reminders.enumerated() where !reminder.due.isLater(than: now) {
            if let current = best, !reminders[current].due.isLater(than: reminder.due) { continue }
            best = index
        }
        return best
    }

    /// Each receiver of `routes` once, in the order it first appears, with every rule that sends it there in
    /// `routes` order: one notification per event and receiver.
    private static func rulesByReceiver(_ routes: [Event.Route]) -> [(receiver: String, rules: [String])] {
        var result: [(receiver: String, rules: [String])] = []
        for route in routes {
            for receiver in route.receivers {
                if let index = result.firstIndex(where: { $0.receiver == receiver }) {
                    if !result[index].rules.contains(route.rule) { result[index].rules.append(route.rule) }
                } else {
                    result.append((receiver, [route.rule]))
                }
            }
        }
        return result
    }

    private static func unique(_ receivers: [String]) -> [String] {
        var seen: Set<String> = []
        return receivers.filter { seen.insert($0).inserted }
    }

    private static func attoseconds(_ duration: Duration) -> Int128 {
        let (seconds, attoseconds) = duration.components
        return Int128(seconds) * 1_000_000_000_000_000_000 + Int128(attoseconds)
    }

    private static func attoseconds(from start: ObshellTime, to end: ObshellTime) -> Int128 {
        let nanoseconds =
            (Int128(end.seconds) - Int128(start.seconds)) * 1_000_000_000
            + Int128(end.nanoseconds) - Int128(start.nanoseconds)
        return nanoseconds * 1_000_000_000
    }
}
