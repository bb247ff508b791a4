import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// One obwatch set-up as a user runs it: `obwatch simulate --manual-clock` behind a loopback proxy that reports
/// every poll, `obwatch run` on a config in a temporary folder, and a webhook receiver plus a JSON Lines file.
///
/// The proxy makes every wait an awaited line: after an `advanced` line, the first poll it reports is answered from
/// the new scenario time, and the second one is only sent once obwatch has finished the first (its polls, its
/// confirmations and the hand-off of its events are sequential), so "two polls after the advance" means "obwatch has
/// seen this step".
final class ObwatchRig {
    let group = ChildGroup()
    let folder: URL
    let config: URL
    let journal: URL
    private let binary: URL
    private(set) var proxy: Child?
    private(set) var hook: Child?
    private(set) var daemon: Child?
    private(set) var generation = 0
    /// Where every daemon of this rig appends its exchanges (`run --record`), for `obwatch replay`.
    let capture: URL
    /// What the test did, in order, printed when it fails.
    private(set) var log: [String] = []

    /// Starts the simulator on `scenario`, the proxy and the hook, and writes the config.
    /// - Parameters:
    ///   - downAfter: `defaults.down_after`.
    init(binary: URL, scenario: URL, downAfter: Int, prefix: String) async throws {
        self.binary = binary
        self.folder = try temporaryFolder(prefix)
        self.config = self.folder.appendingPathComponent("obwatch.yaml")
        self.journal = self.folder.appendingPathComponent("notifications.jsonl")
        self.capture = self.folder.appendingPathComponent("capture.jsonl")
        do {
            try await self.start(scenario: scenario, downAfter: downAfter)
        } catch {
            self.group.killAll()
            throw error
        }
    }

    deinit {
        self.group.killAll()
        try? FileManager.default.removeItem(at: self.folder)
    }

    private func start(scenario: URL, downAfter: Int) async throws {
        try self.group.launch(
            .simulator,
            executable: self.binary,
            arguments: [
                "simulate", "--scenario", scenario.path, "--listen", "127.0.0.1:0", "--password", "root-pw",
                "--key-bits", "512", "--manual-clock",
            ]
        )
        let simulatorPort = try await self.group.wait("the simulator's address") { signal -> Int? in
            guard case .line(.simulator, let line) = signal, line.hasPrefix("listening on http://") else {
                return nil
            }
            return line.split(separator: ":").last.flatMap { Int($0) }
        }
        let script = try ChaosResources.url("chaos_peer.py").path
        self.proxy = try self.group.launch(
            .proxy,
            executable: URL(fileURLWithPath: "/usr/bin/python3"),
            arguments: ["-u", "-B", script, "proxy", String(simulatorPort)]
        )
        let proxyPort = try await self.peerPort(.proxy)
        self.hook = try self.group.launch(
            .hook,
            executable: URL(fileURLWithPath: "/usr/bin/python3"),
            arguments: ["-u", "-B", script, "hook"]
        )
        let hookPort = try await self.peerPort(.hook)
        // The poll timeout is generous: with down_after 1 a poll cut short by a loaded machine would be an outage
        // no fault caused. The scenarios' one hang then costs its 30 s, once per run with faults.
        let text = """
            state_dir: \(self.folder.appendingPathComponent("state").path)
            defaults:
              poll_interval: 200ms
              timeout: 30s
              down_after: \(downAfter)
              stall_after: 1d
              confirm_within: 1d
            targets:
              - name: chaos
                url: "http://127.0.0.1:\(proxyPort)"
                password: "${OBWATCH_CHAOS_PASSWORD}"
            receivers:
              - name: hook
                webhook: { format: generic, url: "http://127.0.0.1:\(hookPort)/hook" }
                timeout: 60s
                retry: { initial: 100ms, max: 200ms }
              - name: journal
                file: { path: "\(self.journal.path)" }
            rules:
              - { name: everything, match: { event: "*" }, notify: [hook, journal] }
            """
        try Data(text.utf8).write(to: self.config)
    }

