import Foundation
import PeerSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Why a chaos run could not go on: a wait that ran out, a child that stopped talking, a peer that said no.
struct ChaosError: Error, CustomStringConvertible {
    var description: String
}

/// Which child a line came from.
enum ChildRole: Sendable, Hashable {
    case simulator
    case proxy
    case hook
    /// `obwatch run`, numbered by start: a killed daemon's last lines must not count for its successor.
    case daemon(Int)
    /// The standard error of `obwatch run`, numbered like its output.
    case daemonLog(Int)
    /// `obwatch replay`.
    case replay
}

/// Everything the children say, merged into one stream so that a wait can look at all of them in order.
enum ChildSignal: Sendable {
    case line(ChildRole, String)
    /// The child closed this output (it exited, or was killed): every line it wrote has been seen.
    case closed(ChildRole)
    case exited(ChildRole, Int32)
    case deadline(Int)
}

/// Splits the bytes a pipe delivers into lines (`\n` only); the pipe's handler runs off the test's task.
private final class LineSplitter: Sendable {
    private let pending = Mutex([UInt8]())

    func append(_ data: Data) -> [String] {
        self.pending.withLock { pending in
            pending.append(contentsOf: data)
            var lines: [String] = []
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                lines.append(String(decoding: pending[..<newline], as: UTF8.self))
                pending.removeSubrange(...newline)
            }
            return lines
        }
    }
}

/// Whether a child has exited; set by its termination handler, read before every signal.
final class ExitFlag: Sendable {
    private let value = Mutex(false)

    func set() { self.value.withLock { $0 = true } }

    /// Runs `body` unless the child has exited, holding the lock so that the exit cannot slip in between.
    func unlessExited(_ body: () -> Bool) -> Bool {
        self.value.withLock { exited in exited ? false : body() }
    }
}

/// One started child process; ``kill()`` is safe to call at any time, also after it has exited.
final class Child: Sendable {
    let role: ChildRole
    private let process: Process
    private let input: Pipe
    /// Set by the termination handler: a pid is never signalled once the system may have given it to another process.
    private let exited: ExitFlag
    /// The output pipes, kept as long as the child: libdispatch watches their descriptors.
    private let outputs: [Pipe]

    fileprivate init(role: ChildRole, process: Process, input: Pipe, outputs: [Pipe], exited: ExitFlag) {
        self.role = role
        self.outputs = outputs
        self.process = process
        self.input = input
        self.exited = exited
    }

    /// The process id, for messages.
    var pid: Int32 { self.process.processIdentifier }

    /// Sends `signal` unless the child has already exited.
    @discardableResult
    func send(_ signal: Int32) -> Bool {
        self.exited.unlessExited { Glibc.kill(self.process.processIdentifier, signal) == 0 }
    }

    /// SIGKILL, whatever it is doing.
    func kill() { self.send(SIGKILL) }

    /// Writes one command line to the child's standard input.
    func command(_ text: String) {
        try? self.input.fileHandleForWriting.write(contentsOf: Data((text + "\n").utf8))
    }

    /// Closes standard input: the Python peers exit on that.
    func closeInput() {
        try? self.input.fileHandleForWriting.close()
    }
}

/// Every child ever started, kept for the life of the test process: a `Process` or `Pipe` freed while libdispatch
/// still watches its descriptors can crash the test runner, and a few objects per test are cheap.
private let keptChildren = Mutex<[Child]>([])

/// The children of one test and the merged stream of what they say. Every wait has a deadline.
final class ChildGroup {
    private let continuation: AsyncStream<ChildSignal>.Continuation
    private var signals: AsyncStream<ChildSignal>.Iterator
    private var children: [Child] = []
    private var deadlines = 0
    /// Every line seen so far, for failure messages and the final comparison.
    private(set) var seen: [(ChildRole, String)] = []

    init() {
        let (stream, continuation) = AsyncStream.makeStream(of: ChildSignal.self)
        self.continuation = continuation
        self.signals = stream.makeAsyncIterator()
    }

    deinit {
        self.killAll()
    }

    /// SIGKILL to every child still running; called on every path out of a test.
    func killAll() {
        for child in self.children { child.kill() }
    }

