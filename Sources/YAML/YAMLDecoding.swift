import Support

/// Typed reading of nodes. Every failure is a ``YAMLError`` at the offending node.
///
/// Resolution follows the YAML 1.2 core schema, by style: only a plain (unquoted) scalar, or one carrying the
/// matching `!!` tag, can be null, a boolean or a number. A quoted `"true"` or `'5'` is always a string, so asking it
/// for a boolean or an integer is an error. Strings accept any non-null scalar (`version: 4.2` is the text `4.2`).
/// Durations are not a YAML type and accept any non-null scalar style.
extension YAMLNode {
    private static let nullTag = "tag:yaml.org,2002:null"
    private static let boolTag = "tag:yaml.org,2002:bool"
    private static let intTag = "tag:yaml.org,2002:int"
    private static let floatTag = "tag:yaml.org,2002:float"

    /// Whether this is a null: a plain `~`, `null`, `Null`, `NULL`, nothing at all (`key:`), or a `!!null` node.
    package var isNull: Bool {
        guard let scalar = self.scalar else { return false }
        if self.tag == Self.nullTag { return true }
        guard self.tag == nil, scalar.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.value)
    }

    /// The text of a non-null scalar, whatever its style.
    /// - Throws: ``YAMLError`` (``YAMLError/Code/wrongType``) for a list, a mapping or a null.
    package func string() throws(YAMLError) -> String {
        guard let scalar = self.scalar, !self.isNull else { throw self.wrongType(expected: "a string") }
        return scalar.value
    }

    /// The text of a non-null scalar that must be one of a fixed set of words (`format: slack`).
    /// - Parameter allowed: The accepted words, compared exactly.
    /// - Throws: ``YAMLError`` listing the accepted words, with the nearest one as a suggestion.
    package func string(oneOf allowed: [String]) throws(YAMLError) -> String {
        let text = try self.string()
        guard !allowed.contains(text) else { return text }
        var message = "expected one of " + allowed.map { Self.quote($0) }.joined(separator: ", ")
        message += ", found \(self.foundText)"
        if let suggestion = nearest(to: text, among: allowed) {
            message += " (did you mean \(Self.quote(suggestion))?)"
        }
        throw YAMLError(code: .invalidValue, message: message, at: self.mark)
    }

    /// A decimal integer: an optional sign and digits, written plain (or tagged `!!int`).
    /// - Throws: ``YAMLError`` for anything else (`1.5`, `abc`, `"5"`), or a number that does not fit an `Int`.
    package func int() throws(YAMLError) -> Int {
        guard let text = self.coreText(tag: Self.intTag), Self.isDecimalInteger(text) else {
            throw self.wrongType(expected: "an integer")
        }
        guard let value = Int(text) else {
            throw YAMLError(
                code: .invalidValue,
                message: "the integer \(text) is out of range (\(Int.min) to \(Int.max))",
                at: self.mark
            )
        }
        return value
    }

    /// A decimal integer within a range.
    /// - Parameter range: The values allowed.
    /// - Throws: ``YAMLError`` for a non-integer, or one outside `range`.
    package func int(in range: ClosedRange<Int>) throws(YAMLError) -> Int {
        let value = try self.int()
        guard range.contains(value) else {
            throw YAMLError(
                code: .invalidValue,
                message: "expected an integer from \(range.lowerBound) to \(range.upperBound), found \(value)",
                at: self.mark
            )
        }
        return value
    }

    /// A YAML 1.2 core boolean: `true`, `True`, `TRUE`, `false`, `False` or `FALSE`, written plain (or tagged `!!bool`).
    /// `yes`, `on` and quoted `"true"` are not booleans.
    /// - Throws: ``YAMLError`` for anything else.
    package func bool() throws(YAMLError) -> Bool {
        switch self.coreText(tag: Self.boolTag) {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: throw self.wrongType(expected: "a boolean (true or false)")
        }
    }

    /// A YAML 1.2 core number: an integer, a decimal with optional exponent, `.inf`, `-.inf` or `.nan`, written plain
    /// (or tagged `!!float`).
    /// - Throws: ``YAMLError`` for anything else.
    package func double() throws(YAMLError) -> Double {
        guard let text = self.coreText(tag: Self.floatTag), let value = Self.coreDouble(text) else {
            throw self.wrongType(expected: "a number")
        }
        return value
    }

    /// A duration such as `30s`, `5m`, `1h30m`, `2h`, `500ms` or `1d`: whole numbers, each with a unit, from the
    /// largest unit to the smallest. See ``WrittenDuration`` for the full syntax.
    /// - Throws: ``YAMLError`` for a non-scalar, a null, or text that is not a duration.
    package func duration() throws(YAMLError) -> Duration {
        try self.writtenDuration().duration
    }

    /// A duration together with the text it was written as (`30m` stays `30m`, not `1800 seconds`).
    /// - Throws: ``YAMLError`` for a non-scalar, a null, or text that is not a duration.
    package func writtenDuration() throws(YAMLError) -> WrittenDuration {
        guard let scalar = self.scalar, !self.isNull else {
            throw self.wrongType(expected: "a duration such as 30s, 5m or 1h30m")
        }
        do {
            return try WrittenDuration(validating: scalar.value)
        } catch {
            throw YAMLError(
                code: .invalidValue,
                message: "invalid duration \(Self.quote(scalar.value)): \(error.reason)",
                at: self.mark
            )
        }
    }

    /// The elements of a list.
    /// - Throws: ``YAMLError`` when this is not a list.
    package func sequence() throws(YAMLError) -> [YAMLNode] {
        guard let elements = self.elements else { throw self.wrongType(expected: "a list") }
        return elements
    }

    /// Each element of a list, decoded; the first failure is thrown. To report every failing element, decode the
    /// elements of ``sequence()`` one by one through ``Diagnostics/collect(_:)``.
    ///
    /// The closure may throw untyped (`{ try $0.int() }`): Swift does not infer a typed throw for a closure.
    /// - Parameter element: How to decode one element.
    /// - Throws: ``YAMLError`` when this is not a list, or what `element` throws.
    package func list<T>(_ element: (YAMLNode) throws -> T) throws -> [T] {
        var values: [T] = []
        for node in try self.sequence() { values.append(try element(node)) }
        return values
    }

    /// A list, or a single value taken as a list of one (`event: failed` or `event: [failed, stalled]`).
    /// - Parameter element: How to decode one element.
    /// - Throws: What `element` throws.
    package func oneOrList<T>(_ element: (YAMLNode) throws -> T) throws -> [T] {
        if self.elements != nil { return try self.list(element) }
        return [try element(self)]
    }

    /// The entries of a mapping, in document order.
    /// - Throws: ``YAMLError`` when this is not a mapping.
    package func mapping() throws(YAMLError) -> [Pair] {
        guard let pairs = self.pairs else { throw self.wrongType(expected: "a mapping") }
        return pairs
    }

    /// A mapping with string keys, its values decoded, in document order (`labels: { env: prod }`).
    /// - Parameter value: How to decode one value.
    /// - Throws: ``YAMLError`` when this is not a mapping or a key is not a string, or what `value` throws.
    package func stringMap<T>(_ value: (YAMLNode) throws -> T) throws -> [(key: String, value: T)] {
        var entries: [(key: String, value: T)] = []
        for pair in try self.mapping() {
            entries.append((try pair.key.keyString(), try value(pair.value)))
        }
        return entries
    }

    /// A reader that takes the keys of this mapping one by one and then reports the ones nobody took.
    /// - Throws: ``YAMLError`` when this is not a mapping or a key is not a string.
    package func mappingReader() throws(YAMLError) -> YAMLMappingReader {
        try YAMLMappingReader(self)
    }

    /// The text of a key, which must be a non-null scalar.
    func keyString() throws(YAMLError) -> String {
        guard let scalar = self.scalar, !self.isNull else {
            throw YAMLError(
                code: .wrongType,
                message: "expected a string as key, found \(self.foundText)",
                at: self.mark
            )
        }
        return scalar.value
    }

    /// How this node reads in "expected ..., found ..." messages: `a mapping`, `a list`, `an empty value`, `null`,
    /// `"abc"`, or `the quoted string "5"`.
    package var foundText: String {
        switch self.content {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let scalar):
            if self.isNull { return scalar.value.isEmpty ? "an empty value" : "null" }
            if let tag = self.tag { return "\(Self.quote(scalar.value)) tagged \(tag)" }
            switch scalar.style {
            case .plain: return Self.quote(scalar.value)
            case .singleQuoted, .doubleQuoted: return "the quoted string \(Self.quote(scalar.value))"
            case .literal, .folded: return "the block text \(Self.quote(scalar.value))"
            }
        }
    }

    /// An error saying what was expected and what was found here.
    /// - Parameter expected: What the caller wanted, with its article ("an integer").
    package func wrongType(expected: String) -> YAMLError {
        YAMLError(code: .wrongType, message: "expected \(expected), found \(self.foundText)", at: self.mark)
    }

    /// Text for a message: in double quotes, control characters escaped, long values shortened.
    /// - Parameter text: The text to show.
    package static func quote(_ text: String) -> String {
        var shown = ""
        var count = 0
        for character in text.unicodeScalars {
            if count == 60 {
                shown += "…"
                break
            }
            count += 1
            switch character {
            case "\"": shown += "\\\""
            case "\\": shown += "\\\\"
            case "\n": shown += "\\n"
            case "\r": shown += "\\r"
            case "\t": shown += "\\t"
            default:
                if character.value < 0x20 || character.value == 0x7F {
                    shown += "\\u{" + String(character.value, radix: 16) + "}"
                } else {
                    shown.unicodeScalars.append(character)
                }
            }
        }
        return "\"" + shown + "\""
    }

    /// The text of a scalar that may hold a core-schema value: plain and untagged, or carrying `tag`.
    private func coreText(tag: String) -> String? {
        guard let scalar = self.scalar else { return nil }
        if self.tag == tag { return scalar.value }
        guard self.tag == nil, scalar.style == .plain else { return nil }
        return scalar.value
    }

    private static func isDecimalInteger(_ text: String) -> Bool {
        var digits = Substring(text)
        if let first = digits.first, first == "+" || first == "-" { digits = digits.dropFirst() }
        return !digits.isEmpty && digits.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// A number in the YAML 1.2 core schema's float syntax, which is narrower than what `Double(_:)` accepts.
    private static func coreDouble(_ text: String) -> Double? {
        switch text {
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .infinity
        case "-.inf", "-.Inf", "-.INF": return -.infinity
        case ".nan", ".NaN", ".NAN": return .nan
        default: break
        }
        let bytes = Array(text.utf8)
        var index = 0
        func digits() -> Int {
            let start = index
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                index += 1
            }
            return index - start
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
        var mantissa = digits()
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            mantissa += digits()
        }
        guard mantissa > 0 else { return nil }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard digits() > 0 else { return nil }
        }
        guard index == bytes.count else { return nil }
        return Double(text)
    }
}