    private func peerPort(_ role: ChildRole) async throws -> Int {
        try await self.group.wait("the \(role) port") { signal -> Int? in
            guard case .line(let from, let line) = signal, from == role, let object = jsonObject(line),
                object["kind"] as? String == "port"
            else { return nil }
            return object["port"] as? Int
        }
    }

    /// Starts `obwatch run` on the config and state folder.
    func startDaemon() throws {
        self.generation += 1
        self.log.append("start daemon #\(self.generation)")
        self.daemon = try self.group.launch(
            .daemon(self.generation),
            executable: self.binary,
            arguments: ["run", "--config", self.config.path, "--record", self.capture.path],
            environment: ["OBWATCH_CHAOS_PASSWORD": "root-pw"],
            errorRole: .daemonLog(self.generation)
        )
    }

    /// SIGKILL (or another signal) to the daemon; returns once it has exited and its output is read to the end.
    func stopDaemon(_ signal: Int32 = SIGKILL) async throws {
        guard let daemon = self.daemon else { return }
        let role = ChildRole.daemon(self.generation)
        self.log.append("signal \(signal) to daemon #\(self.generation)")
        daemon.send(signal)
        var exited = false
        var closed = false
        try await self.group.wait("the exit of daemon #\(self.generation)") { event -> Bool? in
            switch event {
            case .exited(role, _): exited = true
            case .closed(role): closed = true
            default: break
            }
            return exited && closed ? true : nil
        }
        self.daemon = nil
    }

    /// Moves the scenario clock to `time` (through the proxy's control connection).
    func advance(to time: String) async throws {
        self.log.append("advance to \(time)")
        self.proxy?.command("advance \(time)")
        let status = try await self.group.wait("the advance to \(time)") { signal -> Int? in
            guard case .line(.proxy, let line) = signal, let object = jsonObject(line),
                object["kind"] as? String == "advanced"
            else { return nil }
            return object["status"] as? Int ?? 0
        }
        guard status == 200 else { throw ChaosError(description: "the simulator refused the advance to \(time)") }
    }

    /// Waits for `count` polls to reach the proxy from now on.
    func awaitPolls(_ count: Int) async throws {
        var seen = 0
        try await self.group.wait("\(count) polls") { signal -> Bool? in
            guard case .line(.proxy, let line) = signal, jsonObject(line)?["kind"] as? String == "poll" else {
                return nil
            }
            seen += 1
            return seen >= count ? true : nil
        }
    }

    /// Waits for the proxy to have answered a poll.
    func awaitPollAnswer() async throws {
        try await self.group.wait("the answer to a poll") { signal -> Bool? in
            guard case .line(.proxy, let line) = signal, let object = jsonObject(line),
                object["kind"] as? String == "answered",
                (object["path"] as? String)?.hasPrefix("/api/v1/task/dag/unfinish") == true
            else { return nil }
            return true
        }
    }

    /// A line that marks "from here on" in the proxy's output: polls reported later were sent after it.
    func markProxy() async throws {
        self.proxy?.command("mark")
        try await self.group.wait("the proxy's mark") { signal -> Bool? in
            guard case .line(.proxy, let line) = signal, jsonObject(line)?["kind"] as? String == "mark" else {
                return nil
            }
            return true
        }
    }

    /// Waits for the running daemon to print an event on standard output.
    func awaitPrintedEvent() async throws {
        let role = ChildRole.daemon(self.generation)
        try await self.group.wait("an event printed by daemon #\(self.generation)") { signal -> Bool? in
            guard case .line(role, let line) = signal, let object = jsonObject(line), EventCopy(object) != nil else {
                return nil
            }
            return true
        }
    }

