import ArgumentParser
import Foundation
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
        // Lines arrive through the pipe's handler (off the cooperative pool), never by a blocking read in the test.
        let (lines, sink) = AsyncStream.makeStream(of: String.self)
        let pending = Mutex(Data())
        output.fileHandleForReading.readabilityHandler = { handle in
            let chunk = handle.availableData
            if chunk.isEmpty {
                handle.readabilityHandler = nil
                sink.finish()
                return
            }
            pending.withLock { buffer in
                buffer.append(chunk)
                while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    sink.yield(String(decoding: buffer[..<newline], as: UTF8.self))
                    buffer = Data(buffer[buffer.index(after: newline)...])
                }
            }
        }
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

        await #expect(throws: ExitCode(1)) { try await TestReceiverCommand.parse(["--config", config, "hook"]).run() }
        await #expect(throws: ExitCode(1)) { try await TestReceiverCommand.parse(["--config", config, "nope"]).run() }
    }
}
