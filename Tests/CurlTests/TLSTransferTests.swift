import Foundation
import PeerSupport
import Testing

@testable import Curl

/// HTTPS against a loopback server whose self-signed certificate (for the name `localhost` only) the peer makes
/// with openssl at start-up.
@Suite(.timeLimit(.minutes(2)))
struct TLSTransferTests {
    let engine = CurlEngine.shared

    /// What the HTTPS peer made in its directory (see `make_certificate` in http_peer.py).
    struct Certificates {
        var directory: String
        /// The server's certificate, which is its own CA.
        var server: String { self.directory + "/cert.pem" }
        /// An unrelated CA certificate.
        var other: String { self.directory + "/other.pem" }
        /// A hashed CA directory holding only the server's certificate.
        var hashedDirectory: String { self.directory + "/hashed" }
    }

    /// Runs `body` with an HTTPS peer's port and certificates, and stops the peer afterwards.
    private func withHTTPSPeer(_ body: (Int, Certificates) async throws -> Void) async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await withPeer(Peers.http(["--tls", directory])) { _, port in
            try await body(try #require(Int(port)), Certificates(directory: directory))
        }
    }

    @Test func caFileMakesThePeerTrusted() async throws {
        try await self.withHTTPSPeer { port, certificates in
            var request = HTTPRequest(url: "https://localhost:\(port)/echo")
            request.tls = TLSOptions(caFile: certificates.server)
            let response = try await self.engine.perform(request)
            #expect(response.status == 200)
            #expect(try Echo.decode(response.body).method == "GET")
        }
    }

    @Test func caFileAddsToTheSystemCAsInsteadOfReplacingThem() async throws {
        try await self.withHTTPSPeer { port, certificates in
            // The CA file does not know the server; the stand-in "system" directory does. Trust must come from it.
            var request = HTTPRequest(url: "https://localhost:\(port)/echo")
            request.tls = TLSOptions(caFile: certificates.other)
            request.tls.systemCADirectory = certificates.hashedDirectory
            let trusted = try await self.engine.perform(request)
            #expect(trusted.status == 200)

            // Control: with an empty directory instead, the same request is refused.
            let empty = try makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: empty) }
            request.tls.systemCADirectory = empty
            let error = await #expect(throws: CurlError.self) { try await self.engine.perform(request) }
            #expect(error?.code == .tlsFailure)
            #expect(error?.curlCode == 60)
        }
    }

    @Test func unknownCertificateIsRefusedByDefault() async throws {
        try await self.withHTTPSPeer { port, _ in
            let error = await #expect(throws: CurlError.self) {
                try await self.engine.perform(HTTPRequest(url: "https://localhost:\(port)/echo"))
            }
            #expect(error?.code == .tlsFailure)
        }
    }

    @Test func hostNameIsVerified() async throws {
        try await self.withHTTPSPeer { port, certificates in
            // Same server, trusted CA, but the certificate names localhost and not 127.0.0.1.
            var request = HTTPRequest(url: "https://127.0.0.1:\(port)/echo")
            request.tls = TLSOptions(caFile: certificates.server)
            let error = await #expect(throws: CurlError.self) { try await self.engine.perform(request) }
            #expect(error?.code == .tlsFailure)
        }
    }

    @Test func verificationCanBeTurnedOff() async throws {
        try await self.withHTTPSPeer { port, _ in
            var request = HTTPRequest(url: "https://127.0.0.1:\(port)/echo")
            request.tls = TLSOptions(verifyPeer: false)
            let response = try await self.engine.perform(request)
            #expect(response.status == 200)
        }
    }

    @Test func missingCAFileIsATLSFailure() async throws {
        try await self.withHTTPSPeer { port, _ in
            var request = HTTPRequest(url: "https://localhost:\(port)/echo")
            request.tls = TLSOptions(caFile: "/nonexistent/ca.pem")
            let error = await #expect(throws: CurlError.self) { try await self.engine.perform(request) }
            #expect(error?.code == .tlsFailure)
        }
    }
}
