package import ObshellModel

/// The simulated agent's store at one moment of scenario time: a pure value, advanced by applying the scenario's
/// steps in order. The HTTP layer only reads it (and counts faults off it) through ``ObshellSimulator``.
package struct ScenarioState: Sendable {
    /// Why a step cannot be applied (caught when a scenario is loaded).
    struct StepError: Error {
        var message: String
    }

    private struct ActiveFault: Sendable {
        var fault: SimulatedFault
        var from: Duration
        var remaining: Int?

        func isActive(at elapsed: Duration) -> Bool {
            guard elapsed >= self.from else { return false }
            if let duration = self.fault.duration, elapsed >= self.from + duration { return false }
            if let remaining = self.remaining, remaining <= 0 { return false }
            return true
        }
    }

    /// The scenario being played.
    package let scenario: Scenario
    /// How far the state has been advanced.
    package private(set) var elapsed: Duration = .zero
    /// Every DAG, appeared or not, in scenario order.
    package private(set) var dags: [Dag]
    /// How many key changes have happened: the owner makes a new key when this grows.
    package private(set) var keyGeneration = 0
    private var nextStep = 0
    private var faults: [ActiveFault] = []

    /// The state at scenario time zero, before any step.
    package init(scenario: Scenario) {
        self.scenario = scenario
        self.dags = scenario.dags.map(\.dag)
    }

    /// Applies every step due by `elapsed`; time never goes back, so an earlier time only returns.
    package mutating func advance(to elapsed: Duration) {
        // Steps were checked when the scenario was loaded, so a failure here means the state was built by hand;
        // the step is skipped rather than crashing a server.
        try? self.advanceChecked(to: elapsed)
    }

    /// Like ``advance(to:)`` but stops at the first step that does not apply, naming it.
    mutating func advanceChecked(to elapsed: Duration) throws(StepError) {
        guard elapsed >= self.elapsed else { return }
        while self.nextStep < self.scenario.steps.count, self.scenario.steps[self.nextStep].at <= elapsed {
            let step = self.scenario.steps[self.nextStep]
            self.nextStep += 1
            // Each step happens at its own time, so the times it writes do not depend on when it is observed.
            self.elapsed = step.at
            try self.apply(step)
        }
        self.elapsed = elapsed
    }

    /// The agent's clock at the current scenario time.
    package var now: ObshellTime { self.scenario.timeZero.adding(self.elapsed) }

    /// Whether the DAG exists in the store yet.
    func hasAppeared(_ id: String) -> Bool {
        guard let spec = self.scenario.dags.first(where: { $0.dag.id == id }) else { return false }
        return spec.appearsAt <= self.elapsed
    }

    /// The DAG with this generic id, if it has appeared (finished ones included, as obshell never deletes rows).
    package func dag(id: String) -> Dag? {
        guard self.hasAppeared(id) else { return nil }
        return self.dags.first { $0.id == id }
    }

    /// What `/dag/unfinish` lists: READY and RUNNING DAGs, and FAILED maintenance DAGs, in scenario order.
    package var unfinishedDags: [Dag] {
        self.dags.filter { dag in
            guard self.hasAppeared(dag.id) else { return false }
            return dag.state.isActive || (dag.state == .failed && dag.isMaintenance)
        }
    }

    /// Takes the first active fault of one of these kinds, counting one request off it.
    /// - Parameter kinds: The kinds that apply to the request at hand.
    /// - Returns: The fault to inject, or `nil`.
    mutating func takeFault(of kinds: [SimulatedFault.Kind]) -> SimulatedFault? {
        for index in self.faults.indices
        where kinds.contains(self.faults[index].fault.kind) && self.faults[index].isActive(at: self.elapsed) {
            if let remaining = self.faults[index].remaining { self.faults[index].remaining = remaining - 1 }
            return self.faults[index].fault
        }
        return nil
    }

    // MARK: - Steps

    private mutating func apply(_ step: ScenarioStep) throws(StepError) {
        switch step.action {
        case .fault(let fault):
            self.faults.append(ActiveFault(fault: fault, from: step.at, remaining: fault.requests))
        case .changeKey:
            self.keyGeneration += 1
        case .start(let id):
            try self.change(id) { dag, time throws(StepError) in try Self.start(&dag, at: time) }
        case .advance(let id):
            try self.change(id) { dag, time throws(StepError) in try Self.advance(&dag, at: time) }
        case .log(let id, let line, let agent):
            try self.change(id) { dag, _ throws(StepError) in try Self.log(&dag, line: line, agent: agent) }
        case .fail(let id, let code, let message, let agent):
            try self.change(id) { dag, time throws(StepError) in
                try Self.fail(&dag, line: "ERROR: [\(code)]: \(message)", agent: agent, at: time)
            }
        case .retry(let id):
            try self.change(id) { dag, time throws(StepError) in try Self.retry(&dag, at: time) }
        case .rollback(let id):
            try self.change(id) { dag, time throws(StepError) in try Self.rollback(&dag, at: time) }
        case .cancel(let id):
            try self.change(id) { dag, time throws(StepError) in try Self.cancel(&dag, at: time) }
        case .pass(let id):
            try self.change(id) { dag, time throws(StepError) in try Self.pass(&dag, at: time) }
        case .succeed(let id):
            try self.change(id) { dag, time throws(StepError) in try Self.succeed(&dag, at: time) }
        case .set(let id, let changes):
            try self.change(id) { dag, _ throws(StepError) in try Self.set(&dag, changes) }
        }
    }

    private mutating func change(
        _ id: String,
        _ body: (inout Dag, ObshellTime) throws(StepError) -> Void
    ) throws(StepError) {
        guard let index = self.dags.firstIndex(where: { $0.id == id }) else {
            throw StepError(message: "no DAG has id \"\(id)\"")
        }
        guard self.hasAppeared(id) else {
            throw StepError(message: "DAG \"\(id)\" has not appeared yet (see its appears_at)")
        }
        try body(&self.dags[index], self.now)
    }

    private static func epoch(like time: ObshellTime) -> ObshellTime {
        ObshellTime(seconds: 0, nanoseconds: 0, utcOffsetSeconds: time.utcOffsetSeconds)
    }

    private static func require(_ dag: Dag, _ states: [TaskState], for action: String) throws(StepError) {
        guard states.contains(dag.state) else {
            let wanted = states.map(\.rawValue).joined(separator: " or ")
            throw StepError(message: "\(action) needs a \(wanted) DAG, but \"\(dag.id)\" is \(dag.state)")
        }
    }

    private static func currentNodeIndex(_ dag: Dag, for action: String) throws(StepError) -> Int {
        guard let nodes = dag.nodes, dag.stage >= 1, dag.stage <= nodes.count else {
            throw StepError(message: "\(action): DAG \"\(dag.id)\" has no node at stage \(dag.stage)")
        }
        return dag.stage - 1
    }

    /// Runs a node: obshell sets its start and end to the same instant, and each sub-task is set READY (raising
    /// execute_times) and then RUNNING.
    private static func startNode(_ dag: inout Dag, _ index: Int, at time: ObshellTime) {
        guard var node = dag.nodes?[index] else { return }
        node.state = .running
        node.startTime = time
        node.endTime = time
        for task in node.subTasks.indices where node.subTasks[task].state != .succeed {
            node.subTasks[task].state = .running
            node.subTasks[task].operator = node.operator
            node.subTasks[task].executeTimes += 1
            node.subTasks[task].startTime = time
        }
        dag.nodes?[index] = node
    }

    private static func finishNode(_ dag: inout Dag, _ index: Int, _ state: TaskState, at time: ObshellTime) {
        guard var node = dag.nodes?[index] else { return }
        node.state = state
        node.endTime = time
        for task in node.subTasks.indices where node.subTasks[task].state != .succeed {
            if node.subTasks[task].state == .pending { node.subTasks[task].executeTimes += 1 }
            node.subTasks[task].state = state
            node.subTasks[task].operator = node.operator
            node.subTasks[task].endTime = time
        }
        dag.nodes?[index] = node
    }

    static func start(_ dag: inout Dag, at time: ObshellTime) throws(StepError) {
        try self.require(dag, [.ready], for: "start")
        let index = try self.currentNodeIndex(dag, for: "start")
        dag.state = .running
        dag.startTime = time
        self.startNode(&dag, index, at: time)
    }

    static func advance(_ dag: inout Dag, at time: ObshellTime) throws(StepError) {
        try self.require(dag, [.running], for: "advance")
        let index = try self.currentNodeIndex(dag, for: "advance")
        self.finishNode(&dag, index, .succeed, at: time)
        let rollingBack = dag.operator == .rollback
        let next = rollingBack ? index - 1 : index + 1
        guard let nodes = dag.nodes, nodes.indices.contains(next) else {
            dag.state = .succeed
            dag.endTime = time
            return
        }
        dag.stage = next + 1
        self.startNode(&dag, next, at: time)
    }

    static func log(_ dag: inout Dag, line: String, agent: String?) throws(StepError) {
        let index = try self.currentNodeIndex(dag, for: "log")
        guard var node = dag.nodes?[index] else { return }
        var matched = false
        for task in node.subTasks.indices
        where agent == nil || node.subTasks[task].executeAgent?.description == agent {
            node.subTasks[task].taskLogs.append(line)
            matched = true
        }
        guard matched else {
            throw StepError(message: "log: node \"\(node.name)\" has no sub-task on agent \(agent ?? "")")
        }
        dag.nodes?[index] = node
    }

    static func fail(_ dag: inout Dag, line: String, agent: String?, at time: ObshellTime) throws(StepError) {
        try self.require(dag, [.running], for: "fail")
        let index = try self.currentNodeIndex(dag, for: "fail")
        guard var node = dag.nodes?[index] else { return }
        var matched = false
        for task in node.subTasks.indices where node.subTasks[task].state == .running {
            let target = agent == nil || node.subTasks[task].executeAgent?.description == agent
            node.subTasks[task].state = target ? .failed : .succeed
            node.subTasks[task].endTime = time
            if target {
                node.subTasks[task].taskLogs.append(line)
                matched = true
            }
        }
        guard matched else {
            throw StepError(message: "fail: node \"\(node.name)\" has no running sub-task on agent \(agent ?? "any")")
        }
        node.state = .failed
        node.endTime = time
        dag.nodes?[index] = node
        dag.state = .failed
        dag.endTime = time
    }

    static func retry(_ dag: inout Dag, at time: ObshellTime) throws(StepError) {
        try self.require(dag, [.failed], for: "retry")
        let index = try self.currentNodeIndex(dag, for: "retry")
        dag.state = .ready
        dag.operator = .run
        dag.startTime = self.epoch(like: time)
        dag.endTime = self.epoch(like: time)
        guard var node = dag.nodes?[index] else { return }
        node.state = .pending
        node.operator = .retry
        for task in node.subTasks.indices where node.subTasks[task].state == .failed {
            node.subTasks[task].state = .pending
            node.subTasks[task].operator = .retry
        }
        dag.nodes?[index] = node
    }

    static func rollback(_ dag: inout Dag, at time: ObshellTime) throws(StepError) {
        try self.require(dag, [.failed], for: "rollback")
        let index = try self.currentNodeIndex(dag, for: "rollback")
        dag.state = .ready
        dag.operator = .rollback
        dag.startTime = self.epoch(like: time)
        dag.endTime = self.epoch(like: time)
        for position in 0...index {
            guard var node = dag.nodes?[position] else { continue }
            node.state = .pending
            node.operator = .rollback
            for task in node.subTasks.indices {
                node.subTasks[task].state = .pending
                node.subTasks[task].operator = .rollback
            }
            dag.nodes?[position] = node
        }
    }

    static func cancel(_ dag: inout Dag, at time: ObshellTime) throws(StepError) {
        try self.require(dag, [.ready, .running], for: "cancel")
        let index = try self.currentNodeIndex(dag, for: "cancel")
        dag.operator = .cancel
        dag.state = .failed
        dag.startTime = self.epoch(like: time)
        dag.endTime = time
        guard var node = dag.nodes?[index] else { return }
        node.operator = .cancel
        node.state = .failed
        node.endTime = time
        for task in node.subTasks.indices where node.subTasks[task].state != .succeed {
            if node.subTasks[task].state == .running { node.subTasks[task].taskLogs.append("sub task cancelled") }
            node.subTasks[task].state = .failed
            node.subTasks[task].operator = .cancel
            node.subTasks[task].endTime = time
        }
        dag.nodes?[index] = node
    }

    static func pass(_ dag: inout Dag, at time: ObshellTime) throws(StepError) {
        try self.require(dag, [.failed], for: "pass")
        let index = try self.currentNodeIndex(dag, for: "pass")
        dag.state = .succeed
        dag.operator = .pass
        dag.endTime = time
        for position in index..<(dag.nodes?.count ?? 0) {
            guard var node = dag.nodes?[position] else { continue }
            node.state = .succeed
            node.operator = .pass
            node.endTime = time
            for task in node.subTasks.indices {
                node.subTasks[task].state = .succeed
                node.subTasks[task].operator = .pass
                node.subTasks[task].endTime = time
            }
            dag.nodes?[position] = node
        }
    }

    static func succeed(_ dag: inout Dag, at time: ObshellTime) throws(StepError) {
        try self.require(dag, [.ready, .running], for: "succeed")
        let index = try self.currentNodeIndex(dag, for: "succeed")
        if dag.state == .ready { dag.startTime = time }
        for position in index..<(dag.nodes?.count ?? 0) {
            if dag.nodes?[position].state == .pending { self.startNode(&dag, position, at: time) }
            self.finishNode(&dag, position, .succeed, at: time)
        }
        dag.stage = dag.maxStage
        dag.state = .succeed
        dag.endTime = time
    }

    static func set(_ dag: inout Dag, _ changes: DagFieldChanges) throws(StepError) {
        if let stage = changes.stage {
            guard stage >= 1, stage <= dag.maxStage else {
                throw StepError(message: "set: stage \(stage) is outside 1...\(dag.maxStage)")
            }
            dag.stage = stage
        }
        if let state = changes.state { dag.state = state }
        if let taskOperator = changes.operator { dag.operator = taskOperator }
        if let name = changes.name { dag.name = name }
        if let maintenanceType = changes.maintenanceType { dag.maintenanceType = maintenanceType }
    }
}
