import Foundation
import Testing

@testable import ObwatchApp

@Suite("obwatch simulate")
struct SimulateCommandTests {
    @Test("SIGTERM after the ready line is a normal stop: exit 0")
    func sigtermExitsZero() async throws {
        guard let executable = KillRestartTests.executableForTests() else {
            Issue.record("no built obwatch executable; build it first")
            return
        }
        let scenario = packageRoot.appendingPathComponent("scenarios/scale-out.yaml").path
        var child = try Child.launch(
            executable: executable,
            arguments: ["simulate", "--scenario", scenario, "--listen", "127.0.0.1:0"],
            deadline: 60
        )
        defer { kill(child.process.processIdentifier, SIGKILL) }
        _ = try await child.awaitLine("the ready line") { $0.hasPrefix("listening on http://127.0.0.1:") }
        #expect(kill(child.process.processIdentifier, SIGTERM) == 0)
        try await child.awaitExit()
        #expect(child.process.terminationReason == .exit)
        #expect(child.process.terminationStatus == 0)
    }
}
