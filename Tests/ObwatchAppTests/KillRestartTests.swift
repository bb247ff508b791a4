import ConfigModel
import Curl
import Delivery
import Foundation
import ObshellModel
import ObwatchTestKit
import PeerSupport
import Pipeline
import Simulator
import Support
import Synchronization
import Testing
import Tracker

@testable import ObwatchApp

#if canImport(Glibc)
import Glibc
#endif

/// What the test sees of a child `obwatch run`: its stdout lines, its end of output, its exit, or the deadline.
enum ChildOutput: Sendable {
    case line(String)
    case endOfOutput
    case exited(Int32)
    case deadline
}

/// Splits the bytes a pipe delivers into whole lines; the pipe's handler runs off the test's task.
final class LineSplitter: Sendable {
    private let pending = Mutex(Data())

    func append(_ data: Data) -> [String] {
        self.pending.withLock { pending in
            pending.append(data)
            var lines: [String] = []
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                lines.append(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                pending = Data(pending[pending.index(after: newline)...])
            }
            return lines
        }
    }
}

/// An event line, reduced to what the test compares.
struct PrintedEvent: Equatable, CustomStringConvertible {
    var id: String
    var type: String

    var description: String { "\(self.type)(\(self.id))" }

    init?(line: String) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let id = object["id"] as? String, let type = object["type"] as? String
        else { return nil }
        self.id = id
        self.type = type
    }
}

/// Why a wait on the child ended without what it waited for.
struct ChildWaitError: Error, CustomStringConvertible {
    var description: String
}

/// A running `obwatch run` child and everything it has printed so far.
struct Child {
    let process: Process
    /// Kept open: a peer that exits when its standard input closes lives as long as the test holds this.
    let input: Pipe
    var output: AsyncStream<ChildOutput>.Iterator
    var events: [PrintedEvent] = []
    var otherLines: [String] = []

    /// Launches the binary; a deadline kills it and ends every wait so that a stuck child fails the test.
    static func launch(
        executable: URL,
        config: String,
        environment: [String: String],
        deadline: Double
    ) throws
        -> Child
    {
        try Self.launch(
            executable: executable,
            arguments: ["run", "--config", config],
            environment: environment,
            deadline: deadline
        )
    }

