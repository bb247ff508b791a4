import ConfigModel
import Curl
import Foundation
import Messages
import PeerSupport
import Testing
import Tracker

@testable import Delivery

/// Mails built by ``MailMessage`` and sent by ``MailSender`` to a real aiosmtpd relay on loopback, started by each
/// test; Python's `email` package reads what arrived.
@Suite(.timeLimit(.minutes(2)))
struct MailSenderTests {
    static let password = "s3cret-pw"
    static let host = "mon-1.example.com"

    /// Runs `body` with a TLS relay (`starttls` or `implicit`), its port and its certificate.
    private func withTLSRelay(
        _ mode: EmailSettings.TLSMode,
        _ body: (PeerProcess, Int, String) async throws -> Void
    ) async throws {
        let directory = try makeMailTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await withPeer(MailPeers.smtp(["--\(mode.rawValue)", directory])) { peer, port in
            try await body(peer, try #require(Int(port)), directory + "/cert.pem")
        }
    }

    private static func tlsSettings(
        _ mode: EmailSettings.TLSMode,
        port: Int,
        certificate: String,
        password: String = Self.password,
        to: [String] = ["dba@example.com", "DBA Team <team@example.com>"]
    ) -> EmailSettings {
        MailFixtures.settings(
            relay: "\(mode == .implicit ? "smtps" : "smtp")://localhost:\(port)",
            tls: mode,
            username: "obwatch",
            password: password,
            to: to,
            caFile: certificate
        )
    }

    private static func mail(
        _ notification: OutboundNotification,
        title: String,
        text: String,
        settings: EmailSettings
    ) -> Data {
        MailMessage.build(
            notification: notification,
            message: RenderedMessage(title: title, text: text),
            settings: settings,
            hostname: Self.host,
            now: MailFixtures.now
        )
    }

    @Test func firingAndResolvedArriveOverSTARTTLSAndThread() async throws {
        try await self.withTLSRelay(.starttls) { peer, port, certificate in
            let settings = Self.tlsSettings(.starttls, port: port, certificate: certificate)
            let sender = MailSender(settings: settings, timeout: .seconds(30))
            let firing = MailFixtures.notification([MailFixtures.failed(log: "line one\r\nline two\u{2028}🚨")])
            let resolved = MailFixtures.notification([MailFixtures.retried()])
            let firingTitle = "扩容失败 Cluster scale out failed\r\nBcc: victim@example.net"
            let firingText = "Cluster scale out failed at stage 4/9.\nLast log: line one\r\nline two\u{2028}🚨"

            let response = try await sender.send(
                Self.mail(firing, title: firingTitle, text: firingText, settings: settings)
            )
            #expect(response.replyCode == 250)
            let first = try MailReceived.decode(try await peer.nextLine())
            _ = try await sender.send(
                Self.mail(resolved, title: "Cluster scale out runs again", text: "It runs.", settings: settings)
            )
            let second = try MailReceived.decode(try await peer.nextLine())

            #expect(first.mail_from == "obwatch@example.com")
            #expect(first.rcpt_tos == ["dba@example.com", "team@example.com"])
            #expect(first.parsed.defects.isEmpty, "\(first.parsed.defects)")
            #expect(first.parsed.content_type == "multipart/alternative")
            #expect(first.parsed.header("subject") == "扩容失败 Cluster scale out failed Bcc: victim@example.net")
            #expect(first.parsed.headers["bcc"] == nil)
            #expect(first.parsed.header("from") == "obwatch <obwatch@example.com>")
            #expect(first.parsed.header("to") == "dba@example.com, DBA Team <team@example.com>")
            #expect(first.parsed.header("message-id") == "<\(firing.id)@obwatch.\(Self.host)>")
            #expect(first.parsed.header("date") == "Tue, 24 Nov 2026 21:14:54 +0000")
            let plain = try #require(first.parsed.parts["text/plain"])
            // Python keeps the part's CRLF line breaks; compare the lines.
            let lines = plain.replacingOccurrences(of: "\r\n", with: "\n")
            #expect(lines.hasPrefix(firingText.replacingOccurrences(of: "\r\n", with: "\n")))
            #expect(plain.contains("2024-01-10T11:34:32.520371417+08:00"))
            #expect(first.parsed.parts["text/html"]?.contains("line two\u{2028}🚨") == true)

            let root = "<\(MailMessage.threadRoot(incident: MailFixtures.incident))@obwatch.\(Self.host)>"
            #expect(first.parsed.header("references") == root)
            #expect(second.parsed.header("references") == root)
            #expect(second.parsed.header("in-reply-to") == root)
            #expect(second.parsed.header("message-id") == "<\(resolved.id)@obwatch.\(Self.host)>")
            #expect(second.parsed.defects.isEmpty)
        }
    }

    @Test func deliversOverImplicitTLS() async throws {
        try await self.withTLSRelay(.implicit) { peer, port, certificate in
            let settings = Self.tlsSettings(.implicit, port: port, certificate: certificate)
            let sender = MailSender(settings: settings, timeout: .seconds(30))
            let notification = MailFixtures.notification([MailFixtures.failed()])
            _ = try await sender.send(Self.mail(notification, title: "failed", text: "body", settings: settings))
            let received = try MailReceived.decode(try await peer.nextLine())
            #expect(received.parsed.header("subject") == "failed")
            #expect(received.parsed.defects.isEmpty)
        }
    }

    @Test func relayWithoutSTARTTLSIsRefused() async throws {
        try await withPeer(MailPeers.smtp()) { _, port in
            let settings = MailFixtures.settings(
                relay: "smtp://127.0.0.1:\(port)",
                tls: .starttls,
                username: "obwatch",
                password: "hunter2-secret"
            )
            let sender = MailSender(settings: settings, timeout: .seconds(30))
            let error = await #expect(throws: MailDeliveryError.self) {
                try await sender.send(Data("Subject: x\r\n\r\nx\r\n".utf8))
            }
            #expect(error?.code == .tlsFailed)
            #expect(!(error.map { "\($0) \($0.message) \(String(describing: $0.cause))" }?.contains("hunter2") ?? true))
        }
    }

