import Foundation
import ObwatchTestKit
import PeerSupport
import Testing

@testable import ObwatchApp

@Suite("obwatch demo")
struct DemoCommandTests {
    @Test("in a terminal, runs the daemon's pipeline on rules/demo.yaml to its end: events, notifications, a summary")
    func demo() async throws {
        guard let (status, lines) = try await Self.runDemo(arguments: "--keep") else { return }
        #expect(status == 0)
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
        // --keep kept it; the test removes it.
        try? FileManager.default.removeItem(at: URL(fileURLWithPath: String(file)).deletingLastPathComponent())
    }

    @Test("without --keep, the temporary folder is gone when the demo ends, and the summary says so")
    func removesItsFolder() async throws {
        let folder = try temporaryFolder("obw-demo-scenario")
        defer { try? FileManager.default.removeItem(at: folder) }
        let scenario = folder.appendingPathComponent("short.yaml")
        try Data(
            """
            agent: { identity: CLUSTER AGENT, ip: 10.10.10.1, port: 2886, zone: zone1, version: 4.3.5.0, password: pw }
            time_zero: "2024-01-10T11:34:28.708662+08:00"
            dags:
              - { id: "11", dag_id: 1, name: Cluster scale out, maintenance_type: 2, stage: 1, state: RUNNING, nodes: [One, Two] }
            steps:
              - { at: 5s, do: advance }
              - { at: 10s, do: advance }
            """.utf8
        ).write(to: scenario)
        guard let (status, lines) = try await Self.runDemo(arguments: "--scenario '\(scenario.path)'") else { return }
        #expect(status == 0)
        let line = try #require(lines.first { $0.hasPrefix("The temporary folder ") })
        let path = String(line.dropFirst("The temporary folder ".count).prefix { $0 != " " })
        #expect(path.contains("obwatch-demo-"))
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(!lines.contains { $0.hasPrefix("As JSON Lines") })
    }

    /// Runs `obwatch demo ARGUMENTS` in a pseudo-terminal, as a user runs it (script(1) gives the demo a terminal
    /// and copies the screen out); `nil` when no built executable is found.
    private static func runDemo(arguments: String) async throws -> (Int32, [String])? {
        guard let executable = KillRestartTests.executableForTests() else {
            Issue.record("no built obwatch executable; build it first")
            return nil
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-q", "-e", "-c", "'\(executable.path)' demo \(arguments)", "/dev/null"]
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
        let lines = text.replacingOccurrences(of: "\r", with: "").split(separator: "\n").map(String.init)
        return (process.terminationStatus, lines)
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
