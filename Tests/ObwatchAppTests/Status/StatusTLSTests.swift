import ConfigModel
import Curl
import Foundation
import Logging
import ObwatchTestKit
import Testing

@testable import ObwatchApp

@Suite("status API over TLS (http.tls)")
struct StatusTLSTests {
    /// A self-signed certificate for `localhost` and its key, made by the openssl command.
    static func certificate(in folder: URL) throws -> (certificate: String, key: String) {
        let certificate = folder.appendingPathComponent("cert.pem").path
        let key = folder.appendingPathComponent("key.pem").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-keyout", key, "-out", certificate, "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0)
        return (certificate, key)
    }

    @Test("with tls files the API answers over HTTPS to a client that trusts the certificate, and not in clear")
    func servesHTTPS() async throws {
        let folder = try temporaryFolder("obwatch-status-tls")
        defer { try? FileManager.default.removeItem(at: folder) }
        let files = try Self.certificate(in: folder)
        var configuration = StatusServer.Configuration(
            host: "127.0.0.1",
            port: 0,
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        )
        configuration.tls = ObwatchConfig.HTTPSettings.TLSFiles(certificateFile: files.certificate, keyFile: files.key)
        let server = StatusServer(
            configuration: configuration,
            metrics: DaemonMetrics(),
            readiness: Readiness(targets: []),
            events: EventLog(),
            dags: { [] }
        )
        let running = Task { try await server.run() }
        defer { running.cancel() }
        let port = try await server.listeningPort()
        var request = HTTPRequest(url: "https://localhost:\(port)/healthz")
        request.tls = TLSOptions(caFile: files.certificate)
        let answer = try await CurlEngine.shared.perform(request)
        #expect(answer.status == 200)
        #expect(String(decoding: answer.body, as: UTF8.self) == "ok\n")
        await #expect(throws: CurlError.self) {
            try await CurlEngine.shared.perform(
                HTTPRequest(url: "http://localhost:\(port)/healthz", timeout: .seconds(10))
            )
        }
    }
}
