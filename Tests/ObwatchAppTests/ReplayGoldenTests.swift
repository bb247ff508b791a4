import Foundation
import Testing

/// Replay of every bundled capture, alone and through the default rules, against the events it gave when the
/// files under `Fixtures/captures/expected` were written: a refactor of the poll side, the tracker or the router
/// that changes one event, one id or one route shows here.
@Suite("bundled captures replay to the recorded events")
struct ReplayGoldenTests {
    private static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/captures")
    private static let defaultRules = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("rules/default.yaml")

    static let captures = [
        "bad-lines", "first-seen-failed-and-cancel", "outage", "partial-list", "progress-by-logs",
        "rollback-then-pass", "rollback", "scale-out-failure", "stall", "history-slow-node",
    ]

    @Test("replay without rules gives the recorded events and ids", arguments: captures)
    func events(capture: String) throws {
        try Self.compare(capture: capture, rules: nil, expected: "\(capture).events.jsonl")
    }

    @Test("replay through rules/default.yaml gives the recorded events, ids and routes", arguments: captures)
    func routed(capture: String) throws {
        try Self.compare(capture: capture, rules: Self.defaultRules.path, expected: "\(capture).routed.jsonl")
    }

    @Test("every bundled capture has its recorded events")
    func everyCaptureCovered() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.fixtures.path)
            .filter { $0.hasSuffix(".jsonl") }
            .map { String($0.dropLast(".jsonl".count)) }
        #expect(Set(files) == Set(Self.captures))
    }

    private static func compare(capture: String, rules: String?, expected: String) throws {
        let executable = try #require(
            KillRestartTests.executableForTests(),
            "no built obwatch executable next to the tests or under .build; build it first"
        )
        let process = Process()
        process.executableURL = executable
        var arguments = ["replay"]
        if let rules { arguments += ["--config", rules] }
        arguments.append(Self.fixtures.appendingPathComponent("\(capture).jsonl").path)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let recorded = try String(
            contentsOf: Self.fixtures.appendingPathComponent("expected/\(expected)"),
            encoding: .utf8
        )
        let printedLines = printed.split(separator: "\n")
        let recordedLines = recorded.split(separator: "\n")
        #expect(printedLines.count == recordedLines.count, "\(capture): \(printedLines.count) events")
        for (index, (line, want)) in zip(printedLines, recordedLines).enumerated() {
            #expect(line == want, "\(capture) event \(index + 1) differs")
        }
    }
}
