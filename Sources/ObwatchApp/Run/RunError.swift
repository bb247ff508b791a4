/// A failure of `obwatch run` outside the configuration.
struct RunError: Error, CustomStringConvertible {
    /// What kind of failure this is.
    struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case stateDirectoryInUse
            case stateDirectoryUnusable
            case statusPortUnavailable
        }
        private let kind: Kind

        /// Another process holds the state folder's lock.
        static let stateDirectoryInUse = Code(kind: .stateDirectoryInUse)
        /// The state folder cannot be created, written or locked.
        static let stateDirectoryUnusable = Code(kind: .stateDirectoryUnusable)
        /// The status server could not listen on its address.
        static let statusPortUnavailable = Code(kind: .statusPortUnavailable)

        var description: String { self.kind.rawValue }
    }

    /// The kind of failure.
    var code: Code
    /// What went wrong.
    var message: String
    /// The underlying error.
    var cause: (any Error)?

    var description: String { self.message }
}
