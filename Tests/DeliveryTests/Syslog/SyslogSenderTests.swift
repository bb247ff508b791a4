import ConfigModel
import Foundation
import Testing

@testable import Delivery

/// Messages sent by ``SyslogSender`` to sockets the test binds itself.
@Suite(.timeLimit(.minutes(2)))
struct SyslogSenderTests {
    static func message(_ number: Int, format: SyslogSettings.Format = .rfc5424) -> Data {
        let settings = SyslogSettings(address: .unix(path: "/dev/log"), format: format, facility: 16)
        return SyslogMessage.format(
            event: MailFixtures.failed(log: "log \(number)\r\nmore ] \" \\"),
            notification: OutboundNotification(receiver: "audit", rule: "audit-trail", events: [MailFixtures.failed()]),
            text: "message \(number)\nwith a second line\u{2028}and a third",
            settings: settings,
            hostname: "mon-1",
            processID: 99,
            sequence: UInt64(number)
        )
    }

    @Test(arguments: [SyslogSettings.Format.rfc5424, .rfc3164])
    func unixDatagramsArrive(format: SyslogSettings.Format) async throws {
        let directory = try makeSyslogTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/log"
        let listener = try SyslogTestSocket.unixDatagram(path: path)
        defer { listener.close() }
        let sender = SyslogSender(
            settings: SyslogSettings(address: .unix(path: path), format: format, facility: 16),
            timeout: .seconds(5)
        )
        for number in 1...3 {
            try await sender.send(Self.message(number, format: format))
        }
        for number in 1...3 {
            let received = try await listener.receiveDatagram()
            #expect(received == Self.message(number, format: format))
            if format == .rfc5424 {
                let parsed = try SyslogParsed5424(received)
                #expect(parsed.element("meta")?.value("sequenceId") == "\(number)")
                #expect(parsed.message == "message \(number) with a second line and a third")
            } else {
                #expect(try SyslogParsed3164(received).message == "message \(number) with a second line and a third")
            }
        }
        await sender.close()
    }

    @Test func aTenKilobyteMessageIsOneDatagram() async throws {
        let directory = try makeSyslogTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/log"
        let listener = try SyslogTestSocket.unixDatagram(path: path)
        defer { listener.close() }
        let text = String(repeating: "a long agent log line\r\n", count: 500)
        let settings = SyslogSettings(address: .unix(path: path), format: .rfc5424, facility: 1)
        let data = SyslogMessage.format(
            event: MailFixtures.failed(log: text),
            notification: OutboundNotification(receiver: "audit", rule: "r", events: [MailFixtures.failed()]),
            text: text,
            settings: settings,
            hostname: "h",
            processID: 1,
            sequence: 1
        )
        let sender = SyslogSender(settings: settings, timeout: .seconds(5))
        try await sender.send(data)
        let received = try await listener.receiveDatagram()
        #expect(received == data)
        #expect(try SyslogParsed5424(received).message?.hasPrefix("a long agent log line a long") == true)
        #expect(!listener.hasPendingDatagram())
    }

    @Test func aRestartedUnixSocketIsFoundAgain() async throws {
        let directory = try makeSyslogTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/log"
        let sender = SyslogSender(
            settings: SyslogSettings(address: .unix(path: path), format: .rfc5424, facility: 16),
            timeout: .seconds(5)
        )

        let missing = await #expect(throws: SyslogDeliveryError.self) { try await sender.send(Self.message(1)) }
        #expect(missing?.code == .connectFailed)
        #expect(missing?.retryable == true)

        let first = try SyslogTestSocket.unixDatagram(path: path)
        try await sender.send(Self.message(2))
        #expect(try await first.receiveDatagram() == Self.message(2))
        first.close()
        try FileManager.default.removeItem(atPath: path)

        // The daemon restarted: a new socket at the same path. The sender's old connection is dead; it reconnects.
        let second = try SyslogTestSocket.unixDatagram(path: path)
        defer { second.close() }
        try await sender.send(Self.message(3))
        #expect(try await second.receiveDatagram() == Self.message(3))
        #expect(!second.hasPendingDatagram())
    }