    @Test func wrongPasswordIsPermanentAndNeverShown() async throws {
        try await self.withTLSRelay(.starttls) { _, port, certificate in
            let settings = Self.tlsSettings(
                .starttls,
                port: port,
                certificate: certificate,
                password: "wrong-pass-1234"
            )
            let sender = MailSender(settings: settings, timeout: .seconds(30))
            let error = await #expect(throws: MailDeliveryError.self) {
                try await sender.send(Data("Subject: x\r\n\r\nx\r\n".utf8))
            }
            #expect(error?.code == .authenticationFailed)
            #expect(error?.retryable == false)
            let shown = error.map { "\($0) \($0.message) \(String(describing: $0.cause)) \(String(reflecting: $0))" }
            #expect(!(shown?.contains("wrong-pass-1234") ?? true))
        }
    }

    @Test(arguments: [("reject-me@example.com", false, 550), ("tempfail@example.com", true, 451)])
    func recipientRefusalsAreClassifiedByReplyCode(recipient: String, retryable: Bool, reply: Int) async throws {
        try await withPeer(MailPeers.smtp()) { _, port in
            let settings = MailFixtures.settings(relay: "smtp://127.0.0.1:\(port)", tls: .none, to: [recipient])
            let sender = MailSender(settings: settings, timeout: .seconds(30))
            let error = await #expect(throws: MailDeliveryError.self) {
                try await sender.send(Data("Subject: x\r\n\r\nx\r\n".utf8))
            }
            #expect(error?.retryable == retryable)
            #expect(error?.replyCode == reply)
        }
    }

    @Test func refusedConnectionIsRetryable() async throws {
        // A port of a relay that was started and stopped: nothing listens there any more.
        let peer = try MailPeers.smtp()
        let port = try await peer.nextLine()
        await peer.stop()
        let settings = MailFixtures.settings(relay: "smtp://127.0.0.1:\(port)", tls: .none)
        let error = await #expect(throws: MailDeliveryError.self) {
            try await MailSender(settings: settings, timeout: .seconds(30)).send(Data("x\r\n".utf8))
        }
        #expect(error?.code == .connectionFailed)
        #expect(error?.retryable == true)
    }

    @Test func plainTextToARemoteRelayIsPermanent() async throws {
        let settings = MailFixtures.settings(relay: "smtp://relay.example.com:25", tls: .none)
        let error = await #expect(throws: MailDeliveryError.self) {
            try await MailSender(settings: settings, timeout: .seconds(5)).send(Data("x\r\n".utf8))
        }
        #expect(error?.code == .invalidRequest)
        #expect(error?.retryable == false)
    }

    @Test func settingsMapToTheTransfer() {
        let settings = MailFixtures.settings(
            relay: "smtps://relay.example.com:465",
            tls: .implicit,
            username: "obwatch",
            password: "pw",
            caFile: "/etc/ca.pem"
        )
        let request = MailSender(settings: settings, timeout: .seconds(20)).request(Data("x".utf8))
        #expect(request.server == "smtps://relay.example.com:465")
        #expect(request.tls == .implicit)
        #expect(request.credentials == MailCredentials(username: "obwatch", password: "pw"))
        #expect(request.sender == "obwatch@example.com")
        #expect(request.recipients == ["dba@example.com", "team@example.com"])
        #expect(request.timeout == .seconds(20))
        #expect(request.connectTimeout == .seconds(10))
        #expect(request.tlsOptions.caFile == "/etc/ca.pem")
    }
}
