import Foundation
import Obshell
import Simulator
import Testing

@testable import ObwatchApp

@Suite("obwatch tasks against the simulator")
struct TasksCommandTests {
    /// Runs `body` with a simulator on a free port playing `scenario`, its clock moved only by the test.
    private func withSimulator(
        _ scenario: String,
        password: String = "root-pw",
        _ body: (ObshellSimulator, String) async throws -> Void
    ) async throws {
        let running = try await ManualSimulator(try bundledScenario(scenario), password: password)
        defer { running.stop() }
        try await body(running.simulator, running.url)
    }

    @Test("scale-out.yaml shows Cluster scale out at 4/9 with its bar")
    func scaleOut() async throws {
        try await self.withSimulator("scale-out.yaml") { _, url in
            let output = await TasksCommand.look(
                url: url,
                password: Password("root-pw"),
                timeout: .seconds(5),
                json: false
            )
            #expect(output.exitCode == 0)
            #expect(output.error == nil)
            let first = try #require(output.lines.first)
            #expect(first.hasPrefix("[######--------------] 4/9  Cluster scale out  RUNNING/RUN  "))
            #expect(first.hasSuffix("  id 11"))
            #expect(output.lines.dropFirst().first == "    at: Wait remote deploy finish (RUNNING)")
        }
    }

    @Test("--json prints the DAGs with obshell's field names")
    func json() async throws {
        try await self.withSimulator("scale-out.yaml") { _, url in
            let output = await TasksCommand.look(
                url: url,
                password: Password("root-pw"),
                timeout: .seconds(5),
                json: true
            )
            let data = Data(output.lines.joined(separator: "\n").utf8)
            let dags = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
            #expect(dags.count == 1)
            #expect(dags.first?["name"] as? String == "Cluster scale out")
            #expect(dags.first?["max_stage"] as? Int == 9)
            #expect((dags.first?["nodes"] as? [Any])?.count == 9)
        }
    }

    @Test("a refused password exits 2 with one line that does not show the password")
    func wrongPassword() async throws {
        try await self.withSimulator("scale-out.yaml") { _, url in
            let output = await TasksCommand.look(
                url: url,
                password: Password("guess-1"),
                timeout: .seconds(5),
                json: false
            )
            #expect(output.exitCode == 2)
            #expect(output.lines.isEmpty)
            let error = try #require(output.error)
            #expect(error.contains("refused the password"))
            #expect(!error.contains("guess-1"))
        }
    }

    @Test("an agent that cannot be reached exits 2")
    func unreachable() async {
        let output = await TasksCommand.look(
            url: "http://127.0.0.1:1",
            password: .empty,
            timeout: .seconds(5),
            json: false
        )
        #expect(output.exitCode == 2)
        #expect(output.error?.hasPrefix("obwatch tasks: http://127.0.0.1:1 failed: unreachable") == true)
    }

    @Test("the run to success: the DAG leaves the list")
    func finished() async throws {
        try await self.withSimulator("scale-out.yaml") { simulator, url in
            try await simulator.advance(to: .seconds(600))
            let output = await TasksCommand.look(
                url: url,
                password: Password("root-pw"),
                timeout: .seconds(5),
                json: false
            )
            #expect(output.lines == ["No unfinished task."])
        }
    }
}
