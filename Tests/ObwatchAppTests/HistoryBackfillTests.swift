import ConfigModel
import Foundation
import History
import Logging
import ObshellAgent
import ObshellModel
import Simulator
import Support
import Testing
import Tracker

@testable import ObwatchApp

/// Backfill (issue 19): obshell's finished DAGs give estimates on day one.
@Suite("history backfill against the simulator")
struct HistoryBackfillTests {
    /// Ten finished runs of `Create tenant t<N>` (nodes of 30 s, 10 s and 20 s, give or take a second), then an
    /// eleventh that runs.
    static func scenario(identity: String = "CLUSTER AGENT") -> String {
        var dags: [String] = []
        var steps: [String] = []
        for run in 1...11 {
            let start = run * 100
            dags.append(
                """
                  - id: "1\(run)"
                    dag_id: \(run)
                    name: Create tenant t\(run)
                    maintenance_type: 3
                    appears_at: \(start - 5)s
                    stage: 1
                    state: READY
                    operator: RUN
                    nodes: [Create tenant, Modify tenant whitelist, Set root password]
                """
            )
            steps.append("  - {at: \(start)s, do: start, dag: \"1\(run)\"}")
            if run <= 10 {
                let wobble = run % 3
                steps.append("  - {at: \(start + 30 + wobble)s, do: advance, dag: \"1\(run)\"}")
                steps.append("  - {at: \(start + 40 + wobble)s, do: advance, dag: \"1\(run)\"}")
                steps.append("  - {at: \(start + 60 + wobble)s, do: advance, dag: \"1\(run)\"}")
            }
        }
        return """
            agent:
              identity: \(identity)
              ip: 10.10.10.1
              port: 2886
              zone: zone1
              version: 4.3.5.0
              utc_offset: "+08:00"
              password: root-pw
            time_zero: "2026-11-02T09:00:00+08:00"
            dags:
            \(dags.joined(separator: "\n"))
            steps:
            \(steps.joined(separator: "\n"))
            """
    }

    static func target(_ url: String) -> ObwatchConfig.Target {
        ObwatchConfig.Target(
            name: "db1",
            url: url,
            password: Password("root-pw"),
            pollInterval: .seconds(5),
            timeout: .seconds(30),
            labels: [:]
        )
    }

    @Test("10 finished runs served by dags/ob: the first running DAG after start has an ETA band")
    func backfillGivesAnETA() async throws {
        let running = try await ManualSimulator(try Scenario.parse(Self.scenario(), file: "history.yaml"))
        defer { running.stop() }
        try await running.simulator.advance(by: .seconds(1_110))
        let book = HistoryBook()
        let outcomes = await HistoryBackfill.run(
            targets: [Self.target(running.url)],
            book: book,
            clock: SystemClock(),
            logger: Logger(label: "test")
        )
        #expect(outcomes.first?.read["ob"] == 11)
        #expect(outcomes.first?.problems.isEmpty == true)
        let history = await book.snapshot()
        let client = ObshellClient(baseURL: running.url, password: Password("root-pw"))
        let (dags, agentTime) = try await client.unfinishedDags()
        let dag = try #require(dags.first { $0.name == "Create tenant t11" })
        let estimate = DagEstimate(dag: dag, target: "db1", agentTime: agentTime, history: history)
        let band = try #require(estimate.remaining, "\(estimate.nodes.map(\.usualText))")
        #expect(band.low <= band.typical && band.typical <= band.high)
        #expect(band.typical > 40 && band.typical < 70)
        #expect(estimate.text.hasPrefix("ETA "))
        // A DAG of a kind never seen: no number.
        #expect(
            DagEstimate(dag: dag, target: "db1", agentTime: agentTime, history: DurationHistory()).text == "ETA unknown"
        )
    }

    @Test("an agent that is no cluster agent answers dags/ob with an error: noted, and dags/agent still read")
    func errorIsNoted() async throws {
        let running = try await ManualSimulator(
            try Scenario.parse(Self.scenario(identity: "SINGLE"), file: "single.yaml")
        )
        defer { running.stop() }
        let book = HistoryBook()
        let outcomes = await HistoryBackfill.run(
            targets: [Self.target(running.url)],
            book: book,
            clock: SystemClock(),
            logger: Logger(label: "test")
        )
        let outcome = try #require(outcomes.first)
        #expect(outcome.problems["ob"] != nil)
        #expect(outcome.read["agent"] == 0)
    }
}

/// `obwatch tasks` with a history: the ETA band and the stage's usual time.
@Suite("tasks shows ETAs from a history")
struct TasksHistoryTests {
    @Test("a running DAG shows its ETA band and the current stage's usual time; without history, ETA unknown")
    func tasksShowETA() async throws {
        let running = try await ManualSimulator(
            try Scenario.parse(HistoryBackfillTests.scenario(), file: "history.yaml")
        )
        defer { running.stop() }
        try await running.simulator.advance(by: .seconds(1_110))
        let book = HistoryBook()
        _ = await HistoryBackfill.run(
            targets: [HistoryBackfillTests.target(running.url)],
            book: book,
            clock: SystemClock(),
            logger: Logger(label: "test")
        )
        let history = await book.snapshot()
        let known = await TasksCommand.look(
            url: running.url,
            password: Password("root-pw"),
            timeout: .seconds(30),
            json: false,
            history: (history: history, target: "db1")
        )
        let line = try #require(known.lines.first { $0.contains("Create tenant t11") })
        #expect(line.contains("ETA ") && !line.contains("ETA unknown"), "\(line)")
        #expect(known.lines.contains { $0.contains("at: Create tenant (RUNNING), usually 3") }, "\(known.lines)")
        let unknown = await TasksCommand.look(
            url: running.url,
            password: Password("root-pw"),
            timeout: .seconds(30),
            json: false,
            history: (history: DurationHistory(), target: "db1")
        )
        #expect(unknown.lines.contains { $0.contains("Create tenant t11") && $0.contains("ETA unknown") })
        let plain = await TasksCommand.look(
            url: running.url,
            password: Password("root-pw"),
            timeout: .seconds(30),
            json: false
        )
        #expect(!plain.lines.contains { $0.contains("ETA") })
    }
}

/// `/api/v1/dags` rows carry the ETA and the stage's usual time of a running DAG.
@Suite("status rows show ETAs")
struct StatusETATests {
    @Test("mid-run of the 13th Create tenant, its row at stage 3 has an ETA band and the current stage's usual time")
    func rowHasETA() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/captures/history-slow-node.jsonl")
        let reading = CaptureReader.read(try Data(contentsOf: file), file: file.path)
        var replayer = Replayer()
        var row: DagStatus?
        for entry in reading.entries {
            _ = replayer.feed(entry)
            let rows = DagStatus.make(
                target: "db1",
                state: replayer.states["db1"] ?? TrackerState(),
                now: entry.observation.at
            )
            if let running = rows.first(where: { $0.id == "113" && $0.state == "RUNNING" && $0.stage == 3 }) {
                row = running
                break
            }
        }
        let found = try #require(row)
        #expect(found.eta?.text.hasPrefix("ETA ") == true)
        #expect((55...70).contains(found.usualSeconds ?? 0))
        #expect(found.jsonObject.contains(#""eta":{"low_seconds":"#))
        #expect(found.jsonObject.contains(#""usual_seconds":"#))
    }
}
