import Foundation
import ObshellModel
import Testing
import Tracker

/// `error_kind`: each failed poll sorted from its capture line, and `target_down` carrying it.
struct PollFailureKindTests {
    static let poll = "GET /api/v1/task/dag/unfinish?show_details=true"

    static func failure(status: Int, code: Int? = nil, errCode: String? = nil, message: String = "m") -> String {
        var error: [String] = []
        if let code { error.append("\"code\":\(code)") }
        if let errCode { error.append("\"errCode\":\"\(errCode)\"") }
        error.append("\"message\":\"\(message)\"")
        return #"{"successful":false,"timestamp":"2024-01-10T11:34:32.5+08:00","duration":0,"status":"#
            + "\(status),\"traceId\":\"\",\"error\":{\(error.joined(separator: ","))}}"
    }

    /// What the capture reader makes of one poll line.
    static func read(status: Int? = nil, body: String? = nil, error: String? = nil) -> Observation? {
        let line = CaptureWriter().line(
            at: Fixture.time(0),
            target: "prod-east",
            request: Self.poll,
            status: status,
            body: body.map { Data($0.utf8) },
            error: error
        )
        let reading = CaptureReader.read(Data(line.utf8), file: "x")
        #expect(reading.diagnostics.isEmpty)
        return reading.entries.first?.observation
    }

    static func kind(status: Int? = nil, body: String? = nil, error: String? = nil) -> PollFailureKind? {
        guard case .failedPoll(_, let kind, _)? = Self.read(status: status, body: body, error: error) else {
            return nil
        }
        return kind
    }

    @Test(
        "answers that refuse the password, whatever the agent's version, are auth",
        arguments: [
            "Security.Authentication.IncorrectOceanbasePassword", "Security.Authentication.IncorrectAgentPassword",
            "Security.Authentication.WithAgentPassword", "Security.Authentication.WithOceanBasePassword",
            "Security.Authentication.AgentPasswordNotInitialized", nil,
        ] as [String?]
    )
    func auth(errCode: String?) {
        #expect(Self.kind(status: 401, body: Self.failure(status: 401, code: 10008, errCode: errCode)) == .auth)
    }

    @Test(
        "a refused header time is clock",
        arguments: ["Security.Authentication.Expired", "Security.Authentication.Timestamp.Invalid"]
    )
    func clock(errCode: String) {
        #expect(Self.kind(status: 401, body: Self.failure(status: 401, code: 10008, errCode: errCode)) == .clock)
    }

    @Test(
        "no answer: timeout, TLS or connect, from the words of the error",
        arguments: [
            (
                "timeout: Timeout was reached (Operation timed out after 5001 milliseconds with 0 bytes received)",
                .timeout
            ),
            ("timed out", .timeout),
            (
                "unreachable: SSL peer certificate or SSH remote key was not OK (SSL certificate problem: "
                    + "self-signed certificate)",
                .tls
            ),
            ("unreachable: SSL connect error (OpenSSL SSL_connect: Connection reset by peer)", .tls),
            (
                "unreachable: Couldn't connect to server (Failed to connect to 10.0.0.5 port 2886 after 0 ms: "
                    + "Connection refused)",
                .connect
            ),
            ("unreachable: Couldn't resolve host name (Could not resolve host: obshell.example)", .connect),
            ("connection refused", .connect),
            // As obwatch words them since 2026-12: the kind in words first.
            ("timed out: Timeout was reached (Operation timed out after 5001 milliseconds)", .timeout),
            ("cannot connect: SSL connect error (OpenSSL SSL_connect: Connection reset by peer)", .tls),
            ("cannot connect: no socket at /run/obshell.sock (No such file or directory)", .connect),
        ] as [(String, PollFailureKind)]
    )
    func transport(error: String, expected: PollFailureKind) {
        #expect(Self.kind(error: error) == expected)
    }

