package import Curl
package import Foundation
package import ObshellModel

/// One request to an agent, as the client builds it: the path and query are exactly what the header's `Uri` signs.
package struct AgentRequest: Sendable, Hashable {
    /// `GET` or `POST`.
    package var method: String
    /// The request target, e.g. `/api/v1/task/dag/unfinish?show_details=true`.
    package var pathAndQuery: String
    /// Extra headers (the `X-OCS-Header`), in order.
    package var headers: [HTTPHeader]

    /// Makes a request.
    package init(method: String = "GET", pathAndQuery: String, headers: [HTTPHeader] = []) {
        self.method = method
        self.pathAndQuery = pathAndQuery
        self.headers = headers
    }
}

/// An agent's answer: the status and the body exactly as received.
package struct AgentResponse: Sendable, Hashable {
    /// The HTTP status.
    package var status: Int
    /// The body bytes.
    package var body: Data

    /// Makes an answer.
    package init(status: Int, body: Data) {
        self.status = status
        self.body = body
    }
}

/// How the client reaches an agent; the real one is ``CurlAgentTransport``, tests and replays bring their own.
package protocol AgentTransport: Sendable {
    /// Sends one request and returns the answer, or a typed error when no answer came.
    func send(_ request: AgentRequest) async throws(ObshellError) -> AgentResponse

    /// Where a poll through this transport prefers to run (``PollCycle`` runs on it): the thread that does the
    /// transport's I/O, so that a request and its answer cost no hand-off between threads; `nil` for no preference.
    var preferredExecutor: (any TaskExecutor)? { get }

    /// The continuous clock whose waits are timers of the thread of ``preferredExecutor``, for a poll loop on the real
    /// time: it wakes there for its next poll; `nil` for none.
    var loopClock: CurlEngine.LoopClock? { get }
}

extension AgentTransport {
    /// No preference: the global executor.
    package var preferredExecutor: (any TaskExecutor)? { nil }

    /// No clock of its own.
    package var loopClock: CurlEngine.LoopClock? { nil }
}

/// The agent transport over libcurl: `http://`, `https://` and `unix://` agent addresses.
package struct CurlAgentTransport: AgentTransport {
    /// The agent's base address as configured, e.g. `http://10.0.0.5:2886` or `unix:///…/obshell.sock`.
    package var baseURL: String
    /// The limit for each whole request.
    package var timeout: Duration
    /// How the TLS peer is verified (an `https` agent).
    package var tls: TLSOptions
    private let engine: CurlEngine

    /// Makes a transport.
    /// - Parameters:
    ///   - baseURL: The agent's address.
    ///   - timeout: The limit for each request.
    ///   - tls: TLS verification options; verification is on by default.
    ///   - engine: The curl engine; the shared one by default.
    package init(
        baseURL: String,
        timeout: Duration = .seconds(5),
        tls: TLSOptions = TLSOptions(),
        engine: CurlEngine = .shared
    ) {
        self.baseURL = baseURL
        self.timeout = timeout
        self.tls = tls
        self.engine = engine
    }

    /// The curl engine's thread, where its transfers run.
    package var preferredExecutor: (any TaskExecutor)? { self.engine.taskExecutor }

    /// The curl engine's loop as a clock.
    package var loopClock: CurlEngine.LoopClock? { self.engine.clock }

    /// Sends the request through libcurl, mapping curl's failures to ``ObshellError`` codes.
    package func send(_ request: AgentRequest) async throws(ObshellError) -> AgentResponse {
        var httpRequest = HTTPRequest(
            method: HTTPMethod(request.method),
            target: HTTPTarget(base: self.baseURL, path: request.pathAndQuery),
            headers: HTTPHeaders(request.headers),
            timeout: self.timeout,
            connectTimeout: min(self.timeout, .seconds(10)),
            tls: self.tls
        )
        // Only the status and the body are read.
        httpRequest.keepsResponseHeaders = false
        do {
            let response = try await self.engine.perform(httpRequest)
            return AgentResponse(status: response.status, body: response.body)
        } catch {
            throw ObshellError(curl: error)
        }
    }
}

extension ObshellError {
    /// Maps a transfer failure to the client's codes; curl's message is already free of credentials.
    init(curl error: CurlError) {
        let code: Code =
            switch error.code {
            case .timedOut: .timeout
            case .cancelled: .cancelled
            case .protocolNotAllowed, .invalidRequest, .insecureTransport: .invalidTarget
            default: .unreachable
            }
        var message = error.message
        if let detail = error.curlMessage, !detail.isEmpty, detail != message {
            message = detail.contains(message) ? detail : message + ": " + detail
        }
        self.init(code: code, message: message)
    }
}
