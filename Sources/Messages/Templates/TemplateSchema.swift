/// The shape of one value a template can name: what ``TemplateChecker`` resolves variable paths against.
package indirect enum TemplateSchemaNode: Sendable, Hashable {
    /// A scalar (text, number or boolean): rendered by `{{name}}`, or tested by `{{#name}}`.
    case value
    /// An object with known keys.
    case object([String: TemplateSchemaNode])
    /// A list whose elements all have the given shape; `{{#name}}...{{/name}}` renders once per element.
    case list(TemplateSchemaNode)
    /// An object whose keys are not known in advance (target labels): every key is a scalar.
    case anyKeys

    /// The child at one key, `nil` when this node has no such key.
    /// - Parameter key: One segment of a dotted path.
    package func child(_ key: String) -> TemplateSchemaNode? {
        switch self {
        case .object(let children): children[key]
        case .anyKeys: .value
        case .value, .list: nil
        }
    }

    /// Every dotted path below this node, sorted (lists and label maps are listed as themselves, not entered).
    package var paths: [String] {
        guard case .object(let children) = self else { return [] }
        var result: [String] = []
        for (key, node) in children {
            result.append(key)
            result += node.paths.map { key + "." + $0 }
        }
        return result.sorted()
    }
}

/// Every variable a template may use: the event fields of CONTRACT section 4 under their JSON names, the helpers
/// obwatch adds, and, for a notification, the receiver, the rule and the list of events.
///
/// A notification's top level is its first event as a message shows it (so a template written for one event works
/// for a batch; a `node_failed` that travels with its DAG's `failed` gives way to it), plus `receiver`, `rule`,
/// `rules` (every rule that routed the events to the receiver, `rule` first, a list of names), `events` (every
/// event, each with the same keys and helpers), `merged_events` (the events without such a `node_failed`: what the
/// default texts show), `count`, `more` and `kinds` (the events' types in words: `node failed, DAG failed`).
package enum TemplateSchema {
    /// The keys of one sub-task in `sub_tasks`.
    package static let subTask: TemplateSchemaNode = .object([
        "id": .value, "name": .value, "state": .value, "execute_times": .value,
        "execute_agent": .object(["ip": .value, "port": .value]), "last_log": .value,
    ])

    /// The keys of one event: JSON fields and helpers.
    package static let event: TemplateSchemaNode = .object([
        "schema": .value, "id": .value, "type": .value, "status": .value, "severity": .value, "incident": .value,
        "at": .value, "summary": .value, "error": .value, "threshold": .value, "stalled_seconds": .value,
        "observed_mid_run": .value,
        "target": .object(["name": .value, "url": .value, "labels": .anyKeys]),
        "dag": .object([
            "id": .value, "dag_id": .value, "name": .value, "stage": .value, "max_stage": .value, "state": .value,
            "operator": .value, "start_time": .value, "end_time": .value,
        ]),
        "node": .object(["id": .value, "node_id": .value, "name": .value, "state": .value, "operator": .value]),
        "sub_tasks": .list(TemplateSchema.subTask),
        "previous": .object(["stage": .value, "state": .value, "operator": .value]),
        // Helpers, not JSON fields.
        "stalled_for": .value, "at_local": .value, "progress": .value, "headline": .value, "kind": .value,
        "receiver": .value, "rule": .value, "rules": .list(.value),
    ])

    /// The top level of a notification: the first event's keys plus the batch.
    package static let notification: TemplateSchemaNode = {
        guard case .object(var keys) = TemplateSchema.event else { return TemplateSchema.event }
        keys["events"] = .list(TemplateSchema.event)
        keys["merged_events"] = .list(TemplateSchema.event)
        keys["count"] = .value
        keys["more"] = .value
        keys["kinds"] = .value
        return .object(keys)
    }()

    /// Every dotted path a template can name at its top level, sorted.
    package static var knownPaths: [String] { Self.notification.paths }
}
