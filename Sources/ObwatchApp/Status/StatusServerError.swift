/// A status server that cannot listen, or was asked where it listens after it stopped.
package struct StatusServerError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case listenFailed, notRunning
        }
        private let kind: Kind

        /// The listener could not be bound, or the server failed while serving.
        package static let listenFailed = Code(kind: .listenFailed)
        /// The server has stopped (or stopped before it listened).
        package static let notRunning = Code(kind: .notRunning)

        /// The code's name.
        package var description: String { self.kind.rawValue }
    }

    /// The kind of failure.
    package var code: Code
    /// What went wrong, for a human (never the bearer token).
    package var message: String
    /// The host and port asked for, when the failure is about listening.
    package var address: String?
    /// The underlying error, when another layer failed first.
    package var cause: (any Error)?

    /// Makes an error.
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - message: What went wrong.
    ///   - address: The `host:port` asked for.
    ///   - cause: The underlying error, if any.
    package init(code: Code, message: String, address: String? = nil, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.address = address
        self.cause = cause
    }

    /// `message (address)`.
    package var description: String {
        let place = self.address.map { " (\($0))" } ?? ""
        return "\(self.message)\(place)"
    }
}
