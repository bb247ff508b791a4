import ConfigLoading
import ConfigModel
import Foundation
import Testing
import YAML

@Suite("Config: state_dir's default, and check refusing a state_dir obwatch cannot write")
struct StateDirectoryTests {
    static let target = "targets: [{ name: prod-east, url: \"http://10.0.0.5:2886\" }]"

    @Test("without state_dir: systemd's STATE_DIRECTORY (its first path), else /var/lib/obwatch")
    func defaultFolder() throws {
        let folder = try ConfigFolder()
        defer { folder.remove() }
        let (builtIn, lines) = try folder.load(config: Self.target)
        #expect(lines == [])
        #expect(builtIn?.stateDirectory == "/var/lib/obwatch")
        #expect(builtIn?.stateDirectoryMark == nil)
        let (fromSystemd, _) = folder.load(environment: ["STATE_DIRECTORY": "/var/lib/obwatch-a:/var/lib/b"])
        #expect(fromSystemd?.stateDirectory == "/var/lib/obwatch-a")
        let (emptyVariable, _) = folder.load(environment: ["STATE_DIRECTORY": ""])
        #expect(emptyVariable?.stateDirectory == "/var/lib/obwatch")
        let (written, _) = try folder.load(config: "state_dir: ./s\n" + Self.target)
        #expect(written?.stateDirectory == folder.url.appendingPathComponent("s").path)
        #expect(written?.stateDirectoryMark?.line == 1)
        #expect(written?.stateDirectoryMark?.column == 12)
    }

    @Test("check's summary says which state folder run will use, and why that one")
    func summarySaysWhichFolder() throws {
        let folder = try ConfigFolder()
        defer { folder.remove() }
        try folder.write("obwatch.yaml", Self.target, mode: 0o600)
        let path = folder.url.appendingPathComponent("obwatch.yaml").path
        func summary(_ environment: [String: String]) -> String {
            ConfigCheck.run(contentsOfFile: path, environment: environment).lines.last ?? ""
        }
        #expect(summary([:]).contains("; state in /var/lib/obwatch (the default); "), "\(summary([:]))")
        let systemd = folder.url.appendingPathComponent("systemd").path
        #expect(summary(["STATE_DIRECTORY": systemd]).contains("; state in \(systemd) (from STATE_DIRECTORY); "))
        try folder.write("obwatch.yaml", "state_dir: s\n" + Self.target, mode: 0o600)
        let written = folder.url.appendingPathComponent("s").path
        #expect(summary([:]).contains("; state in \(written); "), "\(summary([:]))")
    }

