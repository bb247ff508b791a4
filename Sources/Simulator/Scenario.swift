package import ObshellModel
package import YAML

/// An obshell agent identity the simulator can play (obshell-api.md 1.2 and 4.4).
package struct AgentIdentity: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    /// The identity as obshell spells it in `/api/v1/info`.
    package let rawValue: String

    /// Wraps a spelling; only the three constants are accepted in scenario files.
    package init(rawValue: String) { self.rawValue = rawValue }

    /// A cluster agent: lists `contents: null` when empty and checks the root password.
    package static let clusterAgent = AgentIdentity(rawValue: "CLUSTER AGENT")
    /// A single agent before any cluster exists: lists `[]` when empty and accepts any decryptable header.
    package static let single = AgentIdentity(rawValue: "SINGLE")
    /// The master during cluster initialisation: behaves like ``single`` here.
    package static let master = AgentIdentity(rawValue: "MASTER")

    /// The identities a scenario may name.
    package static let all: [AgentIdentity] = [.clusterAgent, .single, .master]

    /// The spelling.
    package var description: String { self.rawValue }
}

/// The agent a scenario simulates: what `/api/v1/info` reports and how times are rendered.
package struct SimulatedAgent: Sendable, Hashable {
    /// Its identity.
    package var identity: AgentIdentity
    /// The IP it reports (not where the simulator listens).
    package var ip: String
    /// The port it reports (not where the simulator listens).
    package var port: Int
    /// Its zone.
    package var zone: String
    /// obshell's version, e.g. `4.3.5.0`.
    package var version: String
    /// The UTC offset every timestamp is rendered in, in seconds (`+08:00` is 28800).
    package var utcOffsetSeconds: Int32
    /// The root@sys password a CLUSTER AGENT accepts in `Auth`; never printed.
    package var password: String

    /// Makes an agent description.
    package init(
        identity: AgentIdentity = .clusterAgent,
        ip: String = "127.0.0.1",
        port: Int = 2886,
        zone: String = "zone1",
        version: String = "4.3.5.0",
        utcOffsetSeconds: Int32 = 0,
        password: String = ""
    ) {
        self.identity = identity
        self.ip = ip
        self.port = port
        self.zone = zone
        self.version = version
        self.utcOffsetSeconds = utcOffsetSeconds
        self.password = password
    }

    /// Sub-tasks run on this agent unless a parallel node names others.
    package var executeAgent: SubTask.Agent { SubTask.Agent(ip: self.ip, port: self.port) }
}

/// A fault the simulator injects, for a window of scenario time or for the next N requests it applies to.
package struct SimulatedFault: Sendable, Hashable {
    /// What the fault does.
    package struct Kind: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, Sendable, Hashable {
            case http500 = "http_500"
            case hang
            case notJSON = "not_json"
            case partialList = "partial_list"
            case contentsNull = "contents_null"
            case refusePassword = "refuse_password"
        }
        private let value: Value

        private init(_ value: Value) { self.value = value }

        /// Task routes answer 500 `Common.Unexpected` in obshell's envelope.
        package static let http500 = Kind(.http500)
        /// Task routes get no answer until the client gives up (or the simulator's hang cap passes).
        package static let hang = Kind(.hang)
        /// Task routes answer 200 with a body that is not JSON.
        package static let notJSON = Kind(.notJSON)
        /// `/dag/unfinish` leaves out the named DAGs (they stay readable by id), as when a peer is down.
        package static let partialList = Kind(.partialList)
        /// `/dag/unfinish` answers `contents: null` whatever is running.
        package static let contentsNull = Kind(.contentsNull)
        /// Authenticated requests fail with `IncorrectOceanbasePassword`, as after a password rotation.
        package static let refusePassword = Kind(.refusePassword)

        /// The kinds in the order the documentation lists them.
        package static let all: [Kind] = [.http500, .hang, .notJSON, .partialList, .contentsNull, .refusePassword]

        /// The name used in scenario files (`http_500`, `hang`, ...).
        package var description: String { self.value.rawValue }
    }

    /// What the fault does.
    package var kind: Kind
    /// How long it lasts from its step, in scenario time; `nil` when it is counted in requests.
    package var duration: Duration?
    /// How many requests it hits; `nil` when it lasts for ``duration``.
    package var requests: Int?
    /// For ``Kind/partialList``: the DAG ids left out of the list.
    package var hiddenDagIDs: [String]

    /// Makes a fault; with neither a duration nor a count it hits the next request only.
    package init(kind: Kind, duration: Duration? = nil, requests: Int? = nil, hiddenDagIDs: [String] = []) {
        self.kind = kind
        self.duration = duration
        self.requests = duration == nil && requests == nil ? 1 : requests
        self.hiddenDagIDs = hiddenDagIDs
    }
}

