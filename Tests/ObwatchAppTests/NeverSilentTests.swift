import ArgumentParser
import ConfigModel
import Curl
import Delivery
import Foundation
import ObshellModel
import ObwatchTestKit
import PeerSupport
import Simulator
import Synchronization
import Testing
import Tracker

@testable import ObwatchApp

#if canImport(Glibc)
import Glibc
#endif

/// One request a loopback webhook receiver printed: when it came and what it carried.
struct ReceivedRequest: Sendable {
    var number: Int
    var method: String
    var path: String
    var arrivedAt: Date
    var eventTypes: [String]
    var eventFields: [[String: String]]
    var rules: [String]

    init?(line: String, arrivedAt: Date) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let number = object["n"] as? Int
        else { return nil }
        self.number = number
        self.method = object["method"] as? String ?? "POST"
        self.path = object["path"] as? String ?? ""
        self.arrivedAt = arrivedAt
        let body = (object["body"] as? String).flatMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let events = body?["events"] as? [[String: Any]] ?? []
        self.eventTypes = events.compactMap { $0["type"] as? String }
        self.eventFields = events.map { event in
            var fields: [String: String] = [:]
            for (key, value) in event {
                if let text = value as? String { fields[key] = text }
                if let flag = value as? Bool { fields[key] = flag ? "true" : "false" }
            }
            if let target = event["target"] as? [String: Any], let name = target["name"] as? String {
                fields["target.name"] = name
            }
            return fields
        }
        self.rules = body?["rules"] as? [String] ?? []
    }
}

/// A loopback webhook receiver whose requests the test reads as they arrive.
struct ReceiverPeer {
    var child: Child
    let port: Int
    var received: [ReceivedRequest] = []

    /// Starts `webhook_receiver.py` with a script of answers.
    static func start(script: String = "[]") async throws -> ReceiverPeer {
        var child = try Child.launch(
            executable: URL(fileURLWithPath: "/usr/bin/python3"),
            arguments: [DeliveryKillRestartTests.receiverScript.path, script],
            deadline: 170
        )
        let port = try #require(Int(try await child.awaitLine("the port") { Int($0) != nil }))
        return ReceiverPeer(child: child, port: port)
    }

    /// The receiver's URL for a path.
    func url(_ path: String = "/hook") -> String { "http://127.0.0.1:\(self.port)\(path)" }

    /// Reads requests until one satisfies `matches`; every request read is kept in ``received``.
    mutating func await(
        _ what: String,
        where matches: (ReceivedRequest) -> Bool
    ) async throws -> ReceivedRequest {
        while true {
            let line = try await self.child.awaitLine(what) { _ in true }
            guard let request = ReceivedRequest(line: line, arrivedAt: Date()) else { continue }
            self.received.append(request)
            if matches(request) { return request }
        }
    }

    /// Stops the receiver.
    func stop() { kill(self.child.process.processIdentifier, SIGKILL) }
}

/// A tmpfs the test can remount read-only under a running daemon: the "read-only remount" an operator meets.
struct RemountableFolder {
    let url: URL

    /// Mounts a small tmpfs at a fresh folder; `nil` where this process may not mount.
    static func make() throws -> RemountableFolder? {
        let folder = try temporaryFolder("obwatch-ro")
        guard Self.run(["/bin/mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", folder.path]) else {
            try? FileManager.default.removeItem(at: folder)
            return nil
        }
        return RemountableFolder(url: folder)
    }

    /// Whether mounting works here (root in a sandbox that allows it).
    static let available: Bool = {
        guard let folder = try? make() else { return false }
        folder.remove()
        return true
    }()

    /// Remounts read-only or read-write.
    func set(readOnly: Bool) throws {
        let options = readOnly ? "remount,ro" : "remount,rw"
        guard Self.run(["/bin/mount", "-o", options, self.url.path]) else {
            throw ChildWaitError(description: "mount -o \(options) failed")
        }
    }

