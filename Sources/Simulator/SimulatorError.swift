/// A scenario that cannot be loaded, or a simulator that cannot start or be driven as asked.
///
/// A scenario problem carries one compiler-style line per problem (`FILE:LINE:COL: error: MESSAGE`) in
/// ``diagnostics``; ``description`` prints them all.
public struct SimulatorError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case invalidScenario, keyGenerationFailed, listenFailed, notManualClock, notRunning
        }
        private let kind: Kind

        /// The scenario file cannot be read, is not YAML, or does not describe a valid scenario.
        public static let invalidScenario = Code(kind: .invalidScenario)
        /// The RSA key pair could not be generated (or the key size is not 512 or 1024 bits).
        public static let keyGenerationFailed = Code(kind: .keyGenerationFailed)
        /// A listener could not be bound, or the server stopped before it listened.
        public static let listenFailed = Code(kind: .listenFailed)
        /// The scenario clock was advanced by hand while it runs in real time.
        public static let notManualClock = Code(kind: .notManualClock)
        /// The simulator is not running (it was never started or has stopped).
        public static let notRunning = Code(kind: .notRunning)

        /// The code's name.
        public var description: String { self.kind.rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// What went wrong, for a human (never a password).
    public var message: String
    /// For ``Code/invalidScenario``: one `FILE:LINE:COL: error: MESSAGE` line per problem, in file order.
    public var diagnostics: [String]
    /// The underlying error, when another layer failed first.
    public var cause: (any Error)?

    /// Makes an error.
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - message: What went wrong.
    ///   - diagnostics: The `FILE:LINE:COL` lines of a scenario problem.
    ///   - cause: The underlying error, if any.
    public init(code: Code, message: String, diagnostics: [String] = [], cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.diagnostics = diagnostics
        self.cause = cause
    }

    /// The diagnostics lines when there are any, else the message.
    public var description: String {
        self.diagnostics.isEmpty ? self.message : self.diagnostics.joined(separator: "\n")
    }
}