    /// Waits for the hook to report a line of `kind` (`held`, `delivered`, `holding`).
    func awaitHook(_ kind: String) async throws {
        try await self.group.wait("a \(kind) notification") { signal -> Bool? in
            guard case .line(.hook, let line) = signal, jsonObject(line)?["kind"] as? String == kind else {
                return nil
            }
            return true
        }
    }

    /// Makes the hook hold the next request it gets, once it has confirmed that it will.
    func holdNextDelivery() async throws {
        self.hook?.command("hold")
        try await self.awaitHook("holding")
    }

    /// Lets a held request go (answered 503; its client is usually gone by then).
    func releaseHook() {
        self.hook?.command("release")
    }

    /// Every request the hook saw so far.
    var hookRequests: [HookRequest] {
        self.group.seen.compactMap { role, line in role == .hook ? HookRequest(line: line) : nil }
    }

    /// Every event a daemon printed on standard output so far.
    var printedEvents: [EventCopy] {
        self.group.seen.compactMap { role, line in
            guard case .daemon = role, let object = jsonObject(line) else { return nil }
            return EventCopy(object, droppingRoutes: true)
        }
    }

    /// The daemons' log lines so far.
    var logLines: [String] {
        self.group.seen.compactMap { role, line in
            if case .daemonLog = role { return line }
            return nil
        }
    }

    /// The paths of the requests other than polls that went through the proxy.
    var proxiedRequests: [String] {
        self.group.seen.compactMap { role, line in
            guard role == .proxy, let object = jsonObject(line), object["kind"] as? String == "request" else {
                return nil
            }
            return object["path"] as? String
        }
    }

    /// The end of a run: a clean stop, then a clean start that sends whatever is still queued and must find
    /// nothing new to say, until the hook has every event any daemon printed (and `expected`, when given); then a
    /// clean stop and the end of the hook's output.
    func finish(expecting expected: Set<String> = []) async throws {
        try await self.stopDaemon(SIGTERM)
        try await self.markProxy()
        try self.startDaemon()
        try await self.awaitPolls(2)
        // A watcher episode still open when the first daemon stopped (an outage at the very end) is closed by the
        // restarted one at its first look, a second in; the comparison wants that look, not a stop before it.
        let watcher = self.printedEvents.map(\.type).filter { $0 == "watcher_degraded" || $0 == "watcher_recovered" }
        if watcher.last == "watcher_degraded" {
            try await self.group.wait("watcher_recovered after the restart", within: 90) { signal -> Bool? in
                guard case .line(.daemon, let line) = signal, let object = jsonObject(line),
                    object["type"] as? String == "watcher_recovered"
                else { return nil }
                return true
            }
        }
        let printed = Set(self.printedEvents.map(\.fingerprint))
        let wanted = printed.union(expected)
        var delivered = Set(self.hookRequests.filter(\.answered).flatMap(\.events).map(\.fingerprint))
        if !wanted.isSubset(of: delivered) {
            try await self.group.wait("every printed event at the hook", within: 90) { signal -> Bool? in
                guard case .line(.hook, let line) = signal, let request = HookRequest(line: line), request.answered
                else { return nil }
                delivered.formUnion(request.events.map(\.fingerprint))
                return wanted.isSubset(of: delivered) ? true : nil
            }
        }
        try await self.stopDaemon(SIGTERM)
        self.hook?.closeInput()
        try await self.group.wait("the end of the hook's output") { signal -> Bool? in
            if case .closed(.hook) = signal { return true }
            return nil
        }
    }

