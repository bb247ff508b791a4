import ConfigModel
import Foundation
import YAML

/// `${NAME}` and `${NAME:-fallback}` in config values, from the environment; `$$` is a literal `$`.
enum Interpolation {
    /// Replaces every `${NAME}` with the environment's value.
    /// - Parameters:
    ///   - text: The value as written.
    ///   - environment: Where names are looked up.
    ///   - mark: Where the value is written, for errors.
    /// - Throws: ``YAMLError`` naming every variable that is not set and has no fallback (never a value), or a
    ///   malformed `${...}`.
    static func expand(
        _ text: String,
        environment: [String: String],
        at mark: YAMLMark
    ) throws(YAMLError) -> String {
        guard text.contains("$") else { return text }
        var result = ""
        var missing: [String] = []
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            result += rest[..<dollar]
            let after = rest[rest.index(after: dollar)...]
            if after.first == "$" {
                result += "$"
                rest = after.dropFirst()
                continue
            }
            guard after.first == "{", let close = after.firstIndex(of: "}") else {
                throw YAMLError(
                    code: .invalidValue,
                    message: "a \"$\" must start ${NAME} (write $$ for a literal dollar sign)",
                    at: mark
                )
            }
            let inside = after[after.index(after: after.startIndex)..<close]
            var name = inside
            var fallback: Substring?
            if let separator = inside.range(of: ":-") {
                name = inside[..<separator.lowerBound]
                fallback = inside[separator.upperBound...]
            }
            guard Self.isVariableName(name) else {
                throw YAMLError(
                    code: .invalidValue,
                    message: "${...} must hold an environment variable name (letters, digits, _), "
                        + "optionally followed by :-FALLBACK",
                    at: mark
                )
            }
            if let value = environment[String(name)], !(value.isEmpty && fallback != nil) {
                result += value
            } else if let fallback {
                result += fallback
            } else if !missing.contains(String(name)) {
                missing.append(String(name))
            }
            rest = after[after.index(after: close)...]
        }
        result += rest
        guard missing.isEmpty else {
            let names = missing.map { "\"\($0)\"" }.joined(separator: ", ")
            let noun = missing.count == 1 ? "environment variable" : "environment variables"
            let verb = missing.count == 1 ? "is" : "are"
            throw YAMLError(code: .invalidValue, message: "the \(noun) \(names) \(verb) not set", at: mark)
        }
        return result
    }

    private static func isVariableName(_ name: Substring) -> Bool {
        func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                || scalar == "_"
        }
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy(isWordCharacter)
    }
}
