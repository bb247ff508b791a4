public import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A real PostgreSQL server for one test run: Debian's binaries (`/usr/lib/postgresql/VERSION/bin`), a cluster made
/// with `initdb` in a temporary folder, listening on a free loopback port, with one superuser that logs in with a
/// password (SCRAM).
///
/// PostgreSQL refuses to run as root: when the tests run as root, `initdb` and the server run as the `postgres`
/// user (`runuser -u postgres --`) in a folder handed to that user; as any other user they run as that user.
///
/// The server runs under a small shell that stops it (fast shutdown) and removes its folder when the test says so
/// or when the test process ends, so a crashed test leaves no server behind.
public final class PostgresServer: Sendable {
    /// Why no server could be started.
    public struct Failure: Error, CustomStringConvertible {
        /// What went wrong, with the server's last words.
        public var description: String
    }

    /// The server's address: loopback.
    public let host = "127.0.0.1"
    /// The port it listens on.
    public let port: Int
    /// The superuser the tests log in as.
    public let user = "obwatch_test"
    /// Its password; listed in Tests/test-secrets.txt, so the secret scan fails any log that shows it.
    public let password = "pg-Secret-4711"
    /// The database every cluster has.
    public let database = "postgres"
    /// The folder of the cluster (`data/` inside it).
    public let folder: URL

    private let binaries: String
    private let running = Mutex<RunningServer?>(nil)

    /// `postgres://USER:PASSWORD@127.0.0.1:PORT/postgres`.
    public var url: String { "postgres://\(self.user):\(self.password)@\(self.host):\(self.port)/\(self.database)" }

    /// The newest installed server's `bin` folder (with `initdb` and `postgres`), or `nil` when none is installed.
    public static let binaryFolder: String? = {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        let usable = versions.compactMap { version -> (Int, String)? in
            let bin = "\(root)/\(version)/bin"
            guard let number = Int(version), FileManager.default.isExecutableFile(atPath: "\(bin)/postgres"),
                FileManager.default.isExecutableFile(atPath: "\(bin)/initdb")
            else { return nil }
            return (number, bin)
        }
        return usable.max { $0.0 < $1.0 }?.1
    }()

    /// Whether a server can be started here; tests that need one are skipped (with the reason) when it cannot.
    public static var isAvailable: Bool { Self.binaryFolder != nil }

    /// Why tests that need PostgreSQL are skipped.
    public static let unavailableReason =
        "PostgreSQL's server binaries (/usr/lib/postgresql/*/bin) are not installed: `make deps` installs them"

    private init(folder: URL, port: Int, binaries: String) {
        self.folder = folder
        self.port = port
        self.binaries = binaries
    }

    // MARK: - Starting and stopping

    /// Makes a new cluster and starts its server.
    /// - Parameter label: Names the log kept of the server's output (`OBWATCH_TEST_LOG_DIR`).
    /// - Throws: ``Failure`` when the binaries are missing, `initdb` fails or the server does not come up.
    public static func start(label: String = "postgres") async throws -> PostgresServer {
        guard let binaries = Self.binaryFolder else { throw Failure(description: Self.unavailableReason) }
        let folder = try Self.makeFolder()
        var lastFailure = Failure(description: "the server did not start")
        for _ in 0..<3 {
            let server = PostgresServer(folder: folder, port: try Self.freePort(), binaries: binaries)
            if !FileManager.default.fileExists(atPath: folder.appendingPathComponent("data").path) {
                try await server.initialize()
            }
            do {
                try await server.launch(label: label)
                return server
            } catch let failure as Failure where failure.description.contains("could not bind") {
                // Another process took the port between the probe and the server's bind: another port.
                lastFailure = failure
            }
        }
        throw lastFailure
    }

    /// One server for the whole test process, started by the first test that asks; it stops (and its folder goes)
    /// when the process ends.
    public static func shared() async throws -> PostgresServer {
        try await SharedServer.instance.server()
    }

    /// Stops the server and keeps its cluster, for ``restart()``: what a test does to take the store away.
    public func stop() async {
        await self.halt(keep: true)
    }

    /// Starts the server again on the same cluster and port.
    /// - Throws: ``Failure`` when it does not come up.
    public func restart() async throws {
        try await self.launch(label: "postgres-restart")
    }

