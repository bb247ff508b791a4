import Foundation
import ObshellModel
import YAML

extension Scenario {
    /// Reads and checks a scenario file.
    /// - Parameter path: The file's path, also the name shown in messages.
    /// - Returns: The scenario, with every step already checked against the DAGs it changes.
    /// - Throws: ``SimulatorError`` with code ``SimulatorError/Code/invalidScenario`` and one
    ///   `FILE:LINE:COL: error: MESSAGE` line per problem in ``SimulatorError/diagnostics``.
    package static func load(contentsOfFile path: String) throws(SimulatorError) -> Scenario {
        let root: YAMLNode?
        do {
            root = try YAMLParser().parse(contentsOfFile: path)
        } catch {
            throw Self.invalid([Diagnostic(error).description], file: path, cause: error)
        }
        return try self.decode(root, file: path)
    }

    /// Parses and checks scenario text.
    /// - Parameters:
    ///   - text: The YAML text.
    ///   - file: The name shown in messages.
    /// - Returns: The scenario.
    /// - Throws: ``SimulatorError`` with code ``SimulatorError/Code/invalidScenario``.
    package static func parse(_ text: String, file: String) throws(SimulatorError) -> Scenario {
        let root: YAMLNode?
        do {
            root = try YAMLParser().parse(text, file: file)
        } catch {
            throw Self.invalid([Diagnostic(error).description], file: file, cause: error)
        }
        return try self.decode(root, file: file)
    }

    private static func invalid(_ lines: [String], file: String, cause: (any Error)? = nil) -> SimulatorError {
        SimulatorError(
            code: .invalidScenario,
            message: "\(file): the scenario is not valid (\(lines.count) problem\(lines.count == 1 ? "" : "s"))",
            diagnostics: lines,
            cause: cause
        )
    }

    private static func decode(_ root: YAMLNode?, file: String) throws(SimulatorError) -> Scenario {
        guard let root else {
            throw Self.invalid(["\(file): error: the scenario file is empty"], file: file)
        }
        var diagnostics = Diagnostics()
        var decoder = ScenarioDecoder(file: file)
        let scenario = diagnostics.collect { try decoder.scenario(root) }
        diagnostics.append(contentsOf: decoder.problems)
        guard let scenario, !diagnostics.hasErrors else {
            throw Self.invalid(diagnostics.errors.map(\.description), file: file)
        }
        // Play every step once so that a step that cannot apply (retry of a running DAG, ...) is reported at load.
        var state = ScenarioState(scenario: scenario)
        for step in scenario.steps {
            do {
                try state.advanceChecked(to: step.at)
            } catch {
                let place = step.mark?.description ?? file
                throw Self.invalid(["\(place): error: step at \(step.at.scenarioText): \(error.message)"], file: file)
            }
        }
        return scenario
    }
}

extension Duration {
    /// `30s`, `1m30s`, `250ms`: how scenario files write times, for messages.
    var scenarioText: String {
        let (seconds, attoseconds) = self.components
        let milliseconds = attoseconds / 1_000_000_000_000_000
        var text = ""
        if seconds >= 60 { text += "\(seconds / 60)m" }
        if seconds % 60 != 0 || (text.isEmpty && milliseconds == 0) { text += "\(seconds % 60)s" }
        if milliseconds != 0 { text += "\(milliseconds)ms" }
        return text
    }
}

/// Reads the YAML tree of a scenario; each decoding step reports its own position.
private struct ScenarioDecoder {
    let file: String
    /// Problems found while going on with the rest of the file.
    var problems = Diagnostics()
    private var nextNodeID: Int64 = 1
    private var nextTaskID: Int64 = 1

    init(file: String) {
        self.file = file
    }

    private func error(_ message: String, at node: YAMLNode) -> YAMLError {
        YAMLError(code: .invalidValue, message: message, at: node.mark)
    }

