/// One error or warning about a file, at a position when it has one.
package struct Diagnostic: Sendable, Hashable, CustomStringConvertible {
    /// How serious a diagnostic is.
    package struct Severity: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case error, warning
        }
        private let kind: Kind

        /// The file cannot be used as it is.
        package static let error = Severity(kind: .error)
        /// The file can be used, but something in it is probably a mistake.
        package static let warning = Severity(kind: .warning)

        /// `error` or `warning`, as printed in the line.
        package var description: String { self.kind.rawValue }
    }

    /// How serious it is.
    package var severity: Severity
    /// What it says, without the position prefix.
    package var message: String
    /// The file it is about.
    package var file: String
    /// Where in the file, when it has a position.
    package var mark: YAMLMark?

    /// Makes a diagnostic at a position.
    /// - Parameters:
    ///   - severity: Error or warning.
    ///   - message: What it says.
    ///   - mark: Where it is.
    package init(_ severity: Severity, _ message: String, at mark: YAMLMark) {
        self.severity = severity
        self.message = message
        self.file = mark.file
        self.mark = mark
    }

    /// Makes a diagnostic about a whole file.
    /// - Parameters:
    ///   - severity: Error or warning.
    ///   - message: What it says.
    ///   - file: The file it is about.
    package init(_ severity: Severity, _ message: String, file: String) {
        self.severity = severity
        self.message = message
        self.file = file
        self.mark = nil
    }

    /// The error as a diagnostic of severity ``Severity/error``.
    /// - Parameter error: The error to report.
    package init(_ error: YAMLError) {
        self.severity = .error
        self.message = error.message
        self.file = error.file
        self.mark = error.mark
    }

    /// `FILE:LINE:COL: SEVERITY: MESSAGE`, `FILE: SEVERITY: MESSAGE` without a position, or `SEVERITY: MESSAGE`
    /// without a file.
    package var description: String {
        let place = self.mark?.description ?? self.file
        return place.isEmpty ? "\(self.severity): \(self.message)" : "\(place): \(self.severity): \(self.message)"
    }
}
