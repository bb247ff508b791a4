import ConfigLoading
import Foundation
import ObwatchTestKit
import Routing
import Testing

@testable import ObwatchApp

@Suite("obwatch replay")
struct ReplayCommandTests {
    private static let captures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/captures")

    @Test("a capture replays to JSON events, each with routes, identical on a second replay")
    func replay() throws {
        let file = Self.captures.appendingPathComponent("scale-out-failure.jsonl").path
        let first = ReplayCommand.replay(files: [file], write: { _ in })
        #expect(first.exitCode == 0)
        let types = try first.events.map { line -> String in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect((object["routes"] as? [Any])?.isEmpty == true)
            #expect(object["schema"] as? String == "obwatch.event/v1")
            return try #require(object["type"] as? String)
        }
        #expect(types.first == "started")
        #expect(types.contains("node_failed") && types.contains("failed") && types.contains("succeeded"))
        #expect(ReplayCommand.replay(files: [file], write: { _ in }).events == first.events)
    }

    @Test("bad lines are reported as FILE:LINE and skipped; the exit status is 1")
    func badLines() {
        let file = Self.captures.appendingPathComponent("bad-lines.jsonl").path
        let output = ReplayCommand.replay(files: [file, "/nonexistent.jsonl"], write: { _ in })
        #expect(output.exitCode == 1)
        #expect(output.errors.contains { $0.hasPrefix("\(file):2: error: ") })
        #expect(output.errors.last == "/nonexistent.jsonl: error: cannot read the file")
        #expect(!output.events.isEmpty)
    }

    @Test("--config: the configured target's labels and settings apply")
    func withConfig() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("obw-replay-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let file = folder.appendingPathComponent("obwatch.yaml")
        let yaml = """
            state_dir: \(folder.path)
            defaults: { down_after: 1 }
            targets:
              - name: prod-east
                url: http://10.0.0.5:2886
                labels: { env: prod }
            """
        try Data(yaml.utf8).write(to: file)
        let (config, _) = try ConfigLoader(environment: [:]).loadValid(contentsOfFile: file.path)
        let capture = Self.captures.appendingPathComponent("outage.jsonl").path
        let configured = ReplayCommand.replay(
            files: [capture],
            replayer: ReplayCommand.replayer(for: config),
            write: { _ in }
        )
        let plain = ReplayCommand.replay(files: [capture], write: { _ in })
        // The labels and the URL come from the config: the run without it has neither.
        #expect(configured.events.allSatisfy { $0.contains(#""labels":{"env":"prod"}"#) })
        #expect(configured.events.contains { $0.contains(#""url":"http://10.0.0.5:2886""#) })
        #expect(!plain.events.contains { $0.contains(#""env":"prod""#) || $0.contains(#""url":"#) })
        // down_after: 1 makes the first failed poll the outage; without the config it is the third (the default).
        let down = { (lines: [String]) throws -> (at: String, summary: String) in
            let line = try #require(lines.first { $0.contains(#""type":"target_down""#) })
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return (try #require(object["at"] as? String), try #require(object["summary"] as? String))
        }
        let configuredDown = try down(configured.events)
        let plainDown = try down(plain.events)
        #expect(configuredDown.summary.contains("down: 1 polls in a row failed"), "\(configuredDown.summary)")
        #expect(plainDown.summary.contains("down: 3 polls in a row failed"), "\(plainDown.summary)")
        #expect(configuredDown.at < plainDown.at, "down at \(configuredDown.at), not before \(plainDown.at)")
    }

    @Test("--config: routes from the rules, an inhibition, a resolved event back to its sender, a repeat reminder")
    func routes() throws {
        let folder = try temporaryFolder("obw-replay-routes")
        let file = folder.appendingPathComponent("obwatch.yaml")
        try Data(
            """
            state_dir: \(folder.path)
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886", labels: { env: prod } }]
            receivers:
              - { name: chat, webhook: { format: slack, url: "${UNSET_SLACK_URL}" } }
              - { name: audit, syslog: { address: "udp://127.0.0.1:514" } }
            rules:
              - name: failures
                match: { event: [node_failed, failed], dag: "Cluster scale*", labels: { env: prod } }
                notify: [chat]
                repeat: 5s
              - { name: everything, match: { event: "*" }, notify: [audit] }
            inhibit:
              - { source: failed, suppress: [node_failed] }
            """.utf8
        ).write(to: file)
        // replay never sends, so a config whose secrets are not set here still reads.
        let (config, _) = try ConfigLoader(environment: [:], secretsRequired: false).loadValid(
            contentsOfFile: file.path
        )
        let capture = Self.captures.appendingPathComponent("scale-out-failure.jsonl").path
        let output = ReplayCommand.replay(
            files: [capture],
            replayer: ReplayCommand.replayer(for: config),
            router: Router(config: config),
            write: { _ in }
        )
        #expect(output.errors == [])
        let summary = try output.events.map { line -> String in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let routes = try #require(object["routes"] as? [[String: Any]])
            let shown = routes.map { route in
                "\(route["rule"] ?? "")=\((route["receivers"] as? [String] ?? []).joined(separator: "+"))"
            }
            let id = object["id"] as? String ?? ""
            let reminder = id.split(separator: "/").last.map { $0.hasPrefix("r") ? " (\($0))" : "" } ?? ""
            return "\(object["type"] ?? "")\(reminder) \(shown.joined(separator: " "))"
        }
        #expect(
            summary == [
                "started everything=audit",
                "stage_advanced everything=audit",
                "node_failed failures= everything=",
                "failed failures=chat everything=audit",
                "failed (r1) failures=chat",
                "retried failures=chat everything=audit",
                "stage_advanced everything=audit",
                "stage_advanced everything=audit",
                "succeeded everything=audit",
            ]
        )
    }

    @Test("obwatch replay --config with receivers and rules alone routes a capture's events (no state_dir, no targets)")
    func rulesOnlyFile() throws {
        guard let executable = KillRestartTests.executableForTests() else {
            Issue.record("no built obwatch executable next to the tests or under .build-run/.build; build it first")
            return
        }
        let folder = try temporaryFolder("obw-replay-rules-only")
        defer { try? FileManager.default.removeItem(at: folder) }
        let rules = folder.appendingPathComponent("rules.yaml")
        try Data(
            """
            receivers:
              - { name: chat, webhook: { format: slack, url: "${UNSET_SLACK_URL}" } }
            rules:
              - { name: failures, match: { event: [node_failed, failed] }, notify: [chat] }
            """.utf8
        ).write(to: rules)
        let process = Process()
        process.executableURL = executable
        process.arguments = [
            "replay", "--config", rules.path, Self.captures.appendingPathComponent("scale-out-failure.jsonl").path,
        ]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        let complaints = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(complaints)")
        let routed = try String(decoding: printed, as: UTF8.self).split(separator: "\n").map { line -> String in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let routes = try #require(object["routes"] as? [[String: Any]])
            let receivers = routes.flatMap { $0["receivers"] as? [String] ?? [] }
            return "\(object["type"] ?? "") \(receivers.joined(separator: "+"))"
        }
        #expect(routed.contains("failed chat"), "\(routed)")
        #expect(routed.contains("started "), "\(routed)")
    }
}
