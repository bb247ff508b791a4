package import ConfigModel

/// Why a template cannot be used.
package struct TemplateError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure.
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case invalidTemplate, unknownFormat
        }
        private let kind: Kind

        /// The template has a problem ``TemplateChecker`` reports, or swift-mustache refuses it.
        package static let invalidTemplate = Code(kind: .invalidTemplate)
        /// The format name is none of the webhook formats, `email` or `syslog`.
        package static let unknownFormat = Code(kind: .unknownFormat)

        /// The code's name.
        package var description: String { self.kind.rawValue }
    }

    /// The kind of failure.
    package var code: Code
    /// What went wrong, for a human.
    package var message: String
    /// Where the template is written, when it comes from a file.
    package var mark: SourcePosition?
    /// The lower-level error's description, when there was one.
    package var cause: String?

    /// Makes an error.
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - message: What went wrong.
    ///   - mark: Where.
    ///   - cause: The lower-level error's description.
    package init(code: Code, message: String, mark: SourcePosition? = nil, cause: String? = nil) {
        self.code = code
        self.message = message
        self.mark = mark
        self.cause = cause
    }

    /// `FILE:LINE:COLUMN: error: MESSAGE`, or `error: MESSAGE` without a place.
    package var description: String {
        var text = self.mark.map { "\($0): " } ?? ""
        text += "error: " + self.message
        if let cause = self.cause { text += " (\(cause))" }
        return text
    }
}
