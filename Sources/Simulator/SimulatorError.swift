/// A scenario that cannot be loaded, or a simulator that cannot start or be driven as asked.
///
/// A scenario problem carries one compiler-style line per problem (`FILE:LINE:COL: error: MESSAGE`) in
/// ``diagnostics``; ``description`` prints them all.
package struct SimulatorError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case invalidScenario, keyGenerationFailed, listenFailed, notManualClock, notRunning
        }
        private let kind: Kind

        /// The scenario file cannot be read, is not YAML, or does not describe a valid scenario.
        package static let invalidScenario = Code(kind: .invalidScenario)
        /// The RSA key pair could not be generated (or the key size is not 512 or 1024 bits).
        package static let keyGenerationFailed = Code(kind: .keyGenerationFailed)
        /// A listener could not be bound, or the server stopped before it listened.
        package static let listenFailed = Code(kind: .listenFailed)
        /// The scenario clock was advanced by hand while it runs in real time.
        static let notManualClock = Code(kind: .notManualClock)
        /// The simulator is not running (it was never started or has stopped).
        package static let notRunning = Code(kind: .notRunning)

        /// The code's name.
        package var description: String { self.kind.rawValue }
    }

    /// The kind of failure.
    package var code: Code
    /// What went wrong, for a human (never a password).
    package var message: String
    /// For ``Code/invalidScenario``: one `FILE:LINE:COL: error: MESSAGE` line per problem, in file order.
    package var diagnostics: [String]
    /// The underlying error, when another layer failed first.
    package var cause: (any Error)?

    /// Makes an error.
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - message: What went wrong.
    ///   - diagnostics: The `FILE:LINE:COL` lines of a scenario problem.
    ///   - cause: The underlying error, if any.
    package init(code: Code, message: String, diagnostics: [String] = [], cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.diagnostics = diagnostics
        self.cause = cause
    }

    /// The diagnostics lines when there are any, else the message.
    package var description: String {
        self.diagnostics.isEmpty ? self.message : self.diagnostics.joined(separator: "\n")
    }
}
