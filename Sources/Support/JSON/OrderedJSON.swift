package import Foundation

/// A JSON value written in the order given: Foundation's encoder does not keep key order on Linux, and event lines,
/// the status API's answers and webhook bodies must be stable byte for byte. ``raw(_:)`` embeds an already-encoded
/// value (an event's `jsonLine()`) verbatim.
///
/// The one JSON writer of obwatch; ``OrderedJSONObject`` builds an object member by member with it.
package enum OrderedJSON: Sendable, Hashable {
    /// A string.
    case string(String)
    /// A whole number.
    case integer(Int64)
    /// `true` or `false`.
    case bool(Bool)
    /// `null`.
    case null
    /// An array, in order.
    case array([OrderedJSON])
    /// An object, its members in order.
    case object([Member])
    /// Text that is already JSON, written as it is.
    case raw(String)

    /// One member of an object.
    package struct Member: Sendable, Hashable {
        /// The key.
        package var key: String
        /// The value.
        package var value: OrderedJSON

        /// Makes a member.
        package init(_ key: String, _ value: OrderedJSON) {
            self.key = key
            self.value = value
        }
    }

    /// An object from key-value pairs, in order; `nil` values are left out.
    package static func members(_ pairs: KeyValuePairs<String, OrderedJSON?>) -> OrderedJSON {
        .object(pairs.compactMap { pair in pair.value.map { Member(pair.key, $0) } })
    }

    /// The encoded text.
    /// - Parameter forJavaScript: Whether strings also escape DEL, U+2028 and U+2029 (webhook bodies, which
    ///   receivers may hand to JavaScript); see ``JSONStringLiteral/append(_:to:forJavaScript:)``.
    package func text(forJavaScript: Bool) -> String {
        var output = ""
        self.write(to: &output, forJavaScript: forJavaScript)
        return output
    }

    /// The encoded bytes (UTF-8).
    /// - Parameter forJavaScript: As for ``text(forJavaScript:)``.
    package func data(forJavaScript: Bool) -> Data {
        Data(self.text(forJavaScript: forJavaScript).utf8)
    }

    /// Appends the encoded text to `output`.
    /// - Parameter forJavaScript: As for ``text(forJavaScript:)``.
    package func write(to output: inout String, forJavaScript: Bool) {
        switch self {
        case .string(let value): JSONStringLiteral.append(value, to: &output, forJavaScript: forJavaScript)
        case .integer(let value): output += String(value)
        case .bool(let value): output += value ? "true" : "false"
        case .null: output += "null"
        case .raw(let json): output += json
        case .array(let items):
            output += "["
            for (index, item) in items.enumerated() {
                if index > 0 { output += "," }
                item.write(to: &output, forJavaScript: forJavaScript)
            }
            output += "]"
        case .object(let members):
            output += "{"
            for (index, member) in members.enumerated() {
                if index > 0 { output += "," }
                JSONStringLiteral.append(member.key, to: &output, forJavaScript: forJavaScript)
                output += ":"
                member.value.write(to: &output, forJavaScript: forJavaScript)
            }
            output += "}"
        }
    }
}

/// A JSON object built member by member, in the order given, then written by ``OrderedJSON`` with plain string
/// escaping: what event lines and the status API's answers are made with.
package struct OrderedJSONObject: Sendable, Hashable {
    /// The members so far.
    package private(set) var members: [OrderedJSON.Member] = []

    /// An empty object.
    package init() {}

    /// The object as a value, to nest in another.
    package var value: OrderedJSON { .object(self.members) }

    /// The object's text, braces included.
    package var text: String { self.value.text(forJavaScript: false) }

    /// Adds a member.
    package mutating func add(_ key: String, _ value: OrderedJSON) {
        self.members.append(OrderedJSON.Member(key, value))
    }

    /// Adds a member whose value is already JSON text.
    package mutating func raw(_ key: String, _ json: String) {
        self.add(key, .raw(json))
    }

    /// Adds a string member; nothing when `value` is `nil`.
    package mutating func string(_ key: String, _ value: String?) {
        guard let value else { return }
        self.add(key, .string(value))
    }

    /// Adds an integer member.
    package mutating func integer(_ key: String, _ value: Int64) {
        self.add(key, .integer(value))
    }

    /// Adds an array of strings.
    package mutating func strings(_ key: String, _ values: [String]) {
        self.add(key, .array(values.map(OrderedJSON.string)))
    }
}
