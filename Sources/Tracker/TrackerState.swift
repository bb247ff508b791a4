public import ObshellModel

/// The events of one observation and its time: the unit the router works on, since an inhibition covers the events of
/// the same observation.
public struct EventBatch: Sendable, Hashable, Codable {
    /// The events, in order.
    public var events: [Event]
    /// When the observation was made.
    public var at: ObshellTime

    /// Makes a batch.
    public init(events: [Event], at: ObshellTime) {
        self.events = events
        self.at = at
    }
}

/// Everything the state machine of one target remembers between observations; persisted across restarts.
///
/// `version` guards the file format: a state written by a newer obwatch is refused (``StateStore`` moves it aside)
/// rather than misread.
public struct TrackerState: Sendable, Hashable, Codable {
    /// The format this build writes and reads.
    public static let currentVersion = 1

    /// The format of this value.
    public var version: Int
    /// Every DAG ever seen on the target, by generic id.
    public var dags: [String: DagRecord]
    /// Failed polls in a row since the last good one.
    public var consecutiveFailedPolls: Int
    /// Whether a `target_down` is open (no `target_up` yet).
    public var targetDown: Bool
    /// How many `target_down` episodes there were: the episode key of their ids.
    public var downEpisodes: Int
    /// When the last good poll was made.
    public var lastGoodPoll: ObshellTime?
    /// Why the last poll failed, while polls fail.
    public var lastError: String?

    /// An empty state: nothing seen yet.
    public init() {
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
    public func differsOnlyInClock(from other: TrackerState) -> Bool {
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
            copy.dags[id] = record
        }
        return copy
    }
}

/// What the tracker remembers of one DAG.
public struct DagRecord: Sendable, Hashable, Codable {
    /// Where the DAG stands from the tracker's point of view.
    public enum Phase: String, Sendable, Hashable, Codable {
        /// In the list, or missing from it and being confirmed.
        case listed
        /// A final state was seen (listed or confirmed); not expected in the list any more.
        case finished
        /// Left the list and no final state was confirmed in time.
        case vanished
    }

    /// The DAG as last observed (no logs, only their count: that is all progress needs).
    public var last: DagSummary
    /// Where the DAG stands.
    public var phase: Phase
    /// The first observation of the DAG.
    public var firstSeen: ObshellTime
    /// The last observation of the DAG (list or confirmation).
    public var lastSeen: ObshellTime
    /// The last observation that showed progress (the first one for a DAG first seen mid-run).
    public var lastProgress: ObshellTime
    /// No-progress time counted so far in this stall, in nanoseconds (time while polls fail excluded).
    public var stalledNanoseconds: Int64
    /// Until when the stall time is counted: the last good observation; `nil` after a failed poll (the gap is not
    /// counted).
    public var stallMark: ObshellTime?
    /// The thresholds (as written) whose `stalled` already fired in this stall episode.
    public var firedThresholds: [String]
    /// Stall episodes so far (the episode key of `stalled` and `resumed` ids).
    public var stallEpisodes: Int
    /// Failure episodes so far (the episode key of `node_failed` and `failed` ids).
    public var failureEpisodes: Int
    /// Whether the current failure episode is still going (no resolution, DAG not running again).
    public var failureEpisodeActive: Bool
    /// Whether `failed` fired in the current failure episode.
    public var failedFired: Bool
    /// Node ids whose `node_failed` fired in the current failure episode.
    public var failedNodes: [String]
    /// Whether the `target/dag/failed` incident is open.
    public var failedIncidentOpen: Bool
    /// Whether the `target/dag/stalled` incident is open.
    public var stalledIncidentOpen: Bool
    /// The final `state/operator` whose event fired since the DAG last ran, so a final fires once.
    public var finalFired: String?
    /// How many times each event type fired for this DAG: the episode key of the types without episodes.
    public var occurrences: [String: Int]
    /// The first good poll that missed the DAG, while it is missing and unconfirmed.
    public var missingSince: ObshellTime?
    /// When `vanished` fired.
    public var vanishedAt: ObshellTime?
    /// Whether the last final state came from a confirmation (`GET /dag/{id}`) rather than the list.
    public var finalConfirmed: Bool

    /// A record for a DAG seen for the first time.
    public init(first dag: DagSummary, at: ObshellTime) {
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
public struct DagSummary: Sendable, Hashable, Codable {
    /// The generic id.
    public var id: String
    /// The raw row id.
    public var dagID: Int64
    /// The name.
    public var name: String
    /// The stage.
    public var stage: Int
    /// The number of stages.
    public var maxStage: Int
    /// The state.
    public var state: TaskState
    /// The operator.
    public var `operator`: TaskOperator
    /// The start time.
    public var startTime: ObshellTime?
    /// The end time.
    public var endTime: ObshellTime?
    /// The nodes, or `nil` when the DAG came without details.
    public var nodes: [NodeSummary]?

    /// Summarises a DAG.
    public init(_ dag: Dag) {
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
public struct NodeSummary: Sendable, Hashable, Codable {
    /// The generic id.
    public var id: String
    /// The raw row id.
    public var nodeID: Int64
    /// The name.
    public var name: String
    /// The state.
    public var state: TaskState
    /// The operator.
    public var `operator`: TaskOperator
    /// The sub-tasks.
    public var subTasks: [SubTaskSummary]

    /// Summarises a node.
    public init(_ node: DagNode) {
        self.id = node.id
        self.nodeID = node.nodeID
        self.name = node.name
        self.state = node.state
        self.operator = node.operator
        self.subTasks = node.subTasks.map(SubTaskSummary.init)
    }
}

/// A sub-task reduced to what progress needs.
public struct SubTaskSummary: Sendable, Hashable, Codable {
    /// The generic id.
    public var id: String
    /// The state.
    public var state: TaskState
    /// How many times it ran.
    public var executeTimes: Int
    /// How many log lines it has.
    public var logCount: Int

    /// Summarises a sub-task.
    public init(_ subTask: SubTask) {
        self.id = subTask.id
        self.state = subTask.state
        self.executeTimes = subTask.executeTimes
        self.logCount = subTask.taskLogs.count
    }
}
