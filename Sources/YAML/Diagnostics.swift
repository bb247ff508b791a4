/// A collector of errors and warnings, so that a loader reports every problem in a file rather than only the first.
///
/// Decoding functions throw a single ``YAMLError`` (loaders should throw ``YAMLError`` for their own checks too, made
/// with ``YAMLError/init(code:message:at:contextMark:cause:)``); ``collect(_:)`` runs one decoding step, records its
/// error if it throws, and lets the caller carry on with the next key or element.
package struct Diagnostics: Sendable, Hashable, CustomStringConvertible {
    /// Everything recorded, in the order it was recorded.
    package private(set) var entries: [Diagnostic] = []

    /// Makes an empty collector.
    package init() {}

    /// The errors, in the order they were recorded.
    package var errors: [Diagnostic] { self.entries.filter { $0.severity == .error } }
    /// The warnings, in the order they were recorded.
    package var warnings: [Diagnostic] { self.entries.filter { $0.severity == .warning } }
    /// Whether at least one error was recorded.
    package var hasErrors: Bool { self.entries.contains { $0.severity == .error } }
    /// Whether nothing was recorded.
    package var isEmpty: Bool { self.entries.isEmpty }

    /// Records a diagnostic.
    /// - Parameter diagnostic: The diagnostic to record.
    package mutating func append(_ diagnostic: Diagnostic) {
        self.entries.append(diagnostic)
    }

    /// Records an error.
    /// - Parameter error: The error to record.
    package mutating func append(_ error: YAMLError) {
        self.entries.append(Diagnostic(error))
    }

    /// Records everything another collector holds, after what this one holds.
    /// - Parameter other: The diagnostics to add.
    package mutating func append(contentsOf other: Diagnostics) {
        self.entries.append(contentsOf: other.entries)
    }

    /// Records an error at a position.
    /// - Parameters:
    ///   - message: What is wrong.
    ///   - mark: Where.
    package mutating func error(_ message: String, at mark: YAMLMark) {
        self.entries.append(Diagnostic(.error, message, at: mark))
    }

    /// Records a warning at a position.
    /// - Parameters:
    ///   - message: What is probably a mistake.
    ///   - mark: Where.
    package mutating func warning(_ message: String, at mark: YAMLMark) {
        self.entries.append(Diagnostic(.warning, message, at: mark))
    }

    /// Runs `body`; if it throws, records the error and returns `nil` so the caller can go on.
    ///
    /// A ``YAMLError`` is recorded with its position. Any other error has none, so it is recorded as a diagnostic
    /// with no file, whose line reads `error: DESCRIPTION`.
    /// - Parameter body: A decoding step.
    /// - Returns: What `body` returned, or `nil` if it threw.
    package mutating func collect<T>(_ body: () throws -> T) -> T? {
        do {
            return try body()
        } catch let error as YAMLError {
            self.append(error)
        } catch {
            self.append(Diagnostic(.error, String(describing: error), file: ""))
        }
        return nil
    }

    /// Every diagnostic, one `FILE:LINE:COL: SEVERITY: MESSAGE` line each, in the order recorded.
    package var description: String {
        self.entries.map(\.description).joined(separator: "\n")
    }
}
