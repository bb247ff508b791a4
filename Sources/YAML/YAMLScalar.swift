/// The text of a scalar node, exactly as libyaml produced it, and the way it was written.
package struct YAMLScalar: Sendable, Hashable {
    /// How a scalar was written in the file.
    package enum Style: Sendable, Hashable, CustomStringConvertible {
        /// No quotes: `name: db`. Only plain scalars can be null, booleans or numbers.
        case plain
        /// `'...'`
        case singleQuoted
        /// `"..."`, the only style with escapes such as `\r` or `\u00e9`.
        case doubleQuoted
        /// A `|` block.
        case literal
        /// A `>` block.
        case folded

        /// The style's name as used in messages.
        package var description: String {
            switch self {
            case .plain: "plain"
            case .singleQuoted: "single-quoted"
            case .doubleQuoted: "double-quoted"
            case .literal: "literal"
            case .folded: "folded"
            }
        }
    }

    /// The value after YAML's escapes and line folding, byte for byte what libyaml produced (it may contain NUL).
    package var value: String
    /// How the value was written.
    package var style: Style

    /// Makes a scalar.
    /// - Parameters:
    ///   - value: The scalar's text.
    ///   - style: How it was written.
    package init(value: String, style: Style) {
        self.value = value
        self.style = style
    }

    /// Whether the scalar was written in quotes (single or double).
    package var isQuoted: Bool { self.style == .singleQuoted || self.style == .doubleQuoted }
}
