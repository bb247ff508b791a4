import ArgumentParser
import Foundation
import ObshellModel
import Testing
import Tracker

@testable import ObwatchApp

@Suite("obwatch watch: the screen")
struct WatchScreenTests {
    /// 2027-01-15T08:00:00Z: the local clock of the first poll.
    private static let start = Date(timeIntervalSince1970: 1_800_000_000)

    private static var screen: WatchScreen {
        var screen = WatchScreen()
        screen.timeZone = TimeZone(identifier: "UTC") ?? .current
        return screen
    }

    private static func dag(
        id: String = "11",
        stage: Int,
        state: TaskState = .running,
        name: String = "Cluster scale out",
        endTime: String = "2024-01-10T11:34:22.47652+08:00"
    ) -> Dag {
        Dag(
            id: id,
            dagID: 1,
            name: name,
            stage: stage,
            maxStage: 9,
            state: state,
            operator: .run,
            startTime: ObshellTime("2024-01-10T11:34:22.556477+08:00"),
            endTime: ObshellTime(endTime),
            nodes: (1...9).map { index in
                DagNode(
                    id: "\(id)-\(index)",
                    nodeID: Int64(index),
                    name: "Node \(index)",
                    state: index < stage ? .succeed : (index == stage ? state : .pending),
                    operator: .run
                )
            }
        )
    }

    /// A target polled once at ``start``, its agent's clock then 12m03s after the DAG started.
    private static func target(_ dags: [Dag], at date: Date = start) throws -> WatchTargetSnapshot {
        var state = TrackerState()
        let seen = ObshellTime(date: date)
        for dag in dags {
            state.dags[dag.id] = DagRecord(first: DagSummary(dag), at: seen)
        }
        state.lastGoodPoll = seen
        let agentTime = try #require(ObshellTime("2024-01-10T11:46:25.556477+08:00"))
        return WatchTargetSnapshot(
            name: "sim",
            state: state,
            lastPoll: date,
            agentClock: AgentClockReading(agentTime: agentTime, localTime: date)
        )
    }

    private static func event(_ type: EventType, _ summary: String, at date: Date = start) -> Event {
        Event(
            id: "e-\(type.rawValue)",
            type: type,
            at: ObshellTime(date: date),
            target: TargetIdentity(name: "sim"),
            summary: summary
        )
    }

