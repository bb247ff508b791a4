import Foundation

/// How a rule names the DAGs it wants: a glob on the whole name (`dag:`) or a regular expression that must match the
/// whole name (`dag_regex:`, ICU syntax).
package enum NamePattern: Sendable, Hashable, CustomStringConvertible {
    /// `dag: "Cluster scale*"`.
    case glob(Glob)
    /// `dag_regex: "Cluster scale (out|in)"`.
    case regex(WholeMatchRegex)

    /// Whether `name` matches.
    package func matches(_ name: String) -> Bool {
        switch self {
        case .glob(let glob): glob.matches(name)
        case .regex(let regex): regex.matches(name)
        }
    }

    package var description: String {
        switch self {
        case .glob(let glob): glob.pattern
        case .regex(let regex): regex.pattern
        }
    }
}

/// A regular expression that must match a whole string.
package struct WholeMatchRegex: Sendable, Hashable, CustomStringConvertible {
    /// Why a pattern does not compile.
    package struct SyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
        /// What is wrong, for a config diagnostic.
        package var message: String
        package var description: String { self.message }
    }

    /// The expression as written.
    package let pattern: String
    private let expression: NSRegularExpression

    /// Compiles a pattern, anchored at both ends.
    /// - Throws: ``SyntaxError`` with the reason the expression does not compile.
    package init(_ pattern: String) throws(SyntaxError) {
        do {
            self.expression = try NSRegularExpression(pattern: "^(?:" + pattern + ")$")
        } catch {
            // Foundation's error says only "the value is invalid"; Swift's parser says where and why.
            var reason = "it does not compile"
            do {
                _ = try Regex(pattern)
            } catch let parseError {
                reason = String(describing: parseError)
            }
            throw SyntaxError(message: "invalid regular expression: \(reason)")
        }
        self.pattern = pattern
    }

    /// Whether the whole of `text` matches.
    package func matches(_ text: String) -> Bool {
        self.expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    package var description: String { self.pattern }

    package static func == (lhs: WholeMatchRegex, rhs: WholeMatchRegex) -> Bool { lhs.pattern == rhs.pattern }
    package func hash(into hasher: inout Hasher) { hasher.combine(self.pattern) }
}
