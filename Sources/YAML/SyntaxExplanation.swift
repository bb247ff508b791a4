/// Plain words beside libyaml's syntax errors: which block a misplaced key or list item was meant for, and for the
/// other problems what usually causes them.
///
/// libyaml says *what* it did not find (`did not find expected key`); an operator wants to know *where it should
/// go*. The composer knows the blocks open at the error and the ones just closed, with the columns their keys and
/// items start at, so the explanation can name them:
/// `a key at the wrong indentation: keys of "receivers[0].webhook" start at column 7`.
struct SyntaxExplanation {
    /// A block collection (written with indentation, not brackets) that a misplaced line may have been meant for.
    struct Block {
        /// Whether it holds keys or `-` items.
        enum Kind {
            case mapping, sequence
        }

        /// Keys or items.
        var kind: Kind
        /// The column of its keys, or of its items' `-`.
        var column: Int
        /// Where it sits in the document, such as `receivers[0].webhook`; empty for the root.
        var path: String

        /// `keys of "receivers[0]"` or `items of "rules"`, the root named as the top level.
        var name: String {
            let what = self.kind == .mapping ? "keys" : "items"
            return self.path.isEmpty ? "\(what) of the top level" : "\(what) of \(YAMLNode.quote(self.path))"
        }
    }

    /// The last complete value before the error, in the innermost open collection.
    struct LastValue {
        /// Where it starts.
        var mark: YAMLMark
        /// Its style, when it is a scalar.
        var style: YAMLScalar.Style?
    }

    /// libyaml's problem.
    var failure: LibYAMLReader.SyntaxFailure
    /// The text of the line the problem is on.
    var line: String
    /// Blocks a misplaced line may belong to, innermost first: those just closed, then those still open.
    var blocks: [Block]
    /// Whether the innermost open collection is a flow one (`[...]`, `{...}`), where indentation means nothing.
    var insideFlow: Bool
    /// The key whose value was being read when the problem came, in the innermost open mapping.
    var pendingKey: YAMLMark?
    /// The last complete value of the innermost open collection.
    var lastValue: LastValue?

    /// The explanation, to follow libyaml's message after `; `, or `nil` when there is nothing useful to add.
    var text: String? {
        let failure = self.failure
        switch failure.problem {
        case "did not find expected key", "did not find expected '-' indicator":
            if let structure = self.misplacedLine() { return structure }
            if let quote = self.runawayQuote() { return quote }
            if failure.mark.column != self.indentationColumn {
                return "more text follows a complete value on this line; put the whole value in quotes"
            }
            return failure.problem == "did not find expected key"
                ? "this line is not a key of the mapping it is indented into; check its indentation"
                : "this line ends a list whose items start with \"-\"; check its indentation"
        case "mapping values are not allowed in this context":
            let onKeyLine = self.pendingKey?.line == failure.mark.line || self.lastValue?.mark.line == failure.mark.line
            if onKeyLine {
                return "a plain value cannot hold \": \"; put the value in quotes, or move the mapping it starts "
                    + "to its own lines below the key"
            }
            if let value = self.lastValue, value.mark.line < failure.mark.line, let structure = self.misplacedLine() {
                return structure
            }
            return "\": \" in a value; put the value in quotes"
        case "block sequence entries are not allowed in this context":
            return "a list starts on the line after its key, each \"- \" item on a line of its own"
        case "could not find expected ':'":
            guard let start = failure.contextMark else { return nil }
            return "line \(start.line) is not \"key: value\": it has no \":\" (or, if it continues a value, "
                + "it needs more indentation)"
        case "did not find expected ',' or ']'":
            return failure.contextMark.map { "the \"[\" at line \($0.line), column \($0.column) is not closed" }
        case "did not find expected ',' or '}'":
            return failure.contextMark.map { "the \"{\" at line \($0.line), column \($0.column) is not closed" }
        case "found unexpected end of stream":
            guard failure.context == "while scanning a quoted scalar", let start = failure.contextMark else {
                return nil
            }
            return "the quote at line \(start.line), column \(start.column) is never closed"
        case "did not find expected node content":
            return "a value is missing here, or starts with a character that needs quotes"
        case "found character that cannot start any token":
            guard let character = self.character(at: failure.mark.column), character == "@" || character == "`"
            else { return nil }
            return "a value cannot start with \"\(character)\"; put it in quotes"
        case "found a tab character that violates indentation":
            return "indent with spaces only"
        default:
            return nil
        }
    }

    /// The first column of the problem's line that is not a space.
    private var indentationColumn: Int {
        (self.line.unicodeScalars.prefix { $0 == " " }.count) + 1
    }

    /// The character at a 1-based column of the problem's line.
    private func character(at column: Int) -> Character? {
        let scalars = Array(self.line.unicodeScalars)
        guard column >= 1, column <= scalars.count else { return nil }
        return Character(scalars[column - 1])
    }

    /// Whether the line starts with a list item (`- `) rather than a key.
    private var lineIsListItem: Bool {
        let rest = self.line.drop { $0 == " " }
        return rest == "-" || rest.hasPrefix("- ")
    }

    /// A key or list item at an indentation that no open or just closed block has: the blocks it falls between.
    private func misplacedLine() -> String? {
        guard !self.insideFlow else { return nil }
        let column = self.indentationColumn
        // The mark must be at the line's start, or on a line that continues a plain value (`: ` found later on it).
        guard self.failure.mark.column == column || self.failure.problem.hasPrefix("mapping values") else {
            return nil
        }
        let isItem = self.lineIsListItem
        let found = isItem ? "a list item" : "a key"
        let kind: Block.Kind = isItem ? .sequence : .mapping
        let sameKind = self.blocks.filter { $0.kind == kind }
        guard !sameKind.isEmpty else {
            // Nothing of its kind is open: a list item in a mapping, or a key in a list.
            guard let enclosing = self.blocks.first(where: { $0.column <= column }) ?? self.blocks.first else {
                return nil
            }
            let expected = enclosing.kind == .mapping ? "a key" : "a \"- \" item"
            return "\(found) where \(expected) was expected (\(enclosing.name) start at column \(enclosing.column))"
        }
        // A block at exactly this column would have taken the line: the mistake is elsewhere.
        guard !sameKind.contains(where: { $0.column == column }) else { return nil }
        let deeper = sameKind.filter { $0.column > column }.min { $0.column < $1.column }
        let shallower = sameKind.filter { $0.column < column }.max { $0.column < $1.column }
        let start = kind == .mapping ? "start at column" : "start with \"-\" at column"
        var parts: [String] = []
        if let deeper { parts.append("\(deeper.name) \(start) \(deeper.column)") }
        if let shallower {
            parts.append(
                parts.isEmpty
                    ? "\(shallower.name) \(start) \(shallower.column)"
                    : "\(shallower.name) at column \(shallower.column)"
            )
        }
        return "\(found) at the wrong indentation: " + parts.joined(separator: ", ")
    }

    /// A quoted value that began on an earlier line and ran on to the problem: usually a missing closing quote.
    private func runawayQuote() -> String? {
        guard let value = self.lastValue, value.style == .doubleQuoted || value.style == .singleQuoted,
            value.mark.line < self.failure.mark.line
        else { return nil }
        return "the quoted value at line \(value.mark.line), column \(value.mark.column) runs on to line "
            + "\(self.failure.mark.line): is its closing quote missing?"
    }
}
