import Foundation

/// How a rule names the DAGs it wants: a glob on the whole name (`dag:`) or a regular expression that must match the
/// whole name (`dag_regex:`, ICU syntax).
public enum NamePattern: Sendable, Hashable, CustomStringConvertible {
    /// `dag: "Cluster scale*"`.
    case glob(Glob)
    /// `dag_regex: "Cluster scale (out|in)"`.
    case regex(WholeMatchRegex)

    /// Whether `name` matches.
    public func matches(_ name: String) -> Bool {
        switch self {
        case .glob(let glob): glob.matches(name)
        case .regex(let regex): regex.matches(name)
        }
    }

    public var description: String {
        switch self {
        case .glob(let glob): glob.pattern
        case .regex(let regex): regex.pattern
        }
    }
}

/// A regular expression that must match a whole string.
public struct WholeMatchRegex: Sendable, Hashable, CustomStringConvertible {
    /// Why a pattern does not compile.
    public struct SyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
        /// What is wrong, for a config diagnostic.
        public var message: String
        public var description: String { self.message }
    }

    /// The expression as written.
    public let pattern: String
    private let expression: NSRegularExpression

    /// Compiles a pattern, anchored at both ends.
    /// - Throws: ``SyntaxError`` with the reason the expression does not compile.
    public init(_ pattern: String) throws(SyntaxError) {
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
    public func matches(_ text: String) -> Bool {
        self.expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    public var description: String { self.pattern }

    public static func == (lhs: WholeMatchRegex, rhs: WholeMatchRegex) -> Bool { lhs.pattern == rhs.pattern }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.pattern) }
}
