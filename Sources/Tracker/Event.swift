import Foundation
package import ObshellModel
import Support

/// The kind of an event (CONTRACT section 4), spelled as in the JSON.
package enum EventType: String, Sendable, Hashable, Codable, CaseIterable {
    /// A DAG id seen for the first time.
    case started
    /// `stage` changed between two observations.
    case stageAdvanced = "stage_advanced"
    /// A node failed (not by CANCEL); once per node and failure episode.
    case nodeFailed = "node_failed"
    /// The DAG became FAILED with operator RUN or ROLLBACK.
    case failed
    /// A READY or RUNNING DAG made no progress for a threshold.
    case stalled
    /// A stalled DAG made progress again.
    case resumed
    /// A failed DAG runs again.
    case retried
    /// The DAG's operator became ROLLBACK.
    case rollbackStarted = "rollback_started"
    /// Final SUCCEED with operator RUN.
    case succeeded
    /// Final SUCCEED with operator PASS.
    case passed
    /// Final SUCCEED with operator ROLLBACK.
    case rolledBack = "rolled_back"
    /// FAILED with operator CANCEL (never `failed`).
    case cancelled
    /// The DAG left the list and no final state was confirmed within `confirm_within`.
    case vanished
    /// `down_after` polls in a row failed.
    case targetDown = "target_down"
    /// The first good poll after `target_down`.
    case targetUp = "target_up"
    /// A running node passed its history-based slowness threshold; once per node attempt and threshold.
    case slow
    /// The slow node finished (or another attempt began), or its DAG ended.
    case caughtUp = "caught_up"
    /// obwatch cannot do its job (state not saved, a receiver stuck, every target failing); about obwatch itself,
    /// made by the daemon (``WatcherHealth``), never by the tracker.
    case watcherDegraded = "watcher_degraded"
    /// What made obwatch degraded cleared.
    case watcherRecovered = "watcher_recovered"
    /// A sample sent by `obwatch test-receiver`: nothing happened. Never made by the tracker or the daemon, matched by
    /// no rule, and not in ``allCases``, so that a consumer counting `failed` events never counts a test.
    case test

    /// Every type the tracker and the daemon make, in the order of CONTRACT section 4: what rules match and `check`
    /// renders samples of. ``test`` is left out on purpose (only `test-receiver` makes one).
    package static let allCases: [EventType] = [
        .started, .stageAdvanced, .nodeFailed, .failed, .stalled, .resumed, .retried, .rollbackStarted, .succeeded,
        .passed, .rolledBack, .cancelled, .vanished, .targetDown, .targetUp, .watcherDegraded, .watcherRecovered,
        .slow, .caughtUp,
    ]

    /// `firing` for the types that open an incident, `resolved` for those that close one, else `info`.
    package var status: EventStatus {
        switch self {
        case .nodeFailed, .failed, .stalled, .targetDown, .watcherDegraded, .slow, .test: .firing
        case .resumed, .retried, .succeeded, .passed, .rolledBack, .cancelled, .targetUp, .watcherRecovered, .caughtUp:
            .resolved
        case .started, .stageAdvanced, .rollbackStarted, .vanished: .info
        }
    }

    /// The severity of the table in CONTRACT section 4.
    package var defaultSeverity: EventSeverity {
        switch self {
        case .nodeFailed, .failed, .targetDown, .watcherDegraded: .critical
        case .stalled, .rollbackStarted, .rolledBack, .cancelled, .vanished, .slow: .warning
        case .started, .stageAdvanced, .resumed, .retried, .succeeded, .passed, .targetUp, .watcherRecovered, .caughtUp:
            .info
        // A test pages at the lowest urgency: it is resolved right after, and should wake no one.
        case .test: .info
        }
    }

    /// The final events: they end a run of the DAG.
    package var isFinal: Bool {
        [.succeeded, .passed, .rolledBack, .cancelled, .failed].contains(self)
    }
}