    @Test("a running DAG: header, bar, stage, state, elapsed on the agent's clock, stall clock, node; then events")
    func running() throws {
        let target = try Self.target([Self.dag(stage: 4)])
        let now = Self.start.addingTimeInterval(20)
        let lines = Self.screen.lines(
            targets: [target],
            events: [
                Self.event(.started, "Cluster scale out started on sim"),
                Self.event(.stageAdvanced, "Cluster scale out advanced to 4/9 on sim", at: now),
            ],
            now: now,
            width: 200,
            height: 40
        )
        #expect(
            lines == [
                "obwatch watch  08:00:20  1 target  (Ctrl-C to quit)",
                "sim  up  polled 20s ago",
                "  [######--------------] 4/9  Cluster scale out  RUNNING/RUN  elapsed 12m23s  no progress 20s",
                "    at: Node 4 (RUNNING)",
                "",
                "Latest events (newest first):",
                "  08:00:20  stage_advanced  Cluster scale out advanced to 4/9 on sim",
                "  08:00:00  started  Cluster scale out started on sim",
            ]
        )
    }

    @Test("with the daemon's history, a running DAG's node row shows the stage's usual time and the ETA band")
    func etaAndUsualTime() throws {
        var target = try Self.target([Self.dag(stage: 4)])
        let eta = Event.ETA(lowSeconds: 100, typicalSeconds: 130, highSeconds: 185, text: "ETA 2m10s (1m40s–3m05s)")
        target.state.dags["11"]?.eta = eta
        target.state.dags["11"]?.usualSeconds = 41
        let with = Self.screen.dagLines(
            try #require(target.state.dags["11"]),
            target: target,
            now: Self.start,
            width: 200
        )
        #expect(with.contains("    at: Node 4 (RUNNING), usually 41s  ETA 2m10s (1m40s–3m05s)"), "\(with)")
        // Without history: the node alone, never an invented number.
        let plain = try Self.target([Self.dag(stage: 4)])
        let without = Self.screen.dagLines(
            try #require(plain.state.dags["11"]),
            target: plain,
            now: Self.start,
            width: 200
        )
        #expect(without.contains("    at: Node 4 (RUNNING)"))
        #expect(!without.joined().contains("ETA") && !without.joined().contains("usually"))
    }

    @Test("the first frame says what it waits for: each agent's first answer, at its address")
    func connecting() {
        let lines = Self.screen.lines(
            targets: [WatchTargetSnapshot(name: "a", url: "http://10.0.0.5:2886"), WatchTargetSnapshot(name: "b")],
            events: [],
            now: Self.start,
            width: 80,
            height: 24
        )
        #expect(
            lines == [
                "obwatch watch  08:00:00  2 targets  (Ctrl-C to quit)",
                "a  connecting to http://10.0.0.5:2886",
                "  waiting for the agent's first answer",
                "b  connecting",
                "  waiting for the agent's first answer",
                "",
                "Latest events (newest first):",
                "  none yet",
            ]
        )
    }

    @Test("at 80 columns the stall clock stays on the DAG's row and the node gets a row of its own")
    func eightyColumns() throws {
        var dag = Self.dag(stage: 4)
        dag.nodes?[3].name = "Wait remote deploy finish"
        let target = try Self.target([dag, Self.dag(id: "12", stage: 2, name: "Tenant upgrade for every zone of prod")])
        let lines = Self.screen.lines(
            targets: [target],
            events: [],
            now: Self.start.addingTimeInterval(20),
            width: 80,
            height: 24
        )
        #expect(
            Array(lines[2...5]) == [
                "  [##-----] 4/9  Cluster scale out  RUNNING/RUN  elapsed 12m23s  no progress 20s",
                "    at: Wait remote deploy finish (RUNNING)",
                "  [------] 2/9  Tenant upgrade fo…  RUNNING/RUN  elapsed 12m23s  no progress 20s",
                "    at: Node 2 (RUNNING)",
            ]
        )
        for line in lines { #expect(TerminalCells.width(of: line) <= 80) }
    }

    @Test("a failed DAG shows its failing sub-task's last log line, from its node_failed event, until it runs again")
    func failureLogLine() throws {
        let dag = Self.dag(stage: 4, state: .failed)
        var target = try Self.target([dag])
        let failed = Event(
            id: "e-node-failed",
            type: .nodeFailed,
            at: ObshellTime(date: Self.start),
            target: TargetIdentity(name: "sim"),
            dag: Event.DagInfo(
                id: "11",
                dagID: 1,
                name: dag.name,
                stage: 4,
                maxStage: 9,
                state: "FAILED",
                operator: "RUN"
            ),
            node: Event.NodeInfo(id: "11-4", nodeID: 4, name: "Node 4", state: "FAILED", operator: "RUN"),
            subTasks: [
                Event.SubTaskInfo(
                    id: "14",
                    name: "Wait remote deploy finish",
                    state: "FAILED",
                    executeTimes: 1,
                    executeAgent: SubTask.Agent(ip: "10.10.10.1", port: 2886),
                    lastLog: "remote deploy failed:\ttimeout\n"
                )
            ],
            summary: "Node 4 failed"
        )
        target.noteFailures([failed])
        let record = try #require(target.state.dags["11"])
        #expect(
            Self.screen.dagLines(record, target: target, now: Self.start, width: 120) == [
                "  [######--------------] 4/9  Cluster scale out  FAILED/RUN  elapsed 0s",
                "    at: Node 4 (FAILED)",
                "    failed: Node 4: 10.10.10.1:2886 remote deploy failed:\\ttimeout\\n",
            ]
        )
        // Retried: the node runs again, and its old log line is no longer shown.
        target.state.dags["11"]?.last.state = .running
        target.state.dags["11"]?.last.nodes?[3].state = .running
        let retried = try #require(target.state.dags["11"])
        #expect(Self.screen.dagLines(retried, target: target, now: Self.start, width: 120).count == 2)
        // A DAG no longer tracked takes its failures with it.
        target.state.dags = [:]
        target.noteFailures([])
        #expect(target.failedSubTasks.isEmpty)
    }

    @Test("a target that stopped answering shows DOWN with the reason, and its stall clock stops")
    func down() throws {
        var target = try Self.target([Self.dag(stage: 4)])
        target.state.targetDown = true
        target.state.consecutiveFailedPolls = 3
        target.state.lastError = "unreachable: connection refused"
        target.state.dags["11"]?.stallMark = nil
        target.state.dags["11"]?.stalledNanoseconds = 90_000_000_000
        let now = Self.start.addingTimeInterval(1)
        #expect(
            Self.screen.header(target, now: now) == "sim  DOWN  polled 1s ago  error: unreachable: connection refused"
        )
        let record = try #require(target.state.dags["11"])
        #expect(Self.screen.stallClock(record, now: now.addingTimeInterval(3600)) == .seconds(90))
        #expect(Self.screen.dagLine(record, target: target, now: now).contains("no progress 1m30s"))
    }

    @Test("a finished DAG: full bar, elapsed to its end, no stall clock; gone from the screen after a while")
    func finished() throws {
        let dag = Self.dag(stage: 9, state: .succeed, endTime: "2024-01-10T11:35:22.556477+08:00")
        var target = try Self.target([dag])
        target.state.dags["11"]?.phase = .finished
        let record = try #require(target.state.dags["11"])
        let line = Self.screen.dagLine(record, target: target, now: Self.start.addingTimeInterval(5))
        #expect(line == "  [####################] 9/9  Cluster scale out  SUCCEED/RUN (ended)  elapsed 1m00s")
        #expect(Self.screen.shownDags(target, now: Self.start.addingTimeInterval(599)).count == 1)
        #expect(Self.screen.shownDags(target, now: Self.start.addingTimeInterval(601)).isEmpty)
    }

    @Test("the current node's state is shown when it differs from the DAG's")
    func nodeState() throws {
        var dag = Self.dag(stage: 4)
        dag.nodes?[3].state = .failed
        let target = try Self.target([dag])
        let record = try #require(target.state.dags["11"])
        let lines = Self.screen.dagLines(record, target: target, now: Self.start, width: 80)
        #expect(lines.count == 2)
        #expect(lines.last == "    at: Node 4 (FAILED)")
    }

    @Test("agent text cannot move the cursor or forge lines")
    func agentTextIsSafe() throws {
        let target = try Self.target([Self.dag(stage: 2, name: "evil\u{1B}[2J\nforged\r")])
        let lines = Self.screen.lines(
            targets: [target],
            events: [Self.event(.started, "evil\u{1B}[H\u{7}\nline")],
            now: Self.start,
            width: 300,
            height: 40
        )
        for line in lines {
            #expect(!line.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F })
        }
        #expect(lines.contains { $0.contains("evil\\u{1b}[2J\\nforged\\r") })
        #expect(lines.contains { $0.hasSuffix("started  evil\\u{1b}[H\\u{7}\\nline") })
    }

    @Test("every row is cut to the width in terminal cells, wide characters counting two")
    func width() throws {
        let target = try Self.target([Self.dag(stage: 4, name: "扩容集群扩容集群扩容集群")])
        let lines = Self.screen.lines(targets: [target], events: [], now: Self.start, width: 40, height: 40)
        for line in lines { #expect(TerminalCells.width(of: line) <= 40) }
        // The bar narrows and the name is shortened first; what is still too wide is cut at the edge.
        #expect(lines[2] == "  [##----] 4/9  扩容集群…  RUNNING/RUN  ")
        #expect(TerminalCells.cut("ab扩c", to: 3) == "ab")
        #expect(TerminalCells.width(of: "e\u{301}") == 1)
    }

    @Test("too many DAGs for the height: the DAG rows are cut with a marker and the events keep their rows")
    func height() throws {
        let dags = (1...12).map { Self.dag(id: "d\($0 < 10 ? "0" : "")\($0)", stage: 2, name: "DAG \($0)") }
        let target = try Self.target(dags)
        let events = (1...10).map { Self.event(.started, "event \($0)") }
        let lines = Self.screen.lines(targets: [target], events: events, now: Self.start, width: 100, height: 12)
        #expect(lines.count == 12)
        #expect(lines[1] == "sim  up  polled 0s ago")
        #expect(lines[2].contains("DAG 1 "))
        #expect(lines[3] == "    at: Node 2 (RUNNING)")
        #expect(lines[4].contains("DAG 2 "))
        #expect(lines[5] == "  ... 21 more rows")
        #expect(lines[6] == "")
        #expect(lines[7] == "Latest events (newest first):")
        #expect(Array(lines.suffix(4)).allSatisfy { $0.contains("  started  event ") })
        #expect(lines[8].hasSuffix("event 10"))
        #expect(lines.last?.hasSuffix("event 7") == true)
        // A screen of one row still gets something, and never more than asked.
        #expect(Self.screen.lines(targets: [target], events: events, now: Self.start, width: 10, height: 1).count == 1)
    }

    @Test("a frame moves home, clears each row's rest and below, and never clears the whole screen")
    func frame() {
        let frame = ANSI.frame(["one", "two"])
        #expect(frame == "\u{1B}[Hone\u{1B}[K\r\ntwo\u{1B}[K\u{1B}[J")
        #expect(!frame.contains("\u{1B}[2J"))
    }

    @Test("plain mode: an event line and a status line per poll, without escape codes")
    func plain() throws {
        let target = try Self.target([Self.dag(stage: 4, name: "Cluster\u{1B}[1m scale out")])
        let status = Self.screen.statusLine(target, now: Self.start.addingTimeInterval(2))
        #expect(
            status
                == "08:00:02 status sim  up  polled 2s ago: Cluster\\u{1b}[1m scale out 4/9 RUNNING/RUN at Node 4"
        )
        let line = Self.screen.plainEventLine(Self.event(.started, "Cluster scale out started on sim"))
        #expect(line == "08:00:00 started Cluster scale out started on sim")
        #expect(
            Self.screen.statusLine(WatchTargetSnapshot(name: "x"), now: Self.start)
                == "08:00:00 status x  connecting: no unfinished DAG"
        )
    }

    @Test("the agent's clock moves on with the local one between answers")
    func agentClock() throws {
        let agentTime = try #require(ObshellTime("2024-01-10T11:46:25.556477+08:00"))
        let reading = AgentClockReading(agentTime: agentTime, localTime: Self.start)
        #expect(agentTime.duration(to: reading.agentNow(at: Self.start.addingTimeInterval(2.5))) == .milliseconds(2500))
        #expect(reading.agentNow(at: Self.start.addingTimeInterval(-10)) == agentTime)
    }

    @Test("--url names the target after its host; --interval takes the config's durations")
    func commandOptions() throws {
        #expect(WatchCommand.targetName(url: "http://10.0.0.5:2886") == "10.0.0.5")
        #expect(WatchCommand.targetName(url: "unix:///home/admin/obshell/run/obshell.sock") == "obshell.sock")
        #expect(WatchCommand.interval("500ms") == .milliseconds(500))
        #expect(WatchCommand.interval("2s") == .seconds(2))
        #expect(WatchCommand.interval("0s") == nil)
        #expect(WatchCommand.interval("soon") == nil)
        #expect(throws: (any Error).self) { try WatchCommand.parse([]) }
        #expect(throws: (any Error).self) { try WatchCommand.parse(["--url", "http://a", "--config", "b"]) }
        #expect(throws: (any Error).self) { try WatchCommand.parse(["--config", "b", "--password-env", "X"]) }
        #expect(throws: (any Error).self) { try WatchCommand.parse(["--url", "http://a", "--interval", "soon"]) }
        let parsed = try WatchCommand.parse(["--url", "http://a:1", "--interval", "200ms"])
        #expect(parsed.url == "http://a:1")
    }
}
