import ArgumentParser
import Foundation
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
        let reader = output.fileHandleForReading
        var buffer = Data()
        func nextLine() -> String {
            while !buffer.contains(UInt8(ascii: "\n")) {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
            }
            guard let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) else { return "" }
            let line = String(decoding: buffer[..<newline], as: UTF8.self)
            buffer = Data(buffer[buffer.index(after: newline)...])
            return line
        }
        let port = nextLine()
        let folder = try temporaryFolder("obw-test-receiver")
        let config = try self.config(port: port, in: folder)

        try await TestReceiverCommand.parse(["--config", config, "hook"]).run()
        let request = try #require(
            try JSONSerialization.jsonObject(with: Data(nextLine().utf8)) as? [String: Any]
        )
        let body = try #require(request["body"] as? String)
        #expect(body.contains("obwatch.notification/v1") && body.contains("test-receiver"))

        await #expect(throws: ExitCode(1)) { try await TestReceiverCommand.parse(["--config", config, "hook"]).run() }
        await #expect(throws: ExitCode(1)) { try await TestReceiverCommand.parse(["--config", config, "nope"]).run() }
    }
}