/// Whether an event opens an incident, closes one, or only informs.
package enum EventStatus: String, Sendable, Hashable, Codable {
    /// Opens an incident.
    case firing
    /// Closes an incident.
    case resolved
    /// Neither.
    case info
}

/// How urgent an event is.
package enum EventSeverity: String, Sendable, Hashable, Codable {
    /// Worth a look.
    case info
    /// Needs attention.
    case warning
    /// Page someone.
    case critical
}

/// One event: ``jsonLine()`` writes exactly the JSON object of CONTRACT section 4, fields absent where they do not
/// apply, keys in the contract's order.
///
/// Agent text (names, log lines) is carried as received; ``jsonLine()`` never escapes `/` and never touches CR, LF,
/// U+2028 or emoji beyond JSON's own string escaping. `Codable` gives the same fields for persistence (the delivery
/// queue), but Foundation's encoder on Linux does not keep key order: print events with ``jsonLine()``.
package struct Event: Sendable, Hashable, Codable {
    /// The `dag` object: the DAG as last observed.
    package struct DagInfo: Sendable, Hashable, Codable {
        /// The generic id (the key).
        package var id: String
        /// The raw row id.
        package var dagID: Int64
        /// The DAG's name, byte-exact.
        package var name: String
        /// The current stage, 1-based.
        package var stage: Int
        /// The number of stages.
        package var maxStage: Int
        /// The DAG's state as sent.
        package var state: String
        /// The DAG's operator as sent.
        package var `operator`: String
        /// The agent's start time text, when sent.
        package var startTime: String?
        /// The agent's end time text, when sent.
        package var endTime: String?

        /// Makes the object.
        package init(
            id: String,
            dagID: Int64,
            name: String,
            stage: Int,
            maxStage: Int,
            state: String,
            operator: String,
            startTime: String? = nil,
            endTime: String? = nil
        ) {
            self.id = id
            self.dagID = dagID
            self.name = name
            self.stage = stage
            self.maxStage = maxStage
            self.state = state
            self.operator = `operator`
            self.startTime = startTime
            self.endTime = endTime
        }

        enum CodingKeys: String, CodingKey {
            case id
            case dagID = "dag_id"
            case name, stage
            case maxStage = "max_stage"
            case state, `operator`
            case startTime = "start_time"
            case endTime = "end_time"
        }
    }

    /// The `node` object: the node the event is about (the failed one, or the current one).
    package struct NodeInfo: Sendable, Hashable, Codable {
        /// The node's generic id.
        package var id: String
        /// The raw row id.
        package var nodeID: Int64
        /// The node's name, byte-exact.
        package var name: String
        /// The node's state.
        package var state: String
        /// The node's operator.
        package var `operator`: String

        /// Makes the object.
        package init(id: String, nodeID: Int64, name: String, state: String, operator: String) {
            self.id = id
            self.nodeID = nodeID
            self.name = name
            self.state = state
            self.operator = `operator`
        }

        enum CodingKeys: String, CodingKey {
            case id
            case nodeID = "node_id"
            case name, state, `operator`
        }
    }

    /// One entry of `sub_tasks`: a failed sub-task with its last log line, byte-exact.
    package struct SubTaskInfo: Sendable, Hashable, Codable {
        /// The sub-task's generic id.
        package var id: String
        /// The sub-task's name.
        package var name: String
        /// Its state.
        package var state: String
        /// How many times it ran.
        package var executeTimes: Int
        /// The agent that ran it.
        package var executeAgent: SubTask.Agent?
        /// Its last log line, exactly as the agent sent it.
        package var lastLog: String?

        /// Makes the object.
        package init(
            id: String,
            name: String,
            state: String,
            executeTimes: Int,
            executeAgent: SubTask.Agent? = nil,
            lastLog: String? = nil
        ) {
            self.id = id
            self.name = name
            self.state = state
            self.executeTimes = executeTimes
            self.executeAgent = executeAgent
            self.lastLog = lastLog
        }

        enum CodingKeys: String, CodingKey {
            case id, name, state
            case executeTimes = "execute_times"
            case executeAgent = "execute_agent"
            case lastLog = "last_log"
        }
    }

    /// The `previous` object: the DAG at the observation before.
    package struct Previous: Sendable, Hashable, Codable {
        /// The stage before.
        package var stage: Int
        /// The state before.
        package var state: String
        /// The operator before.
        package var `operator`: String

        /// Makes the object.
        package init(stage: Int, state: String, operator: String) {
            self.stage = stage
            self.state = state
            self.operator = `operator`
        }

        enum CodingKeys: String, CodingKey { case stage, state, `operator` }
    }

    /// One entry of `routes`: a rule that matched and the receivers it sends to.
    package struct Route: Sendable, Hashable, Codable {
        /// The rule's name.
        package var rule: String
        /// The receivers the event goes to through this rule (empty when silenced or inhibited).
        package var receivers: [String]

        /// Makes a route.
        package init(rule: String, receivers: [String]) {
            self.rule = rule
            self.receivers = receivers
        }
    }

    /// The `target` object.
    package struct TargetInfo: Sendable, Hashable, Codable {
        /// The target's name.
        package var name: String
        /// The redacted URL, when known.
        package var url: String?
        /// The target's labels (encoded with sorted keys, so output is stable).
        package var labels: [String: String]

        /// Makes the object from an identity.
        package init(_ identity: TargetIdentity) {
            self.name = identity.name
            self.url = identity.url
            self.labels = identity.labels
        }

        enum CodingKeys: String, CodingKey { case name, url, labels }

        /// Decodes the object.
        package init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.name = try container.decode(String.self, forKey: .name)
            self.url = try container.decodeIfPresent(String.self, forKey: .url)
            self.labels = try container.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        }

        /// Encodes the object, labels in key order.
        package func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(self.name, forKey: .name)
            try container.encodeIfPresent(self.url, forKey: .url)
            try container.encode(SortedLabels(self.labels), forKey: .labels)
        }
    }

    /// Always `obwatch.event/v1`.
    package static let schema = "obwatch.event/v1"

    /// The idempotency key: a stable hash of target, DAG id, type and episode (see ``EventID``).
    package var id: String
    /// The kind of event.
    package var type: EventType
    /// `firing`, `resolved` or `info`, fixed by the type.
    package var status: EventStatus
    /// The severity; the type's default unless a rule changes it.
    package var severity: EventSeverity
    /// The incident this event opens or closes (`target/dag/failed`, `target/dag/stalled`, `target/target_down`,
    /// `obwatch/watcher/degraded`).
    package var incident: String?
    /// The time of the observation that produced the event, its text kept.
    package var at: ObshellTime
    /// The target.
    package var target: TargetInfo
    /// The DAG, for DAG events.
    package var dag: DagInfo?
    /// The node the event is about.
    package var node: NodeInfo?
    /// Failed sub-tasks with their last log lines.
    package var subTasks: [SubTaskInfo]?
    /// The DAG as observed before.
    package var previous: Previous?
    /// For `started`: whether the DAG was already past stage 1.
    package var observedMidRun: Bool?
    /// For `node_failed` and `failed`: `true` when the failure happened while obwatch was not watching and is
    /// known only from what followed it (a retry); `nil` otherwise.
    package var observedLate: Bool?
    /// For `stalled`: how long no progress was seen, in whole seconds.
    package var stalledSeconds: Int64?
    /// For `stalled`: the threshold as written, e.g. `30m`; for `slow`: the `slower_than:` as written, or `usual`.
    package var threshold: String?
    /// For `slow`: how long the node has run, in whole seconds (obshell's clock).
    package var elapsedSeconds: Int64?
    /// For `slow`: the computed threshold, in whole seconds.
    package var thresholdSeconds: Int64?
    /// For `started`, `stage_advanced` and `slow` of a running DAG whose every node ahead has history: the time left.
    package var eta: ETA?

    /// The time a running DAG has left, from history: sums of p25, p50 and p90 over what is left.
    package struct ETA: Sendable, Hashable, Codable {
        /// Seconds left at p25.
        package var lowSeconds: Int64
        /// Seconds left at p50.
        package var typicalSeconds: Int64
        /// Seconds left at p90.
        package var highSeconds: Int64
        /// `ETA 2m10s (1m40s–3m05s)`.
        package var text: String

        /// Makes the object.
        package init(lowSeconds: Int64, typicalSeconds: Int64, highSeconds: Int64, text: String) {
            self.lowSeconds = lowSeconds
            self.typicalSeconds = typicalSeconds
            self.highSeconds = highSeconds
            self.text = text
        }

        enum CodingKeys: String, CodingKey {
            case lowSeconds = "low_seconds"
            case typicalSeconds = "typical_seconds"
            case highSeconds = "high_seconds"
            case text
        }
    }
    /// For `target_down`: why the polls failed.
    package var error: String?
    /// For `target_down`: the ``PollFailureKind`` of `error` (`auth`, `connect`, `timeout`, ...).
    package var errorKind: String?
    /// For `watcher_degraded`: the receivers that are stuck, so that the news is not sent through them.
    package var degradedReceivers: [String]?
    /// One human line, e.g. `Cluster scale out failed at stage 4/9 (Wait remote deploy finish) on prod-east`.
    package var summary: String
    /// Every rule that matched; set by the router (`nil` is absent, `[]` is written).
    package var routes: [Route]?

    /// Makes an event; status and severity come from the type.
    package init(
        id: String,
        type: EventType,
        incident: String? = nil,
        at: ObshellTime,
        target: TargetIdentity,
        dag: DagInfo? = nil,
        node: NodeInfo? = nil,
        subTasks: [SubTaskInfo]? = nil,
        previous: Previous? = nil,
        observedMidRun: Bool? = nil,
        observedLate: Bool? = nil,
        stalledSeconds: Int64? = nil,
        threshold: String? = nil,
        elapsedSeconds: Int64? = nil,
        thresholdSeconds: Int64? = nil,
        eta: ETA? = nil,
        error: String? = nil,
        errorKind: String? = nil,
        degradedReceivers: [String]? = nil,
        summary: String,
        routes: [Route]? = nil
    ) {
        self.id = id
        self.type = type
        self.status = type.status
        self.severity = type.defaultSeverity
        self.incident = incident
        self.at = at
        self.target = TargetInfo(target)
        self.dag = dag
        self.node = node
        self.subTasks = subTasks
        self.previous = previous
        self.observedMidRun = observedMidRun
        self.observedLate = observedLate
        self.stalledSeconds = stalledSeconds
        self.threshold = threshold
        self.elapsedSeconds = elapsedSeconds
        self.thresholdSeconds = thresholdSeconds
        self.eta = eta
        self.error = error
        self.errorKind = errorKind
        self.degradedReceivers = degradedReceivers
        self.summary = summary
        self.routes = routes
    }

    enum CodingKeys: String, CodingKey {
        case schema, id, type, status, severity, incident, at, target, dag, node
        case subTasks = "sub_tasks"
        case previous
        case observedMidRun = "observed_mid_run"
        case observedLate = "observed_late"
        case stalledSeconds = "stalled_seconds"
        case threshold
        case elapsedSeconds = "elapsed_seconds"
        case thresholdSeconds = "threshold_seconds"
        case eta
        case error
        case errorKind = "error_kind"
        case degradedReceivers = "degraded_receivers"
        case summary, routes
    }

    /// Decodes an event written by ``encode(to:)`` (the delivery queue reads them back).
    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.id = try container.decode(String.self, forKey: .id)
        self.type = try container.decode(EventType.self, forKey: .type)
        self.status = try container.decodeIfPresent(EventStatus.self, forKey: .status) ?? self.type.status
        self.severity =
            try container.decodeIfPresent(EventSeverity.self, forKey: .severity) ?? self.type.defaultSeverity
        self.incident = try container.decodeIfPresent(String.self, forKey: .incident)
        self.at = try container.decode(ObshellTime.self, forKey: .at)
        self.target = try container.decode(TargetInfo.self, forKey: .target)
        self.dag = try container.decodeIfPresent(DagInfo.self, forKey: .dag)
        self.node = try container.decodeIfPresent(NodeInfo.self, forKey: .node)
        self.subTasks = try container.decodeIfPresent([SubTaskInfo].self, forKey: .subTasks)
        self.previous = try container.decodeIfPresent(Previous.self, forKey: .previous)
        self.observedMidRun = try container.decodeIfPresent(Bool.self, forKey: .observedMidRun)
        self.observedLate = try container.decodeIfPresent(Bool.self, forKey: .observedLate)
        self.stalledSeconds = try container.decodeIfPresent(Int64.self, forKey: .stalledSeconds)
        self.threshold = try container.decodeIfPresent(String.self, forKey: .threshold)
        self.elapsedSeconds = try container.decodeIfPresent(Int64.self, forKey: .elapsedSeconds)
        self.thresholdSeconds = try container.decodeIfPresent(Int64.self, forKey: .thresholdSeconds)
        self.eta = try container.decodeIfPresent(ETA.self, forKey: .eta)
        self.error = try container.decodeIfPresent(String.self, forKey: .error)
        self.errorKind = try container.decodeIfPresent(String.self, forKey: .errorKind)
        self.degradedReceivers = try container.decodeIfPresent([String].self, forKey: .degradedReceivers)
        self.summary = try container.decode(String.self, forKey: .summary)
        self.routes = try container.decodeIfPresent([Route].self, forKey: .routes)
    }

    /// Encodes the fields, omitting those that do not apply (key order is the encoder's; see ``jsonLine()``).
    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.schema, forKey: .schema)
        try container.encode(self.id, forKey: .id)
        try container.encode(self.type, forKey: .type)
        try container.encode(self.status, forKey: .status)
        try container.encode(self.severity, forKey: .severity)
        try container.encodeIfPresent(self.incident, forKey: .incident)
        try container.encode(self.at, forKey: .at)
        try container.encode(self.target, forKey: .target)
        try container.encodeIfPresent(self.dag, forKey: .dag)
        try container.encodeIfPresent(self.node, forKey: .node)
        try container.encodeIfPresent(self.subTasks, forKey: .subTasks)
        try container.encodeIfPresent(self.previous, forKey: .previous)
        try container.encodeIfPresent(self.observedMidRun, forKey: .observedMidRun)
        try container.encodeIfPresent(self.observedLate, forKey: .observedLate)
        try container.encodeIfPresent(self.stalledSeconds, forKey: .stalledSeconds)
        try container.encodeIfPresent(self.threshold, forKey: .threshold)
        try container.encodeIfPresent(self.elapsedSeconds, forKey: .elapsedSeconds)
        try container.encodeIfPresent(self.thresholdSeconds, forKey: .thresholdSeconds)
        try container.encodeIfPresent(self.eta, forKey: .eta)
        try container.encodeIfPresent(self.error, forKey: .error)
        try container.encodeIfPresent(self.errorKind, forKey: .errorKind)
        try container.encodeIfPresent(self.degradedReceivers, forKey: .degradedReceivers)
        try container.encode(self.summary, forKey: .summary)
        try container.encodeIfPresent(self.routes, forKey: .routes)
    }

    /// The event as one line of JSON (no trailing newline): keys in CONTRACT section 4's order, absent fields
    /// omitted, `/` unescaped, agent text exact (only `"`, `\\` and control characters are escaped, as JSON
    /// requires; U+2028 and emoji are written as they are).
    package func jsonLine() -> String {
        var json = OrderedJSONObject()
        json.string("schema", Self.schema)
        json.string("id", self.id)
        json.string("type", self.type.rawValue)
        json.string("status", self.status.rawValue)
        json.string("severity", self.severity.rawValue)
        json.string("incident", self.incident)
        json.string("at", self.at.text)
        var target = OrderedJSONObject()
        target.string("name", self.target.name)
        target.string("url", self.target.url)
        var labels = OrderedJSONObject()
        for key in self.target.labels.keys.sorted() { labels.string(key, self.target.labels[key]) }
        target.raw("labels", labels.text)
        json.raw("target", target.text)
        if let dag = self.dag {
            var object = OrderedJSONObject()
            object.string("id", dag.id)
            object.integer("dag_id", dag.dagID)
            object.string("name", dag.name)
            object.integer("stage", Int64(dag.stage))
            object.integer("max_stage", Int64(dag.maxStage))
            object.string("state", dag.state)
            object.string("operator", dag.operator)
            object.string("start_time", dag.startTime)
            object.string("end_time", dag.endTime)
            json.raw("dag", object.text)
        }
        if let node = self.node {
            var object = OrderedJSONObject()
            object.string("id", node.id)
            object.integer("node_id", node.nodeID)
            object.string("name", node.name)
            object.string("state", node.state)
            object.string("operator", node.operator)
            json.raw("node", object.text)
        }
        if let subTasks = self.subTasks {
            let items = subTasks.map { subTask -> String in
                var object = OrderedJSONObject()
                object.string("id", subTask.id)
                object.string("name", subTask.name)
                object.string("state", subTask.state)
                object.integer("execute_times", Int64(subTask.executeTimes))
                if let agent = subTask.executeAgent {
                    var agentObject = OrderedJSONObject()
                    agentObject.string("ip", agent.ip)
                    agentObject.integer("port", Int64(agent.port))
                    object.raw("execute_agent", agentObject.text)
                }
                object.string("last_log", subTask.lastLog)
                return object.text
            }
            json.raw("sub_tasks", "[" + items.joined(separator: ",") + "]")
        }
        if let previous = self.previous {
            var object = OrderedJSONObject()
            object.integer("stage", Int64(previous.stage))
            object.string("state", previous.state)
            object.string("operator", previous.operator)
            json.raw("previous", object.text)
        }
        if let midRun = self.observedMidRun { json.raw("observed_mid_run", midRun ? "true" : "false") }
        if let late = self.observedLate { json.raw("observed_late", late ? "true" : "false") }
        if let seconds = self.stalledSeconds { json.integer("stalled_seconds", seconds) }
        json.string("threshold", self.threshold)
        if let seconds = self.elapsedSeconds { json.integer("elapsed_seconds", seconds) }
        if let seconds = self.thresholdSeconds { json.integer("threshold_seconds", seconds) }
        if let eta = self.eta {
            var object = OrderedJSONObject()
            object.integer("low_seconds", eta.lowSeconds)
            object.integer("typical_seconds", eta.typicalSeconds)
            object.integer("high_seconds", eta.highSeconds)
            object.string("text", eta.text)
            json.raw("eta", object.text)
        }
        json.string("error", self.error)
        json.string("error_kind", self.errorKind)
        if let receivers = self.degradedReceivers { json.strings("degraded_receivers", receivers) }
        json.string("summary", self.summary)
        if let routes = self.routes {
            let items = routes.map { route -> String in
                var object = OrderedJSONObject()
                object.string("rule", route.rule)
                object.strings("receivers", route.receivers)
                return object.text
            }
            json.raw("routes", "[" + items.joined(separator: ",") + "]")
        }
        return json.text
    }
}

/// Labels encoded with their keys in sorted order: a Swift dictionary has no stable order, output must.
private struct SortedLabels: Encodable {
    let labels: [String: String]

    init(_ labels: [String: String]) { self.labels = labels }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        for key in self.labels.keys.sorted() {
            try container.encode(self.labels[key], forKey: Key(stringValue: key))
        }
    }
}
