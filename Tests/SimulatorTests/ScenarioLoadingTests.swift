import Foundation
import ObshellModel
import Simulator
import Testing

@Suite struct ScenarioLoadingTests {
    static let bundled = ["scale-out.yaml", "scale-out-fails.yaml", "stall.yaml", "rollback.yaml", "flaky-agent.yaml"]

    @Test(arguments: Self.bundled)
    func bundledScenarioLoads(name: String) throws {
        let scenario = try bundledScenario(name)
        #expect(!scenario.dags.isEmpty)
        #expect(!scenario.steps.isEmpty)
    }

    @Test func everyBundledScenarioIsTested() throws {
        let files = try FileManager.default.contentsOfDirectory(
            atPath: packageRoot.appendingPathComponent("scenarios").path
        )
        #expect(Set(files.filter { $0.hasSuffix(".yaml") }) == Set(Self.bundled))
    }

    private func problems(_ text: String) -> [String] {
        do {
            _ = try Scenario.parse(text, file: "bad.yaml")
            return []
        } catch {
            #expect(error.code == .invalidScenario)
            return error.diagnostics
        }
    }

    private let header = """
        agent: {ip: 10.0.0.1, port: 2886, password: pw}
        time_zero: "2024-01-10T11:34:22+08:00"
        dags:
          - {dag_id: 1, name: Backup, state: RUNNING, nodes: [a, b]}

        """

    @Test func stepThatCannotApplyIsReportedAtTheStep() {
        let text = self.header + "steps:\n  - {at: 10s, do: retry}\n"
        #expect(problems(text) == ["bad.yaml:6:5: error: step at 10s: retry needs a FAILED DAG, but \"11\" is RUNNING"])
    }

    @Test func unknownActionAndUnknownKeyAreBothReported() {
        let text = self.header + "steps:\n  - {at: 10s, do: jump}\n  - {at: 20s, do: advance, dagg: \"11\"}\n"
        let lines = problems(text)
        #expect(
            lines == [
                "bad.yaml:6:19: error: expected one of \"start\", \"advance\", \"log\", \"fail\", \"retry\", \"rollback\", "
                    + "\"cancel\", \"pass\", \"succeed\", \"set\", found \"jump\"",
                "bad.yaml:7:28: error: unknown key \"dagg\" (did you mean \"dag\"?)",
            ]
        )
    }

    @Test func idMustEndWithDagID() {
        let text = """
            agent: {ip: 10.0.0.1}
            dags:
              - {id: "17", dag_id: 1, name: Backup, nodes: [a]}
            """
        #expect(
            problems(text) == [
                "bad.yaml:3:10: error: id \"17\" is not a generic id ending with dag_id 1 (e.g. \"11\" for a cluster DAG)"
            ]
        )
    }

    @Test func missingAgentAndBadOffset() {
        #expect(problems("dags: []\n") == ["bad.yaml:1:1: error: missing required key \"agent\""])
        #expect(
            problems("agent: {utc_offset: \"8h\"}\n") == [
                "bad.yaml:1:21: error: utc_offset must look like +08:00, -05:30 or Z"
            ]
        )
    }

    @Test func unreadableFileIsAnError() {
        #expect(throws: SimulatorError.self) { try Scenario.load(contentsOfFile: "/nonexistent/scenario.yaml") }
    }

    @Test func initialDagMatchesTheFixture() throws {
        let dag = try #require(try bundledScenario("scale-out.yaml").dags.first?.dag)
        #expect(dag.id == "11" && dag.dagID == 1 && dag.stage == 4 && dag.maxStage == 9)
        #expect(dag.state == .running && dag.operator == .run && dag.maintenanceType == 2)
        let nodes = try #require(dag.nodes)
        #expect(nodes.map(\.id) == (1...9).map { "1\($0)" })
        #expect(nodes.map(\.state) == [.succeed, .succeed, .succeed, .running] + Array(repeating: .pending, count: 5))
        #expect(nodes[3].name == "Wait remote deploy finish")
        #expect(nodes[3].subTasks.first?.taskLogs == ["retry stage: 2 successfully"])
        #expect(nodes[3].subTasks.first?.executeAgent == SubTask.Agent(ip: "10.10.10.1", port: 2886))
        #expect(nodes[4].subTasks.first?.executeTimes == 0)
        #expect(dag.startTime?.text.hasSuffix("+08:00") == true)
    }
}
