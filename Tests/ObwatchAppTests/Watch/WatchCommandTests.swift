import Foundation
import ObwatchTestKit
import PeerSupport
import Simulator
import Synchronization
import Testing

@testable import ObwatchApp

#if canImport(Glibc)
import Glibc
#endif

/// What the test sees of a child process: bytes of its output, its exit, or the deadline.
private enum WatchChildOutput: Sendable {
    case bytes(Data)
    case endOfOutput
    case exited(Int32)
    case deadline
}

/// Why a wait on the child ended without what it waited for.
private struct WatchWaitError: Error, CustomStringConvertible {
    var description: String
}

/// A screen as a terminal would show it, rebuilt from the bytes the view wrote: printable text, CR, LF, and the
/// few sequences the view uses (home, clear to end of line and of screen, cursor shown or hidden).
private struct ScreenEmulator {
    let width: Int
    let height: Int
    private(set) var rows: [[Character]]
    private var row = 0
    private var column = 0
    private(set) var cursorVisible = true
    /// Sequences the view must not use, seen anyway (a full clear flickers).
    private(set) var fullClears = 0
    private var pending: [UInt8] = []

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        self.rows = Array(repeating: Array(repeating: " ", count: width), count: height)
    }

    /// The screen's text, one string per row with trailing blanks dropped.
    var lines: [String] {
        self.rows.map { String($0).replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) }
    }

    mutating func feed(_ data: Data) {
        self.pending += data
        // A UTF-8 sequence cut at the end of the bytes waits for the rest.
        let complete = Self.completePrefixLength(self.pending)
        let scalars = Array(String(decoding: self.pending[..<complete], as: UTF8.self).unicodeScalars)
        self.pending = Array(self.pending[complete...])
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            if scalar == "\u{1B}" {
                var end = index + 1
                if end < scalars.count, scalars[end] == "[" {
                    end += 1
                    while end < scalars.count, !(0x40...0x7E).contains(scalars[end].value) { end += 1 }
                }
                guard end < scalars.count else {
                    // An unfinished sequence waits for the next bytes too.
                    var rest = String.UnicodeScalarView()
                    rest.append(contentsOf: scalars[index...])
                    self.pending = Array(String(rest).utf8) + self.pending
                    return
                }
                var sequence = String.UnicodeScalarView()
                sequence.append(contentsOf: scalars[index...end])
                self.apply(String(sequence))
                index = end + 1
                continue
            }
            index += 1
            switch scalar {
            case "\r": self.column = 0
            case "\n": self.lineFeed()
            default:
                guard scalar.value >= 0x20 else { continue }
                if self.column >= self.width {
                    self.column = 0
                    self.lineFeed()
                }
                self.rows[self.row][self.column] = Character(scalar)
                self.column += 1
            }
        }
    }

    /// How many of `bytes` end on a whole UTF-8 sequence.
    private static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        var start = bytes.count - 1
        while start >= 0, bytes.count - start <= 4, bytes[start] & 0xC0 == 0x80 { start -= 1 }
        guard start >= 0 else { return bytes.count }
        let lead = bytes[start]
        let needed = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
        return bytes.count - start >= needed ? bytes.count : start
    }

    private mutating func lineFeed() {
        if self.row + 1 < self.height {
            self.row += 1
        } else {
            self.rows.removeFirst()
            self.rows.append(Array(repeating: " ", count: self.width))
        }
    }

    private mutating func apply(_ sequence: String) {
        switch sequence {
        case "\u{1B}[H":
            (self.row, self.column) = (0, 0)
        case "\u{1B}[K":
            for column in min(self.column, self.width)..<self.width { self.rows[self.row][column] = " " }
        case "\u{1B}[J":
            for column in min(self.column, self.width)..<self.width { self.rows[self.row][column] = " " }
            for row in (self.row + 1)..<self.height {
                self.rows[row] = Array(repeating: " ", count: self.width)
            }
        case "\u{1B}[?25l":
            self.cursorVisible = false
        case "\u{1B}[?25h":
            self.cursorVisible = true
        case "\u{1B}[2J":
            self.fullClears += 1
        default:
            break
        }
    }
}

