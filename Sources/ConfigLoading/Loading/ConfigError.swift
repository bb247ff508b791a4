package import ConfigModel
package import YAML

/// Why a configuration cannot be used: every problem found, one diagnostic each.
package struct ConfigError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case invalid
        }
        private let kind: Kind

        /// The file cannot be read, is not YAML, or holds values that cannot be used.
        package static let invalid = Code(kind: .invalid)

        package var description: String { self.kind.rawValue }
    }

    /// The kind of failure.
    package var code: Code
    /// A one-line summary.
    package var message: String
    /// Every problem and warning, sorted by file and position.
    package var diagnostics: Diagnostics

    /// Makes an error.
    package init(code: Code, message: String, diagnostics: Diagnostics) {
        self.code = code
        self.message = message
        self.diagnostics = diagnostics
    }

    /// One `FILE:LINE:COL: error: MESSAGE` line per problem (warnings included).
    package var lines: [String] { self.diagnostics.entries.map(\.description) }

    package var description: String { self.lines.joined(separator: "\n") }
}

/// What loading a configuration gave: the configuration when it has no error, and every diagnostic either way.
package struct ConfigLoadResult: Sendable {
    /// The configuration; `nil` when ``diagnostics`` has an error.
    package var config: ObwatchConfig?
    /// Every error and warning, sorted by file and position.
    package var diagnostics: Diagnostics

    /// Makes a result.
    package init(config: ObwatchConfig?, diagnostics: Diagnostics) {
        self.config = config
        self.diagnostics = diagnostics
    }
}
