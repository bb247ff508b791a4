/// JSON string literals written by hand, the one way every module writes them (the request header, event lines,
/// webhook bodies, the status API): quotes, backslashes and control characters escaped, `/` and non-ASCII left as
/// they are.
package enum JSONStringLiteral {
    /// Appends `value` as a JSON string literal, quotes included.
    /// - Parameters:
    ///   - value: The text.
    ///   - text: Where it goes.
    ///   - forJavaScript: Also escape DEL, U+2028 and U+2029, which a receiver that hands the text to JavaScript
    ///     would otherwise read as a line break or keep as a raw control character.
    package static func append(_ value: String, to text: inout String, forJavaScript: Bool = false) {
        text += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case "\u{08}": text += "\\b"
            case "\u{0C}": text += "\\f"
            case _ where scalar.value < 0x20 || (forJavaScript && Self.breaksJavaScript(scalar)):
                let hex = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }

    /// `value` as a JSON string literal, quotes included.
    package static func quoted(_ value: String, forJavaScript: Bool = false) -> String {
        var text = ""
        self.append(value, to: &text, forJavaScript: forJavaScript)
        return text
    }

    /// The number of bytes one character takes inside an encoded JSON string (quotes not counted): what cutting a
    /// text to fit an encoded size counts.
    package static func encodedSize(of character: Character, forJavaScript: Bool = false) -> Int {
        self.quoted(String(character), forJavaScript: forJavaScript).utf8.count - 2
    }

    private static func breaksJavaScript(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value == 0x7F || scalar.value == 0x2028 || scalar.value == 0x2029
    }
}