/// A running child with its standard input kept open and its standard output read as it comes.
private struct WatchChild {
    let process: Process
    let input: Pipe
    var output: AsyncStream<WatchChildOutput>.Iterator
    /// Everything the child wrote so far.
    var raw = Data()

    /// Launches `executable`; a deadline kills it and ends every wait, so that a stuck child fails the test.
    static func launch(
        executable: URL,
        arguments: [String],
        environment: [String: String],
        deadline: Double,
        standardError: URL? = nil
    ) throws -> WatchChild {
        let (stream, continuation) = AsyncStream.makeStream(of: WatchChildOutput.self)
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let input = Pipe()
        process.standardInput = input
        let pipe = Pipe()
        process.standardOutput = pipe
        let log = TestLog(label: "obwatch-" + (arguments.first ?? "child"))
        if let standardError {
            _ = FileManager.default.createFile(atPath: standardError.path, contents: nil)
            process.standardError = try FileHandle(forWritingTo: standardError)
        } else {
            process.standardError = log.standardError
        }
        PipeDrain.start(
            pipe.fileHandleForReading,
            onData: { data in
                log.append(data)
                continuation.yield(.bytes(data))
            },
            onEnd: { continuation.yield(.endOfOutput) }
        )
        // The deadline must not kill a pid the system has since given to another process.
        let exited = Mutex(false)
        process.terminationHandler = { process in
            exited.withLock { $0 = true }
            continuation.yield(.exited(process.terminationStatus))
        }
        try process.run()
        let pid = process.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + deadline) {
            continuation.yield(.deadline)
            exited.withLock { if !$0 { kill(pid, SIGKILL) } }
        }
        return WatchChild(process: process, input: input, output: stream.makeAsyncIterator())
    }

    /// Reads output, handing each chunk to `consume`, until it returns true.
    mutating func awaitOutput(_ what: String, until consume: (Data) -> Bool) async throws {
        while true {
            switch await self.output.next(isolation: #isolation) ?? .deadline {
            case .bytes(let data):
                self.raw += data
                if consume(data) { return }
            case .exited:
                // Output may still be in the pipe; the end of output is the answer.
                continue
            case .endOfOutput:
                throw WatchWaitError(description: "the child ended its output before \(what)")
            case .deadline:
                throw WatchWaitError(description: "no \(what) before the deadline")
            }
        }
    }

    /// Reads output until the child exits; returns its status.
    mutating func awaitExit() async throws -> Int32 {
        while true {
            switch await self.output.next(isolation: #isolation) ?? .deadline {
            case .bytes(let data): self.raw += data
            case .endOfOutput: continue
            case .exited(let status): return status
            case .deadline: throw WatchWaitError(description: "the child did not exit before the deadline")
            }
        }
    }
}

/// Splits bytes into whole lines.
private struct PlainLines {
    private var pending = Data()
    private(set) var all: [String] = []

    /// Adds bytes; returns the lines they completed.
    mutating func append(_ data: Data) -> [String] {
        self.pending += data
        var lines: [String] = []
        while let newline = self.pending.firstIndex(of: UInt8(ascii: "\n")) {
            lines.append(String(decoding: self.pending[self.pending.startIndex..<newline], as: UTF8.self))
            self.pending = Data(self.pending[self.pending.index(after: newline)...])
        }
        self.all += lines
        return lines
    }
}

@Suite("obwatch watch: the binary in a terminal and in a pipe", .serialized)
struct WatchCommandTests {
    private static let passwordVariable = "OBWATCH_WATCH_TEST_PASSWORD"

