import ArgumentParser
import Foundation
import ObwatchTestKit
import PeerSupport
import Synchronization
import Testing

@testable import ObwatchApp

@Suite("obwatch test-receiver", .serialized)
struct TestReceiverCommandTests {
    static let receiverScript = packageRoot.appendingPathComponent("Tests/DeliveryTests/Peers/webhook_receiver.py")

    /// Writes a config with one generic webhook at the receiver on `port`.
    private func config(port: String, in folder: URL) throws -> String {
        let file = folder.appendingPathComponent("obwatch.yaml")
        try Data(
            """
            state_dir: \(folder.path)
            targets: [{ name: prod-east, url: "http://127.0.0.1:1" }]
            receivers:
              - { name: hook, webhook: { format: generic, url: "http://127.0.0.1:\(port)/hook" }, timeout: 5s }
            rules: [{ name: all, match: { event: "*" }, notify: [hook] }]
            """.utf8
        ).write(to: file)
        return file.path
    }

    @Test("a receiver that takes the sample exits 0; one that answers 500 exits 1")
    func sample() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [Self.receiverScript.path, #"[{"status":200,"body":{}},{"status":500}]"#]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        defer { process.terminate() }
        // Lines arrive from a reading thread, never by a blocking read in the test.
        let (lines, sink) = AsyncStream.makeStream(of: String.self)
        let pending = Mutex(Data())
        PipeDrain.start(
            output.fileHandleForReading,
            onData: { chunk in
                pending.withLock { buffer in
                    buffer.append(chunk)
                    while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                        sink.yield(String(decoding: buffer[..<newline], as: UTF8.self))
                        buffer = Data(buffer[buffer.index(after: newline)...])
                    }
                }
            },
            onEnd: { sink.finish() }
        )
        var iterator = lines.makeAsyncIterator()
        let port = await iterator.next(isolation: #isolation) ?? ""
        let folder = try temporaryFolder("obw-test-receiver")
        let config = try self.config(port: port, in: folder)

        try await TestReceiverCommand.parse(["--config", config, "hook"]).run()
        let request = try #require(
            try JSONSerialization.jsonObject(with: Data((await iterator.next(isolation: #isolation) ?? "").utf8))
                as? [String: Any]
        )
        let body = try #require(request["body"] as? String)
        #expect(body.contains("obwatch.notification/v1") && body.contains("test-receiver"))
        // A test, not a failure: its type, its incident and its title say so.
        #expect(body.contains(#""type":"test""#) && !body.contains(#""type":"failed""#))
        #expect(body.contains(#""incident":"test/prod-east/"#))
        #expect(body.contains(#""title":"[TEST] "#))

        await #expect(throws: ExitCode(1)) { try await TestReceiverCommand.parse(["--config", config, "hook"]).run() }
        await #expect(throws: ExitCode(1)) { try await TestReceiverCommand.parse(["--config", config, "nope"]).run() }
    }

    @Test("PagerDuty is sent the test's trigger, then its resolve with the same dedup_key")
    func pagerDutyTriggerThenResolve() async throws {
        let peer = try PeerProcess.launchPython(script: Self.receiverScript, arguments: ["[]"])
        try await withPeer(peer) { peer, port in
            let folder = try temporaryFolder("obw-test-receiver-pd")
            defer { try? FileManager.default.removeItem(at: folder) }
            let config = try Self.write(
                """
                state_dir: \(folder.path)
                targets: [{ name: prod-east, url: "http://127.0.0.1:1" }]
                receivers:
                  - name: oncall
                    webhook: { format: pagerduty, routing_key: rk-0123456789, url: "http://127.0.0.1:\(port)/v2/enqueue" }
                rules: [{ name: stalls, match: { event: stalled }, notify: [oncall] }]
                """,
                in: folder
            )
            try await TestReceiverCommand.parse(["--config", config, "oncall"]).run()
            let trigger = try Self.body(of: try await peer.nextLine())
            let resolve = try Self.body(of: try await peer.nextLine())
            #expect(trigger["event_action"] as? String == "trigger")
            #expect(resolve["event_action"] as? String == "resolve")
            let key = try #require(trigger["dedup_key"] as? String)
            #expect(key.hasPrefix("test/prod-east/"))
            #expect(resolve["dedup_key"] as? String == key)
            let payload = try #require(trigger["payload"] as? [String: Any])
            #expect(payload["class"] as? String == "test")
            #expect((payload["summary"] as? String)?.hasPrefix("[TEST] ") == true)
            #expect(payload["severity"] as? String == "info")
        }
    }

    @Test("a syslog record of the test says test: MSGID, type, test=\"true\", the incident and the text")
    func syslogRecordSaysTest() async throws {
        // Exits when its standard input closes (PeerProcess.stop): a signal may be blocked in a child of the tests.
        let script = """
            import json, os, socket, sys, threading
            threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            print(s.getsockname()[1], flush=True)
            while True:
                print(json.dumps(s.recv(65536).decode("utf-8", "replace")), flush=True)
            """
        let peer = try PeerProcess.launch(executable: PeerProcess.python, arguments: ["-u", "-c", script])
        try await withPeer(peer) { peer, port in
            let folder = try temporaryFolder("obw-test-receiver-syslog")
            defer { try? FileManager.default.removeItem(at: folder) }
            let config = try Self.write(
                """
                state_dir: \(folder.path)
                targets: [{ name: prod-east, url: "http://127.0.0.1:1" }]
                receivers: [{ name: audit, syslog: { address: "udp://127.0.0.1:\(port)", format: rfc5424 } }]
                rules: [{ name: audit-trail, match: { event: "*" }, notify: [audit] }]
                """,
                in: folder
            )
            try await TestReceiverCommand.parse(["--config", config, "audit"]).run()
            let line = try await peer.nextLine()
            let record = try #require(
                try JSONSerialization.jsonObject(with: Data(line.utf8), options: .fragmentsAllowed) as? String
            )
            #expect(record.contains(" obwatch ") && record.contains(" test [obwatch@32473 "), "\(record)")
            #expect(record.contains(#"type="test""#) && !record.contains(#"type="failed""#))
            #expect(record.contains(#"test="true""#))
            #expect(record.contains(#"incident="test/prod-east/"#))
            #expect(record.contains("\u{FEFF}[TEST] "))
        }
    }

    private static func write(_ text: String, in folder: URL) throws -> String {
        let file = folder.appendingPathComponent("obwatch.yaml")
        try Data(text.utf8).write(to: file)
        return file.path
    }

    /// The JSON body of one request line of the webhook receiver.
    private static func body(of line: String) throws -> [String: Any] {
        let request = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let body = try #require(request["body"] as? String)
        return try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
    }
}
