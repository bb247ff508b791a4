import Support

/// Cuts text to a vendor's limit at a character boundary, so no UTF-8 sequence or emoji is split, and marks the
/// cut with "…".
enum TextLimits {
    static let ellipsis: Character = "…"

    /// The text, cut so that the sizes of its characters add up to at most `limit`, the ellipsis included.
    /// - Parameters:
    ///   - text: The text.
    ///   - limit: The budget.
    ///   - size: What one character costs.
    static func truncated(_ text: String, limit: Int, size: (Character) -> Int) -> String {
        var total = 0
        var fits = true
        for character in text {
            total += size(character)
            if total > limit {
                fits = false
                break
            }
        }
        if fits { return text }
        let budget = limit - size(Self.ellipsis)
        guard budget >= 0 else { return "" }
        var kept = ""
        var used = 0
        for character in text {
            let cost = size(character)
            if used + cost > budget { break }
            used += cost
            kept.append(character)
        }
        kept.append(Self.ellipsis)
        return kept
    }

    /// The text with at most `limit` bytes of UTF-8.
    static func truncated(_ text: String, utf8Bytes limit: Int) -> String {
        Self.truncated(text, limit: limit) { $0.utf8.count }
    }

    /// The text with at most `limit` UTF-16 units: vendors count "characters" in different ways, and UTF-16 units
    /// are never fewer than code points or grapheme clusters, so this bound satisfies all of them.
    static func truncated(_ text: String, characters limit: Int) -> String {
        Self.truncated(text, limit: limit) { $0.utf16.count }
    }

    /// The text with at most `limit` bytes once written inside a JSON string.
    static func truncated(_ text: String, jsonBytes limit: Int) -> String {
        Self.truncated(text, limit: limit) { JSONStringLiteral.encodedSize(of: $0, forJavaScript: true) }
    }

    /// One line: line breaks and other control characters become spaces (for headers, titles and tags).
    static func oneLine(_ text: String) -> String {
        let scalars = text.unicodeScalars.map { scalar -> Unicode.Scalar in
            switch scalar.value {
            case 0x00..<0x20, 0x7F, 0x85, 0x2028, 0x2029: " "
            default: scalar
            }
        }
        return String(String.UnicodeScalarView(scalars))
    }
}