    /// The `obwatch` built beside the running tests, else the usual build folders.
    static func executable() -> URL? {
        var candidates: [URL] = []
        var folder = URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent()
        // The bundle may be a directory (…/debug/obwatchPackageTests.xctest/…); walk up to the build folder.
        for _ in 0..<4 {
            candidates.append(folder.appendingPathComponent("obwatch"))
            folder = folder.deletingLastPathComponent()
        }
        candidates.append(packageRoot.appendingPathComponent(".build-run/debug/obwatch"))
        candidates.append(packageRoot.appendingPathComponent(".build/debug/obwatch"))
        return candidates.first { candidate in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory)
                && !isDirectory.boolValue && FileManager.default.isExecutableFile(atPath: candidate.path)
        }
    }

    /// Quotes a word for `sh -c`.
    private static func shellQuoted(_ word: String) -> String {
        "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    @Test("in a pseudo-terminal: the DAG line and its events are drawn in place; Ctrl-C restores the cursor, exit 0")
    func terminal() async throws {
        guard let executable = Self.executable() else {
            Issue.record("no built obwatch executable next to the tests or under .build-run/.build; build it first")
            return
        }
        let script = URL(fileURLWithPath: "/usr/bin/script")
        guard FileManager.default.isExecutableFile(atPath: script.path) else {
            Issue.record("util-linux `script` is needed to give obwatch a pseudo-terminal")
            return
        }
        let running = try await ManualSimulator(try bundledScenario("scale-out.yaml"))
        defer { running.stop() }
        let watch =
            [executable.path, "watch", "--url", running.url, "--password-env", Self.passwordVariable]
            + ["--interval", "200ms"]
        // `script` gives the command a pseudo-terminal; stty sizes it so that the screen is known.
        let command = "stty cols 120 rows 40 && exec " + watch.map(Self.shellQuoted).joined(separator: " ")
        var child = try WatchChild.launch(
            executable: script,
            arguments: ["-q", "-e", "-c", command, "/dev/null"],
            environment: [Self.passwordVariable: "root-pw"],
            deadline: 120
        )
        defer { kill(child.process.processIdentifier, SIGKILL) }
        var screen = ScreenEmulator(width: 120, height: 40)

        do {
            try await child.awaitOutput("the DAG at 4/9 and its started event") { data in
                screen.feed(data)
                let lines = screen.lines
                return lines.contains { $0.contains("4/9  Cluster scale out  RUNNING/RUN") }
                    && lines.contains { $0.contains("  started  ") }
            }
            let first = screen.lines
            #expect(first.first?.hasPrefix("obwatch watch  ") == true)
            #expect(first.contains { $0.hasPrefix("127.0.0.1  up  polled ") })
            #expect(
                first.contains {
                    $0.hasPrefix("  [######--------------] 4/9  Cluster scale out  RUNNING/RUN  elapsed ")
                        && $0.contains("  no progress ")
                },
                "the screen was:\n\(first.joined(separator: "\n"))"
            )
            #expect(first.contains("    at: Wait remote deploy finish (RUNNING)"))
            #expect(!screen.cursorVisible)

            _ = try await running.simulator.advance(to: .seconds(15))
            try await child.awaitOutput("stage 5/9 and its stage_advanced event") { data in
                screen.feed(data)
                let lines = screen.lines
                return lines.contains { $0.contains("5/9  Cluster scale out  RUNNING/RUN") }
                    && lines.contains { $0.contains("  stage_advanced  ") }
            }
        } catch {
            Issue.record("\(error); the screen was:\n\(screen.lines.joined(separator: "\n"))")
            return
        }
        // Drawn in place: the old progress line was overwritten, not scrolled away below a new one.
        let lines = screen.lines
        #expect(!lines.contains { $0.contains("4/9  Cluster scale out") })
        #expect(lines.filter { $0.contains("Cluster scale out  RUNNING/RUN") }.count == 1)
        #expect(lines.first?.hasPrefix("obwatch watch  ") == true)
        #expect(screen.fullClears == 0)

        child.input.fileHandleForWriting.write(Data([0x03]))
        let status = try await child.awaitExit()
        #expect(status == 0)
        // Everything written, replayed: the cursor is shown again at the end, and no frame cleared the screen.
        var replayed = ScreenEmulator(width: 120, height: 40)
        replayed.feed(child.raw)
        #expect(replayed.cursorVisible)
        #expect(replayed.fullClears == 0)
    }

    @Test("in an 80x24 terminal: the stall clock and the node stay visible; SIGTERM restores the cursor, exit 0")
    func eightyColumns() async throws {
        guard let executable = Self.executable() else {
            Issue.record("no built obwatch executable next to the tests or under .build-run/.build; build it first")
            return
        }
        let script = URL(fileURLWithPath: "/usr/bin/script")
        guard FileManager.default.isExecutableFile(atPath: script.path) else {
            Issue.record("util-linux `script` is needed to give obwatch a pseudo-terminal")
            return
        }
        let running = try await ManualSimulator(try bundledScenario("scale-out.yaml"))
        defer { running.stop() }
        let folder = try temporaryFolder("obwatch-watch-80")
        defer { try? FileManager.default.removeItem(at: folder) }
        let pidFile = folder.appendingPathComponent("pid")
        let watch =
            [executable.path, "watch", "--url", running.url, "--password-env", Self.passwordVariable]
            + ["--interval", "200ms"]
        // `exec` keeps the shell's pid, written first, so that SIGTERM goes to obwatch itself and not to `script`.
        let command =
            "stty cols 80 rows 24 && echo $$ > \(Self.shellQuoted(pidFile.path)) && exec "
            + watch.map(Self.shellQuoted).joined(separator: " ")
        var child = try WatchChild.launch(
            executable: script,
            arguments: ["-q", "-e", "-c", command, "/dev/null"],
            environment: [Self.passwordVariable: "root-pw"],
            deadline: 120
        )
        defer { kill(child.process.processIdentifier, SIGKILL) }
        var screen = ScreenEmulator(width: 80, height: 24)
        do {
            try await child.awaitOutput("the DAG's row with its stall clock, and its node's row") { data in
                screen.feed(data)
                let lines = screen.lines
                return lines.contains {
                    $0.contains("4/9  Cluster scale out  RUNNING/RUN") && $0.contains("no progress")
                }
                    && lines.contains("    at: Wait remote deploy finish (RUNNING)")
            }
        } catch {
            Issue.record("\(error); the screen was:\n\(screen.lines.joined(separator: "\n"))")
            return
        }
        #expect(!screen.cursorVisible)
        let pid = try #require(
            Int32(
                String(decoding: try Data(contentsOf: pidFile), as: UTF8.self).trimmingCharacters(
                    in: .whitespacesAndNewlines
                )
            )
        )
        #expect(kill(pid, SIGTERM) == 0)
        #expect(try await child.awaitExit() == 0)
        var replayed = ScreenEmulator(width: 80, height: 24)
        replayed.feed(child.raw)
        #expect(replayed.cursorVisible)
    }

    @Test("in a pipe: plain event and status lines, no escape codes; SIGINT ends it with 0")
    func pipe() async throws {
        guard let executable = Self.executable() else {
            Issue.record("no built obwatch executable next to the tests or under .build-run/.build; build it first")
            return
        }
        let running = try await ManualSimulator(try bundledScenario("scale-out.yaml"))
        defer { running.stop() }
        var child = try WatchChild.launch(
            executable: executable,
            arguments: [
                "watch", "--url", running.url, "--password-env", Self.passwordVariable, "--interval", "200ms",
            ],
            environment: [Self.passwordVariable: "root-pw"],
            deadline: 120
        )
        defer { kill(child.process.processIdentifier, SIGKILL) }
        var lines = PlainLines()
        do {
            var sawStarted = false
            try await child.awaitOutput("the started event and a status line at 4/9") { data in
                for line in lines.append(data) {
                    if line.contains(" started Cluster scale out") { sawStarted = true }
                    if sawStarted, line.contains(" status 127.0.0.1  up  "),
                        line.hasSuffix(": Cluster scale out 4/9 RUNNING/RUN at Wait remote deploy finish")
                    {
                        return true
                    }
                }
                return false
            }
            _ = try await running.simulator.advance(to: .seconds(15))
            try await child.awaitOutput("the stage_advanced event") { data in
                lines.append(data).contains { $0.contains(" stage_advanced ") }
            }
        } catch {
            Issue.record("\(error); printed:\n\(lines.all.joined(separator: "\n"))")
            return
        }
        #expect(kill(child.process.processIdentifier, SIGINT) == 0)
        let status = try await child.awaitExit()
        #expect(status == 0)
        #expect(!child.raw.contains(0x1B))
        #expect(!String(decoding: child.raw, as: UTF8.self).contains("root-pw"))
        let started = lines.all.filter { $0.contains(" started ") }
        #expect(started.count == 1)
    }

    @Test("--config: every target, an unreachable one DOWN; the daemon's state_dir untouched; SIGTERM exits 0")
    func config() async throws {
        guard let executable = Self.executable() else {
            Issue.record("no built obwatch executable next to the tests or under .build-run/.build; build it first")
            return
        }
        let running = try await ManualSimulator(try bundledScenario("scale-out.yaml"))
        defer { running.stop() }
        let folder = try temporaryFolder("obwatch-watch-config")
        defer { try? FileManager.default.removeItem(at: folder) }
        let stateDirectory = folder.appendingPathComponent("state")
        let config = folder.appendingPathComponent("obwatch.yaml")
        try Data(
            """
            state_dir: \(stateDirectory.path)
            defaults: { down_after: 1 }
            targets:
              - { name: sim, url: "\(running.url)", password: "${\(Self.passwordVariable)}", timeout: 30s }
              - { name: dead, url: "http://127.0.0.1:1", password: x, timeout: 1s }
            """.utf8
        ).write(to: config)
        var child = try WatchChild.launch(
            executable: executable,
            arguments: ["watch", "--config", config.path, "--interval", "200ms"],
            environment: [Self.passwordVariable: "root-pw"],
            deadline: 120
        )
        defer { kill(child.process.processIdentifier, SIGKILL) }
        var lines = PlainLines()
        do {
            var (sawSim, sawDead, sawDown) = (false, false, false)
            try await child.awaitOutput("a status line of each target and the target_down event") { data in
                for line in lines.append(data) {
                    if line.contains(" status sim  up  "), line.contains(": Cluster scale out 4/9 RUNNING/RUN") {
                        sawSim = true
                    }
                    if line.contains(" status dead  DOWN  polled ") { sawDead = true }
                    if line.contains(" target_down ") { sawDown = true }
                }
                return sawSim && sawDead && sawDown
            }
        } catch {
            Issue.record("\(error); printed:\n\(lines.all.joined(separator: "\n"))")
            return
        }
        #expect(kill(child.process.processIdentifier, SIGTERM) == 0)
        #expect(try await child.awaitExit() == 0)
        #expect(!FileManager.default.fileExists(atPath: stateDirectory.path))
        #expect(!child.raw.contains(0x1B))

        // A config that `obwatch check` refuses: exit 1 at once, in watch's own name.
        let errors = folder.appendingPathComponent("refused.err")
        var refused = try WatchChild.launch(
            executable: executable,
            arguments: ["watch", "--config", folder.appendingPathComponent("missing.yaml").path],
            environment: [:],
            deadline: 120,
            standardError: errors
        )
        #expect(try await refused.awaitExit() == 1)
        let printed = String(decoding: (try? Data(contentsOf: errors)) ?? Data(), as: UTF8.self)
        #expect(printed.contains("obwatch watch: "), "\(printed)")
        #expect(!printed.contains("obwatch run"), "\(printed)")
    }
}
