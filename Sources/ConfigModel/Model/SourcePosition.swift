/// Where something is written in a configuration file: what a rule, receiver or template remembers of its place, so
/// that messages about it point into the file. The loader converts the YAML parser's marks to positions; the model,
/// the router and the templates never see YAML types.
package struct SourcePosition: Sendable, Hashable, CustomStringConvertible {
    /// The file name as the loader gave it (or a description such as `<default slack title>`).
    package var file: String
    /// The line, starting at 1; 0 when the position is unknown.
    package var line: Int
    /// The column, starting at 1, counted in Unicode scalars; 0 when the position is unknown.
    package var column: Int

    /// Makes a position.
    /// - Parameters:
    ///   - file: The file name to show in messages.
    ///   - line: The 1-based line.
    ///   - column: The 1-based column, in Unicode scalars.
    package init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// No place: what a value built in code rather than read from a file carries.
    package static let unknown = SourcePosition(file: "", line: 0, column: 0)

    /// `FILE:LINE:COL`, the prefix of every message about this position.
    package var description: String { "\(self.file):\(self.line):\(self.column)" }
}
