package import ObshellModel

/// The events of one observation and its time: the unit the router works on, since an inhibition covers the events of
/// the same observation.
package struct EventBatch: Sendable, Hashable, Codable {
    /// The events, in order.
    package var events: [Event]
    /// When the observation was made.
    package var at: ObshellTime

    /// Makes a batch.
    package init(events: [Event], at: ObshellTime) {
        self.events = events
        self.at = at
    }
}

/// Everything the state machine of one target remembers between observations; persisted across restarts.
///
/// `version` guards the file format: a state written by a newer obwatch is refused (``StateStore`` moves it aside)
/// rather than misread.
package struct TrackerState: Sendable, Hashable, Codable {
    /// The format this build writes and reads.
    package static let currentVersion = 1

    /// The format of this value.
    package var version: Int
    /// Every DAG ever seen on the target, by generic id.
    package var dags: [String: DagRecord]
    /// Failed polls in a row since the last good one.
    package var consecutiveFailedPolls: Int
    /// Whether a `target_down` is open (no `target_up` yet).
    package var targetDown: Bool
    /// How many `target_down` episodes there were: the episode key of their ids.
    package var downEpisodes: Int
    /// When the last good poll was made.
    package var lastGoodPoll: ObshellTime?
    /// Why the last poll failed, while polls fail.
    package var lastError: String?

    /// An empty state: nothing seen yet.
    package init() {
        self.version = Self.currentVersion
        self.dags = [:]
        self.consecutiveFailedPolls = 0
        self.targetDown = false
        self.downEpisodes = 0
        self.lastGoodPoll = nil
        self.lastError = nil
    }

    /// Whether `other` differs from this state only in what every poll moves forward: the last good poll, each
    /// DAG's last sighting and its running stall clock.
    ///
    /// Such a state need not be written at once: the daemon writes it at a checkpoint. Restoring an older copy loses
    /// nothing that matters. Stall time is kept as a total plus the instant it was last counted to, so the next
    /// poll after a restart counts the same stall from the older pair. A missing stall mark (a failed poll stopped
    /// the clock) still counts as a change.
    package func differsOnlyInClock(from other: TrackerState) -> Bool {
        self.withoutClock() == other.withoutClock()
    }

    private func withoutClock() -> TrackerState {
        var copy = self
        copy.lastGoodPoll = nil
        let zero = ObshellTime(seconds: 0, nanoseconds: 0)
        for (id, var record) in copy.dags {
            record.lastSeen = zero
            record.stallMark = record.stallMark.map { _ in zero }
            record.stalledNanoseconds = 0
            // The ETA moves with every poll, like the stall clock: it alone is no reason to write the state.
            record.eta = nil
            copy.dags[id] = record
        }
        return copy
    }
}

