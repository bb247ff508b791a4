/// A shell-style pattern matched against a whole string: `*` any run of characters, `?` one character, `[abc]`,
/// `[a-z]` and `[!abc]` one character of (or not of) a set, and `\` to take the next character literally.
///
/// Matching works on Unicode scalars, so a DAG name with emoji or CJK text matches character by character.
package struct Glob: Sendable, Hashable, CustomStringConvertible {
    /// Why a pattern is not a glob.
    package struct SyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
        /// What is wrong, for a config diagnostic.
        package var message: String
        package var description: String { self.message }
    }

    private enum Piece: Sendable, Hashable {
        case literal(Unicode.Scalar)
        case anyOne
        case anyRun
        case set(ranges: [ClosedRange<Unicode.Scalar>], negated: Bool)

        func matches(_ scalar: Unicode.Scalar) -> Bool {
            switch self {
            case .literal(let literal): literal == scalar
            case .anyOne: true
            case .anyRun: true
            case .set(let ranges, let negated): ranges.contains { $0.contains(scalar) } != negated
            }
        }
    }

    /// The pattern as written.
    package let pattern: String
    private let pieces: [Piece]

    /// Compiles a pattern.
    /// - Throws: ``SyntaxError`` for an unclosed `[`, an empty set, a reversed range or a trailing `\`.
    package init(_ pattern: String) throws(SyntaxError) {
        var pieces: [Piece] = []
        let scalars = Array(pattern.unicodeScalars)
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            index += 1
            switch scalar {
            case "*":
                if pieces.last != .anyRun { pieces.append(.anyRun) }
            case "?":
                pieces.append(.anyOne)
            case "\\":
                guard index < scalars.count else {
                    throw SyntaxError(message: "a \"\\\" at the end of the pattern escapes nothing")
                }
                pieces.append(.literal(scalars[index]))
                index += 1
            case "[":
                var negated = false
                if index < scalars.count, scalars[index] == "!" || scalars[index] == "^" {
                    negated = true
                    index += 1
                }
                var ranges: [ClosedRange<Unicode.Scalar>] = []
                var closed = false
                var first = true
                while index < scalars.count {
                    var low = scalars[index]
                    if low == "]" && !first {
                        closed = true
                        index += 1
                        break
                    }
                    first = false
                    index += 1
                    if low == "\\", index < scalars.count {
                        low = scalars[index]
                        index += 1
                    }
                    if index + 1 < scalars.count, scalars[index] == "-", scalars[index + 1] != "]" {
                        let high = scalars[index + 1]
                        guard low <= high else {
                            throw SyntaxError(message: "the range \"\(low)-\(high)\" in a [...] set is reversed")
                        }
                        ranges.append(low...high)
                        index += 2
                    } else {
                        ranges.append(low...low)
                    }
                }
                guard closed else { throw SyntaxError(message: "a \"[\" set is not closed by \"]\"") }
                pieces.append(.set(ranges: ranges, negated: negated))
            default:
                pieces.append(.literal(scalar))
            }
        }
        self.pattern = pattern
        self.pieces = pieces
    }

    /// Whether the pattern has no wildcard: it then matches only its own text.
    var isLiteral: Bool {
        self.pieces.allSatisfy { if case .literal = $0 { true } else { false } }
    }

    /// Whether `text` matches the whole pattern.
    package func matches(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars)
        // Iterative wildcard matching with one backtrack point: linear in practice, never exponential.
        var pieceIndex = 0
        var textIndex = 0
        var starPiece: Int?
        var starText = 0
        while textIndex < scalars.count {
            if pieceIndex < self.pieces.count, self.pieces[pieceIndex] == .anyRun {
                starPiece = pieceIndex
                starText = textIndex
                pieceIndex += 1
            } else if pieceIndex < self.pieces.count, self.pieces[pieceIndex].matches(scalars[textIndex]) {
                pieceIndex += 1
                textIndex += 1
            } else if let star = starPiece {
                pieceIndex = star + 1
                starText += 1
                textIndex = starText
            } else {
                return false
            }
        }
        while pieceIndex < self.pieces.count, self.pieces[pieceIndex] == .anyRun { pieceIndex += 1 }
        return pieceIndex == self.pieces.count
    }

    package var description: String { self.pattern }

    package static func == (lhs: Glob, rhs: Glob) -> Bool { lhs.pattern == rhs.pattern }
    package func hash(into hasher: inout Hasher) { hasher.combine(self.pattern) }
}
