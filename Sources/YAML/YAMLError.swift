/// A problem with a YAML file: it cannot be read, it is not valid YAML, or a value is not what the caller expected.
///
/// Its description is the compiler-style line `FILE:LINE:COL: error: MESSAGE` (or `FILE: error: MESSAGE` when the
/// problem has no position, such as an unreadable file).
package struct YAMLError: Error, Sendable, CustomStringConvertible {
    /// What kind of problem this is.
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case unreadable, syntax, parserFailure, unknownAlias, aliasLimit, tooDeep, duplicateKey
            case multipleDocuments, invalidMerge, wrongType, invalidValue, missingKey, unknownKey
        }
        private let kind: Kind

        /// The file could not be read.
        package static let unreadable = Code(kind: .unreadable)
        /// libyaml rejected the text (bad indentation, unterminated quote, invalid UTF-8, ...).
        package static let syntax = Code(kind: .syntax)
        /// libyaml itself failed (out of memory).
        static let parserFailure = Code(kind: .parserFailure)
        /// An alias names no anchor defined before it, or the node that contains it.
        static let unknownAlias = Code(kind: .unknownAlias)
        /// Aliases expand to more nodes than allowed (an alias bomb).
        static let aliasLimit = Code(kind: .aliasLimit)
        /// Nodes are nested deeper than allowed.
        package static let tooDeep = Code(kind: .tooDeep)
        /// A mapping has the same key twice.
        static let duplicateKey = Code(kind: .duplicateKey)
        /// The stream holds more than one document.
        static let multipleDocuments = Code(kind: .multipleDocuments)
        /// A merge key (`<<`) is not followed by a mapping or a list of mappings.
        static let invalidMerge = Code(kind: .invalidMerge)
        /// A node is not of the expected kind (a mapping where a string is expected, text where a number is).
        package static let wrongType = Code(kind: .wrongType)
        /// A scalar has the expected kind but an unacceptable value (a bad duration, a number out of range).
        package static let invalidValue = Code(kind: .invalidValue)
        /// A required key is missing from a mapping.
        package static let missingKey = Code(kind: .missingKey)
        /// A mapping has a key the caller does not know.
        package static let unknownKey = Code(kind: .unknownKey)

        /// The code's name.
        package var description: String { self.kind.rawValue }
    }

    /// The kind of problem.
    package var code: Code
    /// What is wrong, for a human; never includes the `FILE:LINE:COL` prefix.
    package var message: String
    /// The file the problem is in.
    package var file: String
    /// Where the problem is, when it has a position.
    package var mark: YAMLMark?
    /// Where the construct libyaml was reading when it failed started (an opening quote, a mapping), when known.
    package var contextMark: YAMLMark?
    /// The underlying error, when there is one.
    package var cause: (any Error)?

    /// Makes an error at a position.
    /// - Parameters:
    ///   - code: The kind of problem.
    ///   - message: What is wrong.
    ///   - mark: Where it is.
    ///   - contextMark: Where the enclosing construct starts, if useful.
    ///   - cause: The underlying error, if any.
    package init(
        code: Code,
        message: String,
        at mark: YAMLMark,
        contextMark: YAMLMark? = nil,
        cause: (any Error)? = nil
    ) {
        self.code = code
        self.message = message
        self.file = mark.file
        self.mark = mark
        self.contextMark = contextMark
        self.cause = cause
    }

    /// Makes an error about a whole file, with no position.
    /// - Parameters:
    ///   - code: The kind of problem.
    ///   - message: What is wrong.
    ///   - file: The file it is about.
    ///   - cause: The underlying error, if any.
    package init(code: Code, message: String, file: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.file = file
        self.mark = nil
        self.contextMark = nil
        self.cause = cause
    }

    /// `FILE:LINE:COL: error: MESSAGE`, or `FILE: error: MESSAGE` without a position.
    package var description: String { Diagnostic(self).description }
}
