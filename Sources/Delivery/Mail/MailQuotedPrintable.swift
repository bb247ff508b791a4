/// Quoted-printable for text parts (RFC 2045 section 6.7), lines at most 76 characters.
///
/// Line breaks of the input (LF or CRLF) become CRLF line breaks; a lone CR is encoded as `=0D` so agent text keeps
/// its bytes. `=` is always encoded, which is what keeps the `=_` of the multipart boundary out of every part.
enum MailQuotedPrintable {
    /// The longest encoded line, soft break included.
    static let lineLimit = 76

    /// Encodes text; the result ends without a line break.
    static func encode(_ text: String) -> String {
        var lines: [[UInt8]] = [[]]
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x0A {
                lines.append([])
            } else if byte == 0x0D && index + 1 < bytes.count && bytes[index + 1] == 0x0A {
                lines.append([])
                index += 1
            } else {
                lines[lines.count - 1].append(byte)
            }
            index += 1
        }
        return lines.map(Self.encodeLine).joined(separator: "\r\n")
    }

    /// One input line as one or more encoded lines joined by soft breaks.
    private static func encodeLine(_ line: [UInt8]) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(line.count)
        for (position, byte) in line.enumerated() {
            let isLast = position == line.count - 1
            let literal: Bool
            switch byte {
            case 0x20, 0x09:
                // Trailing whitespace may be stripped in transit, so only inner spaces and tabs stay literal.
                literal = !isLast
            case 0x3D:
                literal = false
            case 0x46 where position == 0:
                // "From " at a line start is mangled by mbox-style relays; encoding the F keeps it intact.
                literal = !Self.startsWithFrom(line)
            case 0x2E where position == 0:
                // A leading dot is safe with dot-stuffing, but some gateways still eat it.
                literal = false
            case 0x21...0x7E:
                literal = true
            default:
                literal = false
            }
            tokens.append(literal ? String(UnicodeScalar(byte)) : Self.escape(byte))
        }
        var output = ""
        var current = ""
        for (position, token) in tokens.enumerated() {
            let isLast = position == tokens.count - 1
            let limit = isLast ? Self.lineLimit : Self.lineLimit - 1
            if current.utf8.count + token.utf8.count > limit {
                output += current + "=\r\n"
                current = ""
            }
            current += token
        }
        return output + current
    }

    private static func startsWithFrom(_ line: [UInt8]) -> Bool {
        line.starts(with: Array("From ".utf8))
    }

    private static func escape(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        return String(decoding: [UInt8(ascii: "="), digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]], as: UTF8.self)
    }
}
