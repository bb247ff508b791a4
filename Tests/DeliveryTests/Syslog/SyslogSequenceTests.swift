import ConfigModel
import Foundation
import Messages
import ObshellModel
import Testing
import Tracker

@testable import Delivery

@Suite("Delivery: syslog sequence ids keep counting when the senders are made again")
struct SyslogSequenceTests {
    private static func notification(_ id: String, events count: Int) -> OutboundNotification {
        let events = (1...count).map { index in
            Event(
                id: "\(id)-\(index)",
                type: .stageAdvanced,
                at: ObshellTime(seconds: 1_700_000_000 + Int64(index), nanoseconds: 0),
                target: TargetIdentity(name: "prod-east"),
                summary: "step \(index)"
            )
        }
        return OutboundNotification(receiver: "audit", rule: "audit-trail", events: events)
    }

    /// The `sequenceId` of each of the next `count` datagrams.
    private static func sequenceIDs(_ listener: SyslogTestSocket, _ count: Int) async throws -> [String] {
        var ids: [String] = []
        for _ in 0..<count {
            let parsed = try SyslogParsed5424(try await listener.receiveDatagram())
            ids.append(parsed.element("meta")?.value("sequenceId") ?? "none")
        }
        return ids
    }

    @Test("a reload's new sender continues the receiver's count; a sender without the book starts at 1")
    func continuesAcrossSenders() async throws {
        let listener = try SyslogTestSocket.udp()
        defer { listener.close() }
        let receiver = ReceiverConfig(
            name: "audit",
            kind: .syslog(
                SyslogSettings(address: .udp(host: "127.0.0.1", port: listener.port), format: .rfc5424, facility: 16)
            ),
            delivery: DeliverySettings(timeout: .seconds(5)),
            mark: .init(file: "", line: 0, column: 0)
        )
        let config = ObwatchConfig(file: "", stateDirectory: "/tmp", receivers: [receiver])
        let templates = MessageTemplates(receiver: receiver, config: config)
        let book = SyslogProgressBook()
        let now = Date()

        let first = DeliverySenders.make(for: receiver, templates: templates, hostname: "h", syslogProgress: book)
        #expect(await first.deliver(Self.notification("a", events: 2), now: now).word == "delivered")
        #expect(try await Self.sequenceIDs(listener, 2) == ["1", "2"])

        // The configuration was reloaded: a new sender for the same receiver.
        let second = DeliverySenders.make(for: receiver, templates: templates, hostname: "h", syslogProgress: book)
        #expect(await second.deliver(Self.notification("b", events: 1), now: now).word == "delivered")
        #expect(try await Self.sequenceIDs(listener, 1) == ["3"])
        #expect(book.progress(for: "audit") === book.progress(for: "audit"))

        let alone = DeliverySenders.make(for: receiver, templates: templates, hostname: "h")
        #expect(await alone.deliver(Self.notification("c", events: 1), now: now).word == "delivered")
        #expect(try await Self.sequenceIDs(listener, 1) == ["1"])
    }
}
