import ArgumentParser
import ConfigLoading
import Foundation
import ObwatchTestKit
import Testing
import YAML

@testable import ObwatchApp

@Suite("obwatch check, and run refusing what check rejects")
struct CheckCommandTests {
    /// Every YAML file under `rules/`, examples included.
    static let ruleFiles: [String] = {
        let folder = packageRoot.appendingPathComponent("rules")
        let paths = FileManager.default.enumerator(atPath: folder.path)?.compactMap { $0 as? String } ?? []
        return paths.filter { $0.hasSuffix(".yaml") }.sorted().map { folder.appendingPathComponent($0).path }
    }()

    @Test("rules/ has the default, the demo and one example per use")
    func ruleFilesExist() {
        let names = Self.ruleFiles.map { URL(fileURLWithPath: $0).lastPathComponent }
        for expected in [
            "default.yaml", "demo.yaml", "chat-failed-scale-outs.yaml", "page-on-stalls.yaml", "audit-to-syslog.yaml",
        ] {
            #expect(names.contains(expected), "rules/ lacks \(expected)")
        }
    }

    @Test("every file in rules/ passes check with no error and no warning", arguments: Self.ruleFiles)
    func ruleFilePasses(_ path: String) {
        let report = ConfigCheck.run(contentsOfFile: path, environment: [:])
        #expect(report.diagnostics.entries.map(\.description) == [])
        #expect(report.isValid)
        #expect(report.renderedTemplates > 0)
        #expect(report.lines.last?.hasPrefix("valid: ") == true)
    }

    @Test("check exits 1 on a broken file and 0 on a valid one; run refuses the broken one with check's lines")
    func exitStatus() throws {
        let folder = try temporaryFolder("obw-check")
        let broken = folder.appendingPathComponent("broken.yaml").path
        try Data(
            """
            state_dir: s
            targets: [{ name: a, url: "http://h:1" }]
            receivers: [{ name: chat, webhook: { format: generic, url: "https://hooks.example/x" } }]
            rules:
              - { name: r, match: { event: faild }, notify: [chat] }
            """.utf8
        ).write(to: URL(fileURLWithPath: broken))
        #expect(throws: ExitCode(1)) { try CheckCommand.parse(["--config", broken]).run() }
        let expected = "\(broken):5:32: error: unknown event type \"faild\" (did you mean \"failed\"?)"
        #expect(ConfigCheck.run(contentsOfFile: broken).lines.first == expected)
        let (config, lines) = RunCommand.checkedConfig(broken)
        #expect(config == nil)
        #expect(lines.first == expected)
        #expect(lines.last?.contains("not starting") == true)

        let valid = packageRoot.appendingPathComponent("rules/default.yaml").path
        try CheckCommand.parse(["--config", valid]).run()
        #expect(RunCommand.checkedConfig(valid).0 != nil)
    }
}
