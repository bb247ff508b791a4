/// What can go wrong reading a capture or the state store.
public struct TrackerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case badCaptureLine, stateUnreadable, stateWriteFailed
        }
        private let kind: Kind

        /// A capture line is not JSON, lacks a field, or has a field of the wrong kind.
        public static let badCaptureLine = Code(kind: .badCaptureLine)
        /// A state file cannot be read (corrupt, or written by a newer obwatch).
        public static let stateUnreadable = Code(kind: .stateUnreadable)
        /// A state file cannot be written.
        public static let stateWriteFailed = Code(kind: .stateWriteFailed)

        /// The code's name.
        public var description: String { self.kind.rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// What went wrong, for a human.
    public var message: String
    /// The file concerned, when there is one.
    public var file: String?
    /// The 1-based line of the file, for capture lines.
    public var line: Int?
    /// The lower-level error's description, when there was one.
    public var cause: String?

    /// Makes an error.
    public init(code: Code, message: String, file: String? = nil, line: Int? = nil, cause: String? = nil) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
        self.cause = cause
    }

    /// `FILE:LINE: error: MESSAGE`, the form `replay` prints for a bad line.
    public var description: String {
        var text = ""
        if let file = self.file {
            text += file + ":"
            if let line = self.line { text += "\(line):" }
            text += " "
        }
        text += "error: " + self.message
        if let cause = self.cause { text += " (\(cause))" }
        return text
    }
}
