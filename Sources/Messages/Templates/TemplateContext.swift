package import Foundation
import Mustache
import ObshellModel
package import Tracker

/// The value a template renders: an event (or a notification of several) as the keys of ``TemplateSchema``.
///
/// Every key of the schema is present; a field that does not apply is a null that renders as nothing and is false
/// in a section. That matters inside `{{#events}}`: Mustache looks a missing name up in the enclosing objects, so
/// without the null an event without `error` would show the first event's.
package struct TemplateContext: Sendable {
    /// The tree Mustache walks: dictionaries, arrays, strings, integers, booleans and ``TemplateNull``.
    let root: [String: any Sendable]

    /// The context of one event.
    /// - Parameters:
    ///   - event: The event.
    ///   - timeZone: The zone `at_local` is written in.
    ///   - receiver: The receiver's name, when rendering for one.
    ///   - rule: The rule's name, when rendering for one.
    package init(event: Event, timeZone: TimeZone = .current, receiver: String? = nil, rule: String? = nil) {
        self.root = Self.eventObject(event, timeZone: timeZone, receiver: receiver, rule: rule, rules: nil)
    }

    /// The context of a notification: every event under `events`, the events as one message shows them under
    /// `merged_events` (see ``merged(_:)``), and the first of those at the top.
    /// - Parameters:
    ///   - receiver: The receiver's name.
    ///   - rule: The rule's name: the first rule that routed the events to the receiver.
    ///   - rules: Every rule that routed them there (`{{#rules}}`); `nil` means `[rule]`.
    ///   - events: The events sent together, in order; the first one fills the top level.
    ///   - timeZone: The zone `at_local` is written in.
    package init(
        receiver: String,
        rule: String,
        rules: [String]? = nil,
        events: [Event],
        timeZone: TimeZone = .current
    ) {
        let rules = rules ?? [rule]
        let objects = events.map {
            Self.eventObject($0, timeZone: timeZone, receiver: receiver, rule: rule, rules: rules)
        }
        let shown = Self.shownIndices(events).map { objects[$0] }
        var root = shown.first ?? Self.emptyEventObject(receiver: receiver, rule: rule, rules: rules)
        root["events"] = objects
        root["merged_events"] = shown
        root["count"] = objects.count
        root["more"] = objects.count > 1 ? objects.count - 1 : TemplateNull()
        root["kinds"] = Self.kinds(events)
        self.root = root
    }

    /// The events as one message shows them: a `node_failed` that travels with the `failed` of its incident is
    /// left out, since that `failed` names the node and carries every failed sub-task with its last log line.
    ///
    /// obshell fails the DAG a moment after its node, so the two events usually come from one observation and go
    /// out as one notification (`group_wait` gathers them when a poll falls between); shown whole, they would
    /// repeat the same node, sub-task and log line.
    /// - Parameter events: The events of a notification, in order.
    /// - Returns: The events kept, in order.
    package static func merged(_ events: [Event]) -> [Event] {
        Self.shownIndices(events).map { events[$0] }
    }

    private static func shownIndices(_ events: [Event]) -> [Int] {
        let failedIncidents = Set(events.filter { $0.type == .failed }.compactMap(\.incident))
        return events.indices.filter { index in
            let event = events[index]
            guard event.type == .nodeFailed, let incident = event.incident else { return true }
            return !failedIncidents.contains(incident)
        }
    }

    /// What the events are, in words, each type once in order of first appearance with how many when more than
    /// one: `node failed, DAG failed`, `DAG started, stage advanced ×3`.
    /// - Parameter events: The events of a notification.
    package static func kinds(_ events: [Event]) -> String {
        var order: [EventType] = []
        var counts: [EventType: Int] = [:]
        for event in events {
            if counts[event.type] == nil { order.append(event.type) }
            counts[event.type, default: 0] += 1
        }
        return order.map { type in
            let count = counts[type] ?? 1
            return count > 1 ? "\(Self.kind(type)) ×\(count)" : Self.kind(type)
        }.joined(separator: ", ")
    }

    /// An event type in words, as a reader of a chat message would say it: `node failed`, `DAG failed`.
    /// - Parameter type: The type.
    package static func kind(_ type: EventType) -> String {
        switch type {
        case .started: "DAG started"
        case .stageAdvanced: "stage advanced"
        case .nodeFailed: "node failed"
        case .failed: "DAG failed"
        case .stalled: "DAG stalled"
        case .resumed: "DAG resumed"
        case .retried: "DAG retried"
        case .rollbackStarted: "rollback started"
        case .succeeded: "DAG succeeded"
        case .passed: "DAG passed"
        case .rolledBack: "DAG rolled back"
        case .cancelled: "DAG cancelled"
        case .vanished: "DAG vanished"
        case .targetDown: "target down"
        case .targetUp: "target up"
        case .watcherDegraded: "obwatch degraded"
        case .watcherRecovered: "obwatch recovered"
        case .slow: "node slow"
        case .caughtUp: "node caught up"
        case .test: "test"
        }
    }

    /// The text `{{path}}` would show without escaping, or `nil` when the path names nothing, a null, an object or
    /// a list.
    /// - Parameter path: A dotted path from the top level, e.g. `dag.name` or `target.labels.env`.
    package subscript(path path: String) -> String? {
        var current: any Sendable = self.root
        for segment in path.split(separator: ".", omittingEmptySubsequences: false) {
            guard let object = current as? [String: any Sendable], let next = object[String(segment)] else {
                return nil
            }
            current = next
        }
        switch current {
        case let text as String: return text
        case let number as Int: return String(number)
        case let flag as Bool: return flag ? "true" : "false"
        default: return nil
        }
    }

    private static func emptyEventObject(receiver: String, rule: String, rules: [String]) -> [String: any Sendable] {
        guard case .object(let keys) = TemplateSchema.event else { return [:] }
        var object: [String: any Sendable] = [:]
        for key in keys.keys { object[key] = TemplateNull() }
        object["receiver"] = receiver
        object["rule"] = rule
        object["rules"] = rules
        return object
    }

    private static func eventObject(
        _ event: Event,
        timeZone: TimeZone,
        receiver: String?,
        rule: String?,
        rules: [String]?
    ) -> [String: any Sendable] {
        var object: [String: any Sendable] = [
            "schema": Event.schema,
            "id": event.id,
            "type": event.type.rawValue,
            "status": event.status.rawValue,
            "severity": event.severity.rawValue,
            "incident": Self.orNull(event.incident),
            "at": event.at.text,
            "summary": event.summary,
            "error": Self.orNull(event.error),
            "threshold": Self.orNull(event.threshold),
            "stalled_seconds": Self.orNull(event.stalledSeconds.map { Int(clamping: $0) }),
            "elapsed_seconds": Self.orNull(event.elapsedSeconds.map { Int(clamping: $0) }),
            "threshold_seconds": Self.orNull(event.thresholdSeconds.map { Int(clamping: $0) }),
            "eta": Self.orNull(event.eta?.text),
            "observed_mid_run": Self.orNull(event.observedMidRun),
            "stalled_for": Self.orNull(event.stalledSeconds.map(Self.shortDuration)),
            "at_local": Self.localTime(event.at, in: timeZone),
            "progress": Self.orNull(event.dag.map { "\($0.stage)/\($0.maxStage)" }),
            "headline": Self.headline(event),
            "kind": Self.kind(event.type),
            "receiver": Self.orNull(receiver),
            "rule": Self.orNull(rule),
            "rules": rules ?? rule.map { [$0] } ?? [],
        ]
        var labels: [String: any Sendable] = [:]
        for (key, value) in event.target.labels { labels[key] = value }
        object["target"] =
            [
                "name": event.target.name, "url": Self.orNull(event.target.url), "labels": labels,
            ] as [String: any Sendable]
        if let dag = event.dag {
            object["dag"] =
                [
                    "id": dag.id, "dag_id": Int(clamping: dag.dagID), "name": dag.name, "stage": dag.stage,
                    "max_stage": dag.maxStage, "state": dag.state, "operator": dag.operator,
                    "start_time": Self.orNull(dag.startTime), "end_time": Self.orNull(dag.endTime),
                ] as [String: any Sendable]
        } else {
            object["dag"] = TemplateNull()
        }
        if let node = event.node {
            object["node"] =
                [
                    "id": node.id, "node_id": Int(clamping: node.nodeID), "name": node.name, "state": node.state,
                    "operator": node.operator,
                ] as [String: any Sendable]
        } else {
            object["node"] = TemplateNull()
        }
        object["sub_tasks"] = (event.subTasks ?? []).map(Self.subTaskObject)
        if let previous = event.previous {
            object["previous"] =
                ["stage": previous.stage, "state": previous.state, "operator": previous.operator]
                as [String: any Sendable]
        } else {
            object["previous"] = TemplateNull()
        }
        return object
    }

    private static func subTaskObject(_ subTask: Event.SubTaskInfo) -> [String: any Sendable] {
        var agent: any Sendable = TemplateNull()
        if let executeAgent = subTask.executeAgent {
            agent = ["ip": executeAgent.ip, "port": executeAgent.port] as [String: any Sendable]
        }
        return [
            "id": subTask.id, "name": subTask.name, "state": subTask.state, "execute_times": subTask.executeTimes,
            "execute_agent": agent, "last_log": Self.orNull(subTask.lastLog),
        ]
    }

    private static func orNull(_ value: (any Sendable)?) -> any Sendable {
        value ?? TemplateNull()
    }

    /// `45s`, `31m`, `1m30s`, `2h5m`, `3d4h`: the two largest units, zeros left out.
    static func shortDuration(_ seconds: Int64) -> String {
        let total = max(0, seconds)
        let units: [(Int64, String)] = [(86_400, "d"), (3600, "h"), (60, "m"), (1, "s")]
        var remaining = total
        var parts: [String] = []
        for (size, suffix) in units {
            let count = remaining / size
            remaining %= size
            if count > 0 || !parts.isEmpty { parts.append(count > 0 ? "\(count)\(suffix)" : "") }
            if parts.count == 2 { break }
        }
        let text = parts.joined()
        return text.isEmpty ? "0s" : text
    }

    /// `2024-01-10 11:34:32 +08:00`: the instant in `zone` (daylight saving honoured), whole seconds.
    static func localTime(_ time: ObshellTime, in zone: TimeZone) -> String {
        let offset = zone.secondsFromGMT(for: time.date)
        let local = ObshellTime(seconds: time.seconds, nanoseconds: 0, utcOffsetSeconds: Int32(clamping: offset))
        // The RFC 3339 text without fraction is `YYYY-MM-DDTHH:MM:SS` then `Z` or `±HH:MM`.
        let text = local.text
        guard let separator = text.firstIndex(of: "T") else { return text }
        let date = text[..<separator]
        let rest = text[text.index(after: separator)...]
        let zoneStart = rest.firstIndex { $0 == "Z" || $0 == "+" || $0 == "-" } ?? rest.endIndex
        let clock = rest[..<zoneStart]
        var zoneText = String(rest[zoneStart...])
        if zoneText == "Z" || zoneText.isEmpty { zoneText = "+00:00" }
        return "\(date) \(clock) \(zoneText)"
    }

    /// One line that says what happened, e.g. `Cluster scale out failed on prod-east`.
    static func headline(_ event: Event) -> String {
        let target = event.target.name
        let dag = event.dag?.name ?? "A DAG"
        switch event.type {
        case .started:
            return "\(dag) started on \(target)"
        case .stageAdvanced:
            guard let current = event.dag else { return "\(dag) changed stage on \(target)" }
            let stage = "\(current.stage)/\(current.maxStage)"
            if let previous = event.previous, previous.stage > current.stage {
                return "\(dag) went back to stage \(stage) on \(target)"
            }
            return "\(dag) advanced to stage \(stage) on \(target)"
        case .nodeFailed:
            guard let node = event.node else { return "\(dag): a node failed on \(target)" }
            return "\(dag): node \(node.name) failed on \(target)"
        case .failed: return "\(dag) failed on \(target)"
        case .stalled:
            guard let seconds = event.stalledSeconds else { return "\(dag) stalled on \(target)" }
            return "\(dag) stalled for \(Self.shortDuration(seconds)) on \(target)"
        case .resumed: return "\(dag) resumed on \(target)"
        case .retried: return "\(dag) is being retried on \(target)"
        case .rollbackStarted: return "\(dag) started rolling back on \(target)"
        case .succeeded: return "\(dag) succeeded on \(target)"
        case .passed: return "\(dag) was passed on \(target)"
        case .rolledBack: return "\(dag) rolled back on \(target)"
        case .cancelled: return "\(dag) was cancelled on \(target)"
        case .vanished: return "\(dag) vanished from \(target)"
        case .targetDown: return "\(target) is down"
        case .targetUp: return "\(target) is up again"
        case .watcherDegraded: return "\(target) is degraded"
        case .watcherRecovered: return "\(target) works again"
        case .slow:
            guard let node = event.node else { return "\(dag) is slower than usual on \(target)" }
            return "\(dag): node \(node.name) is slower than usual on \(target)"
        case .caughtUp: return "\(dag) caught up on \(target)"
        case .test: return "A test notification from obwatch for \(target); nothing failed"
        }
    }
}

/// A field that does not apply: found by Mustache (so the lookup stops here), rendered as nothing, false in a
/// section.
struct TemplateNull: Sendable, MustacheCustomRepresentation {
    var representation: Any? { nil }
}
