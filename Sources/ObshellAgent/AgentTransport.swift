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

    /// The curl engine that does the transport's I/O, if one does: a poll loop runs on its thread
    /// (``CurlEngine/taskExecutor``) and waits on its loop (``CurlEngine/clock``), so that a request and its answer
    /// cost no hand-off between threads; `nil` for none.
    var engine: CurlEngine? { get }
}

extension AgentTransport {
    /// No engine: polls run on the global executor.
    package var engine: CurlEngine? { nil }
}

/// The agent transport over libcurl: `http://`, `https://` and `unix://` agent addresses.
package struct CurlAgentTransport: AgentTransport {
    /// The agent's base address as configured, e.g. `http://10.0.0.5:2886` or `unix:///…/obshell.sock`.
    package var baseURL: String
    /// The limit for each whole request.
    package var timeout: Duration
    /// How the TLS peer is verified (an `https` agent).
    package var tls: TLSOptions
    private let curl: CurlEngine

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
        self.curl = engine
    }

    /// The curl engine the transfers run on.
    package var engine: CurlEngine? { self.curl }

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
            let response = try await self.curl.perform(httpRequest)
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