    @Test(
        "answers that came: http for failure statuses, decode for a 2xx that is no list, agent for successful false",
        arguments: [
            (500, failure(status: 500, errCode: "Common.Unexpected"), .http),
            (401, failure(status: 401, code: 10008, errCode: "Security.Authentication.Header.UriMismatch"), .http),
            (400, failure(status: 400, errCode: "Request.Header.NotFound"), .http),
            (500, failure(status: 500, code: 10008), .http),
            (502, "<html>bad gateway</html>", .http),
            (503, nil, .http),
            (200, "not json", .decode),
            (200, #"{"hello":"world"}"#, .decode),
            (200, #"{"successful":true,"status":200,"data":{"contents":[{"id":"1"}]}}"#, .decode),
            (200, nil, .decode),
            (200, #"{"successful":false,"status":200,"error":{"message":"odd"}}"#, .agent),
        ] as [(Int, String?, PollFailureKind)]
    )
    func answers(status: Int, body: String?, expected: PollFailureKind) {
        #expect(Self.kind(status: status, body: body) == expected)
    }

    @Test func aFailedKeyFetchIsSortedToo() {
        let lines = [
            CaptureWriter().line(at: Fixture.time(0), target: "a", request: "GET /api/v1/secret", error: "timed out"),
            CaptureWriter().line(at: Fixture.time(5), target: "a", request: "GET /api/v1/secret", status: 503),
        ]
        let reading = CaptureReader.read(Data(lines.joined(separator: "\n").utf8), file: "x")
        let kinds = reading.entries.compactMap { entry -> PollFailureKind? in
            guard case .failedPoll(_, let kind, _) = entry.observation else { return nil }
            return kind
        }
        #expect(kinds == [.timeout, .http])
    }

    @Test(
        "a client error sorts as its capture line does",
        arguments: [
            ObshellError(code: .timeout, message: "Timeout was reached: Operation timed out after 5001 milliseconds"),
            ObshellError(code: .unreachable, message: "SSL connect error: certificate verify failed"),
            ObshellError(code: .unreachable, message: "Couldn't connect to server"),
            ObshellError(code: .invalidTarget, message: "cannot encrypt the request header: keyTooSmall"),
        ]
    )
    func clientErrors(error: ObshellError) {
        // Only errors where no answer came are written as a capture line's `error`.
        #expect(PollFailureKind(error) == Self.kind(error: "\(error)"))
    }

    @Test func clientErrorsWithoutACaptureLine() {
        #expect(PollFailureKind(ObshellError(code: .undecodable, message: "at data: missing", path: "data")) == .decode)
        #expect(PollFailureKind(ObshellError(code: .timeout, message: "x")) == .timeout)
        #expect(PollFailureKind(ObshellError(code: .unreachable, message: "TLS handshake failed")) == .tls)
        #expect(PollFailureKind(ObshellError(code: .wrongPassword, message: "x", status: 401, apiCode: 10008)) == .auth)
        #expect(PollFailureKind(ObshellError(code: .httpStatus, message: "x", status: 200)) == .agent)
        let expired = ObshellError(
            code: .refused,
            message: "expired",
            status: 401,
            errCode: "Security.Authentication.Expired",
            apiCode: 10008
        )
        #expect(PollFailureKind(expired) == .clock)
        let agentPassword = ObshellError(
            code: .wrongPassword,
            message: "Unauthorized",
            status: 401,
            errCode: "Security.Authentication.IncorrectAgentPassword",
            apiCode: 10008
        )
        #expect(PollFailureKind(agentPassword) == .auth)
        #expect(PollFailureKind(ObshellError(code: .httpStatus, message: "x", status: 500)) == .http)
    }

    @Test func targetDownCarriesTheKindAndARefusedPasswordSaysWhatToFix() throws {
        var driver = Driver(settings: TrackerSettings(downAfter: 2))
        let body = Self.failure(
            status: 401,
            code: 10008,
            errCode: "Security.Authentication.IncorrectOceanbasePassword",
            message: "Unauthorized: OceanBase password is incorrect"
        )
        let refused = try #require(Self.read(status: 401, body: body))
        driver.feed(refused)
        let down = driver.feed(refused)
        let event = try #require(down.first)
        #expect(down.types == [.targetDown])
        #expect(event.errorKind == "auth")
        #expect(
            event.error
                == "HTTP 401 Security.Authentication.IncorrectOceanbasePassword: Unauthorized: OceanBase password is incorrect"
        )
        #expect(
            event.summary
                == "prod-east is down: password refused by the agent: fix password/password_file of prod-east "
                + "(HTTP 401 Security.Authentication.IncorrectOceanbasePassword: Unauthorized: OceanBase password is "
                + "incorrect)"
        )
        #expect(event.jsonLine().contains(#"password is incorrect","error_kind":"auth","summary":"#))

        // Other kinds keep the usual summary.
        var other = Driver(settings: TrackerSettings(downAfter: 2))
        other.fail(0, "timeout: Timeout was reached", kind: .timeout)
        let timedOut = try #require(other.fail(5, "timeout: Timeout was reached", kind: .timeout).first)
        #expect(timedOut.errorKind == "timeout")
        #expect(timedOut.summary == "prod-east is down: 2 polls in a row failed (timeout: Timeout was reached)")
        // target_up carries no kind.
        #expect(other.list(10, []).first?.errorKind == nil)
    }
}
