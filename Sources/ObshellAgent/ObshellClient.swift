import Cryptography
package import Curl
package import Foundation
package import Logging
package import ObshellModel
package import Support

/// A client of one obshell agent's task API, with obshell's authentication.
///
/// Every authenticated request carries an `X-OCS-Header`: the JSON `{"Auth", "Ts", "Uri"}` encrypted with the agent's
/// RSA key (obshell-api.md 4.3). obshell keeps no nonce and no replay cache: the only freshness check is `Ts` (an
/// expiry, with no upper bound) and the `Uri` binds a header to one request target. So a header is encrypted once per
/// request target and sent again for up to `headerReuse` (30 s): it is made with `Ts` = now + `headerLifetime` +
/// `headerReuse` and replaced once less than `headerLifetime` of it is left, so every request still carries at least
/// `headerLifetime` (60 s, the SDKs' value) of tolerance for the agent's clock. The key is fetched once from `/api/v1/secret` and cached; when the agent
/// answers that it could not decrypt the header (its key changed), the key is fetched again and the request repeated
/// once. A refused password is never retried: each attempt costs the agent a database login. Agents reached through
/// their unix socket (`unix://`) need no header and get none, so no password is sent there.
package actor ObshellClient {
    /// One request and what came back, for `--record`: the answer, or why none came.
    package struct Exchange: Sendable {
        /// Makes an exchange.
        package init(at: Date, request: String, response: AgentResponse? = nil, error: ObshellError? = nil) {
            self.at = at
            self.request = request
            self.response = response
            self.error = error
        }

        /// When the answer (or the failure) arrived.
        package var at: Date
        /// `GET /api/v1/task/dag/unfinish?show_details=true`.
        package var request: String
        /// The answer, when one came.
        package var response: AgentResponse?
        /// Why no answer came.
        package var error: ObshellError?
    }

    /// The agent's address as configured (shown redacted by the transport's errors, never with a password).
    package nonisolated let baseURL: String
    private let password: Password
    private let transport: any AgentTransport
    private let headerLifetime: Duration
    private let headerReuse: Duration
    /// The headers made so far, by request target, with their expiry (Unix seconds).
    private var headers: [String: (value: String, expiry: Int64)] = [:]
    /// How many request targets' headers are kept: the poll and a few confirmations.
    private static let maximumKeptHeaders = 16
    private let now: @Sendable () -> Date
    private let exchangeTime: @Sendable () -> Date
    private let logger: Logger
    private var publicKey: RSAPublicKey?

    /// Makes a client.
    /// - Parameters:
    ///   - baseURL: The agent's address: `http://host:2886`, `https://…`, or `unix:///…/obshell.sock`.
    ///   - password: The root@sys password (empty for a SINGLE agent).
    ///   - transport: How requests are sent; libcurl with a 5-second timeout by default.
    ///   - headerLifetime: How far ahead the header's `Ts` expiry lies at least when a request is sent (the SDKs
    ///     use 60 s).
    ///   - headerReuse: How long one encrypted header is sent again for the same request target; `.zero` encrypts
    ///     a new one for every request.
    ///   - now: The clock for the header's `Ts`: the real time, since the agent checks it.
    ///   - exchangeTime: The clock exchanges are stamped with (``Exchange/at``); `now` by default. The daemon
    ///     passes its own clock, so that observations and captures carry the time it runs on.
    ///   - logger: Where the client logs (never a password).
    package init(
        baseURL: String,
        password: Password = .empty,
        transport: (any AgentTransport)? = nil,
        headerLifetime: Duration = .seconds(60),
        headerReuse: Duration = .seconds(30),
        now: @escaping @Sendable () -> Date = { SystemClock().wallNow },
        exchangeTime: (@Sendable () -> Date)? = nil,
        logger: Logger = Logger(label: "obwatch.obshell")
    ) {
        self.baseURL = baseURL
        self.password = password
        self.transport = transport ?? CurlAgentTransport(baseURL: baseURL)
        self.headerLifetime = headerLifetime
        self.headerReuse = max(headerReuse, .zero)
        self.now = now
        self.exchangeTime = exchangeTime ?? now
        self.logger = logger
    }

    /// The curl engine of the client's transport, if it has one (``AgentTransport/engine``).
    package nonisolated var engine: CurlEngine? { self.transport.engine }

    /// Whether requests go to the agent's local unix socket, which checks no header.
    nonisolated var isLocalSocket: Bool { self.baseURL.lowercased().hasPrefix("unix://") }

    /// The query string obwatch polls with: details on, spelled as the server reads it (`show_details`, plural).
    package static func unfinishedPath(showDetails: Bool = true) -> String {
        "/api/v1/task/dag/unfinish?show_details=\(showDetails)"
    }

    /// The path that reads one DAG by its generic id.
    static func dagPath(id: String, showDetails: Bool = true) -> String {
        let escaped = id.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? id
        return "/api/v1/task/dag/\(escaped)?show_details=\(showDetails)"
    }

    /// `GET /api/v1/info`: the agent's identity and version (no authentication).
    package func info() async throws(ObshellError) -> AgentInfo {
        var exchanges: [Exchange] = []
        let response = try await self.exchange(AgentRequest(pathAndQuery: "/api/v1/info"), log: &exchanges)
        return try Self.payload(AgentInfo.self, from: response)
    }

    /// `GET /api/v1/task/dag/unfinish`: the unfinished DAGs, with the envelope's timestamp (the agent's clock).
    /// - Parameter showDetails: Whether nodes and sub-tasks are included (obwatch polls with details).
    /// - Returns: The DAGs (`contents: null` is empty) and the agent's time of answering, when it sent one.
    package func unfinishedDags(
        showDetails: Bool = true
    ) async throws(ObshellError) -> (dags: [Dag], agentTime: ObshellTime?) {
        var exchanges: [Exchange] = []
        let response = try await self.authenticated(Self.unfinishedPath(showDetails: showDetails), log: &exchanges)
        // The list is usually the one of the last poll: then only the rest of the envelope is parsed and read.
        let split = AnswerSplit(member: "data", of: response.body)
        let fingerprint = split?.fingerprint
        if let split, let last = self.lastList, last.showDetails == showDetails, last.fingerprint == split.fingerprint {
            let envelope = try Self.envelope(
                SkippedPayload.self,
                from: response,
                parsed: FastJSONDecoder.parse(split.remainder)
            )
            return (last.dags, envelope.timestamp)
        }
        let parsed = FastJSONDecoder.parse(response.body)
        let envelope = try Self.envelope(ContentList<Dag>.self, from: response, parsed: parsed)
        let dags = envelope.data?.contents ?? []
        self.lastList = fingerprint.map { LastList(fingerprint: $0, showDetails: showDetails, dags: dags) }
        return (dags, envelope.timestamp)
    }

    /// The last list answer's DAGs and what identifies its bytes.
    private struct LastList {
        var fingerprint: AnswerFingerprint
        var showDetails: Bool
        var dags: [Dag]
    }

    private var lastList: LastList?

    /// A payload that is not read: the envelope's status fields are all that is wanted.
    private struct SkippedPayload: Decodable, Sendable {
        init(from decoder: any Decoder) throws {}
    }

    /// Which of obshell's "every DAG" lists to read (obshell-api.md section 1).
    package enum DagScope: String, Sendable, Hashable, CaseIterable {
        /// `GET /api/v1/task/dags/ob`: the cluster's DAGs.
        case cluster = "ob"
        /// `GET /api/v1/task/dags/agent`: the answering agent's local DAGs.
        case agent
    }

    /// The path of an "every DAG" list.
    package static func allDagsPath(_ scope: DagScope, showDetails: Bool = true) -> String {
        "/api/v1/task/dags/\(scope.rawValue)?show_details=\(showDetails)"
    }

    /// `GET /api/v1/task/dags/ob` or `/agent`: every DAG of the scope, finished ones included, for the duration
    /// history's backfill. Older agents lack the route (404) and a non-cluster agent answers `dags/ob` with 500.
    /// - Throws: ``ObshellError`` as for any request; the caller notes it and goes on without.
    package func allDags(_ scope: DagScope, showDetails: Bool = true) async throws(ObshellError) -> [Dag] {
        var exchanges: [Exchange] = []
        let response = try await self.authenticated(Self.allDagsPath(scope, showDetails: showDetails), log: &exchanges)
        return try Self.envelope(ContentList<Dag>.self, from: response).data?.contents ?? []
    }

    /// `GET /api/v1/task/dag/{id}`: one DAG, finished or not.
    /// - Throws: ``ObshellError`` `.notFound` when the agent does not know the id.
    package func dag(id: String, showDetails: Bool = true) async throws(ObshellError) -> Dag {
        var exchanges: [Exchange] = []
        let response = try await self.authenticated(Self.dagPath(id: id, showDetails: showDetails), log: &exchanges)
        return try Self.payload(Dag.self, from: response)
    }

    // MARK: - Readings: outcomes with their exchanges

    /// What one call gave, read through ``AgentAnswer``, with every exchange it made (oldest first): what
    /// `--record` writes, and when the answer came.
    package struct Reading: Sendable {
        /// What the answer means: a list or a failure for a poll; found, not found or a failure for a DAG.
        package var outcome: AgentAnswer.Outcome
        /// Every request the call sent and what came back (a key fetch, a repeat after a key rejection).
        package var exchanges: [Exchange]
        /// Whether the call was cut short by a cancellation (a stop, a reload): it observed nothing.
        package var cancelled: Bool
        /// For a list answer, what identifies its `data` bytes: equal for two answers whose lists are byte for byte
        /// the same (``TargetJournal`` then only moves the tracker's clocks); `nil` for anything else.
        package var listFingerprint: AnswerFingerprint?

        /// Makes a reading.
        package init(
            outcome: AgentAnswer.Outcome,
            exchanges: [Exchange],
            cancelled: Bool = false,
            listFingerprint: AnswerFingerprint? = nil
        ) {
            self.outcome = outcome
            self.exchanges = exchanges
            self.cancelled = cancelled
            self.listFingerprint = listFingerprint
        }
    }

    /// `GET /api/v1/task/dag/unfinish`, read as a poll: ``AgentAnswer/Outcome/list(_:agentTime:)`` or
    /// ``AgentAnswer/Outcome/failed(_:)``, never a thrown error.
    /// - Parameter showDetails: Whether nodes and sub-tasks are included (obwatch polls with details).
    package func readUnfinished(showDetails: Bool = true) async -> Reading {
        var exchanges: [Exchange] = []
        do {
            let response = try await self.authenticated(
                Self.unfinishedPath(showDetails: showDetails),
                log: &exchanges
            )
            let split = AnswerSplit(member: "data", of: response.body)
            let fingerprint = split?.fingerprint
            let outcome: AgentAnswer.Outcome
            if let split, let last = self.lastList, last.showDetails == showDetails,
                last.fingerprint == split.fingerprint
            {
                // The list of the last poll: only the rest of the envelope is parsed, and its own fields read.
                let parsed = FastJSONDecoder.parse(split.remainder)
                outcome = AgentAnswer.listAnswer(
                    status: response.status,
                    body: AgentAnswer.body(SkippedPayload.self, parsed: parsed, status: response.status)
                ) { envelope in .list(last.dags, agentTime: envelope.timestamp) }
            } else {
                let parsed = FastJSONDecoder.parse(response.body)
                outcome = AgentAnswer.list(
                    status: response.status,
                    body: AgentAnswer.body(ContentList<Dag>.self, parsed: parsed, status: response.status)
                )
                if case .list(let dags, _) = outcome {
                    self.lastList = fingerprint.map { LastList(fingerprint: $0, showDetails: showDetails, dags: dags) }
                }
            }
            let listed: Bool = if case .list = outcome { true } else { false }
            return Reading(
                outcome: Self.final(outcome),
                exchanges: exchanges,
                listFingerprint: listed ? fingerprint : nil
            )
        } catch {
            return Self.reading(failedWith: error, exchanges: exchanges)
        }
    }

    /// `GET /api/v1/task/dag/{id}`, read as a confirmation: found, not found, or a failure, never a thrown error.
    package func readDag(id: String, showDetails: Bool = true) async -> Reading {
        var exchanges: [Exchange] = []
        do {
            let response = try await self.authenticated(
                Self.dagPath(id: id, showDetails: showDetails),
                log: &exchanges
            )
            let body = AgentAnswer.body(Dag.self, of: response.body, status: response.status)
            return Reading(
                outcome: Self.final(AgentAnswer.dag(status: response.status, body: body)),
                exchanges: exchanges
            )
        } catch {
            return Self.reading(failedWith: error, exchanges: exchanges)
        }
    }

    /// A key rejection after the repeat is the call's failure: the client fetches the key once per call.
    private static func final(_ outcome: AgentAnswer.Outcome) -> AgentAnswer.Outcome {
        if case .keyRejected(let failure) = outcome { return .failed(failure) }
        return outcome
    }

    /// The reading of a call that threw: worded from its last exchange, as its capture line replays, or from the
    /// error when no exchange says more (the key unreadable, the header not encrypted).
    private static func reading(failedWith error: ObshellError, exchanges: [Exchange]) -> Reading {
        let cancelled = Task.isCancelled || error.code == .cancelled
        var failure = AgentAnswer.failure(of: error)
        if let last = exchanges.last {
            if let transport = last.error {
                failure = AgentAnswer.transportFailure("\(transport)").failure ?? failure
            } else if let response = last.response, last.request.hasSuffix(" /api/v1/secret"),
                let fetch = AgentAnswer.keyFetchFailure(status: response.status)
            {
                failure = fetch
            }
        }
        return Reading(outcome: .failed(failure), exchanges: exchanges, cancelled: cancelled)
    }

    // MARK: - Authentication

    private func authenticated(
        _ pathAndQuery: String,
        log: inout [Exchange]
    ) async throws(ObshellError) -> AgentResponse {
        if self.isLocalSocket {
            return try await self.exchange(AgentRequest(pathAndQuery: pathAndQuery), log: &log)
        }
        let hadKey = self.publicKey != nil
        let response = try await self.exchange(
            AgentRequest(pathAndQuery: pathAndQuery, headers: [try await self.header(for: pathAndQuery, log: &log)]),
            log: &log
        )
        guard Self.isDecryptFailure(response) else {
            // Any refusal (a rotated password, an expiry the agent's clock disagrees with) gets a new header next
            // time, exactly as without kept headers.
            if response.status == 401 { self.headers[pathAndQuery] = nil }
            return response
        }
        // The agent's key changed (obshell regenerates short keys on upgrade): fetch it again and repeat once.
        self.logger.info(
            "agent could not decrypt the request header; fetching its key again",
            metadata: ["target.url": "\(self.redactedBaseURL)", "key.cached": "\(hadKey)"]
        )
        self.publicKey = nil
        self.headers.removeAll()
        let repeated = try await self.exchange(
            AgentRequest(pathAndQuery: pathAndQuery, headers: [try await self.header(for: pathAndQuery, log: &log)]),
            log: &log
        )
        if repeated.status == 401 { self.headers[pathAndQuery] = nil }
        return repeated
    }

    private func header(for pathAndQuery: String, log: inout [Exchange]) async throws(ObshellError) -> HTTPHeader {
        let key = try await self.currentKey(log: &log)
        let now = Int64(self.now().timeIntervalSince1970)
        let lifetime = self.headerLifetime.components.seconds
        // A kept header is sent while it still has `headerLifetime` to run; a clock that went back past its making
        // (now + lifetime + reuse < expiry) gets a new one too, so `Ts` never lies further ahead than that.
        if let kept = self.headers[pathAndQuery], kept.expiry - now >= lifetime,
            kept.expiry - now <= lifetime + self.headerReuse.components.seconds
        {
            return HTTPHeader(name: "X-OCS-Header", value: kept.value)
        }
        let expiry = now + lifetime + self.headerReuse.components.seconds
        let header = OCSHeader(auth: self.password.reveal(), ts: String(expiry), uri: pathAndQuery)
        let value: String
        do {
            value = try key.encryptToBase64(header.json)
        } catch {
            throw ObshellError(code: .invalidTarget, message: "cannot encrypt the request header: \(error.message)")
        }
        if self.headerReuse > .zero {
            if self.headers.count >= Self.maximumKeptHeaders { self.headers.removeAll(keepingCapacity: true) }
            self.headers[pathAndQuery] = (value, expiry)
        }
        return HTTPHeader(name: "X-OCS-Header", value: value)
    }

    private func currentKey(log: inout [Exchange]) async throws(ObshellError) -> RSAPublicKey {
        if let key = self.publicKey { return key }
        let response = try await self.exchange(AgentRequest(pathAndQuery: "/api/v1/secret"), log: &log)
        let secret = try Self.payload(AgentSecret.self, from: response)
        do {
            let key = try RSAPublicKey(base64DER: secret.publicKey)
            self.publicKey = key
            return key
        } catch {
            throw ObshellError(
                code: .undecodable,
                message: "the agent's public key cannot be read: \(error.message)",
                status: response.status,
                path: "data.public_key"
            )
        }
    }

    private var redactedBaseURL: String { URLRedaction.redact(self.baseURL) }

    // MARK: - Exchanges and answers

    /// Sends one request and writes the exchange down in `log`, answered or not.
    private func exchange(_ request: AgentRequest, log: inout [Exchange]) async throws(ObshellError) -> AgentResponse {
        let line = "\(request.method) \(request.pathAndQuery)"
        do {
            let response = try await self.transport.send(request)
            log.append(Exchange(at: self.exchangeTime(), request: line, response: response))
            return response
        } catch {
            log.append(Exchange(at: self.exchangeTime(), request: line, error: error))
            throw error
        }
    }

    private static func isDecryptFailure(_ response: AgentResponse) -> Bool {
        guard response.status == 401 else { return false }
        return AgentAnswer.isKeyRejection(
            status: response.status,
            error: AgentAnswer.errorMember(FastJSONDecoder.parse(response.body))
        )
    }

    /// Decodes an answer's envelope, turning every failure status into the matching typed error.
    static func envelope<Payload: Decodable & Sendable>(
        _ payload: Payload.Type,
        from response: AgentResponse,
        parsed: Result<JSONTree, DecodingError>? = nil
    ) throws(ObshellError) -> Envelope<Payload> {
        let envelope: Envelope<Payload>
        do {
            envelope = try ObshellDecoder.decode(
                Envelope<Payload>.self,
                from: parsed ?? FastJSONDecoder.parse(response.body)
            )
        } catch {
            guard (200..<300).contains(response.status) else {
                throw ObshellError(
                    code: response.status == 404 ? .notFound : .httpStatus,
                    message: "HTTP \(response.status) with a body that is not an obshell answer",
                    status: response.status
                )
            }
            throw error
        }
        guard (200..<300).contains(response.status), envelope.successful else {
            throw Self.failure(envelope.error, status: response.status)
        }
        return envelope
    }

    static func payload<Payload: Decodable & Sendable>(
        _ payload: Payload.Type,
        from response: AgentResponse
    ) throws(ObshellError) -> Payload {
        let envelope = try self.envelope(Payload.self, from: response)
        guard let data = envelope.data else {
            throw ObshellError(code: .undecodable, message: "at data: missing", status: response.status, path: "data")
        }
        return data
    }

    /// The typed error for a failed answer, keeping obshell's code and message.
    static func failure(_ error: APIError?, status: Int) -> ObshellError {
        let errCode = error?.errCode
        let message = error?.message ?? "the agent answered HTTP \(status) without a message"
        let code: ObshellError.Code
        if AuthenticationRefusal(status: status, errCode: errCode, apiCode: error?.code) == .password {
            code = .wrongPassword
        } else if error?.code == 1 || errCode?.hasSuffix("Header.DecryptFailed") == true {
            code = .decryptFailed
        } else if AgentAnswer.isNotFound(status: status, error: error) {
            code = .notFound
        } else if status == 401 {
            code = .refused
        } else {
            code = .httpStatus
        }
        return ObshellError(code: code, message: message, status: status, errCode: errCode, apiCode: error?.code)
    }
}

/// What `X-OCS-Header` encrypts: `{"Auth":…,"Ts":…,"Uri":…}` in obshell's order; `Ts` is a string holding the
/// expiry in Unix seconds, as obshell requires.
private struct OCSHeader {
    var auth: String
    var ts: String
    var uri: String

    /// The JSON text, written directly: it is made for every request, and `JSONEncoder` cost more than the RSA.
    var json: Data {
        var text = "{\"Auth\":"
        JSONStringLiteral.append(self.auth, to: &text)
        text += ",\"Ts\":"
        JSONStringLiteral.append(self.ts, to: &text)
        text += ",\"Uri\":"
        JSONStringLiteral.append(self.uri, to: &text)
        text += "}"
        return Data(text.utf8)
    }
}
