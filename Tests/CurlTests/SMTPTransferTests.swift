import Curl
import Foundation
import PeerSupport
import Testing

/// Mail handed to a real aiosmtpd server on loopback, started and stopped by each test.
@Suite(.timeLimit(.minutes(2)))
struct SMTPTransferTests {
    let engine = CurlEngine.shared

    /// One accepted message as the SMTP peer reports it.
    struct Received: Decodable {
        var mail_from: String
        var rcpt_tos: [String]
        var data_b64: String

        var data: Data? {
            Data(base64Encoded: self.data_b64)
        }
    }

    static let message = Data(
        ("From: obwatch <obwatch@example.com>\r\n" + "To: dba@example.com\r\n" + "Subject: DAG 42 failed\r\n"
            + "MIME-Version: 1.0\r\n" + "Content-Type: text/plain; charset=utf-8\r\n" + "\r\n"
            + "The DAG failed.\r\n" + ".a line starting with a dot\r\n" + "Bye.\r\n").utf8
    )

    @Test func deliversMessageToEveryRecipient() async throws {
        try await withPeer(Peers.smtp()) { peer, port in
            let mail = MailRequest(
                server: "smtp://127.0.0.1:\(port)",
                tls: .none,
                sender: "obwatch@example.com",
                recipients: ["dba@example.com", "oncall@example.com", "hidden-bcc@example.com"],
                message: Self.message
            )
            let response = try await self.engine.send(mail)
            #expect(response.replyCode == 250)
            let line = try await peer.nextLine()
            let received = try JSONDecoder().decode(Received.self, from: Data(line.utf8))
            #expect(received.mail_from == "obwatch@example.com")
            #expect(received.rcpt_tos == ["dba@example.com", "oncall@example.com", "hidden-bcc@example.com"])
            #expect(received.data == Self.message)
        }
    }

    @Test func refusedRecipientIsMailRejected() async throws {
        try await withPeer(Peers.smtp()) { _, port in
            let mail = MailRequest(
                server: "smtp://127.0.0.1:\(port)",
                tls: .none,
                sender: "obwatch@example.com",
                recipients: ["dba@example.com", "rejected@example.com"],
                message: Self.message
            )
            let error = await #expect(throws: CurlError.self) { try await self.engine.send(mail) }
            #expect(error?.code == .mailRejected)
            #expect(error?.peerCode == 550)
        }
    }

    @Test func starttlsIsRequiredNeverSkipped() async throws {
        // aiosmtpd without a TLS context does not offer STARTTLS: the transfer must fail, not go on in plain text.
        try await withPeer(Peers.smtp()) { _, port in
            let mail = MailRequest(
                server: "smtp://127.0.0.1:\(port)",
                tls: .starttls,
                credentials: MailCredentials(username: "obwatch", password: "hunter2-secret"),
                sender: "obwatch@example.com",
                recipients: ["dba@example.com"],
                message: Self.message
            )
            let error = await #expect(throws: CurlError.self) { try await self.engine.send(mail) }
            #expect(error?.code == .tlsFailure)
            #expect(!(error?.description.contains("hunter2") ?? true))
        }
    }

    @Test func refusedConnectionIsTyped() async throws {
        let port = try closedLoopbackPort()
        let mail = MailRequest(
            server: "smtp://127.0.0.1:\(port)",
            tls: .none,
            sender: "a@example.com",
            recipients: ["b@example.com"],
            message: Self.message
        )
        let error = await #expect(throws: CurlError.self) { try await self.engine.send(mail) }
        #expect(error?.code == .couldNotConnect)
    }

    // MARK: - TLS and AUTH (the peer requires AUTH as obwatch / s3cret-pw, see smtp_peer.py)

    static let goodCredentials = MailCredentials(username: "obwatch", password: "s3cret-pw")

    /// Runs `body` with a TLS SMTP peer (`starttls` or `implicit`), its port and its certificate.
    private func withTLSPeer(_ mode: MailTLSMode, _ body: (PeerProcess, Int, String) async throws -> Void) async throws
    {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await withPeer(Peers.smtp(["--\(mode.rawValue)", directory])) { peer, port in
            try await body(peer, try #require(Int(port)), directory + "/cert.pem")
        }
    }

    private static func tlsMail(
        _ mode: MailTLSMode,
        port: Int,
        credentials: MailCredentials?,
        caFile: String?
    ) -> MailRequest {
        MailRequest(
            server: "\(mode == .implicit ? "smtps" : "smtp")://localhost:\(port)",
            tls: mode,
            credentials: credentials,
            sender: "obwatch@example.com",
            recipients: ["dba@example.com", "oncall@example.com"],
            message: Self.message,
            tlsOptions: TLSOptions(caFile: caFile)
        )
    }

    @Test(arguments: [MailTLSMode.starttls, .implicit])
    func deliversOverTLSWithAuth(mode: MailTLSMode) async throws {
        try await self.withTLSPeer(mode) { peer, port, certificate in
            let mail = Self.tlsMail(mode, port: port, credentials: Self.goodCredentials, caFile: certificate)
            let response = try await self.engine.send(mail)
            #expect(response.replyCode == 250)
            let line = try await peer.nextLine()
            let received = try JSONDecoder().decode(Received.self, from: Data(line.utf8))
            #expect(received.rcpt_tos == ["dba@example.com", "oncall@example.com"])
            #expect(received.data == Self.message)
        }
    }

    @Test func wrongPasswordIsLoginDenied() async throws {
        try await self.withTLSPeer(.starttls) { _, port, certificate in
            let wrong = MailCredentials(username: "obwatch", password: "wrong-pass-1234")
            let mail = Self.tlsMail(.starttls, port: port, credentials: wrong, caFile: certificate)
            let error = await #expect(throws: CurlError.self) { try await self.engine.send(mail) }
            #expect(error?.code == .loginDenied)
            #expect(!(error?.description.contains("wrong-pass-1234") ?? true))
        }
    }

    @Test(arguments: [MailTLSMode.starttls, .implicit])
    func untrustedServerCertificateIsRefused(mode: MailTLSMode) async throws {
        try await self.withTLSPeer(mode) { _, port, _ in
            let mail = Self.tlsMail(mode, port: port, credentials: Self.goodCredentials, caFile: nil)
            let error = await #expect(throws: CurlError.self) { try await self.engine.send(mail) }
            #expect(error?.code == .tlsFailure)
        }
    }
}