    /// Starts a program whose stdout (and, for the daemon, stderr) lines go into the merged stream.
    @discardableResult
    func launch(
        _ role: ChildRole,
        executable: URL,
        arguments: [String],
        environment: [String: String] = [:],
        errorRole: ChildRole? = nil
    ) throws -> Child {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let input = Pipe()
        process.standardInput = input
        let output = Pipe()
        process.standardOutput = output
        let continuation = self.continuation
        // `make reliability` keeps what every child printed and scans it for the test secrets.
        let log = TestLog(label: "chaos-\(role)")
        Self.forward(output, role: role, to: continuation, log: log)
        var outputs = [output]
        if let errorRole {
            let errors = Pipe()
            outputs.append(errors)
            process.standardError = errors
            Self.forward(errors, role: errorRole, to: continuation, log: log)
        } else {
            process.standardError = log.standardError
        }
        let exited = ExitFlag()
        process.terminationHandler = { finished in
            exited.set()
            continuation.yield(.exited(role, finished.terminationStatus))
        }
        try process.run()
        let child = Child(role: role, process: process, input: input, outputs: outputs, exited: exited)
        self.children.append(child)
        keptChildren.withLock { $0.append(child) }
        return child
    }

    private static func forward(
        _ pipe: Pipe,
        role: ChildRole,
        to continuation: AsyncStream<ChildSignal>.Continuation,
        log: TestLog
    ) {
        let splitter = LineSplitter()
        PipeDrain.start(
            pipe.fileHandleForReading,
            onData: { data in
                log.append(data)
                for line in splitter.append(data) { continuation.yield(.line(role, line)) }
            },
            onEnd: { continuation.yield(.closed(role)) }
        )
    }

    /// Reads the merged stream until `until` returns a value for a signal, or fails after `seconds`.
    ///
    /// The deadline is a timer that puts a marker into the stream (nothing pauses), and it only bounds a wait that
    /// normally ends much earlier, so the result never depends on the machine's speed.
    @discardableResult
    func wait<Value>(
        _ what: String,
        within seconds: Double = 60,
        until: (ChildSignal) throws -> Value?
    ) async throws -> Value {
        self.deadlines += 1
        let token = self.deadlines
        let continuation = self.continuation
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { continuation.yield(.deadline(token)) }
        while let signal = await self.signals.next(isolation: #isolation) {
            if case .line(let role, let line) = signal { self.seen.append((role, line)) }
            if case .deadline(let expired) = signal {
                guard expired == token else { continue }
                throw ChaosError(description: "no \(what) within \(Int(seconds)) s; last lines: \(self.tail())")
            }
            if let value = try until(signal) { return value }
        }
        throw ChaosError(description: "the stream ended before \(what)")
    }

    /// The last lines seen, for failure messages.
    func tail(_ count: Int = 25) -> String {
        self.seen.suffix(count).map { "\($0.0): \($0.1)" }.joined(separator: "\n")
    }
}

/// A JSON object line of a peer, or nil.
func jsonObject(_ line: String) -> [String: Any]? {
    try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
}

/// Where the tests find `obwatch`: `OBWATCH_BINARY`, else the build folder above the test bundle.
enum ObwatchBinary {
    static func locate() -> URL? {
        if let path = ProcessInfo.processInfo.environment["OBWATCH_BINARY"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        var candidates: [URL] = []
        var folder = URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent()
        // The bundle may be a directory (…/debug/obwatchPackageTests.xctest/…): walk up to the build folder.
        for _ in 0..<5 {
            candidates.append(folder.appendingPathComponent("obwatch"))
            candidates.append(folder.appendingPathComponent(".build/debug/obwatch"))
            folder = folder.deletingLastPathComponent()
        }
        return candidates.first { candidate in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory)
                && !isDirectory.boolValue && FileManager.default.isExecutableFile(atPath: candidate.path)
        }
    }
}

/// The test resources: scenarios and the Python peer.
enum ChaosResources {
    static func url(_ name: String) throws -> URL {
        guard let folder = Bundle.module.url(forResource: "Scenarios", withExtension: nil) else {
            throw ChaosError(description: "the Scenarios resource folder is missing from the test bundle")
        }
        return folder.appendingPathComponent(name)
    }
}

/// A fresh folder under the temporary directory.
func temporaryFolder(_ prefix: String) throws -> URL {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder
}

/// SplitMix64: a tiny seeded generator, so that a seed printed by a failing run reproduces its kill points.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { self.state = seed }

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = self.state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
