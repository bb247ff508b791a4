/// What can go wrong writing a file with ``AtomicFile`` or ``StateFile``: the file, what failed, and the system's
/// reason in plain words.
package struct AtomicFileError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure.
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case folderUnusable, writeFailed, unencodable
        }
        private let kind: Kind

        /// The folder that should hold the file is missing and cannot be made, or is not a folder.
        package static let folderUnusable = Code(kind: .folderUnusable)
        /// The temporary file cannot be made, written, flushed or renamed over the file.
        static let writeFailed = Code(kind: .writeFailed)
        /// The value cannot be encoded (``StateFile`` only); nothing was written.
        package static let unencodable = Code(kind: .unencodable)

        /// The code's name.
        package var description: String { self.kind.rawValue }
    }

    /// The kind of failure.
    package var code: Code
    /// What failed, for a human: `cannot create the folder /var/lib/obwatch`.
    package var message: String
    /// The path of the file being written.
    package var file: String
    /// The system's reason (`permission denied`), when there was one.
    package var cause: String?

    /// Makes an error.
    package init(code: Code, message: String, file: String, cause: String? = nil) {
        self.code = code
        self.message = message
        self.file = file
        self.cause = cause
    }

    /// `MESSAGE: CAUSE`, or the message alone.
    package var description: String {
        guard let cause = self.cause else { return self.message }
        return self.message + ": " + cause
    }
}
