/// A position in a YAML file, 1-based, where an editor puts the cursor.
///
/// The column counts Unicode scalars (characters as libyaml sees them), not bytes: `é€😀: x` puts `x` at column 6.
package struct YAMLMark: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The file name as the caller gave it to the parser.
    package var file: String
    /// The line, starting at 1.
    package var line: Int
    /// The column, starting at 1, counted in Unicode scalars.
    package var column: Int

    /// Makes a mark.
    /// - Parameters:
    ///   - file: The file name to show in messages.
    ///   - line: The 1-based line.
    ///   - column: The 1-based column, in Unicode scalars.
    package init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `FILE:LINE:COL`, the prefix of every message about this position.
    package var description: String { "\(self.file):\(self.line):\(self.column)" }

    /// Orders marks by file name, then line, then column, so diagnostics can be listed in reading order.
    package static func < (lhs: YAMLMark, rhs: YAMLMark) -> Bool {
        (lhs.file, lhs.line, lhs.column) < (rhs.file, rhs.line, rhs.column)
    }
}
