/// Why the PostgreSQL store could not do what was asked, in an operator's words: the server is named as
/// `HOST:PORT`, and no message ever holds the password.
package struct StoreError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure it is.
    package enum Code: Sendable, Hashable {
        /// The server could not be reached, or did not answer in time.
        case unreachable
        /// The server refused the login (user, password, database, TLS).
        case loginRefused
        /// The schema was migrated by a newer obwatch than this one.
        case newerSchema
        /// A write was refused by the fence: a newer holder of the target wrote with a higher epoch, or this
        /// instance's lease on it is no longer valid.
        case fenced
        /// A statement failed on the server, or an answer could not be read.
        case failed
    }

    /// What kind of failure it is.
    package var code: Code
    /// What went wrong (`cannot reach PostgreSQL at db:5432: connection refused`).
    package var message: String

    /// Makes an error.
    package init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { self.message }
}
