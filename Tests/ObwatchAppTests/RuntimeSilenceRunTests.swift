import ConfigModel
import Curl
import Foundation
import ObwatchTestKit
import PeerSupport
import Simulator
import Testing

@testable import ObwatchApp

#if canImport(Glibc)
import Glibc
#endif

/// A unix datagram socket the test reads syslog records from, one JSON string a line.
enum SyslogSocketPeer {
    static func launch(path: String) throws -> PeerProcess {
        let script = """
            import json, os, socket, sys, threading
            threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            s.bind(sys.argv[1])
            print("ready", flush=True)
            while True:
                print(json.dumps(s.recv(65536).decode("utf-8", "replace")), flush=True)
            """
        return try PeerProcess.launch(executable: PeerProcess.python, arguments: ["-u", "-c", script, path])
    }

    /// The next record that contains `text`; others are skipped.
    static func record(containing text: String, from peer: PeerProcess) async throws -> String {
        while true {
            let line = try await peer.nextLine()
            let record =
                (try? JSONSerialization.jsonObject(with: Data(line.utf8), options: .fragmentsAllowed) as? String) ?? ""
            if record.contains(text) { return record }
        }
    }
}

@Suite("obwatch run: silences at run time", .serialized)
struct RuntimeSilenceRunTests {
    @Test("silence add: no receiver gets the next match, across a restart, until expired; audited; 401 without token")
    func silenceAcrossRestart() async throws {
        let executable = try NeverSilentTests.executable()
        var hook = try await ReceiverPeer.start()
        defer { hook.stop() }
        let running = try await ManualSimulator(try bundledScenario("scale-out-fails.yaml"))
        defer { running.stop() }
        let folder = try temporaryFolder("obwatch-silence")
        defer { try? FileManager.default.removeItem(at: folder) }
        let socketPath = folder.appendingPathComponent("syslog.sock").path
        try await withPeer(try SyslogSocketPeer.launch(path: socketPath)) { syslog, _ in
            let statusPort = try DaemonLifecycleTests.freePort()
            let tokenFile = folder.appendingPathComponent("write.token")
            try Data("s3cret-write\n".utf8).write(to: tokenFile)
            let config = try simulatorConfig(
                in: folder,
                simulator: running.url,
                receivers: [("hook", hook.url())],
                rules: "  - { name: dag-news, match: { event: [stage_advanced, failed, retried] }, notify: [hook] }",
                extra: """
                    http: { listen: "127.0.0.1:\(statusPort)", write_token_file: "\(tokenFile.path)" }
                    """
            )
            // The audit receiver: syslog on the test's socket (no rule sends it events).
            var text = try String(contentsOf: config, encoding: .utf8)
            text = text.replacingOccurrences(
                of: "receivers:\n",
                with: "receivers:\n  - { name: audit, syslog: { address: \"unix://\(socketPath)\" } }\n"
            )
            try Data(text.utf8).write(to: config)
            let url = "http://127.0.0.1:\(statusPort)"

            var daemon = try Child.launch(executable: executable, config: config.path, environment: [:], deadline: 150)
            defer { kill(daemon.process.processIdentifier, SIGKILL) }
            try await Self.awaitReady(statusPort)

            // A write without the token is refused.
            let refused = try await CurlEngine.shared.perform(
                HTTPRequest(method: .post, url: url + "/api/v2/silences", body: Data("{}".utf8))
            )
            #expect(refused.status == 401)

            let id = try await Self.obwatch(
                executable,
                [
                    // The address and the write token from the daemon's configuration; the author is the login name.
                    "silence", "add", "--config", config.path, "--target", "sim", "--for", "1h", "--comment", "upgrade",
                ]
            )
            #expect(!id.isEmpty)
            let created = try await SyslogSocketPeer.record(containing: "silence_created", from: syslog)
            #expect(created.contains(#"id="\#(id)""#), "\(created)")
            let author = try LoginName.author(nil)
            #expect(created.contains(#"created_by="\#(author)""#), "\(created)")
            #expect(created.contains(#"comment="upgrade""#), "\(created)")

            // The next matching event is printed with its rule and no receiver, and the hook gets nothing.
            _ = try await running.simulator.advance(to: .seconds(12))
            let advanced = try await daemon.awaitLine("stage_advanced") { $0.contains(#""type":"stage_advanced""#) }
            #expect(advanced.contains(#""routes":[{"rule":"dag-news","receivers":[]}]"#), "\(advanced)")
            try await Self.expectNothingDelivered(&hook)

            // A restart keeps it.
            kill(daemon.process.processIdentifier, SIGTERM)
            try await daemon.awaitExit()
            var restarted = try Child.launch(
                executable: executable,
                config: config.path,
                environment: [:],
                deadline: 150
            )
            defer { kill(restarted.process.processIdentifier, SIGKILL) }
            try await Self.awaitReady(statusPort)
            let listed = try await Self.obwatch(executable, ["silence", "list", "--url", url])
            #expect(listed.contains(id) && listed.contains("active"), "\(listed)")
            _ = try await running.simulator.advance(to: .seconds(25))
            let failed = try await restarted.awaitLine("failed") { $0.contains(#""type":"failed""#) }
            #expect(failed.contains(#""routes":[{"rule":"dag-news","receivers":[]}]"#), "\(failed)")
            try await Self.expectNothingDelivered(&hook)

            // Expired: audited, and the next event reaches the hook again.
            _ = try await Self.obwatch(
                executable,
                ["silence", "expire", "--url", url, "--token-file", tokenFile.path, "--author", "me", id]
            )
            let expired = try await SyslogSocketPeer.record(containing: "silence_expired", from: syslog)
            #expect(expired.contains(#"id="\#(id)""#) && expired.contains(#"expired_by="me""#), "\(expired)")
            let afterList = try await Self.obwatch(executable, ["silence", "list", "--url", url])
            #expect(afterList.contains("expired"), "\(afterList)")
            _ = try await running.simulator.advance(to: .seconds(62))
            let retried = try await hook.await("the retried notification") { $0.eventTypes.contains("retried") }
            #expect(retried.eventTypes == ["retried"])
            _ = restarted
        }
    }

    @Test("obwatch ack: the saved state drops the incident's reminders; PagerDuty gets acknowledge with its dedup_key")
    func acknowledge() async throws {
        let executable = try NeverSilentTests.executable()
        var pager = try await ReceiverPeer.start()
        defer { pager.stop() }
        let running = try await ManualSimulator(try bundledScenario("scale-out-fails.yaml"))
        defer { running.stop() }
        let folder = try temporaryFolder("obwatch-ack")
        defer { try? FileManager.default.removeItem(at: folder) }
        let statusPort = try DaemonLifecycleTests.freePort()
        let tokenFile = folder.appendingPathComponent("write.token")
        try Data("s3cret-write".utf8).write(to: tokenFile)
        let config = folder.appendingPathComponent("obwatch.yaml")
        try Data(
            """
            state_dir: \(folder.appendingPathComponent("state").path)
            http: { listen: "127.0.0.1:\(statusPort)", write_token_file: "\(tokenFile.path)" }
            targets:
              - { name: sim, url: "\(running.url)", password: root-pw, poll_interval: 200ms, timeout: 30s }
            receivers:
              - { name: pager, webhook: { format: pagerduty, url: "\(pager.url())", routing_key: rk } }
            rules:
              - { name: page, match: { event: [failed] }, notify: [pager], repeat: 1s }
            """.utf8
        ).write(to: config)
        var daemon = try Child.launch(executable: executable, config: config.path, environment: [:], deadline: 150)
        defer { kill(daemon.process.processIdentifier, SIGKILL) }
        try await Self.awaitReady(statusPort)
        _ = try await running.simulator.advance(to: .seconds(25))
        let failed = try await daemon.awaitLine("failed") { $0.contains(#""type":"failed""#) }
        let object = try #require(try JSONSerialization.jsonObject(with: Data(failed.utf8)) as? [String: Any])
        let incident = try #require(object["incident"] as? String)
        // The page, then a reminder a second later.
        _ = try await Self.pagerBody(&pager) { $0["event_action"] as? String == "trigger" }
        _ = try await Self.pagerBody(&pager) { $0["event_action"] as? String == "trigger" }

        let answer = try await Self.obwatch(
            executable,
            [
                "ack", "--url", "http://127.0.0.1:\(statusPort)", "--token-file", tokenFile.path, "--author", "me",
                incident,
            ]
        )
        #expect(answer.contains(#""notified":["pager"]"#), "\(answer)")
        // Answered once the router's memory is saved: acknowledged, and no reminder left for the incident.
        let saved = try Data(contentsOf: folder.appendingPathComponent("state/routing.state"))
        let state = try #require(try JSONSerialization.jsonObject(with: saved) as? [String: Any])
        #expect(state["acknowledged"] as? [String] == [incident])
        #expect((state["reminders"] as? [Any])?.isEmpty == true)
        let acknowledged = try await Self.pagerBody(&pager) { $0["event_action"] as? String != "trigger" }
        #expect(acknowledged["event_action"] as? String == "acknowledge")
        #expect(acknowledged["dedup_key"] as? String == incident)
        // The status API lists it as open and acknowledged, with the failed event and who was paged.
        let (status, body) = try await DaemonLifecycleTests.get(statusPort, "/api/v1/incidents")
        #expect(status == 200)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [[String: Any]])
        let row = try #require(rows.first { $0["incident"] as? String == incident }, "\(body)")
        #expect(row["acknowledged"] as? Bool == true)
        #expect(row["receivers"] as? [String] == ["pager"])
        #expect((row["event"] as? [String: Any])?["type"] as? String == "failed")
        #expect(row["next_reminder"] == nil)
        let again = try await Self.obwatch(
            executable,
            [
                "ack", "--url", "http://127.0.0.1:\(statusPort)", "--token-file", tokenFile.path, "--author", "me",
                incident,
            ]
        )
        #expect(again.contains(#""already":true"#), "\(again)")
    }

    /// The body of the next PagerDuty request that satisfies `matches`.
    static func pagerBody(
        _ pager: inout ReceiverPeer,
        where matches: @escaping ([String: Any]) -> Bool
    ) async throws -> [String: Any] {
        while true {
            let line = try await pager.child.awaitLine("a PagerDuty request") { _ in true }
            guard let request = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let text = request["body"] as? String,
                let body = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
            else { continue }
            if matches(body) { return body }
        }
    }

    /// Runs `obwatch ARGUMENTS` to its end; its standard output, trimmed. A failure exit fails the test.
    static func obwatch(_ executable: URL, _ arguments: [String]) async throws -> String {
        var child = try Child.launch(executable: executable, arguments: arguments, deadline: 60)
        try await child.awaitExit()
        #expect(child.process.terminationStatus == 0, "obwatch \(arguments.joined(separator: " ")) failed")
        return child.otherLines.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Waits until `/readyz` says ready (every target polled once).
    static func awaitReady(_ port: Int) async throws {
        _ = try await probeUntil("readyz 200", every: .milliseconds(100)) {
            (try? await DaemonLifecycleTests.get(port, "/readyz"))?.0 == 200 ? true : nil
        }
    }

    /// The hook has received nothing since the last request read: the first request it sees is the test's probe.
    static func expectNothingDelivered(_ hook: inout ReceiverPeer) async throws {
        _ = try await CurlEngine.shared.perform(
            HTTPRequest(method: .post, url: hook.url("/probe"), body: Data("{}".utf8))
        )
        let firstSeen = try await hook.await("the probe") { _ in true }
        #expect(firstSeen.path == "/probe", "the hook got \(firstSeen.eventTypes) while silenced")
    }
}
