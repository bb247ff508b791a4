/// One task DAG as obshell's `DagDetailDTO` describes it (obshell-api.md 2.2).
///
/// `id` (the generic id) is the key; `dag_id` is unique only within its store. `nodes` is `nil` when the agent was
/// asked with `show_details=false`.
package struct Dag: Sendable, Hashable, Codable {
    /// The generic id: the key of a DAG across polls and agents.
    package var id: String
    /// The raw row id in its store.
    package var dagID: Int64
    /// The DAG's name, e.g. `Cluster scale out`: agent text, kept byte-exact.
    package var name: String
    /// The 1-based index of the current node.
    package var stage: Int
    /// The number of nodes.
    package var maxStage: Int
    /// 0 not bootstrapped, 1 none, 2 global, 3 tenant, 4 obproxy; absent before obshell 4.3.2.0.
    package var maintenanceType: Int?
    /// The tenant name for tenant maintenance, else empty.
    package var maintenanceKey: String?
    /// The DAG's state.
    package var state: TaskState
    /// The last operator applied.
    package var `operator`: TaskOperator
    /// When it started running (the epoch after an operator reset it).
    package var startTime: ObshellTime?
    /// When it finished; meaningful only for SUCCEED and FAILED.
    package var endTime: ObshellTime?
    /// Free-form data merged from sub-tasks.
    package var additionalData: JSONValue?
    /// The nodes in stage order, or `nil` without details.
    package var nodes: [DagNode]?

    /// Makes a DAG; the simulator and tests build them, the client decodes them.
    package init(
        id: String,
        dagID: Int64,
        name: String,
        stage: Int,
        maxStage: Int,
        maintenanceType: Int? = nil,
        maintenanceKey: String? = nil,
        state: TaskState,
        operator: TaskOperator,
        startTime: ObshellTime? = nil,
        endTime: ObshellTime? = nil,
        additionalData: JSONValue? = nil,
        nodes: [DagNode]? = nil
    ) {
        self.id = id
        self.dagID = dagID
        self.name = name
        self.stage = stage
        self.maxStage = maxStage
        self.maintenanceType = maintenanceType
        self.maintenanceKey = maintenanceKey
        self.state = state
        self.operator = `operator`
        self.startTime = startTime
        self.endTime = endTime
        self.additionalData = additionalData
        self.nodes = nodes
    }

    /// Whether obshell keeps this DAG listed after it fails (maintenance types 2, 3 and 4).
    package var isMaintenance: Bool { (2...4).contains(self.maintenanceType ?? 0) }

    /// The node at `stage`, the one running (or failed, or being rolled back), when details are present.
    package var currentNode: DagNode? {
        guard let nodes = self.nodes, self.stage >= 1, self.stage <= nodes.count else { return nil }
        return nodes[self.stage - 1]
    }

    enum CodingKeys: String, CodingKey {
        case id
        case dagID = "dag_id"
        case name, stage
        case maxStage = "max_stage"
        case maintenanceType = "maintenance_type"
        case maintenanceKey = "maintenance_key"
        case state, `operator`
        case startTime = "start_time"
        case endTime = "end_time"
        case additionalData = "additional_data"
        case nodes
    }

    /// Decodes obshell's JSON: `id`, `name`, `stage`, `max_stage`, `state` and `operator` are required; the rest may
    /// be absent or null.
    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.id = try container.decodeGenericID(forKey: .id)
        self.dagID = try container.decodeIfPresent(Int64.self, forKey: .dagID) ?? 0
        self.name = try container.decode(String.self, forKey: .name)
        self.stage = try container.decode(Int.self, forKey: .stage)
        self.maxStage = try container.decode(Int.self, forKey: .maxStage)
        self.maintenanceType = try container.decodeIfPresent(Int.self, forKey: .maintenanceType)
        self.maintenanceKey = try container.decodeIfPresent(String.self, forKey: .maintenanceKey)
        self.state = try container.decode(TaskState.self, forKey: .state)
        self.operator = try container.decode(TaskOperator.self, forKey: .operator)
        self.startTime = try container.decodeIfPresent(ObshellTime.self, forKey: .startTime)
        self.endTime = try container.decodeIfPresent(ObshellTime.self, forKey: .endTime)
        self.additionalData = try container.decodeIfPresent(JSONValue.self, forKey: .additionalData)
        self.nodes = try container.decodeIfPresent([DagNode].self, forKey: .nodes)
    }

    /// Encodes with obshell's own field names; absent values are written as obshell writes them (null).
    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.id, forKey: .id)
        try container.encode(self.dagID, forKey: .dagID)
        try container.encode(self.name, forKey: .name)
        try container.encode(self.stage, forKey: .stage)
        try container.encode(self.maxStage, forKey: .maxStage)
        try container.encodeIfPresent(self.maintenanceType, forKey: .maintenanceType)
        try container.encodeIfPresent(self.maintenanceKey, forKey: .maintenanceKey)
        try container.encode(self.state, forKey: .state)
        try container.encode(self.operator, forKey: .operator)
        try container.encodeIfPresent(self.startTime, forKey: .startTime)
        try container.encodeIfPresent(self.endTime, forKey: .endTime)
        try container.encode(self.additionalData ?? .null, forKey: .additionalData)
        if let nodes = self.nodes {
            try container.encode(nodes, forKey: .nodes)
        } else {
            try container.encodeNil(forKey: .nodes)
        }
    }
}