    /// Stops the server and removes its folder.
    public func remove() async {
        await self.halt(keep: false)
        try? FileManager.default.removeItem(at: self.folder)
    }

    /// A fresh schema name for one test (`t_` and random letters), so that tests sharing a server never meet.
    public static func uniqueSchema() -> String {
        "t_" + UUID().uuidString.lowercased().replacing("-", with: "").prefix(16)
    }

    // MARK: - initdb

    private static var isRoot: Bool { geteuid() == 0 }

    private static func makeFolder() throws -> URL {
        let folder = URL(fileURLWithPath: "/tmp").appendingPathComponent("obwatch-pg-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
        if Self.isRoot {
            guard let account = getpwnam("postgres") else {
                throw Failure(description: "running as root, and there is no postgres user to run PostgreSQL as")
            }
            guard chown(folder.path, account.pointee.pw_uid, account.pointee.pw_gid) == 0 else {
                throw Failure(description: "cannot hand \(folder.path) to the postgres user")
            }
        }
        chmod(folder.path, 0o700)
        return folder
    }

    private func initialize() async throws {
        let passwordFile = self.folder.appendingPathComponent("password")
        try Data((self.password + "\n").utf8).write(to: passwordFile)
        defer { try? FileManager.default.removeItem(at: passwordFile) }
        if Self.isRoot, let account = getpwnam("postgres") {
            chown(passwordFile.path, account.pointee.pw_uid, account.pointee.pw_gid)
        }
        chmod(passwordFile.path, 0o600)
        let (status, output) = try await self.runToEnd(
            "\(self.binaries)/initdb",
            [
                "-D", self.folder.appendingPathComponent("data").path, "-U", self.user, "--pwfile=\(passwordFile.path)",
                "-A", "scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions",
            ]
        )
        guard status == 0 else { throw Failure(description: "initdb failed (\(status)): \(output)") }
    }

    /// Runs a program (as the postgres user when root) and returns its exit status and output.
    ///
    /// The output goes to a file, not a pipe: a server another test starts meanwhile would inherit the pipe's
    /// end and hold it open, and its end would never come.
    private func runToEnd(_ program: String, _ arguments: [String]) async throws -> (Int32, String) {
        let process = Self.process(program, arguments, folder: self.folder)
        let outputFile = self.folder.appendingPathComponent("\(URL(fileURLWithPath: program).lastPathComponent).log")
        guard FileManager.default.createFile(atPath: outputFile.path, contents: nil),
            let output = FileHandle(forWritingAtPath: outputFile.path)
        else { throw Failure(description: "cannot write \(outputFile.path)") }
        defer {
            try? output.close()
            try? FileManager.default.removeItem(at: outputFile)
        }
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        let (exits, exited) = AsyncStream<Int32>.makeStream()
        process.terminationHandler = { finished in
            exited.yield(finished.terminationStatus)
            exited.finish()
        }
        try process.run()
        var status: Int32 = -1
        for await code in exits { status = code }
        let text = (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
        return (status, text)
    }

    /// A program run as the postgres user when root, in a session of its own: a test runner that signals its
    /// process group when it ends must not cut the supervisor short before it removed the cluster (it notices the
    /// test process gone and stops the server in order instead).
    private static func process(_ program: String, _ arguments: [String], folder: URL) -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        // `--wait`: the process the test waits for is the program, not a setsid that forked it and left.
        if Self.isRoot {
            process.arguments = ["--wait", "/usr/sbin/runuser", "-u", "postgres", "--", program] + arguments
        } else {
            process.arguments = ["--wait", program] + arguments
        }
        process.currentDirectoryURL = folder
        return process
    }

    // MARK: - The server

    /// The shell the server runs under. It starts `postgres` and watches three things, a few times a second: the
    /// server (gone by itself: the shell ends, and the test sees it), the test process (gone: the server is stopped
    /// and its folder removed, so a crashed test leaves nothing behind), and a `stop` file the test writes (the
    /// server is stopped; the folder stays when a `keep` file is beside it, for a restart). Files and a pid, not a
    /// pipe: every process the test process starts may inherit a pipe's end and keep it open.
    private static let supervisor = """
        folder=$1; port=$2; bin=$3; owner=$4
        rm -f "$folder/stop" "$folder/keep"
        "$bin/postgres" -D "$folder/data" -p "$port" -c listen_addresses=127.0.0.1 \
            -c "unix_socket_directories=$folder" -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
            -c max_connections=200 </dev/null 2>&1 &
        server=$!
        while kill -0 "$server" 2>/dev/null && [ -d "/proc/$owner" ] && [ ! -e "$folder/stop" ]; do sleep 0.1; done
        kill -INT "$server" 2>/dev/null
        wait "$server"
        if [ -e "$folder/keep" ]; then rm -f "$folder/stop" "$folder/keep"; else rm -rf "$folder"; fi
        """

    private func launch(label: String) async throws {
        let process = Self.process(
            "/bin/sh",
            ["-c", Self.supervisor, "sh", self.folder.path, "\(self.port)", self.binaries, "\(getpid())"],
            folder: self.folder
        )
        let output = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = output
        let log = TestLog(label: label)
        let transcript = Transcript()
        let (signals, signal) = AsyncStream<Bool>.makeStream()
        PipeDrain.start(
            output.fileHandleForReading,
            onData: { data in
                log.append(data)
                if transcript.append(data) { signal.yield(true) }
            },
            onEnd: {}
        )
        let (exits, exitSink) = AsyncStream<Void>.makeStream()
        process.terminationHandler = { _ in
            // The supervisor ended: the server did not start, or it was stopped.
            signal.yield(false)
            exitSink.yield()
            exitSink.finish()
        }
        do {
            try process.run()
        } catch {
            throw Failure(description: "cannot start PostgreSQL: \(error)")
        }
        self.running.withLock { $0 = RunningServer(exits: exits) }
        let started = await Self.firstAnswer(of: signals, within: .seconds(120))
        guard started == true else {
            await self.halt(keep: true)
            throw Failure(
                description: "PostgreSQL did not start on port \(self.port): \(transcript.text.suffix(2000))"
            )
        }
    }

    /// The first value of `stream`, or `nil` when none came within `bound`.
    private static func firstAnswer(of stream: AsyncStream<Bool>, within bound: Duration) async -> Bool? {
        await withTaskGroup(of: Bool?.self) { group in
            group.addTask {
                for await value in stream { return value }
                return false
            }
            group.addTask {
                // The bound of a wait for the server, never what a test measures.
                try? await ContinuousClock().sleep(for: bound)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    private func halt(keep: Bool) async {
        guard
            let running = self.running.withLock({ server -> RunningServer? in
                defer { server = nil }
                return server
            })
        else { return }
        if keep {
            FileManager.default.createFile(atPath: self.folder.appendingPathComponent("keep").path, contents: nil)
        }
        FileManager.default.createFile(atPath: self.folder.appendingPathComponent("stop").path, contents: nil)
        for await _ in running.exits {}
    }
}

/// The supervisor of a running server: its exit.
private struct RunningServer: Sendable {
    let exits: AsyncStream<Void>
}

/// The server's output so far; says when the server is ready.
private final class Transcript: Sendable {
    private let state = Mutex<(text: String, ready: Bool)>(("", false))

    /// Adds output; `true` the first time the server says it accepts connections.
    func append(_ data: Data) -> Bool {
        self.state.withLock { state in
            state.text += String(decoding: data, as: UTF8.self)
            if state.text.count > 20000 { state.text = String(state.text.suffix(10000)) }
            guard !state.ready, state.text.contains("ready to accept connections") else { return false }
            state.ready = true
            return true
        }
    }

    /// Everything kept.
    var text: String { self.state.withLock { $0.text } }
}

/// The process's one shared server.
private actor SharedServer {
    static let instance = SharedServer()
    private var started: Task<PostgresServer, any Error>?

    func server() async throws -> PostgresServer {
        if let started { return try await started.value }
        let task = Task { try await PostgresServer.start(label: "postgres-shared") }
        self.started = task
        return try await task.value
    }
}

extension PostgresServer {
    /// A port nobody listens on now, on loopback.
    fileprivate static func freePort() throws -> Int {
        try LoopbackPort.free()
    }
}
