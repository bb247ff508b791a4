extension StringProtocol {
    /// The text without leading and trailing spaces, tabs, CRs and LFs: HTTP's optional whitespace and line ends.
    ///
    /// Byte by byte: Foundation's `trimmingCharacters(in:)` goes through `NSString`, and header lines are trimmed
    /// on every response.
    var trimmingHTTPWhitespace: String {
        let text = String(self)
        let bytes = text.utf8
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }) else { return "" }
        guard let last = bytes.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}

extension String {
    /// The line without its trailing CR and LF.
    var withoutLineEnd: String {
        let bytes = self.utf8
        guard let last = bytes.lastIndex(where: { $0 != 0x0D && $0 != 0x0A }) else { return "" }
        return String(decoding: bytes[...last], as: UTF8.self)
    }
}
