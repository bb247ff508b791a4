import Foundation
import ObshellModel
import Testing
import Tracker

/// One interpreter of agent answers: every exchange of the fixture captures, read from its status and bytes as the
/// live client reads an answer, gives the observation the capture reader (and so `obwatch replay`) gives its line.
struct AgentAnswerDifferentialTests {
    /// What one capture line's exchange means when read from bytes, as the client reads it; `nil` for a request
    /// that is neither a poll nor a confirmation.
    static func observation(ofLine line: Data) throws -> Observation? {
        let object = try #require(try JSONSerialization.jsonObject(with: line) as? [String: Any])
        let request = try #require(object["request"] as? String)
        let text = try #require(object["at"] as? String)
        let at = try #require(ObshellTime(text))
        let path = request.split(separator: " ").last?.split(separator: "?").first.map(String.init) ?? ""
        let status = object["status"] as? Int ?? 0
        let transport = (object["error"] as? String).map(AgentAnswer.transportFailure)
        func bytes() throws -> Data? {
            switch object["body"] {
            case nil, is NSNull: return nil
            case let text as String: return Data(text.utf8)
            case let value?: return try JSONSerialization.data(withJSONObject: value)
            }
        }
        if path == "/api/v1/task/dag/unfinish" {
            let outcome =
                try transport
                ?? AgentAnswer.list(
                    status: status,
                    body: try bytes().map { AgentAnswer.body(ContentList<Dag>.self, of: $0, status: status) }
                        ?? .missing
                )
            return .poll(outcome, at: at)
        }
        let prefix = "/api/v1/task/dag/"
        guard path.hasPrefix(prefix) else { return nil }
        let id = String(path.dropFirst(prefix.count)).removingPercentEncoding ?? ""
        let outcome =
            try transport
            ?? AgentAnswer.dag(
                status: status,
                body: try bytes().map { AgentAnswer.body(Dag.self, of: $0, status: status) } ?? .missing
            )
        return .confirmation(id: id, outcome, at: at)
    }

    @Test(
        "each exchange of each fixture capture: the interpreter on its bytes equals the replay of its line",
        arguments: CaptureReplayTests.captures
    )
    func interpreterEqualsReplay(name: String) throws {
        let data = try Fixture.capture(name)
        var compared = 0
        for (index, text) in String(decoding: data, as: UTF8.self).components(separatedBy: "\n").enumerated() {
            let line = Data(text.utf8)
            // Bad lines are the reader's business (its diagnostics); the key fetches stand for no exchange here.
            guard let replayed = try? CaptureReader.entry(line, file: name, line: index + 1),
                !text.contains("/api/v1/secret")
            else { continue }
            #expect(try Self.observation(ofLine: line) == replayed.observation, "\(name):\(index + 1)")
            compared += 1
        }
        #expect(compared > 0)
    }

    @Test("error code 2300 is a DAG the agent does not know, live and replayed alike")
    func code2300IsNotFound() {
        let body = Data(#"{"successful":false,"status":400,"error":{"code":2300,"message":"gone"}}"#.utf8)
        #expect(AgentAnswer.dag(status: 400, body: AgentAnswer.body(Dag.self, of: body, status: 400)) == .notFound)
        let line = CaptureWriter().line(
            at: Fixture.time(0),
            target: "t",
            request: "GET /api/v1/task/dag/7?show_details=true",
            status: 400,
            body: body
        )
        let entry = try? CaptureReader.entry(Data(line.utf8), file: "x", line: 1)
        #expect(entry?.observation == .confirmation(id: "7", result: .notFound, at: Fixture.time(0)))
    }
}
