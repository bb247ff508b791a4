/// What can go wrong reading a capture or the state store.
package struct TrackerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure.
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case badCaptureLine, stateUnreadable, stateWriteFailed
        }
        private let kind: Kind

        /// A capture line is not JSON, lacks a field, or has a field of the wrong kind.
        package static let badCaptureLine = Code(kind: .badCaptureLine)
        /// A state file cannot be read (corrupt, or written by a newer obwatch).
        static let stateUnreadable = Code(kind: .stateUnreadable)
        /// A state file cannot be written.
        static let stateWriteFailed = Code(kind: .stateWriteFailed)

        /// The code's name.
        package var description: String { self.kind.rawValue }
    }

    /// The kind of failure.
    package var code: Code
    /// What went wrong, for a human.
    package var message: String
    /// The file concerned, when there is one.
    package var file: String?
    /// The 1-based line of the file, for capture lines.
    package var line: Int?
    /// The lower-level error's description, when there was one.
    package var cause: String?

    /// Makes an error.
    package init(code: Code, message: String, file: String? = nil, line: Int? = nil, cause: String? = nil) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
        self.cause = cause
    }

    /// `FILE:LINE: error: MESSAGE`, the form `replay` prints for a bad line.
    package var description: String {
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
