import ConfigModel
import Foundation
import Messages
import ObshellModel
import ObwatchTestKit
import Testing
import Tracker

@testable import Delivery

@Suite("Delivery: syslog through the outbox while the collector restarts")
struct SyslogOutboxTests {
    /// A notification of `count` events of DAG `dag`, each a record of its own.
    private static func notification(_ dag: Int, events count: Int) -> OutboundNotification {
        let events = (1...count).map { index in
            Event(
                id: "\(dag)-\(index)",
                type: .stageAdvanced,
                at: ObshellTime(seconds: 1_700_000_000 + Int64(index), nanoseconds: 0),
                target: TargetIdentity(name: "prod-east"),
                summary: "DAG \(dag) step \(index)"
            )
        }
        return OutboundNotification(receiver: "audit", rule: "audit-trail", events: events)
    }

    /// Runs a wait and names it when it fails.
    private static func step<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw SyslogTestError(message: "\(what): \(error)")
        }
    }

    @Test("records queued while the TCP collector is down arrive after it restarts, in order; none is lost")
    func collectorRestart() async throws {
        let listener = try SyslogTestSocket.tcpListener()
        let port = listener.port
        let receiver = ReceiverConfig(
            name: "audit",
            kind: .syslog(SyslogSettings(address: .tcp(host: "127.0.0.1", port: port), format: .rfc5424, facility: 16)),
            delivery: DeliverySettings(timeout: .seconds(30), retryInitial: .seconds(1), retryMax: .seconds(1)),
            mark: .init(file: "", line: 0, column: 0)
        )
        let config = ObwatchConfig(file: "", stateDirectory: "/tmp", receivers: [receiver])
        let clock = ManualClock()
        let recorder = DeliveryRecorder()
        let folder = try OutboxFixtures.folder()
        let queue = ReceiverQueue(
            name: "audit",
            settings: receiver.delivery,
            file: OutboxFile(stateDirectory: folder, receiver: "audit"),
            sender: DeliverySenders.make(
                for: receiver,
                templates: MessageTemplates(receiver: receiver, config: config),
                hostname: "obwatch-test"
            ),
            clock: clock,
            random: { 1.0 },
            onAttempt: { recorder.attempt($0) },
            onDrop: { recorder.drop($0) }
        )
        let worker = Task { await queue.run() }
        defer { worker.cancel() }

        try await queue.accept([Self.notification(1, events: 2)])
        let connection = try await Self.step("the first connection") {
            do { return try await listener.accept() } catch {
                throw SyslogTestError(
                    message: "\(error); attempts \(recorder.attempts.map(\.outcome)); depth \(await queue.depth)"
                )
            }
        }
        var first: [String] = []
        for _ in 0..<2 { first.append(try SyslogParsed5424(try await connection.readFrame()).msgID) }
        #expect(first == ["stage_advanced", "stage_advanced"])

        // The collector goes away; two notifications are queued while it is down.
        connection.close()
        listener.close()
        try await queue.accept([Self.notification(2, events: 2), Self.notification(3, events: 1)])
        await clock.sleepers(atLeast: 1)
        #expect(recorder.attempts.last?.outcome.word == "retry")

        // It comes back on the same port; the retry reconnects and everything queued follows.
        let restarted = try SyslogTestSocket.tcpListener(port: port)
        defer { restarted.close() }
        clock.advance(by: .seconds(1))
        let second = try await Self.step(
            "the connection after the restart; attempts \(recorder.attempts.map(\.outcome))"
        ) {
            try await restarted.accept()
        }
        defer { second.close() }
        // The last record written before the collector went away may come again first (TCP cannot tell whether it
        // was read): at least once, never lost; then everything queued meanwhile, in order, once.
        var records: [String] = []
        while !records.contains("3-1") {
            let parsed = try SyslogParsed5424(try await second.readFrame())
            records.append(parsed.element("obwatch@32473")?.value("event_id") ?? "?")
        }
        let fresh = records.drop { $0 == "1-2" }
        #expect(records.count - fresh.count <= 1)
        #expect(Array(fresh) == ["2-1", "2-2", "3-1"])
        try await recorder.wait(until: "an empty queue") { await queue.depth == 0 }
        #expect(!second.hasPendingBytes())
        await queue.stop()
    }
}
