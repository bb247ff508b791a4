import ArgumentParser
import Foundation
import ObshellModel
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
                timeout: .seconds(30),
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
                timeout: .seconds(30),
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
                timeout: .seconds(30),
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
            timeout: .seconds(30),
            json: false
        )
        #expect(output.exitCode == 2)
        #expect(output.error?.hasPrefix("obwatch tasks: cannot connect to http://127.0.0.1:1: ") == true)
    }

    @Test("a missing unix socket is named with the system's reason")
    func missingSocket() async {
        let output = await TasksCommand.look(
            url: "unix:///nonexistent.sock",
            password: .empty,
            timeout: .seconds(30),
            json: false
        )
        #expect(output.exitCode == 2)
        #expect(
            output.error
                == "obwatch tasks: cannot connect to unix:///nonexistent.sock: no socket at /nonexistent.sock "
                + "(No such file or directory)"
        )
    }

    @Test("no password given: says none was given and how to give one")
    func noPassword() async throws {
        try await self.withSimulator("scale-out.yaml") { _, url in
            let output = await TasksCommand.look(url: url, password: .empty, timeout: .seconds(30), json: false)
            #expect(output.exitCode == 2)
            let error = try #require(output.error)
            #expect(error.contains("none was given"))
            #expect(error.contains("--password-env VARIABLE or --password-file FILE"))
        }
    }

    @Test("--json: keys sorted, [] for an empty list, {} for an empty object")
    func jsonIsStable() async throws {
        try await self.withSimulator("scale-out.yaml") { simulator, url in
            let output = await TasksCommand.look(
                url: url,
                password: Password("root-pw"),
                timeout: .seconds(30),
                json: true
            )
            let keys = output.lines.joined(separator: "\n").split(separator: "\n").prefix(12)
                .filter { $0.hasPrefix("    \"") }.map { $0.split(separator: "\"")[1] }
            #expect(keys == keys.sorted() && keys.count >= 5)
            #expect(!output.lines.joined().contains("{\n\n"))
            try await simulator.advance(to: .seconds(600))
            let empty = await TasksCommand.look(
                url: url,
                password: Password("root-pw"),
                timeout: .seconds(30),
                json: true
            )
            #expect(empty.lines == ["[]"])
        }
    }

    @Test("--timeout takes a duration with a unit and says what to write for a bare number")
    func timeoutIsADuration() throws {
        #expect(try TasksCommand.parse(["--url", "http://h", "--timeout", "1m30s"]).timeout.duration == .seconds(90))
        #expect(try TasksCommand.parse(["--url", "http://h"]).timeout.duration == .seconds(10))
        #expect(
            try WatchCommand.parse(["--url", "http://h", "--timeout", "500ms"]).timeout.duration == .milliseconds(500)
        )
        let bare = try #require(Self.refusal(["--url", "http://h", "--timeout", "10"]))
        #expect(bare.contains("the number 10 needs a unit") && bare.contains("write 10s"), "\(bare)")
        let zero = try #require(Self.refusal(["--url", "http://h", "--timeout", "0s"]))
        #expect(zero.contains("more than 0"))
    }

    @Test("the run to success: the DAG leaves the list")
    func finished() async throws {
        try await self.withSimulator("scale-out.yaml") { simulator, url in
            try await simulator.advance(to: .seconds(600))
            let output = await TasksCommand.look(
                url: url,
                password: Password("root-pw"),
                timeout: .seconds(30),
                json: false
            )
            #expect(output.lines == ["No unfinished task."])
        }
    }

    /// What `tasks` says when it refuses a command line; `nil` when it takes it.
    private static func refusal(_ arguments: [String]) -> String? {
        do {
            _ = try TasksCommand.parse(arguments)
            return nil
        } catch {
            return TasksCommand.message(for: error)
        }
    }
}
