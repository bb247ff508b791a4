import Curl
import Foundation
import Synchronization
import Testing

@testable import Cryptography
@testable import ObshellAgent
@testable import ObshellModel

/// An in-memory agent: checks the header as obshell does (decrypt, Uri, Auth) and answers from a script.
private final class FakeAgent: AgentTransport {
    struct State {
        var key: RSAPrivateKey
        var requests: [AgentRequest] = []
        var listAnswer: AgentResponse?
    }

    let password: String
    let state: Mutex<State>

    init(password: String, keyBits: Int = 512) throws {
        self.password = password
        self.state = Mutex(State(key: try RSAPrivateKey.generate(bits: keyBits)))
    }

    var requests: [AgentRequest] { self.state.withLock { $0.requests } }

    func rotateKey() throws {
        let key = try RSAPrivateKey.generate(bits: 1024)
        self.state.withLock { $0.key = key }
    }

    func answerList(with response: AgentResponse) {
        self.state.withLock { $0.listAnswer = response }
    }

    func send(_ request: AgentRequest) async throws(ObshellError) -> AgentResponse {
        let (key, scripted) = self.state.withLock { state in
            state.requests.append(request)
            return (state.key, state.listAnswer)
        }
        if request.pathAndQuery == "/api/v1/secret" {
            return Self.answer(200, data: #"{"ip":"127.0.0.1","port":2886,"public_key":"\#(key.publicKeyBase64DER)"}"#)
        }
        guard let header = request.headers.first(where: { $0.name == "X-OCS-Header" }) else {
            return Self.failure(400, errCode: "Request.Header.NotFound", message: "no header")
        }
        guard let plain = try? key.decrypt(base64: header.value),
            let json = try? JSONSerialization.jsonObject(with: plain) as? [String: String]
        else {
            return Self.failure(401, code: 1, errCode: "Security.Authentication.Header.DecryptFailed", message: "x")
        }
        guard json["Uri"] == request.pathAndQuery else {
            return Self.failure(401, code: 10008, errCode: "Security.Authentication.Header.UriMismatch", message: "x")
        }
        guard json["Auth"] == self.password else {
            return Self.failure(
                401,
                code: 10008,
                errCode: "Security.Authentication.IncorrectOceanbasePassword",
                message: "Unauthorized: OceanBase password is incorrect"
            )
        }
        if request.pathAndQuery.hasPrefix("/api/v1/task/dag/unfinish") {
            return scripted ?? Self.answer(200, data: #"{"contents":null}"#)
        }
        return Self.failure(404, errCode: "Task.NotFound", message: "Task not found: record not found")
    }

    static func answer(_ status: Int, data: String) -> AgentResponse {
        let body =
            #"{"successful":true,"timestamp":"2024-01-10T11:34:32.5+08:00","duration":1,"status":"#
            + "\(status),\"traceId\":\"925c315c8fcf142d\",\"data\":\(data)}"
        return AgentResponse(status: status, body: Data(body.utf8))
    }

    static func failure(_ status: Int, code: Int? = nil, errCode: String, message: String) -> AgentResponse {
        let codeField = code.map { "\"code\":\($0)," } ?? ""
        let body =
            #"{"successful":false,"timestamp":"2024-01-10T11:34:32.5+08:00","duration":0,"status":"#
            + "\(status),\"traceId\":\"\",\"error\":{\(codeField)\"errCode\":\"\(errCode)\",\"message\":\"\(message)\"}}"
        return AgentResponse(status: status, body: Data(body.utf8))
    }
}

/// A transport that fails every request with one error.
private struct FailingTransport: AgentTransport {
    let error: ObshellError
    func send(_ request: AgentRequest) async throws(ObshellError) -> AgentResponse { throw self.error }
}

@Suite("The obshell client")
struct ObshellClientTests {
    private static let fixedNow = Date(timeIntervalSince1970: 1_700_000_000)

    @Test("the header carries Auth, Ts (expiry as a string) and the exact Uri", arguments: [512, 1024])
    func header(keyBits: Int) async throws {
        let agent = try FakeAgent(password: "s3cr\"et", keyBits: keyBits)
        let client = ObshellClient(
            baseURL: "http://127.0.0.1:2886",
            password: Password("s3cr\"et"),
            transport: agent,
            now: { Self.fixedNow }
        )
        let answer = try await client.unfinishedDags()
        #expect(answer.dags.isEmpty)
        #expect(answer.agentTime?.text == "2024-01-10T11:34:32.5+08:00")
        let requests = agent.requests
        #expect(requests.map(\.pathAndQuery) == ["/api/v1/secret", "/api/v1/task/dag/unfinish?show_details=true"])
        let header = try #require(requests.last?.headers.first { $0.name == "X-OCS-Header" })
        let key = agent.state.withLock { $0.key }
        let plain = try key.decrypt(base64: header.value)
        let json = try #require(try JSONSerialization.jsonObject(with: plain) as? [String: String])
        // 60 s of lifetime at the latest send, plus the 30 s the header is sent again for.
        #expect(json == ["Auth": "s3cr\"et", "Ts": "1700000090", "Uri": "/api/v1/task/dag/unfinish?show_details=true"])
    }

    @Test("one header per request target is sent again while 60 s of it are left, then replaced; a 401 drops it")
    func headerReuse() async throws {
        let agent = try FakeAgent(password: "pw")
        let now = Mutex(Self.fixedNow)
        let client = ObshellClient(
            baseURL: "http://127.0.0.1:2886",
            password: Password("pw"),
            transport: agent,
            now: { now.withLock { $0 } }
        )
        func lastHeader() -> String? {
            agent.requests.last?.headers.first { $0.name == "X-OCS-Header" }?.value
        }
        func expiry(of header: String?) throws -> String? {
            let plain = try agent.state.withLock { try $0.key.decrypt(base64: header ?? "") }
            return (try JSONSerialization.jsonObject(with: plain) as? [String: String])?["Ts"]
        }
        _ = try await client.unfinishedDags()
        let first = lastHeader()
        now.withLock { $0 += 30 }
        _ = try await client.unfinishedDags()
        #expect(lastHeader() == first)
        // Another request target gets its own header.
        _ = await client.readDag(id: "11")
        #expect(lastHeader() != first)
        #expect(try expiry(of: lastHeader()) == "1700000120")

        now.withLock { $0 += 1 }
        _ = try await client.unfinishedDags()
        #expect(lastHeader() != first)
        #expect(try expiry(of: lastHeader()) == "1700000121")

        // A clock set back beyond the header's making gets a new one, never a Ts further ahead than 90 s.
        now.withLock { $0 = Self.fixedNow - 60 }
        _ = try await client.unfinishedDags()
        #expect(try expiry(of: lastHeader()) == "1700000030")

        // A refused header is not sent again.
        let wrong = ObshellClient(
            baseURL: "http://127.0.0.1:2886",
            password: Password("wrong"),
            transport: agent,
            now: { now.withLock { $0 } }
        )
        _ = await wrong.readUnfinished()
        let refused = lastHeader()
        _ = await wrong.readUnfinished()
        #expect(lastHeader() != refused)
    }

    /// The shortcut for an unchanged list changes no outcome: a client that keeps its last list reads every answer of
    /// a sequence (same data in new envelopes, changes, failures around the same data, broken envelopes) exactly as a
    /// client that reads each answer for the first time.
    @Test("an unchanged list read through the shortcut gives the outcome of a full read, answer by answer")
    func shortcutDifferential() async throws {
        let agent = try FakeAgent(password: "pw")
        let kept = ObshellClient(baseURL: "http://127.0.0.1:2886", password: Password("pw"), transport: agent)
        let running =
            #"{"contents":[{"id":"11","dag_id":1,"name":"Scale out","stage":1,"max_stage":2,"state":"RUNNING","operator":"RUN","nodes":[]}]}"#
        let advanced = running.replacingOccurrences(of: #""stage":1"#, with: #""stage":2"#)
        func body(_ envelope: String, data: String) -> AgentResponse {
            AgentResponse(status: 200, body: Data(envelope.replacingOccurrences(of: "DATA", with: data).utf8))
        }
        let plain =
            #"{"successful":true,"timestamp":"2024-01-10T11:34:3%d+08:00","duration":1,"status":200,"#
            + #""traceId":"t","data":DATA}"#
        var answers: [AgentResponse] = []
        for second in 0..<3 { answers.append(body(String(format: plain, second), data: running)) }
        answers += [
            body(
                #"{ "data" : DATA , "successful" : true, "status": 200, "timestamp": "2024-01-10T11:34:39Z" }"#,
                data: running
            ),
            body(#"{"successful":"yes","data":DATA}"#, data: running),
            body(#"{"successful":true,"data":DATA,"timestamp":"not a time"}"#, data: running),
            body(#"{"successful":true,"data":DATA} trailing"#, data: running),
            body(#"{"successful":true,"data":DATA,}"#, data: running),
            body(#"{"successful":true,"data":DATA,"data":{"contents":[]}}"#, data: running),
            AgentResponse(status: 500, body: body(String(format: plain, 4), data: running).body),
            body(String(format: plain, 5), data: advanced),
            body(String(format: plain, 6), data: advanced),
            body(#"{"successful":true,"data":DATA,"timestamp":"2024-01-10T11:34:39Z"}"#, data: running),
            body(String(format: plain, 7), data: #"{"contents":null}"#),
            body(String(format: plain, 8), data: #"{"contents":null}"#),
        ]
        for (index, answer) in answers.enumerated() {
            agent.answerList(with: answer)
            let shortcut = await kept.readUnfinished().outcome
            let fresh = ObshellClient(baseURL: "http://127.0.0.1:2886", password: Password("pw"), transport: agent)
            let full = await fresh.readUnfinished().outcome
            #expect(shortcut == full, "answer \(index)")
        }
    }

    @Test("headerReuse zero encrypts a new header for every request")
    func noHeaderReuse() async throws {
        let agent = try FakeAgent(password: "pw")
        let client = ObshellClient(
            baseURL: "http://127.0.0.1:2886",
            password: Password("pw"),
            transport: agent,
            headerReuse: .zero,
            now: { Self.fixedNow }
        )
        _ = try await client.unfinishedDags()
        let first = agent.requests.last?.headers.first?.value
        _ = try await client.unfinishedDags()
        #expect(agent.requests.last?.headers.first?.value != first)
    }

    @Test("an unchanged list is not decoded again, yet every answer's time and status count; a change is seen")
    func unchangedListReused() async throws {
        let agent = try FakeAgent(password: "pw")
        let client = ObshellClient(baseURL: "http://127.0.0.1:2886", password: Password("pw"), transport: agent)
        let dag =
            #"{"contents":[{"id":"11","dag_id":1,"name":"Scale out","stage":1,"max_stage":2,"state":"RUNNING","operator":"RUN","nodes":[]}]}"#
        func answer(time: String, data: String) -> AgentResponse {
            let body =
                #"{"successful":true,"timestamp":"\#(time)","duration":1,"status":200,"traceId":"\#(time)","data":"#
                + data + "}"
            return AgentResponse(status: 200, body: Data(body.utf8))
        }
        agent.answerList(with: answer(time: "2024-01-10T11:34:32+08:00", data: dag))
        let first = try await client.unfinishedDags()
        agent.answerList(with: answer(time: "2024-01-10T11:34:37+08:00", data: dag))
        let second = try await client.unfinishedDags()
        #expect(second.dags == first.dags)
        #expect(second.agentTime?.text == "2024-01-10T11:34:37+08:00")

        // The same list inside a failed answer is a failure, not the cached list.
        agent.answerList(with: FakeAgent.failure(500, errCode: "Common.Unexpected", message: "Unexpected error"))
        await #expect(throws: ObshellError.self) { try await client.unfinishedDags() }

        let advanced = dag.replacingOccurrences(of: #""stage":1"#, with: #""stage":2"#)
        agent.answerList(with: answer(time: "2024-01-10T11:34:42+08:00", data: advanced))
        let third = try await client.unfinishedDags()
        #expect(third.dags.map(\.stage) == [2])
        agent.answerList(with: answer(time: "2024-01-10T11:34:47+08:00", data: #"{"contents":null}"#))
        #expect(try await client.unfinishedDags().dags.isEmpty)
    }

    @Test("the key is cached, and fetched again once when the agent cannot decrypt")
    func keyRefetch() async throws {
        let agent = try FakeAgent(password: "pw")
        let client = ObshellClient(baseURL: "http://127.0.0.1:2886", password: Password("pw"), transport: agent)
        _ = try await client.unfinishedDags()
        _ = try await client.unfinishedDags()
        #expect(agent.requests.filter { $0.pathAndQuery == "/api/v1/secret" }.count == 1)
        try agent.rotateKey()
        _ = try await client.unfinishedDags()
        #expect(
            agent.requests.suffix(3).map(\.pathAndQuery) == [
                "/api/v1/task/dag/unfinish?show_details=true", "/api/v1/secret",
                "/api/v1/task/dag/unfinish?show_details=true",
            ]
        )
    }

    @Test("a refused password is a typed error, sent once, and never shows the password")
    func wrongPassword() async throws {
        let agent = try FakeAgent(password: "right")
        let client = ObshellClient(baseURL: "http://127.0.0.1:2886", password: Password("wrong-Pa55"), transport: agent)
        let error = try await #require(throws: ObshellError.self) { try await client.unfinishedDags() }
        #expect(error.code == .wrongPassword)
        #expect(error.status == 401 && error.apiCode == 10008)
        #expect(error.errCode == "Security.Authentication.IncorrectOceanbasePassword")
        #expect(!String(describing: error).contains("wrong-Pa55"))
        #expect(agent.requests.count == 2)
    }

    @Test(
        "every refusal of the password or of its kind is wrongPassword; clock and URI refusals are not",
        arguments: [
            (401, 10008, "Security.Authentication.IncorrectOceanbasePassword", ObshellError.Code.wrongPassword),
            (401, 10008, "Security.Authentication.IncorrectAgentPassword", ObshellError.Code.wrongPassword),
            (401, 10008, "Security.Authentication.WithAgentPassword", ObshellError.Code.wrongPassword),
            (401, 10008, "Security.Authentication.WithOceanBasePassword", ObshellError.Code.wrongPassword),
            (401, 10008, "Security.Authentication.AgentPasswordNotInitialized", ObshellError.Code.wrongPassword),
            (401, 10008, nil, ObshellError.Code.wrongPassword),
            (401, 10008, "Security.Authentication.Expired", ObshellError.Code.refused),
            (401, 10008, "Security.Authentication.Timestamp.Invalid", ObshellError.Code.refused),
            (401, 10008, "Security.Authentication.Header.UriMismatch", ObshellError.Code.refused),
            (401, 1, "Security.Authentication.Header.DecryptFailed", ObshellError.Code.decryptFailed),
            (500, 10008, nil, ObshellError.Code.httpStatus),
        ] as [(Int, Int, String?, ObshellError.Code)]
    )
    func passwordRefusals(status: Int, apiCode: Int, errCode: String?, expected: ObshellError.Code) {
        let error = ObshellClient.failure(APIError(code: apiCode, errCode: errCode, message: "x"), status: status)
        #expect(error.code == expected)
    }

    @Test("an unknown DAG is notFound")
    func notFound() async throws {
        let agent = try FakeAgent(password: "")
        let client = ObshellClient(baseURL: "http://127.0.0.1:2886", transport: agent)
        let error = try await #require(throws: ObshellError.self) { try await client.dag(id: "199") }
        #expect(error.code == .notFound)
        #expect(error.message == "Task not found: record not found")
        #expect(agent.requests.last?.pathAndQuery == "/api/v1/task/dag/199?show_details=true")
    }

    @Test(
        "answers that are not obshell answers",
        arguments: [
            (500, "<html>Internal Server Error</html>", ObshellError.Code.httpStatus),
            (502, "", ObshellError.Code.httpStatus),
            (200, "not json", ObshellError.Code.undecodable),
            (200, #"{"hello":"world"}"#, ObshellError.Code.undecodable),
            (200, #"{"successful":true,"data":{"contents":[{"id":"1"}]}}"#, ObshellError.Code.undecodable),
            (
                500,
                #"{"successful":false,"status":500,"error":{"errCode":"Common.Unexpected","message":"boom"}}"#,
                ObshellError.Code.httpStatus
            ),
            (200, #"{"successful":false,"status":200,"error":{"message":"odd"}}"#, ObshellError.Code.httpStatus),
        ]
    )
    func badAnswers(status: Int, body: String, expected: ObshellError.Code) async throws {
        let agent = try FakeAgent(password: "")
        agent.answerList(with: AgentResponse(status: status, body: Data(body.utf8)))
        let client = ObshellClient(baseURL: "http://127.0.0.1:2886", transport: agent)
        let error = try await #require(throws: ObshellError.self) { try await client.unfinishedDags() }
        #expect(error.code == expected)
    }

    @Test("a unix socket target sends no header and fetches no key")
    func unixSocket() async throws {
        let recorded = Mutex<[AgentRequest]>([])
        struct Recorder: AgentTransport {
            let recorded: @Sendable (AgentRequest) -> Void
            func send(_ request: AgentRequest) async throws(ObshellError) -> AgentResponse {
                self.recorded(request)
                return FakeAgent.answer(200, data: #"{"contents":[]}"#)
            }
        }
        let client = ObshellClient(
            baseURL: "unix:///tmp/obshell.sock",
            password: Password("unused"),
            transport: Recorder { request in recorded.withLock { $0.append(request) } }
        )
        _ = try await client.unfinishedDags()
        let requests = recorded.withLock { $0 }
        #expect(requests.count == 1)
        #expect(requests.first?.headers.isEmpty == true)
    }

    @Test("transport failures pass through typed, and a reading returns every exchange for recording")
    func transportFailure() async throws {
        let client = ObshellClient(
            baseURL: "http://127.0.0.1:2886",
            transport: FailingTransport(error: ObshellError(code: .timeout, message: "Operation timed out"))
        )
        let error = try await #require(throws: ObshellError.self) { try await client.unfinishedDags() }
        #expect(error.code == .timeout)
        let reading = await client.readUnfinished()
        #expect(reading.exchanges.count == 1)
        #expect(reading.exchanges.first?.request == "GET /api/v1/secret")
        #expect(reading.exchanges.first?.error?.code == .timeout)
        #expect(reading.outcome == .failed(AgentAnswer.Failure(reason: "\(error)", kind: .timeout)))
        #expect(!reading.cancelled)
    }

    @Test("a reading of a good poll and of an unknown DAG: the outcome and each exchange, key fetch first")
    func readings() async throws {
        let agent = try FakeAgent(password: "pw")
        let client = ObshellClient(baseURL: "http://127.0.0.1:2886", password: Password("pw"), transport: agent)
        let poll = await client.readUnfinished()
        guard case .list(let dags, let agentTime) = poll.outcome else {
            Issue.record("not a list: \(poll.outcome)")
            return
        }
        #expect(dags.isEmpty, "contents: null reads as empty")
        #expect(agentTime != nil)
        #expect(poll.exchanges.map(\.request) == ["GET /api/v1/secret", "GET " + ObshellClient.unfinishedPath()])
        let again = await client.readUnfinished()
        #expect(again.outcome == poll.outcome, "the same list, read from the cache of the last one")
        #expect(again.exchanges.count == 1)
        let unknown = await client.readDag(id: "199")
        #expect(unknown.outcome == .notFound)
        #expect(unknown.exchanges.first?.response?.status == 404)
    }

    @Test("a refused connection through libcurl is unreachable, not a crash")
    func refusedConnection() async throws {
        let client = ObshellClient(baseURL: "http://127.0.0.1:1", password: Password("pw"))
        let error = try await #require(throws: ObshellError.self) { try await client.unfinishedDags() }
        #expect(error.code == .unreachable)
        #expect(!error.message.contains("pw"))
        #expect(error.description.hasPrefix("cannot connect: "))
    }

    @Test("an error reads as words: what went wrong, then the agent's message, never a code's name")
    func descriptionsAreWords() {
        let refused = ObshellError(
            code: .wrongPassword,
            message: "Unauthorized: OceanBase password is incorrect",
            status: 401,
            errCode: "Security.Authentication.IncorrectOceanbasePassword"
        )
        #expect(
            refused.description
                == "the agent refused the password: Unauthorized: OceanBase password is incorrect "
                + "[Security.Authentication.IncorrectOceanbasePassword] (HTTP 401)"
        )
        let codes: [ObshellError.Code] = [
            .unreachable, .timeout, .httpStatus, .wrongPassword, .notFound, .undecodable, .decryptFailed, .refused,
            .invalidTarget, .cancelled,
        ]
        for code in codes {
            let text = ObshellError(code: code, message: "m").description
            // `cancelled` is a word as well as a name.
            #expect(code == .cancelled || !text.hasPrefix("\(code):"), "\(text)")
            #expect(text == code.words + ": m")
        }
    }

    @Test("a missing unix socket is named, not libcurl's localhost port 80")
    func missingSocket() async throws {
        let path = "/nonexistent-\(UUID().uuidString).sock"
        let client = ObshellClient(baseURL: "unix://" + path, password: .empty)
        let error = try await #require(throws: ObshellError.self) { try await client.unfinishedDags() }
        #expect(error.code == .unreachable)
        #expect(error.description == "cannot connect: no socket at \(path) (No such file or directory)")
    }
}
