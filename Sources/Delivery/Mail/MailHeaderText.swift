/// Header-safe text for mail: control characters removed, long values folded, non-ASCII text RFC 2047 encoded.
///
/// Every header line this module writes goes through here, so no text from a template, the agent or the
/// configuration can carry a CR or LF into the header block: a hostile title can neither start a new header nor
/// end the headers early.
enum MailHeaderText {
    /// The recommended line length of RFC 5322 section 2.1.1, CRLF not counted.
    static let lineLimit = 78
    /// The longest unfolded word written as is; longer ones are encoded so no line nears the 998-octet limit.
    private static let longestPlainWord = 900
    /// `=?UTF-8?B?` and `?=`.
    private static let encodedWordOverhead = 12
    /// RFC 2047's limit for one encoded word.
    private static let encodedWordLimit = 75

    /// Whether a scalar must never reach a header: C0 and C1 controls, DEL, and the Unicode line and paragraph
    /// separators that some clients render as line breaks.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029: true
        default: false
        }
    }

    /// The text with every control character (CRLF counting as one) turned into a space, runs of spaces collapsed
    /// and the ends trimmed.
    static func oneLine(_ text: String) -> String {
        var result = String.UnicodeScalarView()
        var lastWasSpace = true
        for scalar in text.unicodeScalars {
            let isSpace = scalar == " " || Self.isControl(scalar)
            if isSpace {
                if !lastWasSpace { result.append(" ") }
            } else {
                result.append(scalar)
            }
            lastWasSpace = isSpace
        }
        var line = String(result)
        while line.last == " " { line.removeLast() }
        return line
    }

    /// Whether the text is printable US-ASCII (space included).
    static func isPrintableASCII(_ text: String) -> Bool {
        text.utf8.allSatisfy { (0x20...0x7E).contains($0) }
    }

    /// A complete unstructured header (`Subject`, `X-...`), folded at spaces to 78 columns, or made of RFC 2047
    /// B-encoded words when the value is not plain ASCII (or looks like an encoded word itself).
    /// - Parameters:
    ///   - name: The header's name.
    ///   - value: Any text; control characters become spaces.
    /// - Returns: The header's lines joined by CRLF SP, without the final CRLF.
    static func unstructured(_ name: String, _ value: String) -> String {
        let text = Self.oneLine(value)
        let words = text.split(separator: " ", omittingEmptySubsequences: true)
        let plain =
            Self.isPrintableASCII(text) && !text.contains("=?")
            && words.allSatisfy { $0.utf8.count <= Self.longestPlainWord }
        if plain {
            return Self.fold(prefix: name + ":", tokens: words.map(String.init))
        }
        return Self.encodedWords(prefix: name + ":", text)
    }

    /// Joins tokens after a prefix, one space apart, starting a continuation line (CRLF SP) whenever the next token
    /// would pass 78 columns.
    static func fold(prefix: String, tokens: [String]) -> String {
        var lines: [String] = []
        var line = prefix
        var lineHasToken = false
        for token in tokens {
            if lineHasToken && line.utf8.count + 1 + token.utf8.count > Self.lineLimit {
                lines.append(line)
                line = " " + token
            } else {
                line += " " + token
            }
            lineHasToken = true
        }
        lines.append(line)
        return lines.joined(separator: "\r\n")
    }

    /// The text as B-encoded words, each on its own line and at most 75 characters, never splitting a UTF-8
    /// sequence (RFC 2047 section 5); the first is sized to fit after the prefix.
    static func encodedWords(prefix: String, _ text: String) -> String {
        var words: [String] = []
        var chunk: [UInt8] = []
        var budget = Self.byteBudget(columns: Self.lineLimit - prefix.utf8.count - 1)
        for scalar in text.unicodeScalars {
            let bytes = Array(String(scalar).utf8)
            if !chunk.isEmpty && chunk.count + bytes.count > budget {
                words.append(Self.encodedWord(chunk))
                chunk = []
                budget = Self.byteBudget(columns: Self.encodedWordLimit)
            }
            chunk += bytes
        }
        if !chunk.isEmpty || words.isEmpty {
            words.append(Self.encodedWord(chunk))
        }
        return prefix + " " + words.joined(separator: "\r\n ")
    }

    /// One `=?UTF-8?B?...?=` word.
    static func encodedWord(_ bytes: [UInt8]) -> String {
        "=?UTF-8?B?" + MailBase64.encode(bytes) + "?="
    }

    /// How many bytes fit in an encoded word of at most `columns` characters.
    private static func byteBudget(columns: Int) -> Int {
        max(3, (columns - Self.encodedWordOverhead) / 4 * 3)
    }
}

/// Base64 without line breaks, for encoded words (Foundation's encoder would do, but this stays byte-oriented).
enum MailBase64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Encodes bytes with `=` padding.
    static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let first = bytes[index]
            let second = index + 1 < bytes.count ? bytes[index + 1] : 0
            let third = index + 2 < bytes.count ? bytes[index + 2] : 0
            output.append(Self.alphabet[Int(first >> 2)])
            output.append(Self.alphabet[Int((first & 0x03) << 4 | second >> 4)])
            output.append(
                index + 1 < bytes.count ? Self.alphabet[Int((second & 0x0F) << 2 | third >> 6)] : UInt8(ascii: "=")
            )
            output.append(index + 2 < bytes.count ? Self.alphabet[Int(third & 0x3F)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }
}