    mutating func scenario(_ root: YAMLNode) throws -> Scenario {
        var reader = try root.mappingReader()
        let agentNode = try reader.required("agent")
        let agent = try self.agent(agentNode)
        var timeZero = ObshellTime(date: .now, utcOffsetSeconds: agent.utcOffsetSeconds)
        if let node = reader.optional("time_zero") {
            let text = try node.string()
            guard let parsed = ObshellTime(text) else {
                throw self.error("time_zero must be an RFC 3339 instant such as 2024-01-10T11:34:22+08:00", at: node)
            }
            timeZero = ObshellTime(
                seconds: parsed.seconds,
                nanoseconds: parsed.nanoseconds,
                utcOffsetSeconds: agent.utcOffsetSeconds
            )
        }
        var dags: [ScenarioDag] = []
        if let dagsNode = reader.optional("dags") {
            for element in try dagsNode.sequence() {
                var local = Diagnostics()
                let decoded = local.collect { try self.dag(element, agent: agent, timeZero: timeZero) }
                self.problems.append(contentsOf: local)
                guard let decoded else { continue }
                if dags.contains(where: { $0.dag.id == decoded.dag.id }) {
                    self.problems.append(self.error("DAG id \"\(decoded.dag.id)\" is used twice", at: element))
                    continue
                }
                dags.append(decoded)
            }
        }
        var steps: [ScenarioStep] = []
        if let stepsNode = reader.optional("steps") {
            for element in try stepsNode.sequence() {
                var local = Diagnostics()
                let step = local.collect { try self.step(element, dags: dags) }
                self.problems.append(contentsOf: local)
                if let step { steps.append(step) }
            }
        }
        reader.reportUnknownKeys(into: &self.problems)
        return Scenario(file: self.file, agent: agent, timeZero: timeZero, dags: dags, steps: steps)
    }

    private mutating func agent(_ node: YAMLNode) throws -> SimulatedAgent {
        var reader = try node.mappingReader()
        var agent = SimulatedAgent()
        if let identity = try reader.optional("identity", { try $0.string(oneOf: AgentIdentity.all.map(\.rawValue)) }) {
            agent.identity = AgentIdentity(rawValue: identity)
        }
        agent.ip = try reader.optional("ip") { try $0.string() } ?? agent.ip
        agent.port = try reader.optional("port") { try $0.int(in: 1...65535) } ?? agent.port
        agent.zone = try reader.optional("zone") { try $0.string() } ?? agent.zone
        agent.version = try reader.optional("version") { try $0.string() } ?? agent.version
        agent.password = try reader.optional("password") { try $0.string() } ?? ""
        if let offsetNode = reader.optional("utc_offset") {
            guard let offset = Self.utcOffset(try offsetNode.string()) else {
                throw self.error("utc_offset must look like +08:00, -05:30 or Z", at: offsetNode)
            }
            agent.utcOffsetSeconds = offset
        }
        reader.reportUnknownKeys(into: &self.problems)
        return agent
    }

    static func utcOffset(_ text: String) -> Int32? {
        if text == "Z" || text == "z" { return 0 }
        let scalars = Array(text.unicodeScalars)
        guard scalars.count == 6, scalars[0] == "+" || scalars[0] == "-", scalars[3] == ":",
            let hours = Int32(String(text.dropFirst().prefix(2))), let minutes = Int32(String(text.suffix(2))),
            hours < 24, minutes < 60
        else { return nil }
        let magnitude = hours * 3600 + minutes * 60
        return scalars[0] == "-" ? -magnitude : magnitude
    }

    /// Checks a generic id as obshell does (obshell-api.md 2.5).
    static func isValidGenericID(_ id: String) -> Bool {
        guard let first = id.first, id.allSatisfy(\.isASCIIDigit) else { return false }
        switch first {
        case "1": return id.count > 1
        case "2", "4": return id.count > 16
        case "3", "5": return id.count > 45
        default: return false
        }
    }

