/// A status server that cannot listen, or was asked where it listens after it stopped.
public struct StatusServerError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case listenFailed, notRunning
        }
        private let kind: Kind

        /// The listener could not be bound, or the server failed while serving.
        public static let listenFailed = Code(kind: .listenFailed)
        /// The server has stopped (or stopped before it listened).
        public static let notRunning = Code(kind: .notRunning)

        /// The code's name.
        public var description: String { self.kind.rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// What went wrong, for a human (never the bearer token).
    public var message: String
    /// The host and port asked for, when the failure is about listening.
    public var address: String?
    /// The underlying error, when another layer failed first.
    public var cause: (any Error)?

    /// Makes an error.
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - message: What went wrong.
    ///   - address: The `host:port` asked for.
    ///   - cause: The underlying error, if any.
    public init(code: Code, message: String, address: String? = nil, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.address = address
        self.cause = cause
    }

    /// `message (address)`.
    public var description: String {
        let place = self.address.map { " (\($0))" } ?? ""
        return "\(self.message)\(place)"
    }
}