/// Direct changes to a DAG's fields, for cases the step vocabulary does not cover.
package struct DagFieldChanges: Sendable, Hashable {
    /// A new state.
    package var state: TaskState?
    /// A new operator.
    package var `operator`: TaskOperator?
    /// A new stage (1 to max_stage).
    package var stage: Int?
    /// A new name.
    package var name: String?
    /// A new maintenance type.
    package var maintenanceType: Int?

    /// Makes a change set; `nil` fields stay as they are.
    package init(
        state: TaskState? = nil,
        operator: TaskOperator? = nil,
        stage: Int? = nil,
        name: String? = nil,
        maintenanceType: Int? = nil
    ) {
        self.state = state
        self.operator = `operator`
        self.stage = stage
        self.name = name
        self.maintenanceType = maintenanceType
    }
}

/// What a timed step does.
package enum ScenarioAction: Sendable, Hashable {
    /// A READY DAG starts RUNNING; its current node and sub-tasks run (execute_times + 1).
    case start(dag: String)
    /// The current node succeeds and the next one runs; after the last node (or node 1 in a rollback) the DAG
    /// succeeds.
    case advance(dag: String)
    /// A log line is appended to the current node's sub-tasks (only the one on `agent` when given).
    case log(dag: String, line: String, agent: String?)
    /// The current node fails with an `ERROR: [code]: message` log line; the DAG becomes FAILED.
    case fail(dag: String, code: String, message: String, agent: String?)
    /// obshell's RETRY on a FAILED DAG: READY/RUN, the failed node PENDING/RETRY, times reset to the epoch.
    case retry(dag: String)
    /// obshell's ROLLBACK on a FAILED DAG: READY/ROLLBACK, nodes up to the failed one PENDING/ROLLBACK.
    case rollback(dag: String)
    /// obshell's CANCEL on a READY or RUNNING DAG: it ends FAILED/CANCEL.
    case cancel(dag: String)
    /// obshell's PASS on a FAILED DAG: SUCCEED/PASS at once.
    case pass(dag: String)
    /// The DAG finishes: stage = max_stage, every remaining node SUCCEED, the DAG SUCCEED.
    case succeed(dag: String)
    /// Fields set directly.
    case set(dag: String, DagFieldChanges)
    /// A fault starts.
    case fault(SimulatedFault)
    /// The agent's RSA key is replaced: headers made with the old key fail with `DecryptFailed`.
    case changeKey
}

/// One timed step of a scenario.
package struct ScenarioStep: Sendable, Hashable {
    /// When it happens, from the scenario's time zero.
    package var at: Duration
    /// What it does.
    package var action: ScenarioAction
    /// Where it is written, for messages.
    package var mark: YAMLMark?

    /// Makes a step.
    package init(at: Duration, action: ScenarioAction, mark: YAMLMark? = nil) {
        self.at = at
        self.action = action
        self.mark = mark
    }
}

/// A simulated DAG as the scenario defines it: its initial detail and when it appears.
package struct ScenarioDag: Sendable, Hashable {
    /// The DAG at time zero, with every node and sub-task.
    package var dag: Dag
    /// When it appears in the agent's store (before that it is unknown, 404).
    package var appearsAt: Duration

    /// Makes a scenario DAG.
    package init(dag: Dag, appearsAt: Duration = .zero) {
        self.dag = dag
        self.appearsAt = appearsAt
    }
}

/// A whole scenario: the agent, its DAGs and the timed steps that change them. Load one with
/// ``Scenario/load(contentsOfFile:)``; the format is described in the README, section "The simulator".
package struct Scenario: Sendable {
    /// The file it was read from (for messages).
    package var file: String
    /// The simulated agent.
    package var agent: SimulatedAgent
    /// The instant scenario time 0 maps to; agent timestamps are this plus elapsed scenario time.
    package var timeZero: ObshellTime
    /// The DAGs, in list order.
    package var dags: [ScenarioDag]
    /// The steps, ordered by time (steps at the same time keep file order).
    package var steps: [ScenarioStep]

    /// Makes a scenario from parts; ``load(contentsOfFile:)`` is the usual way.
    package init(
        file: String,
        agent: SimulatedAgent,
        timeZero: ObshellTime,
        dags: [ScenarioDag],
        steps: [ScenarioStep]
    ) {
        self.file = file
        self.agent = agent
        self.timeZero = timeZero
        self.dags = dags
        self.steps = steps.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(
            \.element
        )
    }

    /// The scenario time of the last step (zero without steps).
    package var lastStepTime: Duration { self.steps.last?.at ?? .zero }
}