    private mutating func dag(
        _ node: YAMLNode,
        agent: SimulatedAgent,
        timeZero: ObshellTime
    ) throws -> ScenarioDag {
        var reader = try node.mappingReader()
        let dagID = try reader.required("dag_id") { try $0.int(in: 1...Int(Int32.max)) }
        let idNode = reader.optional("id")
        let id = try idNode?.string() ?? "1\(dagID)"
        guard Self.isValidGenericID(id), id.hasSuffix(String(dagID)) else {
            throw self.error(
                "id \"\(id)\" is not a generic id ending with dag_id \(dagID) (e.g. \"1\(dagID)\" for a cluster DAG)",
                at: idNode ?? node
            )
        }
        let prefix = String(id.dropLast(String(dagID).count))
        let name = try reader.required("name") { try $0.string() }
        let maintenanceType = try reader.optional("maintenance_type") { try $0.int(in: 0...4) } ?? 1
        let maintenanceKey = try reader.optional("maintenance_key") { try $0.string() } ?? ""
        let stateNames = ["READY", "RUNNING", "FAILED", "SUCCEED"]
        let state = TaskState(rawValue: try reader.optional("state") { try $0.string(oneOf: stateNames) } ?? "READY")
        let operatorNames = ["RUN", "ROLLBACK", "CANCEL", "PASS"]
        let taskOperator = TaskOperator(
            rawValue: try reader.optional("operator") { try $0.string(oneOf: operatorNames) } ?? "RUN"
        )
        let appearsAt = try reader.optional("appears_at") { try $0.duration() } ?? .zero
        let nodesNode = try reader.required("nodes")
        let nodeElements = try nodesNode.sequence()
        guard !nodeElements.isEmpty else { throw self.error("a DAG needs at least one node", at: nodesNode) }
        let stageNode = reader.optional("stage")
        var stage = try stageNode?.int() ?? 1
        if state == .succeed && stageNode == nil { stage = nodeElements.count }
        guard stage >= 1, stage <= nodeElements.count else {
            throw self.error(
                "stage must be within 1...\(nodeElements.count) (the number of nodes)",
                at: stageNode ?? node
            )
        }
        reader.reportUnknownKeys(into: &self.problems)

        // Times before time zero, spaced like the fixture: finished nodes two seconds apart, then the current one.
        let created = timeZero.adding(.seconds(-2 * stage))
        var nodes: [DagNode] = []
        for (offset, element) in nodeElements.enumerated() {
            let position = offset + 1
            let nodeState: TaskState
            if position < stage || state == .succeed {
                nodeState = .succeed
            } else if position == stage {
                nodeState = state == .ready ? .pending : state
            } else {
                nodeState = .pending
            }
            let started = position <= stage ? timeZero.adding(.seconds(-2 * (stage - position))) : created
            let ended = position < stage || state == .succeed ? started.adding(.seconds(1)) : started
            var local = Diagnostics()
            let decoded = local.collect {
                try self.node(
                    element,
                    prefix: prefix,
                    agent: agent,
                    state: nodeState,
                    times: (started, ended)
                )
            }
            self.problems.append(contentsOf: local)
            if let decoded { nodes.append(decoded) }
        }
        var dag = Dag(
            id: id,
            dagID: Int64(dagID),
            name: name,
            stage: stage,
            maxStage: nodeElements.count,
            maintenanceType: maintenanceType,
            maintenanceKey: maintenanceKey,
            state: state,
            operator: taskOperator,
            startTime: state == .ready ? created : timeZero.adding(.seconds(-2 * (stage - 1))),
            endTime: state.isFinal ? timeZero : created,
            additionalData: nodeElements.count > 1 ? .object([]) : nil,
            nodes: nodes
        )
        if state == .ready { dag.startTime = created }
        return ScenarioDag(dag: dag, appearsAt: appearsAt)
    }

    private mutating func node(
        _ node: YAMLNode,
        prefix: String,
        agent: SimulatedAgent,
        state: TaskState,
        times: (ObshellTime, ObshellTime)
    ) throws -> DagNode {
        var name: String
        var agents = [agent.executeAgent]
        var logsNode: YAMLNode?
        if node.pairs == nil {
            name = try node.string()
        } else {
            var reader = try node.mappingReader()
            name = try reader.required("name") { try $0.string() }
            if let agentsNode = reader.optional("agents") {
                agents = []
                for element in try agentsNode.sequence() {
                    guard let parsed = Self.agentAddress(try element.string()) else {
                        throw self.error("an agent is written ip:port, e.g. 10.10.10.1:2886", at: element)
                    }
                    agents.append(parsed)
                }
                guard !agents.isEmpty else {
                    throw self.error("a parallel node needs at least one agent", at: agentsNode)
                }
            }
            logsNode = reader.optional("logs")
            reader.reportUnknownKeys(into: &self.problems)
        }
        var logsByAgent: [String: [String]] = [:]
        var sharedLogs: [String] = []
        if let logsNode {
            if logsNode.pairs != nil {
                for (key, value) in try logsNode.stringMap({ try $0.list { try $0.string() } }) {
                    guard agents.contains(where: { $0.description == key }) else {
                        throw self.error("logs name agent \(key), which runs no sub-task of this node", at: logsNode)
                    }
                    logsByAgent[key] = value
                }
            } else {
                sharedLogs = try logsNode.list { try $0.string() }
            }
        }
        let nodeID = self.nextNodeID
        self.nextNodeID += 1
        var subTasks: [SubTask] = []
        for executeAgent in agents {
            let taskID = self.nextTaskID
            self.nextTaskID += 1
            subTasks.append(
                SubTask(
                    id: prefix + String(taskID),
                    taskID: taskID,
                    name: name,
                    state: state,
                    operator: .run,
                    startTime: times.0,
                    endTime: times.1,
                    executeTimes: state == .pending ? 0 : 1,
                    executeAgent: executeAgent,
                    taskLogs: logsByAgent[executeAgent.description] ?? sharedLogs
                )
            )
        }
        return DagNode(
            id: prefix + String(nodeID),
            nodeID: nodeID,
            name: name,
            state: state,
            operator: .run,
            startTime: times.0,
            endTime: times.1,
            subTasks: subTasks
        )
    }