    @Test("a file of receivers and rules alone: refused for run and check, which need targets; taken for replay")
    func withoutTargets() throws {
        let folder = try ConfigFolder()
        defer { folder.remove() }
        try folder.write(
            "rules.yaml",
            """
            receivers: [{ name: audit, syslog: { address: "udp://127.0.0.1:514" } }]
            rules: [{ name: everything, match: { event: "*" }, notify: [audit] }]
            """
        )
        let path = folder.url.appendingPathComponent("rules.yaml").path
        let strict = ConfigLoader(environment: [:]).load(contentsOfFile: path)
        #expect(strict.config == nil)
        #expect(strict.diagnostics.errors.first?.message == "missing required key \"targets\"")
        let forReplay = ConfigLoader(environment: [:], secretsRequired: false, targetsRequired: false)
        let loaded = forReplay.load(contentsOfFile: path)
        #expect(loaded.diagnostics.entries.map(\.description) == [])
        #expect(loaded.config?.targets.isEmpty == true)
        #expect(loaded.config?.rules.map(\.name) == ["everything"])
        // An empty list of targets is no error for replay either; an empty file is.
        try folder.write("rules.yaml", "targets: []\nrules: []\n")
        #expect(forReplay.load(contentsOfFile: path).config != nil)
        try folder.write("rules.yaml", "")
        #expect(
            forReplay.load(contentsOfFile: path).diagnostics.errors.map(\.message)
                == ["the file is empty; it needs receivers and rules"]
        )
    }

    @Test("a folder that exists, or whose nearest existing parent is writable, passes; the probe leaves nothing")
    func writable() throws {
        let folder = try ConfigFolder()
        defer { folder.remove() }
        #expect(StateDirectoryCheck.problem(path: folder.url.path) == nil)
        let missing = folder.url.appendingPathComponent("new/state").path
        #expect(StateDirectoryCheck.problem(path: missing) == nil)
        // check never creates the state folder, and takes its probe file away.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.url.path) == [])
    }

    @Test("a path under a regular file is not a directory; a file as the folder itself neither")
    func underAFile() throws {
        let folder = try ConfigFolder()
        defer { folder.remove() }
        let file = try folder.write("somefile", "x")
        #expect(StateDirectoryCheck.problem(path: file + "/state") == "not a directory")
        #expect(StateDirectoryCheck.problem(path: file + "/state/deeper") == "not a directory")
        #expect(StateDirectoryCheck.problem(path: file) == "not a directory")
    }

    @Test("a folder that cannot be made where its parent is (/proc refuses new files, even to root)")
    func underProc() throws {
        try #require(FileManager.default.fileExists(atPath: "/proc/self"))
        let problem = try #require(StateDirectoryCheck.problem(path: "/proc/obwatch-state"))
        #expect(problem.hasPrefix("cannot be created in /proc: "), "\(problem)")
        #expect(problem == problem.lowercased())
    }

    @Test("a folder without write permission", .enabled(if: geteuid() != 0, "root writes anywhere"))
    func readOnlyFolder() throws {
        let folder = try ConfigFolder()
        defer {
            try? FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: folder.url.path)
            folder.remove()
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o500], ofItemAtPath: folder.url.path)
        #expect(StateDirectoryCheck.problem(path: folder.url.path) == "permission denied")
        #expect(
            StateDirectoryCheck.problem(path: folder.url.appendingPathComponent("state").path)
                == "cannot be created in \(folder.url.path): permission denied"
        )
    }

    @Test("check reports it at state_dir's key, or about the file when state_dir is the default")
    func checkLine() throws {
        let folder = try ConfigFolder()
        defer { folder.remove() }
        try folder.write("somefile", "x")
        let path = try folder.write("obwatch.yaml", "state_dir: somefile/state\n" + Self.target)
        let written = ConfigCheck.run(contentsOfFile: path, environment: [:])
        let shown = written.lines.map { $0.replacingOccurrences(of: folder.url.path + "/", with: "") }
        #expect(shown.first == "obwatch.yaml:1:12: error: state_dir somefile/state: not a directory")
        #expect(!written.isValid)
        #expect(shown.last?.hasPrefix("invalid: 1 error") == true)

        try folder.write("obwatch.yaml", Self.target)
        let defaulted = ConfigCheck.run(
            contentsOfFile: path,
            environment: ["STATE_DIRECTORY": folder.url.appendingPathComponent("somefile/state").path]
        )
        #expect(
            defaulted.lines.first?.replacingOccurrences(of: folder.url.path + "/", with: "")
                == "obwatch.yaml: error: state_dir somefile/state (from STATE_DIRECTORY, as the file sets none): "
                + "not a directory"
        )
        #expect(!defaulted.isValid)
    }

    @Test("check without the probe (the demo's, whose state goes elsewhere) accepts a state_dir it cannot write")
    func checkWithoutProbe() throws {
        let folder = try ConfigFolder()
        defer { folder.remove() }
        try folder.write("somefile", "x")
        let path = try folder.write("obwatch.yaml", "state_dir: somefile/state\n" + Self.target)
        #expect(!ConfigCheck.run(contentsOfFile: path, environment: [:]).isValid)
        let unprobed = ConfigCheck.run(contentsOfFile: path, environment: [:], probingStateDirectory: false)
        #expect(unprobed.isValid, "\(unprobed.lines)")
        #expect(unprobed.config?.stateDirectory == folder.url.appendingPathComponent("somefile/state").path)
    }

    @Test("the loader alone (replay's) does not look at state_dir")
    func loaderDoesNotProbe() throws {
        let folder = try ConfigFolder()
        defer { folder.remove() }
        try folder.write("somefile", "x")
        let (config, lines) = try folder.load(config: "state_dir: somefile/state\n" + Self.target)
        #expect(lines == [])
        #expect(config != nil)
    }
}