/// One node of a DAG (obshell's `NodeDetailDTO`): a serial node has one sub-task, a parallel node one per agent.
package struct DagNode: Sendable, Hashable, Codable {
    /// The node's generic id.
    package var id: String
    /// The raw row id.
    package var nodeID: Int64
    /// The node's name (the same as its task's).
    package var name: String
    /// PENDING, RUNNING, SUCCEED or FAILED.
    package var state: TaskState
    /// RUN, RETRY, ROLLBACK, CANCEL or PASS.
    package var `operator`: TaskOperator
    /// When it started.
    package var startTime: ObshellTime?
    /// When it ended (equal to the start while running).
    package var endTime: ObshellTime?
    /// Always null inside a DAG answer; kept for completeness.
    package var additionalData: JSONValue?
    /// The sub-tasks; `null` is read as empty.
    package var subTasks: [SubTask]

    /// Makes a node.
    package init(
        id: String,
        nodeID: Int64,
        name: String,
        state: TaskState,
        operator: TaskOperator,
        startTime: ObshellTime? = nil,
        endTime: ObshellTime? = nil,
        additionalData: JSONValue? = nil,
        subTasks: [SubTask] = []
    ) {
        self.id = id
        self.nodeID = nodeID
        self.name = name
        self.state = state
        self.operator = `operator`
        self.startTime = startTime
        self.endTime = endTime
        self.additionalData = additionalData
        self.subTasks = subTasks
    }

    enum CodingKeys: String, CodingKey {
        case id
        case nodeID = "node_id"
        case name, state, `operator`
        case startTime = "start_time"
        case endTime = "end_time"
        case additionalData = "additional_data"
        case subTasks = "sub_tasks"
    }

    /// Decodes obshell's JSON.
    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.id = try container.decodeGenericID(forKey: .id)
        self.nodeID = try container.decodeIfPresent(Int64.self, forKey: .nodeID) ?? 0
        self.name = try container.decode(String.self, forKey: .name)
        self.state = try container.decode(TaskState.self, forKey: .state)
        self.operator = try container.decode(TaskOperator.self, forKey: .operator)
        self.startTime = try container.decodeIfPresent(ObshellTime.self, forKey: .startTime)
        self.endTime = try container.decodeIfPresent(ObshellTime.self, forKey: .endTime)
        self.additionalData = try container.decodeIfPresent(JSONValue.self, forKey: .additionalData)
        self.subTasks = try container.decodeIfPresent([SubTask].self, forKey: .subTasks) ?? []
    }

    /// Encodes with obshell's field names.
    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.id, forKey: .id)
        try container.encode(self.nodeID, forKey: .nodeID)
        try container.encode(self.name, forKey: .name)
        try container.encode(self.state, forKey: .state)
        try container.encode(self.operator, forKey: .operator)
        try container.encodeIfPresent(self.startTime, forKey: .startTime)
        try container.encodeIfPresent(self.endTime, forKey: .endTime)
        try container.encode(self.additionalData ?? .null, forKey: .additionalData)
        try container.encode(self.subTasks, forKey: .subTasks)
    }
}