    static func agentAddress(_ text: String) -> SubTask.Agent? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (1...65535).contains(port), colon != text.startIndex
        else { return nil }
        return SubTask.Agent(ip: String(text[..<colon]), port: port)
    }

    private static let actions = [
        "start", "advance", "log", "fail", "retry", "rollback", "cancel", "pass", "succeed", "set",
    ]

    private mutating func step(_ node: YAMLNode, dags: [ScenarioDag]) throws -> ScenarioStep {
        var reader = try node.mappingReader()
        let at = try reader.required("at") { try $0.duration() }
        let actionNode = reader.optional("do")
        let faultNode = reader.optional("fault")
        let action: ScenarioAction
        switch (actionNode, faultNode) {
        case (let actionNode?, nil):
            action = try self.dagAction(actionNode, reader: &reader, dags: dags, at: node)
        case (nil, let faultNode?):
            action = try self.fault(faultNode, reader: &reader)
        case (nil, nil):
            throw YAMLError(code: .missingKey, message: "a step needs \"do\" or \"fault\"", at: node.mark)
        case (_?, let faultNode?):
            throw self.error("a step has either \"do\" or \"fault\", not both", at: faultNode)
        }
        reader.reportUnknownKeys(into: &self.problems)
        return ScenarioStep(at: at, action: action, mark: node.mark)
    }

    private func dagAction(
        _ actionNode: YAMLNode,
        reader: inout YAMLMappingReader,
        dags: [ScenarioDag],
        at node: YAMLNode
    ) throws -> ScenarioAction {
        let name = try actionNode.string(oneOf: Self.actions)
        let dag: String
        if let dagNode = reader.optional("dag") {
            dag = try dagNode.string()
            guard dags.contains(where: { $0.dag.id == dag }) else {
                throw self.error("no DAG has id \"\(dag)\"", at: dagNode)
            }
        } else if dags.count == 1, let only = dags.first {
            dag = only.dag.id
        } else {
            throw YAMLError(
                code: .missingKey,
                message: "missing required key \"dag\" (needed when the scenario has more than one DAG)",
                at: node.mark
            )
        }
        let agent = try reader.optional("agent") { try $0.string() }
        switch name {
        case "start": return .start(dag: dag)
        case "advance": return .advance(dag: dag)
        case "log": return .log(dag: dag, line: try reader.required("line") { try $0.string() }, agent: agent)
        case "fail":
            let code = try reader.optional("code") { try $0.string() } ?? "Common.Unexpected"
            let message = try reader.required("message") { try $0.string() }
            return .fail(dag: dag, code: code, message: message, agent: agent)
        case "retry": return .retry(dag: dag)
        case "rollback": return .rollback(dag: dag)
        case "cancel": return .cancel(dag: dag)
        case "pass": return .pass(dag: dag)
        case "succeed": return .succeed(dag: dag)
        default:
            var fields = try reader.required("set").mappingReader()
            var changes = DagFieldChanges()
            changes.state = try fields.optional("state") {
                TaskState(rawValue: try $0.string(oneOf: ["READY", "RUNNING", "FAILED", "SUCCEED"]))
            }
            changes.operator = try fields.optional("operator") {
                TaskOperator(rawValue: try $0.string(oneOf: ["RUN", "ROLLBACK", "CANCEL", "PASS"]))
            }
            changes.stage = try fields.optional("stage") { try $0.int() }
            changes.name = try fields.optional("name") { try $0.string() }
            changes.maintenanceType = try fields.optional("maintenance_type") { try $0.int(in: 0...4) }
            if let unknown = fields.unknownKeyErrors().first { throw unknown }
            return .set(dag: dag, changes)
        }
    }

    private func fault(_ faultNode: YAMLNode, reader: inout YAMLMappingReader) throws -> ScenarioAction {
        let names = SimulatedFault.Kind.all.map(\.description) + ["key_change"]
        let name = try faultNode.string(oneOf: names)
        if name == "key_change" { return .changeKey }
        guard let kind = SimulatedFault.Kind.all.first(where: { $0.description == name }) else {
            throw self.error("unknown fault \(name)", at: faultNode)
        }
        let durationNode = reader.optional("for")
        let duration = try durationNode?.duration()
        let requestsNode = reader.optional("requests")
        let requests = try requestsNode?.int(in: 1...1_000_000)
        if duration != nil, let requestsNode {
            throw self.error("a fault lasts \"for\" a time or a number of \"requests\", not both", at: requestsNode)
        }
        var hidden: [String] = []
        if kind == .partialList {
            hidden = try reader.required("hide") { try $0.oneOrList { try $0.string() } }
        }
        return .fault(SimulatedFault(kind: kind, duration: duration, requests: requests, hiddenDagIDs: hidden))
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { self >= "0" && self <= "9" }
}
