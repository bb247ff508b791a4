import Foundation
import Obshell

/// A JSON value written in the order given, so that bodies are stable and tests can compare them; ``raw(_:)``
/// embeds an already-encoded value (an event's `jsonLine()`) verbatim.
enum JSONBody: Sendable, Hashable {
    case string(String)
    case integer(Int64)
    case bool(Bool)
    case null
    case array([JSONBody])
    case object([JSONMember])
    case raw(String)

    /// The encoded text.
    var text: String {
        var output = ""
        self.write(to: &output)
        return output
    }

    /// The encoded bytes.
    var data: Data { Data(self.text.utf8) }

    private func write(to output: inout String) {
        switch self {
        case .string(let value): Self.writeString(value, to: &output)
        case .integer(let value): output += String(value)
        case .bool(let value): output += value ? "true" : "false"
        case .null: output += "null"
        case .raw(let json): output += json
        case .array(let items):
            output += "["
            for (index, item) in items.enumerated() {
                if index > 0 { output += "," }
                item.write(to: &output)
            }
            output += "]"
        case .object(let members):
            output += "{"
            for (index, member) in members.enumerated() {
                if index > 0 { output += "," }
                Self.writeString(member.key, to: &output)
                output += ":"
                member.value.write(to: &output)
            }
            output += "}"
        }
    }

    /// Writes a JSON string: quotes, backslashes and every control character escaped, and U+2028/U+2029 too,
    /// because receivers that hand the body to JavaScript would otherwise see a line break inside a string.
    static func writeString(_ value: String, to output: inout String) {
        JSONStringLiteral.append(value, to: &output, forJavaScript: true)
    }

    /// The number of bytes one character takes inside an encoded JSON string.
    static func encodedSize(of character: Character) -> Int {
        var text = ""
        Self.writeString(String(character), to: &text)
        return text.utf8.count - 2
    }
}

/// One member of a JSON object.
struct JSONMember: Sendable, Hashable {
    var key: String
    var value: JSONBody

    init(_ key: String, _ value: JSONBody) {
        self.key = key
        self.value = value
    }
}

extension JSONBody {
    /// An object from key-value pairs, in order; `nil` values are left out.
    static func members(_ pairs: KeyValuePairs<String, JSONBody?>) -> JSONBody {
        .object(pairs.compactMap { pair in pair.value.map { JSONMember(pair.key, $0) } })
    }
}
