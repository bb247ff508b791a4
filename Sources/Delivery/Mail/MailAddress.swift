import Foundation

/// One mailbox from the configuration, `user@example.com` or `Display Name <user@example.com>`, made safe for a
/// header and for the SMTP envelope.
struct MailAddress: Sendable, Hashable {
    /// The display name, control characters removed; empty when there is none.
    var displayName: String
    /// The bare address: no angle brackets, no whitespace, no control characters, no list separators.
    var address: String

    /// Splits a configured mailbox into display name and address.
    init(_ text: String) {
        let trimmed = MailHeaderText.oneLine(text)
        if let open = trimmed.lastIndex(of: "<"), trimmed.hasSuffix(">") {
            let name = trimmed[..<open]
            let inner = trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)]
            self.displayName = MailHeaderText.oneLine(String(name))
            self.address = Self.bare(String(inner))
        } else {
            self.displayName = ""
            self.address = Self.bare(trimmed)
        }
        if self.displayName.hasPrefix("\"") && self.displayName.hasSuffix("\"") && self.displayName.count >= 2 {
            self.displayName = String(self.displayName.dropFirst().dropLast())
        }
    }

    /// The mailbox as a header writes it: the address alone, or the name (plain, quoted or RFC 2047 encoded) and
    /// the address in angle brackets.
    var headerText: String {
        guard !self.displayName.isEmpty else { return self.address }
        return Self.phrase(self.displayName) + " <" + self.address + ">"
    }

    /// Removes what could split one address into two, end the header, or escape the angle brackets.
    private static func bare(_ text: String) -> String {
        let forbidden: Set<Unicode.Scalar> = [" ", "<", ">", ",", ";", "\"", "\\", "(", ")"]
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars where !MailHeaderText.isControl(scalar) && !forbidden.contains(scalar) {
            scalars.append(scalar)
        }
        return String(scalars)
    }

    /// A display name as an RFC 5322 phrase: atoms as they are, other ASCII quoted, anything else encoded.
    private static func phrase(_ name: String) -> String {
        let atomSpecials = Set("()<>[]:;@\\,.\"")
        if MailHeaderText.isPrintableASCII(name) && !name.contains("=?") {
            if name.allSatisfy({ !atomSpecials.contains($0) }) {
                return name
            }
            let escaped = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return "\"" + escaped + "\""
        }
        var words: [String] = []
        var chunk: [UInt8] = []
        for scalar in name.unicodeScalars {
            let bytes = Array(String(scalar).utf8)
            if !chunk.isEmpty && chunk.count + bytes.count > 45 {
                words.append(MailHeaderText.encodedWord(chunk))
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append(MailHeaderText.encodedWord(chunk)) }
        return words.joined(separator: " ")
    }
}