/// What the tracker remembers of one DAG.
package struct DagRecord: Sendable, Hashable, Codable {
    /// Where the DAG stands from the tracker's point of view.
    package enum Phase: String, Sendable, Hashable, Codable {
        /// In the list, or missing from it and being confirmed.
        case listed
        /// A final state was seen (listed or confirmed); not expected in the list any more.
        case finished
        /// Left the list and no final state was confirmed in time.
        case vanished
    }

    /// The DAG as last observed (no logs, only their count: that is all progress needs).
    package var last: DagSummary
    /// Where the DAG stands.
    package var phase: Phase
    /// The first observation of the DAG.
    package var firstSeen: ObshellTime
    /// The last observation of the DAG (list or confirmation).
    package var lastSeen: ObshellTime
    /// The last observation that showed progress (the first one for a DAG first seen mid-run).
    package var lastProgress: ObshellTime
    /// No-progress time counted so far in this stall, in nanoseconds (time while polls fail excluded).
    package var stalledNanoseconds: Int64
    /// Until when the stall time is counted: the last good observation; `nil` after a failed poll (the gap is not
    /// counted).
    package var stallMark: ObshellTime?
    /// The thresholds (as written) whose `stalled` already fired in this stall episode.
    package var firedThresholds: [String]
    /// Stall episodes so far (the episode key of `stalled` and `resumed` ids).
    package var stallEpisodes: Int
    /// Failure episodes so far (the episode key of `node_failed` and `failed` ids).
    package var failureEpisodes: Int
    /// Whether the current failure episode is still going (no resolution, DAG not running again).
    package var failureEpisodeActive: Bool
    /// Whether `failed` fired in the current failure episode.
    package var failedFired: Bool
    /// Node ids whose `node_failed` fired in the current failure episode.
    package var failedNodes: [String]
    /// Whether the `target/dag/failed` incident is open.
    package var failedIncidentOpen: Bool
    /// Whether the `target/dag/stalled` incident is open.
    package var stalledIncidentOpen: Bool
    /// The final `state/operator` whose event fired since the DAG last ran, so a final fires once.
    package var finalFired: String?
    /// How many times each event type fired for this DAG: the episode key of the types without episodes.
    package var occurrences: [String: Int]
    /// The first good poll that missed the DAG, while it is missing and unconfirmed.
    package var missingSince: ObshellTime?
    /// When `vanished` fired.
    package var vanishedAt: ObshellTime?
    /// Whether the last final state came from a confirmation (`GET /dag/{id}`) rather than the list.
    package var finalConfirmed: Bool
    /// The node attempts (`node id@start time/threshold`) whose `slow` fired; absent in states written before
    /// history existed.
    package var slowFired: [String]?
    /// The node attempt whose `slow` incident is open (no `caught_up` yet).
    package var slowOpen: String?
    /// The ETA at the last observation, when history knows every node ahead (for the status API).
    package var eta: Event.ETA?
    /// The usual time (p50, whole seconds) of the node at the current stage, when history knows it.
    package var usualSeconds: Int64?

    /// A record for a DAG seen for the first time.
    package init(first dag: DagSummary, at: ObshellTime) {
        self.last = dag
        self.phase = .listed
        self.firstSeen = at
        self.lastSeen = at
        self.lastProgress = at
        self.stalledNanoseconds = 0
        self.stallMark = at
        self.firedThresholds = []
        self.stallEpisodes = 0
        self.failureEpisodes = 0
        self.failureEpisodeActive = false
        self.failedFired = false
        self.failedNodes = []
        self.failedIncidentOpen = false
        self.stalledIncidentOpen = false
        self.finalFired = nil
        self.occurrences = [:]
        self.missingSince = nil
        self.vanishedAt = nil
        self.finalConfirmed = false
    }
}

/// A DAG reduced to what events and progress need: no logs, only log counts.
package struct DagSummary: Sendable, Hashable, Codable {
    /// The generic id.
    package var id: String
    /// The raw row id.
    package var dagID: Int64
    /// The name.
    package var name: String
    /// The stage.
    package var stage: Int
    /// The number of stages.
    package var maxStage: Int
    /// The state.
    package var state: TaskState
    /// The operator.
    package var `operator`: TaskOperator
    /// The start time.
    package var startTime: ObshellTime?
    /// The end time.
    package var endTime: ObshellTime?
    /// The nodes, or `nil` when the DAG came without details.
    package var nodes: [NodeSummary]?

    /// Summarises a DAG.
    package init(_ dag: Dag) {
        self.id = dag.id
        self.dagID = dag.dagID
        self.name = dag.name
        self.stage = dag.stage
        self.maxStage = dag.maxStage
        self.state = dag.state
        self.operator = dag.operator
        self.startTime = dag.startTime
        self.endTime = dag.endTime
        self.nodes = dag.nodes.map { $0.map(NodeSummary.init) }
    }

    /// The node at `stage`, when details are known.
    var currentNode: NodeSummary? {
        guard let nodes = self.nodes, self.stage >= 1, self.stage <= nodes.count else { return nil }
        return nodes[self.stage - 1]
    }
}

/// A node reduced to what progress needs.
package struct NodeSummary: Sendable, Hashable, Codable {
    /// The generic id.
    package var id: String
    /// The raw row id.
    package var nodeID: Int64
    /// The name.
    package var name: String
    /// The state.
    package var state: TaskState
    /// The operator.
    package var `operator`: TaskOperator
    /// The sub-tasks.
    package var subTasks: [SubTaskSummary]

    /// Summarises a node.
    package init(_ node: DagNode) {
        self.id = node.id
        self.nodeID = node.nodeID
        self.name = node.name
        self.state = node.state
        self.operator = node.operator
        self.subTasks = node.subTasks.map(SubTaskSummary.init)
    }
}

/// A sub-task reduced to what progress needs.
package struct SubTaskSummary: Sendable, Hashable, Codable {
    /// The generic id.
    package var id: String
    /// The state.
    package var state: TaskState
    /// How many times it ran.
    package var executeTimes: Int
    /// How many log lines it has.
    package var logCount: Int

    /// Summarises a sub-task.
    package init(_ subTask: SubTask) {
        self.id = subTask.id
        self.state = subTask.state
        self.executeTimes = subTask.executeTimes
        self.logCount = subTask.taskLogs.count
    }
}
