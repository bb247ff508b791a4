public import YAML

/// Why a template cannot be used.
public struct TemplateError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case invalidTemplate, unknownFormat
        }
        private let kind: Kind

        /// The template has a problem ``TemplateChecker`` reports, or swift-mustache refuses it.
        public static let invalidTemplate = Code(kind: .invalidTemplate)
        /// The format name is none of the webhook formats, `email` or `syslog`.
        public static let unknownFormat = Code(kind: .unknownFormat)

        /// The code's name.
        public var description: String { self.kind.rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// What went wrong, for a human.
    public var message: String
    /// Where the template is written, when it comes from a file.
    public var mark: YAMLMark?
    /// The lower-level error's description, when there was one.
    public var cause: String?

    /// Makes an error.
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - message: What went wrong.
    ///   - mark: Where.
    ///   - cause: The lower-level error's description.
    public init(code: Code, message: String, mark: YAMLMark? = nil, cause: String? = nil) {
        self.code = code
        self.message = message
        self.mark = mark
        self.cause = cause
    }

    /// `FILE:LINE:COLUMN: error: MESSAGE`, or `error: MESSAGE` without a place.
    public var description: String {
        var text = self.mark.map { "\($0): " } ?? ""
        text += "error: " + self.message
        if let cause = self.cause { text += " (\(cause))" }
        return text
    }
}