    /// Launches any program with its standard output read line by line.
    static func launch(
        executable: URL,
        arguments: [String],
        environment: [String: String] = [:],
        deadline: Double,
        standardError: URL? = nil
    ) throws
        -> Child
    {
        let (stream, continuation) = AsyncStream.makeStream(of: ChildOutput.self)
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
        let splitter = LineSplitter()
        PipeDrain.start(
            pipe.fileHandleForReading,
            onData: { data in
                log.append(data)
                for line in splitter.append(data) { continuation.yield(.line(line)) }
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
        return Child(process: process, input: input, output: stream.makeAsyncIterator())
    }

    /// Reads output until an event of `type` is printed.
    mutating func awaitEvent(_ type: EventType) async throws {
        while true {
            switch await self.output.next(isolation: #isolation) ?? .deadline {
            case .line(let line):
                if let event = PrintedEvent(line: line) {
                    self.events.append(event)
                    if event.type == type.rawValue { return }
                } else {
                    self.otherLines.append(line)
                }
            case .exited:
                // Lines may still be in the pipe; the end of output is the answer.
                continue
            case .endOfOutput:
                throw ChildWaitError(description: "the child ended its output before printing \(type.rawValue)")
            case .deadline:
                throw ChildWaitError(description: "no \(type.rawValue) before the deadline")
            }
        }
    }

    /// Reads output until a line that `matches`, keeping every line on the way in ``otherLines``.
    mutating func awaitLine(_ what: String, where matches: (String) -> Bool) async throws -> String {
        while true {
            switch await self.output.next(isolation: #isolation) ?? .deadline {
            case .line(let line):
                self.otherLines.append(line)
                if matches(line) { return line }
            case .exited:
                continue
            case .endOfOutput:
                throw ChildWaitError(description: "the child ended its output before \(what)")
            case .deadline:
                throw ChildWaitError(description: "no \(what) before the deadline")
            }
        }
    }

    /// Reads output until the child has exited, keeping every event it printed on the way.
    mutating func awaitExit() async throws {
        while true {
            switch await self.output.next(isolation: #isolation) ?? .deadline {
            case .line(let line):
                if let event = PrintedEvent(line: line) {
                    self.events.append(event)
                } else {
                    self.otherLines.append(line)
                }
            case .endOfOutput:
                continue
            case .exited:
                return
            case .deadline:
                throw ChildWaitError(description: "the child did not exit before the deadline")
            }
        }
    }
}

@Suite("obwatch run: kill -9 and restart on the same state_dir", .serialized)
struct KillRestartTests {
    /// The `obwatch` built beside the running test bundle, else the usual scratch folders.
    static func executableForTests() -> URL? { Self.executable() }

    private static func executable() -> URL? {
        var candidates: [URL] = []
        let running = URL(fileURLWithPath: CommandLine.arguments.first ?? "")
        var folder = running.deletingLastPathComponent()
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

    /// What the tracker owes after a restart, computed in process: the same scenario polled at the times the child
    /// saw, the state saved at the failure, then one poll at the end through a fresh poller on the same store.
    private static func owedAfterFailure(
        scenario: Scenario,
        failureAt: Duration,
        end: Duration
    ) async throws
        -> [String]
    {
        let running = try await ManualSimulator(scenario)
        defer { running.stop() }
        let (simulator, url) = (running.simulator, running.url)
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("obwatch-owed-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = ObwatchConfig.Target(
            name: "sim",
            url: url,
            password: Password("root-pw"),
            pollInterval: .milliseconds(200),
            timeout: .seconds(30),
            labels: [:]
        )
        // The simulator answers in real time, as the daemon polls it.
        let clock = SystemClock()
        func makePoller() async throws -> TargetPoller {
            try await TargetPoller(
                target: target,
                settings: TrackerSettings(),
                storage: LocalStateFolder(directory: folder, clock: clock),
                clock: clock,
                sink: { _ in }
            )
        }
        let first = try await makePoller()
        _ = await first.pollOnce()
        _ = try await simulator.advance(to: failureAt)
        _ = await first.pollOnce()
        _ = try await simulator.advance(to: end)
        return try await makePoller().pollOnce().map(\.type.rawValue)
    }

    @Test(
        "scale-out-fails: after kill -9 the second run prints what was still owed (and repeats, same ids, what it had not saved)",
        arguments: [false, true]
    )
    func killAndRestart(stepwise: Bool) async throws {
        guard let executable = Self.executable() else {
            Issue.record("no built obwatch executable next to the tests or under .build-run/.build; build it first")
            return
        }
        let scenario = try bundledScenario("scale-out-fails.yaml")
        let failureAt = Duration.seconds(25)
        let end = scenario.lastStepTime + .seconds(5)
        let owed = try await Self.owedAfterFailure(scenario: scenario, failureAt: failureAt, end: end)

        let running = try await ManualSimulator(scenario)
        defer { running.stop() }
        let (simulator, url) = (running.simulator, running.url)

        let folder = try temporaryFolder("obwatch-kill")
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("obwatch.yaml")
        let text = """
            state_dir: \(folder.appendingPathComponent("state").path)
            targets:
              - name: sim
                url: \(url)
                password: "${OBWATCH_KILL_TEST_PASSWORD}"
                poll_interval: 200ms
                timeout: 30s
            """
        try Data(text.utf8).write(to: config)
        let environment = ["OBWATCH_KILL_TEST_PASSWORD": "root-pw"]

        var first = try Child.launch(
            executable: executable,
            config: config.path,
            environment: environment,
            deadline: 120
        )
        do {
            _ = try await simulator.advance(to: .seconds(5))
            try await first.awaitEvent(.started)
            _ = try await simulator.advance(to: failureAt)
            try await first.awaitEvent(.failed)
        } catch {
            kill(first.process.processIdentifier, SIGKILL)
            try? await first.awaitExit()
            Issue.record("first run: \(error); printed \(first.events), other lines \(first.otherLines)")
            return
        }
        #expect(kill(first.process.processIdentifier, SIGKILL) == 0)
        try await first.awaitExit()
        #expect(first.process.terminationReason == .uncaughtSignal)

        // Either the scenario runs to its end while obwatch is down, or obwatch is back for the retry and each step
        // is awaited before the next, so that it sees every state the scenario goes through.
        _ = try await simulator.advance(to: stepwise ? .seconds(65) : end)
        var second = try Child.launch(
            executable: executable,
            config: config.path,
            environment: environment,
            deadline: 120
        )
        do {
            if stepwise {
                try await second.awaitEvent(.retried)
                _ = try await simulator.advance(to: .seconds(75))
                try await second.awaitEvent(.stageAdvanced)
                _ = try await simulator.advance(to: .seconds(80))
                try await second.awaitEvent(.stageAdvanced)
                _ = try await simulator.advance(to: end)
            }
            try await second.awaitEvent(.succeeded)
        } catch {
            Issue.record("second run: \(error); printed \(second.events), other lines \(second.otherLines)")
        }
        kill(second.process.processIdentifier, SIGKILL)
        try await second.awaitExit()

        // The kill may land after the last events were printed but before the state was saved without them: the
        // restart then hands them on again first, with the same ids (at least once, never lost). Those repeats
        // are the end of the first run's output; everything else is what was still owed.
        let firstIDs = Set(first.events.map(\.id))
        let repeated = second.events.prefix { firstIDs.contains($0.id) }
        #expect(Array(first.events.suffix(repeated.count)) == Array(repeated))
        #expect(second.events.dropFirst(repeated.count).allSatisfy { !firstIDs.contains($0.id) })
        let firstTypes = first.events.map(\.type)
        let secondTypes = second.events.dropFirst(repeated.count).map(\.type)
        #expect(Array(firstTypes.prefix(1)) == ["started"])
        #expect(firstTypes.contains("node_failed"))
        #expect(firstTypes.contains("failed"))
        #expect(!secondTypes.contains("started"))
        #expect(!secondTypes.contains("failed") && !secondTypes.contains("node_failed"))
        if stepwise {
            // Stage 7 fails; the retry at 1m and start at 1m5s run it again, 1m15s and 1m20s reach stages 8 and 9,
            // and the advance at 1m25s finishes the last node.
            #expect(secondTypes == ["retried", "stage_advanced", "stage_advanced", "succeeded"])
        } else {
            // One observation from FAILED on stage 7 to the end: one stage_advanced for the jump (CONTRACT: one per
            // pair of observations), the retry and the success, as the tracker orders them in process.
            #expect(secondTypes == owed)
            #expect(secondTypes.sorted() == ["retried", "stage_advanced", "succeeded"])
            #expect(secondTypes.last == "succeeded")
        }
        #expect(first.otherLines.isEmpty && second.otherLines.isEmpty)
    }
}

@Suite("obwatch run: kill -9 during a delivery, then a restart", .serialized)
struct DeliveryKillRestartTests {
    /// The webhook receiver of the delivery tests.
    static let receiverScript = packageRoot.appendingPathComponent("Tests/DeliveryTests/Peers/webhook_receiver.py")

    /// One request the receiver saw: the notification id and the event ids in the generic body.
    private struct Received {
        var idempotencyKey: String
        var notificationID: String
        var eventIDs: [String]
        var eventTypes: [String]
        var answered: Bool

        init?(line: String) {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let headers = object["headers"] as? [String: String],
                let body = object["body"] as? String,
                let notification = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
                let events = notification["events"] as? [[String: Any]]
            else { return nil }
            self.idempotencyKey = headers["idempotency-key"] ?? ""
            self.notificationID = notification["id"] as? String ?? ""
            self.eventIDs = events.compactMap { $0["id"] as? String }
            self.eventTypes = events.compactMap { $0["type"] as? String }
            self.answered = (object["answer"] as? [String: Any])?["hang"] == nil
        }
    }

    @Test("nothing is lost, and a notification sent twice carries the same id")
    func killDuringDelivery() async throws {
        guard let executable = KillRestartTests.executableForTests() else {
            Issue.record("no built obwatch executable next to the tests or under .build-run/.build; build it first")
            return
        }
        // The first request hangs: obwatch is killed while it waits for the answer.
        var receiver = try Child.launch(
            executable: URL(fileURLWithPath: "/usr/bin/python3"),
            arguments: [Self.receiverScript.path, #"[{"hang":true}]"#],
            deadline: 120
        )
        defer { kill(receiver.process.processIdentifier, SIGKILL) }
        let port = try await receiver.awaitLine("the port") { Int($0) != nil }

        let scenario = try bundledScenario("scale-out-fails.yaml")
        let running = try await ManualSimulator(scenario)
        defer { running.stop() }
        let (simulator, url) = (running.simulator, running.url)
        let folder = try temporaryFolder("obwatch-delivery-kill")
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("obwatch.yaml")
        try Data(
            """
            state_dir: \(folder.appendingPathComponent("state").path)
            targets:
              - { name: sim, url: "\(url)", password: root-pw, poll_interval: 200ms, timeout: 30s }
            receivers:
              - name: hook
                webhook: { format: generic, url: "http://127.0.0.1:\(port)/hook" }
                timeout: 60s
                retry: { initial: 100ms, max: 200ms }
            rules:
              - { name: everything, match: { event: "*" }, notify: [hook] }
            """.utf8
        ).write(to: config)

        var first = try Child.launch(executable: executable, config: config.path, environment: [:], deadline: 120)
        _ = try await simulator.advance(to: .seconds(5))
        try await first.awaitEvent(.started)
        // The receiver has the started notification and is holding it: kill -9 now.
        let held = try await receiver.awaitLine("the first request") { Received(line: $0) != nil }
        #expect(Received(line: held)?.eventTypes == ["started"])
        #expect(kill(first.process.processIdentifier, SIGKILL) == 0)
        try await first.awaitExit()

        _ = try await simulator.advance(to: scenario.lastStepTime + .seconds(5))
        var second = try Child.launch(executable: executable, config: config.path, environment: [:], deadline: 120)
        defer { kill(second.process.processIdentifier, SIGKILL) }
        do {
            try await second.awaitEvent(.succeeded)
        } catch {
            Issue.record("second run: \(error); printed \(second.events), other lines \(second.otherLines)")
            return
        }
        var received: [Received] = []
        while !received.contains(where: { $0.eventTypes.contains("succeeded") }) {
            let line = try await receiver.awaitLine("the succeeded notification") { Received(line: $0) != nil }
            received.append(try #require(Received(line: line)))
        }

        let printed = first.events + second.events
        let delivered = Set(received.filter(\.answered).flatMap(\.eventIDs))
        // Nothing lost: every event obwatch printed (and routed to the hook) reached it, the held one included.
        #expect(
            printed.allSatisfy { delivered.contains($0.id) },
            "printed \(printed), received \(received.map(\.eventTypes))"
        )
        // A duplicate only with the same id: the held notification was sent again after the restart, as itself.
        let heldID = try #require(Received(line: held)).notificationID
        #expect(received.filter { $0.notificationID == heldID }.count == 1)
        for request in received {
            #expect(request.idempotencyKey == request.notificationID)
        }
        let byID = Dictionary(grouping: [try #require(Received(line: held))] + received, by: \.notificationID)
        for (_, copies) in byID {
            #expect(Set(copies.map(\.eventIDs)).count == 1)
        }
    }
}

@Suite("obwatch run: status API, SIGHUP reload, SIGTERM with deliveries pending", .serialized)
struct DaemonLifecycleTests {
    /// A loopback port nobody listens on right now.
    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard ok else { throw ChildWaitError(description: "no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// GET on the status API.
    static func get(_ port: Int, _ path: String) async throws -> (Int, String) {
        let response = try await CurlEngine.shared.perform(HTTPRequest(url: "http://127.0.0.1:\(port)\(path)"))
        return (response.status, String(decoding: response.body, as: UTF8.self))
    }

    /// The value of one sample line of the Prometheus text (`name{labels} value`), 0 when absent.
    static func sample(_ text: String, _ series: String) -> Double {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1)) ?? 0
        }
        return 0
    }

    /// Asks /healthz until the port answers: the daemon is another process and tells nothing to await, so the
    /// probe is paced and bounded.
    static func awaitListening(_ port: Int) async throws {
        _ = try await probeUntil("an answer on port \(port)") {
            (try? await Self.get(port, "/healthz")) != nil ? true : nil
        }
    }

    /// Reads /metrics until `series` reaches `value`: paced and bounded, as the daemon is another process.
    static func awaitSample(_ port: Int, _ series: String, _ value: Double) async throws {
        do {
            _ = try await probeUntil("\(series) at \(value)") { () async -> Bool? in
                guard let text = try? await Self.get(port, "/metrics").1 else { return nil }
                return Self.sample(text, series) >= value ? true : nil
            }
        } catch {
            let text = (try? await Self.get(port, "/metrics").1) ?? ""
            let shown = text.split(separator: "\n").filter {
                $0.hasPrefix("obwatch_notif") || $0.hasPrefix("obwatch_events")
            }
            throw ChildWaitError(description: "\(series) never reached \(value); \(shown)")
        }
    }

    @Test("readyz and metrics move with a scenario; a bad reload is refused, a good one applied; SIGTERM exits 0")
    func lifecycle() async throws {
        guard let executable = KillRestartTests.executableForTests() else {
            Issue.record("no built obwatch executable next to the tests or under .build-run/.build; build it first")
            return
        }
        var receiver = try Child.launch(
            executable: URL(fileURLWithPath: "/usr/bin/python3"),
            arguments: [DeliveryKillRestartTests.receiverScript.path, "[]"],
            deadline: 120
        )
        defer { kill(receiver.process.processIdentifier, SIGKILL) }
        let hookPort = try await receiver.awaitLine("the port") { Int($0) != nil }
        let scenario = try bundledScenario("scale-out-fails.yaml")
        let running = try await ManualSimulator(scenario)
        defer { running.stop() }
        let folder = try temporaryFolder("obwatch-lifecycle")
        defer { try? FileManager.default.removeItem(at: folder) }
        var statusPort = try Self.freePort()
        let config = folder.appendingPathComponent("obwatch.yaml")
        func write(_ extra: String, listen: Int? = nil) throws {
            try Data(
                """
                state_dir: \(folder.appendingPathComponent("state").path)
                http: { listen: "127.0.0.1:\(listen ?? statusPort)" }
                targets:
                  - { name: sim, url: "\(running.url)", password: root-pw, poll_interval: 200ms, timeout: 30s }
                receivers:
                  - { name: hook, webhook: { format: generic, url: "http://127.0.0.1:\(hookPort)/hook" }, timeout: 60s }
                rules:
                  - { name: everything, match: { event: "*" }, notify: [hook] }
                \(extra)
                """.utf8
            ).write(to: config)
        }
        try write("")
        let log = folder.appendingPathComponent("daemon.log")
        var daemon = try Child.launch(
            executable: executable,
            arguments: ["run", "--config", config.path],
            deadline: 120,
            standardError: log
        )
        defer { kill(daemon.process.processIdentifier, SIGKILL) }

        _ = try await running.simulator.advance(to: .seconds(5))
        try await daemon.awaitEvent(.started)
        // A first poll is done: ready; the poll and event counters have moved.
        #expect(try await Self.get(statusPort, "/healthz").0 == 200)
        try await Self.awaitSample(statusPort, #"obwatch_events_total{target="sim",type="started"}"#, 1)
        #expect(try await Self.get(statusPort, "/readyz").0 == 200)
        let before = try await Self.get(statusPort, "/metrics").1
        #expect(Self.sample(before, #"obwatch_polls_total{target="sim",result="ok"}"#) >= 1)
        _ = try await running.simulator.advance(to: .seconds(30))
        try await daemon.awaitEvent(.failed)
        try await Self.awaitSample(statusPort, #"obwatch_events_total{target="sim",type="failed"}"#, 1)
        try await Self.awaitSample(statusPort, #"obwatch_notifications_total{receiver="hook",outcome="delivered"}"#, 2)
        let after = try await Self.get(statusPort, "/metrics").1
        #expect(
            Self.sample(after, #"obwatch_polls_total{target="sim",result="ok"}"#)
                > Self.sample(before, #"obwatch_polls_total{target="sim",result="ok"}"#)
        )
        let dags = try await Self.get(statusPort, "/api/v1/dags")
        #expect(dags.0 == 200 && dags.1.contains("Cluster scale out"))

        // A broken config: refused, the old one stays in force.
        try write("rules_typo: [")
        kill(daemon.process.processIdentifier, SIGHUP)
        try await Self.awaitSample(statusPort, #"obwatch_config_reloads_total{result="failure"}"#, 1)
        #expect(Self.sample(try await Self.get(statusPort, "/metrics").1, "obwatch_config_last_reload_successful") == 0)
        // A good one: applied; the target keeps its state (no second started).
        try write("defaults: { stall_after: 45m }")
        kill(daemon.process.processIdentifier, SIGHUP)
        try await Self.awaitSample(statusPort, #"obwatch_config_reloads_total{result="success"}"#, 1)
        #expect(Self.sample(try await Self.get(statusPort, "/metrics").1, "obwatch_config_last_reload_successful") == 1)

        // http.listen moved: the new port answers (the same counters: one daemon), the old one is let go.
        let movedPort = try Self.freePort()
        try write("defaults: { stall_after: 45m }", listen: movedPort)
        kill(daemon.process.processIdentifier, SIGHUP)
        let oldPort = statusPort
        statusPort = movedPort
        try await Self.awaitListening(statusPort)
        try await Self.awaitSample(statusPort, #"obwatch_config_reloads_total{result="success"}"#, 2)
        #expect(try await Self.get(statusPort, "/healthz").0 == 200)
        #expect((try? await Self.get(oldPort, "/healthz")) == nil)
        // A port that another process holds: the reload is refused as a whole; the API stays where it is.
        try write("defaults: { stall_after: 50m }", listen: Int(hookPort))
        kill(daemon.process.processIdentifier, SIGHUP)
        try await Self.awaitSample(statusPort, #"obwatch_config_reloads_total{result="failure"}"#, 2)
        #expect(Self.sample(try await Self.get(statusPort, "/metrics").1, "obwatch_config_last_reload_successful") == 0)

        // SIGTERM while the receiver holds a delivery: exit 0 within the grace period; the notification stays queued.
        kill(receiver.process.processIdentifier, SIGSTOP)
        _ = try await running.simulator.advance(to: .seconds(65))
        try await daemon.awaitEvent(.retried)
        kill(daemon.process.processIdentifier, SIGTERM)
        try await daemon.awaitExit()
        kill(receiver.process.processIdentifier, SIGCONT)
        #expect(daemon.process.terminationReason == .exit)
        #expect(daemon.process.terminationStatus == 0)
        #expect(!daemon.events.contains { $0.type == "started" && daemon.events.first?.id != $0.id })
        let journal = OutboxFile(stateDirectory: folder.appendingPathComponent("state"), receiver: "hook").load()
        #expect(journal.pending.contains { $0.notification.events.contains { $0.type == .retried } })
        // What the log said of the reloads: refusals never read "not starting"; the move and the clash are named.
        let logged = String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self)
        #expect(!logged.contains("not starting"), "\(logged)")
        #expect(logged.components(separatedBy: "reload refused: the configuration in force stays").count == 3)
        #expect(logged.contains("status API moved"), "\(logged)")
        #expect(logged.contains("http.listen 127.0.0.1:\(hookPort): cannot listen: "), "\(logged)")
    }
}