    /// The events `obwatch replay` makes of the capture, with the same config, and its exit status (1 when a line
    /// could not be read: a SIGKILL may cut the capture's last line).
    func replayCapture() async throws -> (events: [EventCopy], status: Int32) {
        try self.group.launch(
            .replay,
            executable: self.binary,
            arguments: ["replay", "--config", self.config.path, self.capture.path],
            environment: ["OBWATCH_CHAOS_PASSWORD": "root-pw"]
        )
        var events: [EventCopy] = []
        var status: Int32?
        var closed = false
        // A debug build replays a virtual hour of 200 ms polls in seconds, but a loaded machine may take minutes:
        // the bound only tells a hang from slowness.
        try await self.group.wait("the end of obwatch replay", within: 600) { signal -> Bool? in
            switch signal {
            case .line(.replay, let line):
                if let object = jsonObject(line), let event = EventCopy(object, droppingRoutes: true) {
                    events.append(event)
                }
            case .exited(.replay, let code): status = code
            case .closed(.replay): closed = true
            default: break
            }
            return status != nil && closed ? true : nil
        }
        return (events, status ?? -1)
    }

    /// The notifications the `file` receiver wrote, one per line.
    func journalNotifications() throws -> [[String: Any]] {
        let text = (try? String(contentsOf: self.journal, encoding: .utf8)) ?? ""
        return try text.split(separator: "\n").map { line in
            guard let object = jsonObject(String(line)) else {
                throw ChaosError(description: "a journal line is not JSON: \(line)")
            }
            return object
        }
    }
}

/// One event as received or printed, reduced to what the comparisons need.
struct EventCopy: Hashable, CustomStringConvertible {
    var id: String
    var type: String
    var dagID: String
    /// The comparison key across runs: the id, except for `stage_advanced`, whose id includes the wall-clock time of
    /// its observation (Sources/Tracker/EventID.swift), so two runs name the same stage change differently; there it
    /// is the DAG and the stage pair.
    var fingerprint: String
    /// The whole event, keys sorted: copies of one id must be identical.
    var canonical: String

    init?(_ object: [String: Any], droppingRoutes: Bool = false) {
        guard object["schema"] as? String == "obwatch.event/v1", let id = object["id"] as? String,
            let type = object["type"] as? String
        else { return nil }
        var object = object
        if droppingRoutes { object["routes"] = nil }
        let dag = object["dag"] as? [String: Any]
        self.id = id
        self.type = type
        self.dagID = dag?["id"] as? String ?? ""
        if type == "stage_advanced" {
            let from = (object["previous"] as? [String: Any])?["stage"] as? Int ?? -1
            let to = dag?["stage"] as? Int ?? -1
            let target = (object["target"] as? [String: Any])?["name"] as? String ?? ""
            self.fingerprint = "\(target)/\(self.dagID)/stage_advanced/\(from)>\(to)"
        } else {
            self.fingerprint = id
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        self.canonical = String(decoding: data, as: UTF8.self)
    }

    var description: String { "\(self.type)(dag \(self.dagID), \(self.fingerprint))" }
}

/// One POST the hook saw.
struct HookRequest {
    var answered: Bool
    var idempotencyKey: String
    var notificationID: String
    var events: [EventCopy]

    init?(line: String) {
        guard let object = jsonObject(line), let kind = object["kind"] as? String,
            kind == "delivered" || kind == "held",
            let headers = object["headers"] as? [String: String], let body = object["body"] as? String,
            let notification = jsonObject(body), let events = notification["events"] as? [[String: Any]]
        else { return nil }
        self.answered = kind == "delivered"
        self.idempotencyKey = headers["idempotency-key"] ?? ""
        self.notificationID = notification["id"] as? String ?? ""
        self.events = events.compactMap { EventCopy($0) }
    }
}

/// The step times of a scenario file, in order and without repeats (every step is one line `- {at: TIME, ...}`).
func stepTimes(of scenario: URL) throws -> [String] {
    let text = try String(contentsOf: scenario, encoding: .utf8)
    var times: [String] = []
    for line in text.split(separator: "\n") {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("- {at: "), let comma = trimmed.firstIndex(of: ",") else { continue }
        let time = String(trimmed[trimmed.index(trimmed.startIndex, offsetBy: 7)..<comma])
        if times.last != time { times.append(time) }
    }
    return times
}
