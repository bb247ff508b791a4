import Foundation
import PeerSupport
import Testing

@testable import ObwatchApp

@Suite("obwatch demo")
struct DemoCommandTests {
    @Test("in a terminal, runs the daemon's pipeline on rules/demo.yaml to its end: events, notifications, a summary")
    func demo() async throws {
        guard let executable = KillRestartTests.executableForTests() else {
            Issue.record("no built obwatch executable; build it first")
            return
        }
        // In a pseudo-terminal, as a user runs it: script(1) gives the demo a terminal and copies the screen out.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-q", "-e", "-c", "'\(executable.path)' demo", "/dev/null"]
        process.currentDirectoryURL = packageRoot
        process.standardInput = Pipe()
        let output = Pipe()
        process.standardOutput = output
        let log = TestLog(label: "obwatch-demo")
        process.standardError = log.standardError
        try process.run()
        // The read ends when the demo closes its output, that is when it ends; it blocks, so it runs on a thread
        // of its own rather than on the cooperative pool the other tests share.
        let reader = output.fileHandleForReading
        let data = await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: reader.readDataToEndOfFile()) }
        }
        log.append(data)
        let text = String(decoding: data, as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let lines = text.replacingOccurrences(of: "\r", with: "").split(separator: "\n").map(String.init)
        let delivered = lines.filter { $0.hasPrefix("  -> ") }
        // The terminal receiver: started, failed (node_failed is inhibited), retried, succeeded.
        #expect(delivered.count == 4)
        #expect(delivered.map { $0.contains("[failures -> terminal]") } == [false, true, true, false])
        #expect(lines.contains { $0.contains("FIRING   node_failed") })
        let summary = try #require(lines.first { $0.hasPrefix("Sent ") })
        #expect(summary.contains("4 to terminal"))
        let file = try #require(lines.first { $0.hasPrefix("As JSON Lines") }?.split(separator: " ").last)
        let records = try String(contentsOfFile: String(file), encoding: .utf8).split(separator: "\n")
        #expect(!records.isEmpty && records.allSatisfy { $0.contains("\"schema\":\"obwatch.notification/v1\"") })
        #expect(lines.contains { $0.contains("obwatch check --config FILE") })
    }

    @Test("installed: the scenario and rules are found in PREFIX/share/obwatch for PREFIX/bin/obwatch, from anywhere")
    func bundledBesideAnInstalledBinary() throws {
        let prefix = FileManager.default.temporaryDirectory.appendingPathComponent("obwatch-prefix-\(UUID())")
        defer { try? FileManager.default.removeItem(at: prefix) }
        let scenarios = prefix.appendingPathComponent("share/obwatch/scenarios")
        try FileManager.default.createDirectory(at: scenarios, withIntermediateDirectories: true)
        let scenario = scenarios.appendingPathComponent("scale-out-fails.yaml")
        try Data("dags: []\n".utf8).write(to: scenario)
        let binary = prefix.appendingPathComponent("bin/obwatch")
        #expect(
            DemoCommand.bundled("scenarios", "scale-out-fails.yaml", executable: binary, currentDirectory: "/")
                == scenario.path
        )
        #expect(DemoCommand.bundled("scenarios", "missing.yaml", executable: binary, currentDirectory: "/") == nil)
    }
}
