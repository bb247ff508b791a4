package import Tracker

/// The `match:` of a rule or a silence: every condition given must hold; an absent condition holds for every event.
package struct EventMatcher: Sendable, Hashable {
    /// Which event types match: `*` (all) or a set.
    package enum Types: Sendable, Hashable {
        /// `event: "*"`, or no `event:` at all.
        case all
        /// `event: failed` or `event: [node_failed, failed]`.
        case only(Set<EventType>)

        /// Whether `type` is one of them.
        package func contains(_ type: EventType) -> Bool {
            switch self {
            case .all: true
            case .only(let types): types.contains(type)
            }
        }
    }

    /// `event:`.
    package var types: Types
    /// `dag:` or `dag_regex:`; an event without a DAG (`target_down`, `target_up`) never matches one.
    package var dag: NamePattern?
    /// `target:`, a glob on the target's name.
    package var target: Glob?
    /// `labels:`: every listed label must be present on the target and match its glob.
    package var labels: [String: Glob]

    /// Makes a matcher; the defaults match every event.
    package init(types: Types = .all, dag: NamePattern? = nil, target: Glob? = nil, labels: [String: Glob] = [:]) {
        self.types = types
        self.dag = dag
        self.target = target
        self.labels = labels
    }

    /// Whether the event meets every condition.
    package func matches(_ event: Event) -> Bool {
        guard self.types.contains(event.type) else { return false }
        if let dag = self.dag {
            guard let name = event.dag?.name, dag.matches(name) else { return false }
        }
        if let target = self.target, !target.matches(event.target.name) { return false }
        for (key, glob) in self.labels {
            guard let value = event.target.labels[key], glob.matches(value) else { return false }
        }
        return true
    }
}