    @Test func udpDatagramsArrive() async throws {
        let listener = try SyslogTestSocket.udp()
        defer { listener.close() }
        let settings = SyslogSettings(
            address: .udp(host: "127.0.0.1", port: listener.port),
            format: .rfc5424,
            facility: 16
        )
        let sender = SyslogSender(settings: settings, timeout: .seconds(5))
        try await sender.send(Self.message(1))
        try await sender.send(Self.message(2))
        #expect(try await listener.receiveDatagram() == Self.message(1))
        let second = try await listener.receiveDatagram()
        #expect(second == Self.message(2))
        #expect(try SyslogParsed5424(second).msgID == "failed")
    }

    @Test func tcpFramesWithOctetCounting() async throws {
        let listener = try SyslogTestSocket.tcpListener()
        defer { listener.close() }
        let settings = SyslogSettings(
            address: .tcp(host: "localhost", port: listener.port),
            format: .rfc5424,
            facility: 16
        )
        let sender = SyslogSender(settings: settings, timeout: .seconds(5))
        for number in 1...5 {
            try await sender.send(Self.message(number))
        }
        let connection = try await listener.accept()
        defer { connection.close() }
        for number in 1...5 {
            let frame = try await connection.readFrame()
            #expect(frame == Self.message(number))
            _ = try SyslogParsed5424(frame)
        }
        #expect(!connection.hasPendingBytes())
    }

    @Test func tcpCollectorRestartLosesNothing() async throws {
        let listener = try SyslogTestSocket.tcpListener()
        let port = listener.port
        let settings = SyslogSettings(address: .tcp(host: "127.0.0.1", port: port), format: .rfc5424, facility: 16)
        let sender = SyslogSender(settings: settings, timeout: .seconds(5))
        try await sender.send(Self.message(1))
        try await sender.send(Self.message(2))
        let connection = try await listener.accept()
        #expect(try await connection.readFrame() == Self.message(1))
        #expect(try await connection.readFrame() == Self.message(2))
        #expect(!connection.hasPendingBytes())

        // The collector goes away: its connection and its listener close.
        connection.close()
        listener.close()
        // While it is away a send throws, unless it was written before the close reached us: TCP cannot tell
        // such a frame was lost, so it is written again on the next connection.
        var accepted: [Int] = []
        for number in 3...4 {
            do {
                try await sender.send(Self.message(number))
                accepted.append(number)
            } catch {
                #expect(error.retryable)
            }
        }
        #expect(accepted.count < 2)

        // It comes back on the same port: the next send reconnects; the last frame written on the old connection
        // comes again first (at least once), then the new ones.
        let restarted = try SyslogTestSocket.tcpListener(port: port)
        defer { restarted.close() }
        try await sender.send(Self.message(5))
        try await sender.send(Self.message(6))
        let second = try await restarted.accept()
        defer { second.close() }
        let replayed = try await second.readFrame()
        #expect(replayed == Self.message(accepted.last ?? 2))
        #expect(try await second.readFrame() == Self.message(5))
        #expect(try await second.readFrame() == Self.message(6))
        #expect(!second.hasPendingBytes())
    }

    @Test func unusableAddressesAreTyped() async throws {
        let long = SyslogSender(
            settings: SyslogSettings(
                address: .unix(path: "/tmp/" + String(repeating: "x", count: 200)),
                format: .rfc5424,
                facility: 1
            ),
            timeout: .seconds(1)
        )
        let tooLong = await #expect(throws: SyslogDeliveryError.self) { try await long.send(Data("x".utf8)) }
        #expect(tooLong?.code == .invalidAddress)
        #expect(tooLong?.retryable == false)

        let badPort = SyslogSender(
            settings: SyslogSettings(address: .tcp(host: "127.0.0.1", port: 0), format: .rfc5424, facility: 1),
            timeout: .seconds(1)
        )
        let portError = await #expect(throws: SyslogDeliveryError.self) { try await badPort.send(Data("x".utf8)) }
        #expect(portError?.code == .invalidAddress)

        let unresolvable = SyslogSender(
            settings: SyslogSettings(
                address: .udp(host: "no-such-host.invalid", port: 514),
                format: .rfc5424,
                facility: 1
            ),
            timeout: .seconds(5)
        )
        let resolveError = await #expect(throws: SyslogDeliveryError.self) {
            try await unresolvable.send(Data("x".utf8))
        }
        #expect(resolveError?.code == .resolveFailed)
    }
}