    /// Unmounts and removes the folder.
    func remove() {
        _ = Self.run(["/bin/umount", "-l", self.url.path])
        try? FileManager.default.removeItem(at: self.url)
    }

    private static func run(_ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return false
        }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}

/// A config for `obwatch run` against one simulator: the target `sim` polled every 200 ms, the receivers as generic
/// webhooks, the rules and anything else as written.
func simulatorConfig(
    in folder: URL,
    stateDirectory: URL? = nil,
    simulator: String,
    receivers: [(name: String, url: String)],
    rules: String,
    extra: String = ""
) throws -> URL {
    let file = folder.appendingPathComponent("obwatch-\(UUID().uuidString).yaml")
    let hooks = receivers.map { "  - { name: \($0.name), webhook: { format: generic, url: \"\($0.url)\" } }" }
    try Data(
        """
        state_dir: \((stateDirectory ?? folder.appendingPathComponent("state")).path)
        \(extra)
        targets:
          - { name: sim, url: "\(simulator)", password: root-pw, poll_interval: 200ms, timeout: 30s }
        receivers:
        \(hooks.joined(separator: "\n"))
        rules:
        \(rules)
        """.utf8
    ).write(to: file)
    return file
}

@Suite("obwatch run: never silent, never doubled", .serialized)
struct NeverSilentTests {
    static func executable() throws -> URL {
        try #require(
            KillRestartTests.executableForTests(),
            "no built obwatch executable next to the tests or under .build-run/.build; build it first"
        )
    }

    @Test("a second run on the same state_dir exits at once naming the holder's pid, and sends nothing")
    func secondInstance() async throws {
        let executable = try Self.executable()
        var first = try await ReceiverPeer.start()
        defer { first.stop() }
        var second = try await ReceiverPeer.start()
        defer { second.stop() }
        let running = try await ManualSimulator(try bundledScenario("scale-out-fails.yaml"))
        defer { running.stop() }
        let folder = try temporaryFolder("obwatch-lock")
        defer { try? FileManager.default.removeItem(at: folder) }
        func config(_ name: String, hook: String) throws -> String {
            try simulatorConfig(
                in: folder,
                simulator: running.url,
                receivers: [("hook", hook)],
                rules: "  - { name: everything, match: { event: \"*\" }, notify: [hook] }"
            ).path
        }
        var daemon = try Child.launch(
            executable: executable,
            config: try config("first", hook: first.url()),
            environment: [:],
            deadline: 120
        )
        defer { kill(daemon.process.processIdentifier, SIGKILL) }
        _ = try await running.simulator.advance(to: .seconds(5))
        try await daemon.awaitEvent(.started)
        _ = try await first.await("the started notification") { $0.eventTypes.contains("started") }

        let errors = folder.appendingPathComponent("second.err")
        let started = ContinuousClock.now
        var intruder = try Child.launch(
            executable: executable,
            arguments: ["run", "--config", try config("second", hook: second.url())],
            deadline: 30,
            standardError: errors
        )
        try await intruder.awaitExit()
        let took = ContinuousClock.now - started
        #expect(intruder.process.terminationStatus == 1)
        #expect(took < .seconds(2), "the second instance took \(took) to give up")
        let message = try String(contentsOf: errors, encoding: .utf8)
        #expect(message.contains("is in use by obwatch pid \(daemon.process.processIdentifier)"), "\(message)")
        #expect(intruder.events.isEmpty)
        // Its receiver got nothing: the first request it sees is the test's own probe.
        _ = try await CurlEngine.shared.perform(
            HTTPRequest(method: .post, url: second.url("/probe"), body: Data("{}".utf8))
        )
        let firstSeen = try await second.await("the probe") { _ in true }
        #expect(firstSeen.path == "/probe")
    }

    @Test("a status port in use: run exits non-zero before the outbox resumes; nothing is sent")
    func statusPortClash() async throws {
        let executable = try Self.executable()
        var hook = try await ReceiverPeer.start()
        defer { hook.stop() }
        let folder = try temporaryFolder("obwatch-port")
        defer { try? FileManager.default.removeItem(at: folder) }
        let state = folder.appendingPathComponent("state")
        // A notification left undelivered by an earlier run: resuming would send it at once.
        let event = Event(
            id: "left-over",
            type: .failed,
            at: ObshellTime(date: Date()),
            target: TargetIdentity(name: "sim"),
            summary: "left over"
        )
        try OutboxFile(stateDirectory: state, receiver: "hook").append([
            .init(
                notification: OutboundNotification(receiver: "hook", rule: "everything", events: [event]),
                acceptedAt: Date()
            )
        ])
        let config = folder.appendingPathComponent("obwatch.yaml")
        try Data(
            """
            state_dir: \(state.path)
            http: { listen: "127.0.0.1:\(hook.port)" }
            targets:
              - { name: sim, url: "http://127.0.0.1:1", password: root-pw }
            receivers:
              - { name: hook, webhook: { format: generic, url: "\(hook.url())" } }
            rules:
              - { name: everything, match: { event: "*" }, notify: [hook] }
            """.utf8
        ).write(to: config)
        let errors = folder.appendingPathComponent("run.err")
        var daemon = try Child.launch(
            executable: executable,
            arguments: ["run", "--config", config.path],
            deadline: 30,
            standardError: errors
        )
        try await daemon.awaitExit()
        #expect(daemon.process.terminationStatus == 1)
        let message = try String(contentsOf: errors, encoding: .utf8)
        #expect(message.contains("address already in use"), "\(message)")
        #expect(!message.contains("bind(descriptor"), "\(message)")
        _ = try await CurlEngine.shared.perform(
            HTTPRequest(method: .post, url: hook.url("/probe"), body: Data("{}".utf8))
        )
        let firstSeen = try await hook.await("the probe") { _ in true }
        #expect(firstSeen.path == "/probe")
        #expect(OutboxFile(stateDirectory: state, receiver: "hook").load().pending.count == 1)
    }

    @Test(
        "unsaved state: the failure still reaches chat, readyz 503, watcher_degraded to another receiver, pings pause",
        .enabled(if: RemountableFolder.available, "mounting a tmpfs needs root in a sandbox that allows it")
    )
    func unwritableState() async throws {
        let executable = try Self.executable()
        let mount = try #require(try RemountableFolder.make())
        defer { mount.remove() }
        var chat = try await ReceiverPeer.start()
        defer { chat.stop() }
        var ops = try await ReceiverPeer.start()
        defer { ops.stop() }
        var pings = try await ReceiverPeer.start()
        defer { pings.stop() }
        let running = try await ManualSimulator(try bundledScenario("scale-out-fails.yaml"))
        defer { running.stop() }
        let folder = try temporaryFolder("obwatch-unwritable")
        defer { try? FileManager.default.removeItem(at: folder) }
        let statusPort = try DaemonLifecycleTests.freePort()
        let config = try simulatorConfig(
            in: folder,
            stateDirectory: mount.url.appendingPathComponent("state"),
            simulator: running.url,
            receivers: [("chat", chat.url()), ("ops", ops.url())],
            rules: """
                  - { name: failures, match: { event: [failed] }, notify: [chat] }
                  - { name: watcher, match: { event: [watcher_degraded, watcher_recovered] }, notify: [ops] }
                """,
            extra: """
                http: { listen: "127.0.0.1:\(statusPort)" }
                heartbeat: { url: "\(pings.url("/ping"))", every: 1s, method: POST }
                """
        )
        var daemon = try Child.launch(executable: executable, config: config.path, environment: [:], deadline: 150)
        defer { kill(daemon.process.processIdentifier, SIGKILL) }
        _ = try await running.simulator.advance(to: .seconds(5))
        try await daemon.awaitEvent(.started)
        _ = try await pings.await("a heartbeat while healthy") { $0.path == "/ping" }
        _ = try await pings.await("a second heartbeat") { $0.path == "/ping" }

        try mount.set(readOnly: true)
        _ = try await running.simulator.advance(to: .seconds(30))
        try await daemon.awaitEvent(.failed)
        let failure = try await chat.await("the failed notification") { $0.eventTypes.contains("failed") }
        #expect(failure.eventTypes == ["failed"])
        let degraded = try await ops.await("watcher_degraded") { $0.eventTypes.contains("watcher_degraded") }
        let summary = degraded.eventFields.first?["summary"] ?? ""
        #expect(summary.contains("read-only file system"), "\(summary)")
        #expect(degraded.eventFields.first?["target.name"] == "obwatch")
        let ready = try await DaemonLifecycleTests.get(statusPort, "/readyz")
        #expect(ready.0 == 503)
        #expect(ready.1.contains("state cannot be saved"), "\(ready.1)")
        try await DaemonLifecycleTests.awaitSample(statusPort, "obwatch_state_save_failures_total", 1)
        // Pings pause: two skipped in a row while degraded, and none reached the checker meanwhile.
        try await DaemonLifecycleTests.awaitSample(statusPort, #"obwatch_heartbeats_total{result="skipped"}"#, 1)
        let pausedAt = Date()
        try await DaemonLifecycleTests.awaitSample(statusPort, #"obwatch_heartbeats_total{result="skipped"}"#, 3)
        let stillPausedAt = Date()

        try mount.set(readOnly: false)
        _ = try await ops.await("watcher_recovered") { $0.eventTypes.contains("watcher_recovered") }
        let resumed = try await pings.await("a heartbeat after recovery") { $0.arrivedAt > stillPausedAt }
        #expect(
            !pings.received.contains { $0.arrivedAt > pausedAt && $0.arrivedAt < stillPausedAt },
            "a heartbeat reached the checker while state could not be saved"
        )
        #expect(resumed.method == "POST")
        #expect(try await DaemonLifecycleTests.get(statusPort, "/readyz").0 == 200)
    }

    @Test("a 429 with Retry-After: 5, then kill -9 and a restart: the next request waits until 5 s after the 429")
    func retryAfterSurvivesKill() async throws {
        let executable = try Self.executable()
        var hook = try await ReceiverPeer.start(script: #"[{"status": 429, "retry_after": "5"}]"#)
        defer { hook.stop() }
        let running = try await ManualSimulator(try bundledScenario("scale-out-fails.yaml"))
        defer { running.stop() }
        let folder = try temporaryFolder("obwatch-retry-after")
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = try simulatorConfig(
            in: folder,
            simulator: running.url,
            receivers: [("hook", hook.url())],
            rules: "  - { name: starts, match: { event: [started] }, notify: [hook] }"
        )
        var daemon = try Child.launch(executable: executable, config: config.path, environment: [:], deadline: 120)
        defer { kill(daemon.process.processIdentifier, SIGKILL) }
        _ = try await running.simulator.advance(to: .seconds(5))
        let refused = try await hook.await("the first try") { _ in true }
        // Killed as soon as the 429 is in its journal (the receiver prints a request before it answers it).
        let journal = OutboxFile(stateDirectory: folder.appendingPathComponent("state"), receiver: "hook").url
        // The daemon is another process: its journal is probed, paced and bounded.
        _ = try await probeUntil("a retry in the journal") {
            (try? String(contentsOf: journal, encoding: .utf8))?.contains(#""retry""#) == true ? true : nil
        }
        kill(daemon.process.processIdentifier, SIGKILL)
        try await daemon.awaitExit()
        var restarted = try Child.launch(executable: executable, config: config.path, environment: [:], deadline: 120)
        defer { kill(restarted.process.processIdentifier, SIGKILL) }
        let again = try await hook.await("the retry after the restart") { _ in true }
        let gap = again.arrivedAt.timeIntervalSince(refused.arrivedAt)
        #expect(gap >= 4.9, "the restarted process sent \(gap) s after the 429")
        #expect(again.eventTypes == refused.eventTypes)
        _ = restarted
    }

    @Test("a failure and retry while obwatch was stopped: failed with observed_late, then retried, each once")
    func failureWhileStopped() async throws {
        let executable = try Self.executable()
        var chat = try await ReceiverPeer.start()
        defer { chat.stop() }
        let running = try await ManualSimulator(try bundledScenario("scale-out-fails.yaml"))
        defer { running.stop() }
        let folder = try temporaryFolder("obwatch-late")
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = try simulatorConfig(
            in: folder,
            simulator: running.url,
            receivers: [("chat", chat.url())],
            rules: "  - { name: failures, match: { event: [failed, retried] }, notify: [chat] }"
        )
        var daemon = try Child.launch(executable: executable, config: config.path, environment: [:], deadline: 120)
        defer { kill(daemon.process.processIdentifier, SIGKILL) }
        _ = try await running.simulator.advance(to: .seconds(5))
        try await daemon.awaitEvent(.started)
        kill(daemon.process.processIdentifier, SIGTERM)
        try await daemon.awaitExit()
        // While obwatch is stopped the DAG fails (20 s), is retried (1 m) and runs again (1 m 5 s).
        _ = try await running.simulator.advance(to: .seconds(70))
        var restarted = try Child.launch(executable: executable, config: config.path, environment: [:], deadline: 120)
        defer { kill(restarted.process.processIdentifier, SIGKILL) }
        try await restarted.awaitEvent(.retried)
        let types = restarted.events.map(\.type)
        #expect(types.filter { $0 == "failed" }.count == 1)
        #expect(types.filter { $0 == "retried" }.count == 1)
        #expect(types.firstIndex(of: "failed").map { $0 < (types.firstIndex(of: "retried") ?? 0) } == true)
        _ = try await chat.await("the retry") { $0.eventTypes.contains("retried") }
        let delivered = chat.received.flatMap(\.eventFields)
        #expect(delivered.map { $0["type"] ?? "" } == ["failed", "retried"])
        let failed = delivered.first { $0["type"] == "failed" }
        #expect(failed?["observed_late"] == "true")
        #expect(failed?["summary"]?.contains("not watching") == true, "\(failed?["summary"] ?? "")")
    }
}

@Suite("obwatch test-heartbeat", .serialized)
struct TestHeartbeatCommandTests {
    @Test("a checker that takes the ping exits 0 (POST with the Authorization header); one that answers 500 exits 1")
    func ping() async throws {
        var checker = try await ReceiverPeer.start(script: #"[{"status":200,"text":"OK"},{"status":500}]"#)
        defer { checker.stop() }
        let folder = try temporaryFolder("obw-test-heartbeat")
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data("GenieKey secret-genie-key\n".utf8).write(to: folder.appendingPathComponent("genie.key"))
        let config = folder.appendingPathComponent("obwatch.yaml")
        try Data(
            """
            state_dir: \(folder.path)
            heartbeat:
              url: "\(checker.url("/v2/heartbeats/obwatch/ping"))"
              authorization_file: genie.key
              method: POST
              every: 1m
            targets: [{ name: prod-east, url: "http://127.0.0.1:1" }]
            """.utf8
        ).write(to: config)
        try await TestHeartbeatCommand.parse(["--config", config.path]).run()
        let ping = try await checker.await("the ping") { _ in true }
        #expect(ping.method == "POST")
        #expect(ping.path == "/v2/heartbeats/obwatch/ping")
        let line = checker.child.otherLines.last ?? ""
        #expect(line.contains("GenieKey secret-genie-key"), "the Authorization header reached the checker")
        await #expect(throws: ExitCode(1)) { try await TestHeartbeatCommand.parse(["--config", config.path]).run() }
    }

    @Test("a config without heartbeat: exits 1")
    func missing() async throws {
        let folder = try temporaryFolder("obw-test-heartbeat-none")
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("obwatch.yaml")
        try Data("state_dir: \(folder.path)\ntargets: [{ name: a, url: \"http://127.0.0.1:1\" }]\n".utf8).write(
            to: config
        )
        await #expect(throws: ExitCode(1)) { try await TestHeartbeatCommand.parse(["--config", config.path]).run() }
    }
}
