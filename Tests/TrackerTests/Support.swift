import Foundation
import ObshellModel
import Testing
import Tracker

/// Builds DAGs shaped like /work/shared/fixtures/unfinish-scale-out.json and drives the state machine with them.
enum Fixture {
    static let nodeNames = [
        "Integrate server config", "Create local scale out dag", "Wait scale out ready", "Wait remote deploy finish",
        "Wait remote start finish", "Prev check for scale_out", "Add server for scale_out", "Add agent  for scale_out",
        "Check cluster scale_out whether finished",
    ]

    static let start = ObshellTime("2024-01-10T11:34:32.520371417+08:00")!
    static let target = TargetIdentity(name: "prod-east", url: "http://10.0.0.5:2886", labels: ["env": "prod"])

    /// The time `seconds` after the fixture's start.
    static func time(_ seconds: Int) -> ObshellTime { self.start.adding(.seconds(seconds)) }

    /// A scale-out DAG at `stage`: earlier nodes SUCCEED, the current one follows the DAG's state, later ones PENDING.
    static func dag(
        id: String = "11",
        name: String = "Cluster scale out",
        stage: Int,
        state: TaskState = .running,
        operator: TaskOperator = .run,
        nodeOperator: TaskOperator? = nil,
        logs: [String] = [],
        executeTimes: Int = 1,
        maintenance: Int? = nil
    ) -> Dag {
        var nodes: [DagNode] = []
        for (index, nodeName) in self.nodeNames.enumerated() {
            let position = index + 1
            let nodeState: TaskState
            if state == .succeed || position < stage {
                nodeState = .succeed
            } else if position > stage {
                nodeState = .pending
            } else {
                nodeState = state == .ready ? .running : state
            }
            let nodeOp = position == stage ? (nodeOperator ?? `operator`) : (`operator` == .pass ? .run : `operator`)
            let nodeID = id + String(position)
            let subTask = SubTask(
                id: nodeID,
                taskID: Int64(position),
                name: nodeName,
                state: nodeState,
                operator: nodeOp,
                executeTimes: executeTimes,
                executeAgent: SubTask.Agent(ip: "10.10.10.1", port: 2886),
                taskLogs: position == stage ? logs : []
            )
            nodes.append(
                DagNode(
                    id: nodeID,
                    nodeID: Int64(position),
                    name: nodeName,
                    state: nodeState,
                    operator: nodeOp,
                    subTasks: [subTask]
                )
            )
        }
        return Dag(
            id: id,
            dagID: Int64(id) ?? 0,
            name: name,
            stage: stage,
            maxStage: 9,
            maintenanceType: maintenance,
            state: state,
            operator: `operator`,
            startTime: ObshellTime("2024-01-10T11:34:22.556477+08:00"),
            endTime: ObshellTime("2024-01-10T11:34:22.47652+08:00"),
            nodes: nodes
        )
    }

    /// The shared fixture captures, `Tests/Fixtures/captures` (also replayed by the command-line tests).
    static let capturesFolder = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/captures")

    /// The bytes of a fixture capture.
    static func capture(_ name: String) throws -> Data {
        try Data(contentsOf: self.capturesFolder.appendingPathComponent(name))
    }

    /// Reads and replays a fixture capture with default settings.
    static func replay(_ name: String) throws -> [Event] {
        let reading = CaptureReader.read(try self.capture(name), file: name)
        #expect(reading.diagnostics.isEmpty, "\(reading.diagnostics)")
        var replayer = Replayer()
        return replayer.replay(reading.entries)
    }
}

/// Feeds observations to one target's state machine and keeps everything it produced.
struct Driver {
    var state = TrackerState()
    var settings = TrackerSettings()
    var events: [Event] = []
    var lastConfirmations: [String] = []

    init(settings: TrackerSettings = TrackerSettings()) { self.settings = settings }

    @discardableResult
    mutating func feed(_ observation: Observation) -> [Event] {
        let step = Tracker.step(self.state, observation, settings: self.settings, target: Fixture.target)
        self.state = step.state
        self.events += step.events
        self.lastConfirmations = step.confirmations
        return step.events
    }

    @discardableResult
    mutating func list(_ seconds: Int, _ dags: [Dag]) -> [Event] {
        self.feed(.list(dags, at: Fixture.time(seconds)))
    }

    @discardableResult
    mutating func fail(
        _ seconds: Int,
        _ reason: String = "connection refused",
        kind: PollFailureKind = .connect
    ) -> [Event] {
        self.feed(.failedPoll(reason: reason, kind: kind, at: Fixture.time(seconds)))
    }

    @discardableResult
    mutating func confirm(_ seconds: Int, _ result: ConfirmationResult, id: String = "11") -> [Event] {
        self.feed(.confirmation(id: id, result: result, at: Fixture.time(seconds)))
    }

    var types: [EventType] { self.events.map(\.type) }
}

extension [Event] {
    var types: [EventType] { self.map(\.type) }
}
