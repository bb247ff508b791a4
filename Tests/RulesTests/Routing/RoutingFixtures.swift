import ConfigModel
import ObshellModel
import Routing
import Testing
import Tracker

/// Builders for the router tests: events, rules and routers with readable defaults.
enum RoutingFixtures {
    /// The mark every rule, silence and inhibition of these tests carries.
    static let mark = SourcePosition(file: "routing-test.yaml", line: 1, column: 1)

    /// The base instant of most tests: it has nanoseconds and an offset, so reminder arithmetic shows.
    static let baseText = "2026-12-01T10:00:00.123456789+08:00"

    /// Parses an RFC 3339 instant.
    static func time(_ text: String) throws -> ObshellTime {
        try #require(ObshellTime(text))
    }

    /// The incident the tracker gives an event of `type` on `target`/`dag`.
    static func incident(for type: EventType, target: String, dag: String?) -> String? {
        switch type {
        case .targetDown, .targetUp:
            return "\(target)/target_down"
        case .watcherDegraded, .watcherRecovered:
            return "obwatch/watcher/degraded"
        case .test:
            return "test/\(target)/sample"
        case .stalled, .resumed:
            return dag.map { "\(target)/\($0)/stalled" }
        case .slow, .caughtUp:
            return dag.map { "\(target)/\($0)/slow" }
        case .nodeFailed, .failed, .retried, .succeeded, .passed, .rolledBack, .cancelled:
            return dag.map { "\(target)/\($0)/failed" }
        case .started, .stageAdvanced, .rollbackStarted, .vanished:
            return nil
        }
    }

    /// An event as the tracker would emit it; the id is readable and unique per type, target, DAG and instant.
    static func event(
        _ type: EventType,
        at: ObshellTime,
        target: String = "prod-east",
        labels: [String: String] = ["env": "prod", "region": "east"],
        dag: String? = "11",
        dagName: String = "Cluster scale out",
        threshold: String? = nil,
        id: String? = nil
    ) -> Event {
        let dagInfo = dag.map { dagID in
            Event.DagInfo(
                id: dagID,
                dagID: Int64(dagID) ?? 0,
                name: dagName,
                stage: 4,
                maxStage: 9,
                state: "RUNNING",
                operator: "RUN"
            )
        }
        let eventThreshold = threshold ?? (type == .stalled ? "30m" : nil)
        let suffix = eventThreshold.map { "/" + $0 } ?? ""
        return Event(
            id: id ?? "\(target)/\(dag ?? "-")/\(type.rawValue)\(suffix)@\(at.text)",
            type: type,
            incident: self.incident(for: type, target: target, dag: dag),
            at: at,
            target: TargetIdentity(name: target, labels: labels),
            dag: dagInfo,
            stalledSeconds: type == .stalled ? 1800 : nil,
            threshold: eventThreshold,
            summary: "\(type.rawValue) on \(target)"
        )
    }

    /// A rule.
    static func rule(
        _ name: String,
        types: EventMatcher.Types = .all,
        dag: NamePattern? = nil,
        target: String? = nil,
        labels: [String: String] = [:],
        notify: [String],
        after: String? = nil,
        repeat repeatInterval: Duration? = nil,
        groupWait: Duration = .zero
    ) throws -> Rule {
        var labelGlobs: [String: Glob] = [:]
        for (key, pattern) in labels { labelGlobs[key] = try Glob(pattern) }
        let matcher = EventMatcher(
            types: types,
            dag: dag,
            target: try target.map { try Glob($0) },
            labels: labelGlobs
        )
        let threshold = try after.map { try #require(StallThreshold($0)) }
        return Rule(
            name: name,
            matcher: matcher,
            receivers: notify,
            after: threshold,
            repeatInterval: repeatInterval,
            groupWait: groupWait,
            mark: self.mark
        )
    }

    /// A silence between two instants.
    static func silence(target: String, from: String, until: String) throws -> Silence {
        Silence(
            matcher: EventMatcher(target: try Glob(target)),
            window: .absolute(from: try self.time(from), until: try self.time(until)),
            mark: self.mark
        )
    }

    /// An inhibition.
    static func inhibition(_ sources: Set<EventType>, suppress: Set<EventType>) -> Inhibition {
        Inhibition(sources: sources, suppressed: suppress, mark: self.mark)
    }

    /// A router with the default 30m stall threshold.
    static func router(
        _ rules: [Rule],
        silences: [Silence] = [],
        inhibitions: [Inhibition] = []
    ) -> Router {
        Router(
            rules: rules,
            silences: silences,
            inhibitions: inhibitions,
            defaultStallThreshold: TrackerSettings.defaultStallAfter
        )
    }

    /// The receivers of `rule` in an event's routes; `nil` when the rule is not listed.
    static func receivers(of rule: String, in event: Event) -> [String]? {
        event.routes?.first { $0.rule == rule }?.receivers
    }

    /// The rule names of an event's routes, in order.
    static func ruleNames(_ event: Event) -> [String]? {
        event.routes?.map(\.rule)
    }
}
