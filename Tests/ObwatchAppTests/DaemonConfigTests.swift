import Foundation
import Obshell
import Testing
import Tracker

@testable import ObwatchApp

@Suite("obwatch run: the config subset")
struct DaemonConfigTests {
    /// Writes `text` to a fresh file and loads it; returns the config or the diagnostic lines.
    private func load(
        _ text: String,
        environment: [String: String] = [:]
    ) throws -> (config: DaemonConfig?, lines: [String], file: String) {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("obwatch-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let file = folder.appendingPathComponent("obwatch.yaml").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        do {
            let config = try DaemonConfig.load(contentsOfFile: file, environment: environment)
            return (config, [], file)
        } catch {
            return (nil, error.lines.map { $0.replacingOccurrences(of: file, with: "F") }, file)
        }
    }

    @Test("a valid config: defaults, overrides, interpolation, labels, ignored later sections")
    func valid() throws {
        let result = try self.load(
            """
            state_dir: /tmp/state
            http: { listen: 127.0.0.1:9464 }
            defaults:
              poll_interval: 10s
              down_after: 5
              stall_after: 1h30m
            targets:
              - name: prod-east
                url: http://10.0.0.5:2886
                password: "pre-${OBW_PW}-$$"
                labels: { env: prod, region: east }
              - name: local
                url: unix:///run/obshell.sock
                poll_interval: 2s
                timeout: 1s
            receivers: []
            rules: []
            silences: []
            inhibit: []
            include: []
            """,
            environment: ["OBW_PW": "secret"]
        )
        #expect(result.lines == [])
        let config = try #require(result.config)
        #expect(config.stateDirectory == "/tmp/state")
        #expect(config.defaults.pollInterval == .seconds(10))
        #expect(config.defaults.timeout == .seconds(5))
        #expect(config.defaults.downAfter == 5)
        #expect(config.defaults.confirmWithin == .seconds(600))
        #expect(config.defaults.stallAfter.text == "1h30m")
        #expect(config.targets.map(\.name) == ["prod-east", "local"])
        #expect(config.targets[0].password.reveal() == "pre-secret-$")
        #expect(config.targets[0].pollInterval == .seconds(10))
        #expect(config.targets[0].labels == ["env": "prod", "region": "east"])
        #expect(config.targets[1].password.isEmpty)
        #expect(config.targets[1].pollInterval == .seconds(2))
        #expect(config.targets[1].timeout == .seconds(1))
        #expect(config.trackerSettings.downAfter == 5)
    }

    @Test("password_file is read with one trailing newline stripped")
    func passwordFile() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("obwatch-pw-\(UUID().uuidString)")
        try Data("from-file\n\n".utf8).write(to: file)
        let result = try self.load(
            """
            state_dir: s
            targets:
              - { name: a, url: "https://h:2886", password_file: "\(file.path)" }
            """
        )
        #expect(try #require(result.config).targets[0].password.reveal() == "from-file\n")
    }

    @Test("a missing state_dir, a misspelt top-level key and a misspelt default")
    func missingAndMisspelt() throws {
        let result = try self.load(
            """
            stat_dir: /tmp
            defaults:
              pol_interval: 5s
            targets:
              - name: a
                url: http://h:2886
            """
        )
        #expect(
            result.lines == [
                "F:1:1: error: missing required key \"state_dir\"",
                "F:3:3: error: unknown key \"pol_interval\" (did you mean \"poll_interval\"?)",
                "F:1:1: error: unknown key \"stat_dir\" (did you mean \"state_dir\"?)",
            ]
        )
    }

    @Test("a misspelt target key and a url with an unsupported scheme")
    func targetKeys() throws {
        let result = try self.load(
            """
            state_dir: s
            targets:
              - name: a
                url: ftp://h:2886
                lables: { env: prod }
            """
        )
        #expect(
            result.lines == [
                "F:4:10: error: invalid url \"ftp://h:2886\": expected http://HOST:PORT, https://HOST:PORT or "
                    + "unix:///PATH",
                "F:5:5: error: unknown key \"lables\" (did you mean \"labels\"?)",
            ]
        )
    }

    @Test("two targets with one name")
    func duplicateName() throws {
        let result = try self.load(
            """
            state_dir: s
            targets:
              - { name: a, url: "http://h:1" }
              - { name: a, url: "http://h:2" }
            """
        )
        #expect(result.lines == ["F:4:13: error: duplicate target name \"a\" (first defined at line 3)"])
    }

    @Test("a missing environment variable is named, the other variables' values never shown")
    func missingVariable() throws {
        let result = try self.load(
            """
            state_dir: s
            targets:
              - { name: a, url: "http://h:1", password: "${SET_ONE}${OBW_UNSET}" }
            """,
            environment: ["SET_ONE": "hunter2"]
        )
        #expect(result.lines == ["F:3:45: error: the environment variable \"OBW_UNSET\" is not set"])
        #expect(!result.lines.joined().contains("hunter2"))
    }

    @Test("password and password_file together; an unreadable password file")
    func passwordConflicts() throws {
        let result = try self.load(
            """
            state_dir: s
            targets:
              - name: a
                url: http://h:1
                password: x
                password_file: /nonexistent/pw
              - name: b
                url: http://h:2
                password_file: /nonexistent/pw
            """
        )
        #expect(
            result.lines == [
                "F:6:20: error: give \"password\" or \"password_file\", not both",
                "F:9:20: error: cannot read the password file \"/nonexistent/pw\"",
            ]
        )
    }

    @Test("bad values in defaults: a word for a duration, zero, a count out of range")
    func badDefaults() throws {
        let result = try self.load(
            """
            state_dir: s
            defaults:
              poll_interval: soon
              timeout: 0s
              down_after: 0
            targets:
              - { name: a, url: "http://h:1" }
            """
        )
        #expect(
            result.lines == [
                "F:3:18: error: invalid duration \"soon\": expected a number at \"s\"",
                "F:4:12: error: \"0s\" must be longer than zero",
                "F:5:15: error: expected an integer from 1 to 1000, found 0",
            ]
        )
    }

    @Test("targets must be a non-empty list; a stray $ in a password")
    func badTargets() throws {
        let empty = try self.load("state_dir: s\ntargets: []\n")
        #expect(empty.lines == ["F:2:10: error: \"targets\" lists no target; obwatch needs at least one"])
        let stray = try self.load(
            """
            state_dir: s
            targets:
              - { name: a, url: "http://h:1", password: "pa$word" }
            """
        )
        #expect(stray.lines == ["F:3:45: error: a \"$\" must start ${NAME} (write $$ for a literal dollar sign)"])
        #expect(!stray.lines.joined().contains("pa$word"))
    }

    @Test("an empty file and a file that is not YAML")
    func emptyAndBroken() throws {
        let empty = try self.load("# nothing\n")
        #expect(empty.lines == ["F: error: the file is empty; it needs state_dir and targets"])
        let broken = try self.load("state_dir: [\n")
        #expect(broken.lines == ["F:2:1: error: did not find expected node content (while parsing a flow node)"])
    }
}
