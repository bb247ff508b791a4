/// Everything that can go wrong talking to an obshell agent, with obshell's own code and message where it sent one.
///
/// A password never appears in a message: messages are built from the agent's answers and from redacted URLs only.
package struct ObshellError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is.
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case unreachable, timeout, httpStatus, wrongPassword, notFound, undecodable, decryptFailed
            case refused, invalidTarget, cancelled
        }
        private let kind: Kind

        /// No connection: refused, no route, name not resolved, TLS failure.
        package static let unreachable = Code(kind: .unreachable)
        /// The agent did not answer in time.
        package static let timeout = Code(kind: .timeout)
        /// The agent answered with a failure status not covered by a more specific code.
        package static let httpStatus = Code(kind: .httpStatus)
        /// The agent refused the password: a wrong one (`IncorrectOceanbasePassword`, `IncorrectAgentPassword`), the
        /// wrong kind (`WithAgentPassword`, `WithOceanBasePassword`, `AgentPasswordNotInitialized`), or an old
        /// agent's bare 401 with code 10008 (see ``AuthenticationRefusal``).
        package static let wrongPassword = Code(kind: .wrongPassword)
        /// The DAG (or route) does not exist (`Task.NotFound`, 404).
        package static let notFound = Code(kind: .notFound)
        /// The answer is not JSON, not an envelope, or not the expected shape.
        package static let undecodable = Code(kind: .undecodable)
        /// The agent could not decrypt our header (`Header.DecryptFailed`): its key changed.
        package static let decryptFailed = Code(kind: .decryptFailed)
        /// The agent refused the request for another authentication reason (expired, URI mismatch, ...).
        package static let refused = Code(kind: .refused)
        /// The target URL cannot be used (bad scheme, bad key).
        package static let invalidTarget = Code(kind: .invalidTarget)
        /// The request was cancelled.
        package static let cancelled = Code(kind: .cancelled)

        /// The code's name, for code that compares and tests; people read ``words``.
        package var description: String { self.kind.rawValue }

        /// What the code means, in words: `cannot connect`, `the agent refused the password`.
        package var words: String {
            switch self.kind {
            case .unreachable: "cannot connect"
            // "timed out" is what PollFailureKind reads a timeout from in a capture line.
            case .timeout: "timed out"
            case .httpStatus: "the agent answered with an error"
            case .wrongPassword: "the agent refused the password"
            case .notFound: "not found"
            case .undecodable: "the answer cannot be read"
            case .decryptFailed: "the agent cannot decrypt the request (its key changed)"
            case .refused: "the agent refused the request"
            case .invalidTarget: "the address cannot be used"
            case .cancelled: "cancelled"
            }
        }
    }

    /// The kind of failure.
    package var code: Code
    /// A human message: what happened, never a secret.
    package var message: String
    /// The HTTP status, when the agent answered.
    package var status: Int?
    /// obshell's `errCode`, when it sent one.
    package var errCode: String?
    /// obshell's old numeric `code`, when it sent one.
    package var apiCode: Int?
    /// The JSON path of a decoding problem.
    package var path: String?

    /// Makes an error.
    package init(
        code: Code,
        message: String,
        status: Int? = nil,
        errCode: String? = nil,
        apiCode: Int? = nil,
        path: String? = nil
    ) {
        self.code = code
        self.message = message
        self.status = status
        self.errCode = errCode
        self.apiCode = apiCode
        self.path = path
    }

    /// What went wrong in words, then the message, obshell's error code and the status where known:
    /// `the agent refused the password: Incorrect password [Security.Authentication.IncorrectOceanbasePassword] (HTTP
    /// 401)`.
    package var description: String {
        var text = "\(self.code.words): \(self.message)"
        if let errCode = self.errCode { text += " [\(errCode)]" }
        if let status = self.status { text += " (HTTP \(status))" }
        return text
    }

    /// A decoding error that names the JSON path of the problem.
    /// - Parameter depth: How many leading path components belong to an enclosing document and are left out.
    static func undecodable(_ error: DecodingError, droppingLeading depth: Int = 0) -> ObshellError {
        let (fullContext, problem): (DecodingError.Context, String) =
            switch error {
            case .typeMismatch(let type, let context): (context, "expected \(Self.jsonType(type))")
            case .valueNotFound(let type, let context): (context, "expected \(Self.jsonType(type)), found null")
            case .keyNotFound(let key, let context): (context, "missing key \"\(key.stringValue)\"")
            case .dataCorrupted(let context): (context, context.debugDescription)
            @unknown default: (DecodingError.Context(codingPath: [], debugDescription: ""), "\(error)")
            }
        let context = DecodingError.Context(
            codingPath: Array(fullContext.codingPath.dropFirst(depth)),
            debugDescription: fullContext.debugDescription
        )
        if context.codingPath.isEmpty, case .dataCorrupted = error {
            return ObshellError(code: .undecodable, message: "the body is not JSON")
        }
        // For a missing key this is the path of the object that lacks it.
        let path = ObshellDecoder.path(context.codingPath)
        return ObshellError(code: .undecodable, message: "at \(path): \(problem)", path: path)
    }

    private static func jsonType(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is Int.Type, is Int64.Type, is Int32.Type: "an integer"
        case is Double.Type: "a number"
        default:
            String(describing: type).hasPrefix("Array") ? "an array" : "an object"
        }
    }
}
