import Foundation
import ObshellAgent
import ObshellModel
import Pipeline
import Testing
import Tracker

/// A live exchange, recorded by `--record` and read back by `replay`, gives the observation the live poller made:
/// both read the answer through ``AgentAnswer``.
@Suite("live and replayed observations are built alike")
struct LiveExchangeReplayTests {
    static let at = Date(timeIntervalSince1970: 1_704_857_672.520_371)

    /// Reads one scripted answer with the client as the poller does, records the exchange as a capture line, and
    /// returns the live observation and the replayed one.
    static func liveAndReplayed(
        _ answer: Result<AgentResponse, ObshellError>,
        confirming id: String? = nil
    ) async throws -> (live: Observation, replayed: Observation?) {
        let client = ObshellClient(
            baseURL: "unix:///run/obshell-test.sock",
            transport: ScriptedAgent([answer]),
            exchangeTime: { Self.at }
        )
        let reading = if let id { await client.readDag(id: id) } else { await client.readUnfinished() }
        let exchange = try #require(reading.exchanges.last)
        let time = ObshellTime(date: exchange.at)
        let live: Observation =
            if let id { .confirmation(id: id, reading.outcome, at: time) } else { .poll(reading.outcome, at: time) }
        let line = CaptureRecorder.line(exchange, target: "prod-east")
        let entry = try CaptureReader.entry(Data(line.utf8), file: "live.jsonl", line: 1)
        return (live, entry?.observation)
    }

    static func response(_ status: Int, _ body: String) -> Result<AgentResponse, ObshellError> {
        .success(AgentResponse(status: status, body: Data(body.utf8)))
    }

    @Test(
        "polls: a list, failures of every kind",
        arguments: [
            Self.response(200, #"{"successful":true,"status":200,"data":{"contents":null}}"#),
            Self.response(500, "<html>Internal Server Error</html>"),
            Self.response(200, "not json"),
            Self.response(200, "[1,2]"),
            Self.response(200, #"{"successful":false,"status":200}"#),
            Self.response(
                401,
                #"{"successful":false,"status":401,"error":{"code":10008,"errCode":"Security.Authentication.IncorrectOceanbasePassword","message":"wrong"}}"#
            ),
            Self.response(401, #"{"error":{"code":1,"message":"cannot decrypt"}}"#),
            .failure(ObshellError(code: .timeout, message: "Operation timed out after 5001 milliseconds")),
        ]
    )
    func polls(answer: Result<AgentResponse, ObshellError>) async throws {
        let (live, replayed) = try await Self.liveAndReplayed(answer)
        #expect(replayed == live)
    }

    @Test(
        "confirmations: found, not found (404, Task.NotFound, code 2300), failures",
        arguments: [
            Self.response(404, ""),
            Self.response(400, #"{"successful":false,"status":400,"error":{"code":2300,"message":"gone"}}"#),
            Self.response(200, #"{"successful":false,"status":404,"error":{"errCode":"Task.NotFound"}}"#),
            Self.response(502, "bad gateway"),
            Self.response(200, #"{"successful":true,"status":200}"#),
            .failure(ObshellError(code: .unreachable, message: "connection refused")),
        ]
    )
    func confirmations(answer: Result<AgentResponse, ObshellError>) async throws {
        let (live, replayed) = try await Self.liveAndReplayed(answer, confirming: "11")
        #expect(replayed == live)
    }

    @Test("every answer of the fixture captures, replayed live through the client, gives its line's observation")
    func fixtureAnswers() async throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: capturesFolder.path)
            .filter { $0.hasSuffix(".jsonl") }
        var compared = 0
        for file in files {
            let text = try String(contentsOf: capturesFolder.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                    let request = object["request"] as? String, let status = object["status"] as? Int,
                    let body = object["body"] as? [String: Any]
                else { continue }
                let path = request.split(separator: " ").last.map(String.init) ?? ""
                let bytes = try JSONSerialization.data(withJSONObject: body)
                let answer = Result<AgentResponse, ObshellError>.success(AgentResponse(status: status, body: bytes))
                let id: String?
                if path.hasPrefix("/api/v1/task/dag/unfinish") {
                    id = nil
                } else if path.hasPrefix("/api/v1/task/dag/") {
                    id = path.dropFirst("/api/v1/task/dag/".count).split(separator: "?").first.map(String.init)
                } else {
                    continue
                }
                let (live, replayed) = try await Self.liveAndReplayed(answer, confirming: id)
                #expect(replayed == live, "\(file): \(request)")
                compared += 1
            }
        }
        #expect(compared > 20)
    }
}