/// One sub-task of a node (obshell's `TaskDetailDTO`), with its logs.
package struct SubTask: Sendable, Hashable, Codable {
    /// The agent that runs a sub-task.
    package struct Agent: Sendable, Hashable, Codable, CustomStringConvertible {
        /// The agent's IP address.
        package var ip: String
        /// The agent's port.
        package var port: Int

        /// Makes an agent address.
        package init(ip: String, port: Int) {
            self.ip = ip
            self.port = port
        }

        /// `ip:port`.
        package var description: String { "\(self.ip):\(self.port)" }
    }

    /// The sub-task's generic id.
    package var id: String
    /// The raw row id.
    package var taskID: Int64
    /// The sub-task's name.
    package var name: String
    /// PENDING, READY, RUNNING, SUCCEED or FAILED.
    package var state: TaskState
    /// The last operator applied.
    package var `operator`: TaskOperator
    /// When it started.
    package var startTime: ObshellTime?
    /// When it ended.
    package var endTime: ObshellTime?
    /// Filled only by `GET /task/sub_task/{id}`.
    package var additionalData: JSONValue?
    /// How many times it was set READY: a retry raises it.
    package var executeTimes: Int
    /// The agent that runs it.
    package var executeAgent: Agent?
    /// The log lines of all its executions, byte-exact; `null` is read as empty.
    package var taskLogs: [String]

    /// Makes a sub-task.
    package init(
        id: String,
        taskID: Int64,
        name: String,
        state: TaskState,
        operator: TaskOperator,
        startTime: ObshellTime? = nil,
        endTime: ObshellTime? = nil,
        additionalData: JSONValue? = nil,
        executeTimes: Int = 0,
        executeAgent: Agent? = nil,
        taskLogs: [String] = []
    ) {
        self.id = id
        self.taskID = taskID
        self.name = name
        self.state = state
        self.operator = `operator`
        self.startTime = startTime
        self.endTime = endTime
        self.additionalData = additionalData
        self.executeTimes = executeTimes
        self.executeAgent = executeAgent
        self.taskLogs = taskLogs
    }

    /// The last log line, the one obshell's own CLI prints for a failure.
    package var lastLog: String? { self.taskLogs.last }

    enum CodingKeys: String, CodingKey {
        case id
        case taskID = "task_id"
        case name, state, `operator`
        case startTime = "start_time"
        case endTime = "end_time"
        case additionalData = "additional_data"
        case executeTimes = "execute_times"
        case executeAgent = "execute_agent"
        case taskLogs = "task_logs"
    }

    /// Decodes obshell's JSON.
    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.id = try container.decodeGenericID(forKey: .id)
        self.taskID = try container.decodeIfPresent(Int64.self, forKey: .taskID) ?? 0
        self.name = try container.decode(String.self, forKey: .name)
        self.state = try container.decode(TaskState.self, forKey: .state)
        self.operator = try container.decode(TaskOperator.self, forKey: .operator)
        self.startTime = try container.decodeIfPresent(ObshellTime.self, forKey: .startTime)
        self.endTime = try container.decodeIfPresent(ObshellTime.self, forKey: .endTime)
        self.additionalData = try container.decodeIfPresent(JSONValue.self, forKey: .additionalData)
        self.executeTimes = try container.decodeIfPresent(Int.self, forKey: .executeTimes) ?? 0
        self.executeAgent = try container.decodeIfPresent(Agent.self, forKey: .executeAgent)
        self.taskLogs = try container.decodeIfPresent([String].self, forKey: .taskLogs) ?? []
    }

    /// Encodes with obshell's field names.
    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.id, forKey: .id)
        try container.encode(self.taskID, forKey: .taskID)
        try container.encode(self.name, forKey: .name)
        try container.encode(self.state, forKey: .state)
        try container.encode(self.operator, forKey: .operator)
        try container.encodeIfPresent(self.startTime, forKey: .startTime)
        try container.encodeIfPresent(self.endTime, forKey: .endTime)
        try container.encode(self.additionalData ?? .null, forKey: .additionalData)
        try container.encode(self.executeTimes, forKey: .executeTimes)
        try container.encodeIfPresent(self.executeAgent, forKey: .executeAgent)
        try container.encode(self.taskLogs, forKey: .taskLogs)
    }
}

extension KeyedDecodingContainer {
    /// Decodes a generic id: a string in obshell's answers; a bare number is accepted and kept as its digits.
    ///
    /// The string is tried first because it is what obshell sends, and a failed attempt costs an error with its
    /// coding path; when neither fits, the error is the string's, as it always was.
    func decodeGenericID(forKey key: Key) throws -> String {
        if let text = try? self.decode(String.self, forKey: key) { return text }
        if let number = try? self.decode(Int64.self, forKey: key) { return String(number) }
        return try self.decode(String.self, forKey: key)
    }
}
