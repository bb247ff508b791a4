import Foundation
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
        let config = try DaemonConfig.load(contentsOfFile: file.path, environment: [:])
        let capture = Self.captures.appendingPathComponent("outage.jsonl").path
        let configured = ReplayCommand.replay(
            files: [capture],
            replayer: ReplayCommand.replayer(for: config),
            write: { _ in }
        )
        let plain = ReplayCommand.replay(files: [capture], write: { _ in })
        #expect(configured.events.allSatisfy { $0.contains(#""labels":{"env":"prod"}"#) })
        #expect(configured.events.contains { $0.contains(#""url":"http://10.0.0.5:2886""#) })
        let downCount = { (lines: [String]) in lines.filter { $0.contains(#""type":"target_down""#) }.count }
        #expect(downCount(configured.events) >= downCount(plain.events))
    }
}
