package import Foundation

/// The one reading of what an agent answered: the live client and the capture reader both turn an exchange into an
/// ``Outcome`` here, so `run` and `replay` observe the same thing from the same exchange, worded the same way.
///
/// An exchange is an HTTP status and body, or a transport failure described as text (the client's error, or a
/// capture line's `error`). Nothing here sends a request or reads a clock.
package enum AgentAnswer {
    /// Why a request gave nothing usable: the words a `target_down` or a confirmation carries, and the kind of
    /// failure (the `error_kind` of `target_down`).
    package struct Failure: Sendable, Hashable {
        /// Why, in words: `HTTP 401 Security.Authentication.Expired: ...`, `timed out: ...`.
        package var reason: String
        /// What kind of failure it was.
        package var kind: PollFailureKind

        /// Makes a failure.
        package init(reason: String, kind: PollFailureKind) {
            self.reason = reason
            self.kind = kind
        }
    }

    /// What one answer means.
    package enum Outcome: Sendable, Hashable {
        /// A good list of unfinished DAGs (`contents: null` read as empty), with the agent's time of answering.
        case list([Dag], agentTime: ObshellTime?)
        /// The agent knows the DAG asked for, and sent it.
        case found(Dag)
        /// The agent does not know the DAG asked for (404, `Task.NotFound`, code 2300).
        case notFound
        /// The agent could not decrypt the request header: its key changed, and the client fetches it again and
        /// repeats the request once. When no repeat follows, the answer is this failure.
        case keyRejected(Failure)
        /// No usable answer.
        case failed(Failure)

        /// The failure, for an outcome that is one (a key rejection that was not retried included).
        package var failure: Failure? {
            switch self {
            case .keyRejected(let failure), .failed(let failure): failure
            case .list, .found, .notFound: nil
            }
        }
    }

    /// An answer's body, as far as it could be read.
    package enum Body<Payload: Decodable & Sendable>: Sendable {
        /// No body came with the status.
        case missing
        /// The body is not a JSON object (text, HTML, an empty body).
        case notJSON
        /// A JSON object: the envelope read from it, or why it is not one; and, for a 401, its `error` object read
        /// on its own (a refusal whose body is not a whole envelope still says why).
        case object(Result<Envelope<Payload>, ObshellError>, error: APIError?)
    }

    // MARK: - Bodies

    /// Reads a body from the answer's bytes, as a capture line of them would read on replay: only a JSON object is
    /// an envelope (the capture writer embeds anything else as a string).
    /// - Parameters:
    ///   - payload: What the envelope's `data` holds.
    ///   - data: The answer's bytes.
    ///   - status: The HTTP status (a 401's `error` object is read on its own).
    package static func body<Payload: Decodable & Sendable>(
        _ payload: Payload.Type,
        of data: Data,
        status: Int
    ) -> Body<Payload> {
        self.body(payload, parsed: FastJSONDecoder.parse(data), status: status)
    }

    /// Reads a body from a document parsed once already.
    package static func body<Payload: Decodable & Sendable>(
        _ payload: Payload.Type,
        parsed: Result<JSONTree, DecodingError>,
        status: Int
    ) -> Body<Payload> {
        guard case .success(let tree) = parsed, tree.nodes.first?.kind == .object else { return .notJSON }
        let envelope: Result<Envelope<Payload>, ObshellError>
        do {
            envelope = .success(try ObshellDecoder.decode(Envelope<Payload>.self, from: parsed))
        } catch {
            envelope = .failure(error)
        }
        return .object(envelope, error: status == 401 ? self.errorMember(parsed) : nil)
    }

    /// The `error` member of a body, read on its own.
    package static func errorMember(_ parsed: Result<JSONTree, DecodingError>) -> APIError? {
        (try? FastJSONDecoder().decode(ErrorMember.self, from: parsed))?.error
    }

    private struct ErrorMember: Decodable {
        var error: APIError?
    }

    // MARK: - Outcomes

    /// The outcome of `GET /api/v1/task/dag/unfinish`.
    package static func list(status: Int, body: Body<ContentList<Dag>>) -> Outcome {
        self.listAnswer(status: status, body: body) { envelope in
            .list(envelope.data?.contents ?? [], agentTime: envelope.timestamp)
        }
    }

    /// The outcome of a list request whose envelope, once accepted, becomes `accepted`: the client skips decoding a
    /// list identical to the previous one and reads only the envelope's fields.
    package static func listAnswer<Payload>(
        status: Int,
        body: Body<Payload>,
        accepted: (Envelope<Payload>) -> Outcome
    ) -> Outcome {
        // A body that is no envelope: a 2xx did not decode; a failure status is sorted by its status, or by the
        // `error` object of a 401 when one could be read.
        func undecoded(_ error: APIError?) -> PollFailureKind {
            (200..<300).contains(status) ? .decode : PollFailureKind(failedAnswer: status, error: error)
        }
        let envelope: Envelope<Payload>
        switch body {
        case .missing:
            return .failed(Failure(reason: "HTTP \(status) with no body", kind: undecoded(nil)))
        case .notJSON:
            return .failed(Failure(reason: "HTTP \(status): the body is not JSON", kind: undecoded(nil)))
        case .object(.failure(let problem), let error):
            let failure = Failure(
                reason: "HTTP \(status): the body is not an obshell answer: \(problem.message)",
                kind: undecoded(error)
            )
            return self.isKeyRejection(status: status, error: error) ? .keyRejected(failure) : .failed(failure)
        case .object(.success(let decoded), let error):
            envelope = decoded
            guard (200..<300).contains(status), envelope.successful else {
                let failure = Failure(
                    reason: self.describeFailure(status: status, error: envelope.error),
                    kind: PollFailureKind(failedAnswer: status, error: envelope.error)
                )
                return self.isKeyRejection(status: status, error: error ?? envelope.error)
                    ? .keyRejected(failure) : .failed(failure)
            }
        }
        return accepted(envelope)
    }

    /// The outcome of `GET /api/v1/task/dag/{id}`.
    package static func dag(status: Int, body: Body<Dag>) -> Outcome {
        if status == 404 { return .notFound }
        let envelope: Envelope<Dag>
        let rejection: APIError?
        switch body {
        case .missing, .notJSON:
            return .failed(Failure(reason: "HTTP \(status): the body is not JSON", kind: self.undecodedKind(status)))
        case .object(.failure(let problem), let error):
            let failure = Failure(
                reason: "HTTP \(status): the body is not an obshell answer: \(problem.message)",
                kind: self.undecodedKind(status)
            )
            return self.isKeyRejection(status: status, error: error) ? .keyRejected(failure) : .failed(failure)
        case .object(.success(let decoded), let error):
            envelope = decoded
            rejection = error
        }
        if self.isNotFound(status: status, error: envelope.error, envelopeStatus: envelope.status) { return .notFound }
        guard (200..<300).contains(status), envelope.successful, let dag = envelope.data else {
            let failure = Failure(
                reason: self.describeFailure(status: status, error: envelope.error),
                kind: PollFailureKind(failedAnswer: status, error: envelope.error)
            )
            return self.isKeyRejection(status: status, error: rejection ?? envelope.error)
                ? .keyRejected(failure) : .failed(failure)
        }
        return .found(dag)
    }

    private static func undecodedKind(_ status: Int) -> PollFailureKind {
        (200..<300).contains(status) ? .decode : PollFailureKind(failedAnswer: status, error: nil)
    }

    /// The outcome of a request no answer came to.
    /// - Parameter text: Why, as written: the client's error, or a capture line's `error`.
    package static func transportFailure(_ text: String) -> Outcome {
        .failed(Failure(reason: text, kind: PollFailureKind(transportError: text)))
    }

    /// The failure that `GET /api/v1/secret` answered with `status` stands for: the request it was fetched for
    /// cannot be sent. `nil` when the key came (a 2xx).
    package static func keyFetchFailure(status: Int) -> Failure? {
        guard !(200..<300).contains(status) else { return nil }
        return Failure(reason: "HTTP \(status) when fetching the agent's key", kind: .http)
    }

    /// The failure of a call the client gave up on with no answer to read (the agent's key unreadable, the header
    /// not encrypted): the client's error, in its words.
    package static func failure(of error: ObshellError) -> Failure {
        Failure(reason: "\(error)", kind: PollFailureKind(error))
    }

    // MARK: - What the agent's errors mean

    /// Whether an answer says the agent could not decrypt the request header (HTTP 401, code 1 or
    /// `...Header.DecryptFailed`): its key changed, so the client fetches it again and repeats the request once.
    package static func isKeyRejection(status: Int, error: APIError?) -> Bool {
        guard status == 401, let error else { return false }
        return error.code == 1 || error.errCode?.hasSuffix("Header.DecryptFailed") == true
    }

    /// Whether an answer says the agent does not know what was asked for: HTTP 404 (in the status or the
    /// envelope), `Task.NotFound`, or obshell's old code 2300.
    package static func isNotFound(status: Int, error: APIError?, envelopeStatus: Int? = nil) -> Bool {
        status == 404 || envelopeStatus == 404 || error?.errCode == "Task.NotFound" || error?.code == 2300
    }

    /// `HTTP 500 Common.Unexpected: Unexpected error: Internal Server Error`.
    static func describeFailure(status: Int, error: APIError?) -> String {
        var text = "HTTP \(status)"
        if let code = error?.errCode {
            text += " " + code
        } else if let code = error?.code {
            text += " code \(code)"
        }
        if let message = error?.message { text += ": " + message }
        if error == nil, (200..<300).contains(status) { text += ": successful is false" }
        return text
    }
}
