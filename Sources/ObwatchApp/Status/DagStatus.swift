package import ObshellModel
package import Tracker

/// One row of `/api/v1/dags`: a tracked DAG as last seen, with its stall clock.
package struct DagStatus: Sendable, Hashable {
    /// The node a DAG is at: the one of its current stage.
    package struct Node: Sendable, Hashable {
        /// The node's generic id.
        package var id: String
        /// The node's name.
        package var name: String
        /// The node's state.
        package var state: String
        /// The newest log line of its sub-tasks (a failed one's first), when known.
        package var lastLog: String?

        /// Makes a node.
        package init(id: String, name: String, state: String, lastLog: String? = nil) {
            self.id = id
            self.name = name
            self.state = state
            self.lastLog = lastLog
        }

        /// The node as the tracker keeps it (without logs: those come from the events, see ``withFailureLogs``).
        init(_ node: NodeSummary) {
            self.init(id: node.id, name: node.name, state: node.state.rawValue)
        }
    }

    /// The target's name.
    package var target: String
    /// The generic id.
    package var id: String
    /// The raw row id.
    package var dagID: Int64
    /// The DAG's name.
    package var name: String
    /// The state as sent.
    package var state: String
    /// The operator as sent.
    package var `operator`: String
    /// The current stage, 1-based.
    package var stage: Int
    /// The number of stages.
    package var maxStage: Int
    /// The node at the current stage, when the DAG came with details.
    package var currentNode: Node?
    /// The last observation of the DAG.
    package var lastSeen: ObshellTime
    /// The last observation that showed progress.
    package var lastProgress: ObshellTime
    /// Whole seconds without progress: the tracker's stall clock (0 for a DAG that is not READY or RUNNING).
    package var stallSeconds: Int64
    /// `listed`, `finished` or `vanished`.
    package var phase: String
    /// The time left from history at the last observation, when every node ahead has history.
    package var eta: Event.ETA?
    /// The usual time (p50) of the current stage's node, in whole seconds, when history knows it.
    package var usualSeconds: Int64?
    /// When the DAG started, as the agent sent it.
    package var startTime: ObshellTime?
    /// Whole seconds from the start to its end (finished) or to now (running), when the start is known.
    package var elapsedSeconds: Int64?
    /// The first failed node when the DAG came with details and one failed; its last log line is that of the newest
    /// `node_failed` or `failed` event of the DAG still in the event log (the tracker keeps no logs).
    package var failedNode: Node?

    /// Makes a row.
    package init(
        target: String,
        id: String,
        dagID: Int64,
        name: String,
        state: String,
        operator: String,
        stage: Int,
        maxStage: Int,
        currentNode: Node?,
        lastSeen: ObshellTime,
        lastProgress: ObshellTime,
        stallSeconds: Int64,
        phase: String
    ) {
        self.target = target
        self.id = id
        self.dagID = dagID
        self.name = name
        self.state = state
        self.operator = `operator`
        self.stage = stage
        self.maxStage = maxStage
        self.currentNode = currentNode
        self.lastSeen = lastSeen
        self.lastProgress = lastProgress
        self.stallSeconds = stallSeconds
        self.phase = phase
    }

    /// The rows of one target's tracker state, by DAG row id.
    /// - Parameters:
    ///   - target: The target's name.
    ///   - state: The target's tracker state.
    ///   - now: The time the stall clock runs to.
    package static func make(target: String, state: TrackerState, now: ObshellTime) -> [DagStatus] {
        state.dags.values
            .sorted { ($0.last.dagID, $0.last.id) < ($1.last.dagID, $1.last.id) }
            .map { Self(target: target, record: $0, now: now) }
    }

    private init(target: String, record: DagRecord, now: ObshellTime) {
        let dag = record.last
        var node: Node?
        if let nodes = dag.nodes, dag.stage >= 1, dag.stage <= nodes.count { node = Node(nodes[dag.stage - 1]) }
        self.init(
            target: target,
            id: dag.id,
            dagID: dag.dagID,
            name: dag.name,
            state: dag.state.rawValue,
            operator: dag.operator.rawValue,
            stage: dag.stage,
            maxStage: dag.maxStage,
            currentNode: node,
            lastSeen: record.lastSeen,
            lastProgress: record.lastProgress,
            stallSeconds: Self.stallSeconds(record, now: now),
            phase: record.phase.rawValue
        )
        self.startTime = dag.startTime
        if let start = dag.startTime {
            let end = dag.state.isFinal || record.phase != .listed ? (dag.endTime ?? record.lastSeen) : now
            self.elapsedSeconds = max(start.duration(to: end).components.seconds, 0)
        }
        if let failed = dag.nodes?.first(where: { $0.state == .failed }) { self.failedNode = Node(failed) }
        if record.phase == .listed, record.last.state.isActive {
            self.eta = record.eta
            self.usualSeconds = record.usualSeconds
        }
    }

    /// The rows with each failed node's last log line from the newest `node_failed` or `failed` event of its DAG
    /// (a failed sub-task's last log first), for the page that shows why a DAG failed.
    /// - Parameters:
    ///   - rows: The rows.
    ///   - events: The event log's events, oldest first.
    package static func withFailureLogs(_ rows: [DagStatus], events: [LoggedEvent]) -> [DagStatus] {
        guard rows.contains(where: { $0.failedNode != nil }) else { return rows }
        var logs: [String: String] = [:]
        for entry in events where entry.event.type == .nodeFailed || entry.event.type == .failed {
            guard let dag = entry.event.dag, let subTasks = entry.event.subTasks else { continue }
            let logged =
                subTasks.last { $0.state == "FAILED" && $0.lastLog != nil } ?? subTasks.last { $0.lastLog != nil }
            if let log = logged?.lastLog { logs[entry.event.target.name + "\u{0}" + dag.id] = log }
        }
        return rows.map { row in
            var row = row
            if row.failedNode != nil { row.failedNode?.lastLog = logs[row.target + "\u{0}" + row.id] }
            return row
        }
    }

    /// The tracker counts stall time only at observations; between them the clock runs on from `stallMark` (unless
    /// the last poll failed, which leaves no mark: that gap does not count as no progress).
    private static func stallSeconds(_ record: DagRecord, now: ObshellTime) -> Int64 {
        guard record.last.state.isActive, record.phase == .listed else { return 0 }
        var nanoseconds = max(record.stalledNanoseconds, 0)
        if let mark = record.stallMark, mark < now {
            let (seconds, attoseconds) = mark.duration(to: now).components
            let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
            let since = overflow ? Int64.max : scaled.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
            nanoseconds = nanoseconds.addingReportingOverflow(since).overflow ? Int64.max : nanoseconds + since
        }
        return nanoseconds / 1_000_000_000
    }
}
