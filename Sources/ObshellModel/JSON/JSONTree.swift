import Foundation

/// Why a document is not JSON: the reason and the byte offset where the reader gave up.
///
/// It travels as the `underlyingError` of the `DecodingError.dataCorrupted` that ``FastJSONDecoder`` throws, whose
/// own description stays Foundation's ("The given data was not valid JSON.") so that messages do not change.
package struct JSONSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of problem this is.
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case invalidSyntax, invalidUTF8, invalidEscape, tooDeep, numberOutOfRange, tooLarge
        }
        private let kind: Kind

        /// A byte that JSON's grammar does not allow where it stands, or a truncated document.
        package static let invalidSyntax = Code(kind: .invalidSyntax)
        /// A string holds bytes that are not UTF-8 (overlong forms and encoded surrogates included).
        package static let invalidUTF8 = Code(kind: .invalidUTF8)
        /// A bad backslash escape, or a `\u` surrogate without its partner.
        static let invalidEscape = Code(kind: .invalidEscape)
        /// Arrays and objects nest deeper than ``JSONTree/maximumDepth``.
        package static let tooDeep = Code(kind: .tooDeep)
        /// A number does not fit the type it was asked as.
        package static let numberOutOfRange = Code(kind: .numberOutOfRange)
        /// The document is larger than the reader's 32-bit offsets can address.
        static let tooLarge = Code(kind: .tooLarge)

        /// The code's name.
        package var description: String { self.kind.rawValue }
    }

    /// The kind of problem.
    package var code: Code
    /// A human message.
    package var message: String
    /// The byte offset of the problem in the document, when it is a syntax problem.
    package var offset: Int?

    /// Makes an error.
    package init(code: Code, message: String, offset: Int? = nil) {
        self.code = code
        self.message = message
        self.offset = offset
    }

    /// `message (at byte N)`.
    package var description: String {
        var text = self.message
        if let offset = self.offset { text += " (at byte \(offset))" }
        return text
    }
}

/// One value of a parsed document. Scalars point at their bytes; containers know how far their subtree reaches so
/// that a reader can step over them without looking inside.
struct JSONNode {
    enum Kind: UInt8 {
        case null, bool, number, string, array, object
    }

    var kind: Kind
    /// Strings: a backslash escape occurs, so the bytes must be unescaped. Numbers: the text is a plain integer.
    /// Booleans: the value.
    var flag: Bool
    /// Arrays: elements; objects: members (each a key node followed by a value node).
    var count: UInt32
    /// Scalars: the first byte of the text (after the opening quote for strings).
    var start: UInt32
    /// Scalars: one past the last byte of the text (before the closing quote for strings).
    var end: UInt32
    /// The index of the first node after this value's subtree.
    var next: UInt32
}

/// A parsed JSON document: the bytes and a flat, preorder array of nodes over them.
///
/// Strings are unescaped and numbers converted only when a decoder asks for them, so a value nobody reads costs
/// only its scan. One extra `null` node after the tree stands for absent values (`superDecoder(forKey:)` of a
/// missing key).
///
/// Opaque outside this module: the agent client holds one to parse an answer once and read it two ways.
package final class JSONTree {
    /// Foundation's limit: 512 nested arrays and objects are read, 513 are rejected.
    static let maximumDepth = 512

    let bytes: [UInt8]
    let nodes: [JSONNode]

    /// The index of the synthetic `null` node.
    var absentNode: Int { self.nodes.count - 1 }

    /// Parses a whole document, strictly by RFC 8259 (a leading UTF-8 byte order mark is skipped, as Foundation does).
    /// - Throws: ``JSONSyntaxError`` for anything that is not exactly one JSON value.
    init(_ data: some Collection<UInt8>) throws(JSONSyntaxError) {
        let bytes = Array(data)
        guard bytes.count < Int(UInt32.max) else {
            throw JSONSyntaxError(code: .tooLarge, message: "the document is larger than 4 GiB")
        }
        let parsed: Result<[JSONNode], JSONSyntaxError> = bytes.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(bytes: buffer)
            return Result { () throws(JSONSyntaxError) in try parser.parseDocument() }
        }
        self.bytes = bytes
        self.nodes = try parsed.get()
    }

    /// The text of a string node, unescaped.
    func string(at index: Int) -> String {
        let node = self.nodes[index]
        return self.bytes.withUnsafeBufferPointer { buffer in
            let text = UnsafeBufferPointer(rebasing: buffer[Int(node.start)..<Int(node.end)])
            return node.flag ? JSONParser.unescape(text) : String(decoding: text, as: UTF8.self)
        }
    }

    /// Whether a string node's text equals `text`.
    func string(at index: Int, equals text: String) -> Bool {
        let node = self.nodes[index]
        if node.flag { return self.string(at: index) == text }
        var text = text
        return text.withUTF8 { wanted in
            guard wanted.count == Int(node.end - node.start) else { return false }
            return self.bytes.withUnsafeBufferPointer { buffer in
                guard let base = buffer.baseAddress, let other = wanted.baseAddress else { return wanted.isEmpty }
                return memcmp(base + Int(node.start), other, wanted.count) == 0
            }
        }
    }

    /// Calls `body` with a scalar node's raw bytes (for strings, still escaped).
    func withText<Result>(at index: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        let node = self.nodes[index]
        return try self.bytes.withUnsafeBufferPointer { buffer in
            try body(UnsafeBufferPointer(rebasing: buffer[Int(node.start)..<Int(node.end)]))
        }
    }
}

/// The scanner behind ``JSONTree``: one pass, recursive descent bounded by ``JSONTree/maximumDepth``.
struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0
    var nodes: [JSONNode] = []

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        // Roughly one node per 12 bytes in obshell's answers; growing is cheap anyway.
        self.nodes.reserveCapacity(bytes.count / 12 + 4)
    }

    mutating func parseDocument() throws(JSONSyntaxError) -> [JSONNode] {
        if self.bytes.count >= 3, self.bytes[0] == 0xEF, self.bytes[1] == 0xBB, self.bytes[2] == 0xBF {
            self.position = 3
        }
        self.skipWhitespace()
        try self.parseValue(depth: 0)
        self.skipWhitespace()
        guard self.position == self.bytes.count else { throw self.error("unexpected text after the value") }
        let end = UInt32(self.nodes.count + 1)
        self.nodes.append(JSONNode(kind: .null, flag: false, count: 0, start: 0, end: 0, next: end))
        return self.nodes
    }

    private func error(_ message: String, _ code: JSONSyntaxError.Code = .invalidSyntax) -> JSONSyntaxError {
        JSONSyntaxError(code: code, message: message, offset: self.position)
    }

    private mutating func skipWhitespace() {
        while self.position < self.bytes.count {
            switch self.bytes[self.position] {
            case 0x20, 0x0A, 0x0D, 0x09: self.position += 1
            default: return
            }
        }
    }

    private mutating func parseValue(depth: Int) throws(JSONSyntaxError) {
        guard self.position < self.bytes.count else { throw self.error("unexpected end of the document") }
        switch self.bytes[self.position] {
        case UInt8(ascii: "{"): try self.parseObject(depth: depth + 1)
        case UInt8(ascii: "["): try self.parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): try self.parseString()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try self.parseNumber()
        case UInt8(ascii: "t"): try self.parseLiteral("true", kind: .bool, value: true)
        case UInt8(ascii: "f"): try self.parseLiteral("false", kind: .bool, value: false)
        case UInt8(ascii: "n"): try self.parseLiteral("null", kind: .null, value: false)
        default: throw self.error("unexpected byte \(self.bytes[self.position]) where a value should start")
        }
    }

    private mutating func parseLiteral(_ word: StaticString, kind: JSONNode.Kind, value: Bool) throws(JSONSyntaxError) {
        let length = word.utf8CodeUnitCount
        guard self.position + length <= self.bytes.count else { throw self.error("truncated literal") }
        let expected = UnsafeBufferPointer(start: word.utf8Start, count: length)
        for offset in 0..<length where self.bytes[self.position + offset] != expected[offset] {
            throw self.error("misspelt literal")
        }
        let start = UInt32(self.position)
        self.position += length
        let next = UInt32(self.nodes.count + 1)
        self.nodes.append(
            JSONNode(kind: kind, flag: value, count: 0, start: start, end: UInt32(self.position), next: next)
        )
    }

    private mutating func openContainer(_ kind: JSONNode.Kind, depth: Int) throws(JSONSyntaxError) -> Int {
        guard depth <= JSONTree.maximumDepth else {
            throw self.error("more than \(JSONTree.maximumDepth) nested arrays and objects", .tooDeep)
        }
        let index = self.nodes.count
        self.nodes.append(JSONNode(kind: kind, flag: false, count: 0, start: UInt32(self.position), end: 0, next: 0))
        self.position += 1
        self.skipWhitespace()
        return index
    }

    private mutating func closeContainer(_ index: Int, count: UInt32) {
        self.position += 1
        self.nodes[index].count = count
        self.nodes[index].end = UInt32(self.position)
        self.nodes[index].next = UInt32(self.nodes.count)
    }

    private mutating func parseArray(depth: Int) throws(JSONSyntaxError) {
        let index = try self.openContainer(.array, depth: depth)
        var count: UInt32 = 0
        if self.position < self.bytes.count, self.bytes[self.position] == UInt8(ascii: "]") {
            self.closeContainer(index, count: 0)
            return
        }
        while true {
            try self.parseValue(depth: depth)
            count += 1
            self.skipWhitespace()
            guard self.position < self.bytes.count else { throw self.error("unterminated array") }
            switch self.bytes[self.position] {
            case UInt8(ascii: ","):
                self.position += 1
                self.skipWhitespace()
            case UInt8(ascii: "]"):
                self.closeContainer(index, count: count)
                return
            default:
                throw self.error("expected ',' or ']' in an array")
            }
        }
    }

    private mutating func parseObject(depth: Int) throws(JSONSyntaxError) {
        let index = try self.openContainer(.object, depth: depth)
        var count: UInt32 = 0
        if self.position < self.bytes.count, self.bytes[self.position] == UInt8(ascii: "}") {
            self.closeContainer(index, count: 0)
            return
        }
        while true {
            guard self.position < self.bytes.count, self.bytes[self.position] == UInt8(ascii: "\"") else {
                throw self.error("expected a member name")
            }
            try self.parseString()
            self.skipWhitespace()
            guard self.position < self.bytes.count, self.bytes[self.position] == UInt8(ascii: ":") else {
                throw self.error("expected ':' after a member name")
            }
            self.position += 1
            self.skipWhitespace()
            try self.parseValue(depth: depth)
            count += 1
            self.skipWhitespace()
            guard self.position < self.bytes.count else { throw self.error("unterminated object") }
            switch self.bytes[self.position] {
            case UInt8(ascii: ","):
                self.position += 1
                self.skipWhitespace()
            case UInt8(ascii: "}"):
                self.closeContainer(index, count: count)
                return
            default:
                throw self.error("expected ',' or '}' in an object")
            }
        }
    }

    private mutating func parseNumber() throws(JSONSyntaxError) {
        let start = self.position
        var isInteger = true
        if self.bytes[self.position] == UInt8(ascii: "-") { self.position += 1 }
        guard self.position < self.bytes.count, Self.isDigit(self.bytes[self.position]) else {
            throw self.error("a number needs a digit")
        }
        if self.bytes[self.position] == UInt8(ascii: "0") {
            self.position += 1
            if self.position < self.bytes.count, Self.isDigit(self.bytes[self.position]) {
                throw self.error("a number has a leading zero")
            }
        } else {
            self.skipDigits()
        }
        if self.position < self.bytes.count, self.bytes[self.position] == UInt8(ascii: ".") {
            isInteger = false
            self.position += 1
            guard self.position < self.bytes.count, Self.isDigit(self.bytes[self.position]) else {
                throw self.error("a fraction needs a digit")
            }
            self.skipDigits()
        }
        if self.position < self.bytes.count, self.bytes[self.position] | 0x20 == UInt8(ascii: "e") {
            isInteger = false
            self.position += 1
            if self.position < self.bytes.count,
                self.bytes[self.position] == UInt8(ascii: "+") || self.bytes[self.position] == UInt8(ascii: "-")
            {
                self.position += 1
            }
            guard self.position < self.bytes.count, Self.isDigit(self.bytes[self.position]) else {
                throw self.error("an exponent needs a digit")
            }
            self.skipDigits()
        }
        let next = UInt32(self.nodes.count + 1)
        self.nodes.append(
            JSONNode(
                kind: .number,
                flag: isInteger,
                count: 0,
                start: UInt32(start),
                end: UInt32(self.position),
                next: next
            )
        )
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

    private mutating func skipDigits() {
        while self.position < self.bytes.count, Self.isDigit(self.bytes[self.position]) { self.position += 1 }
    }

    private mutating func parseString() throws(JSONSyntaxError) {
        self.position += 1
        let start = self.position
        var escaped = false
        let count = self.bytes.count
        while true {
            // The common case: a run of plain ASCII, eight bytes at a time while no byte needs a closer look.
            if let base = self.bytes.baseAddress {
                while self.position + 8 <= count {
                    let word = UnsafeRawPointer(base + self.position).loadUnaligned(as: UInt64.self)
                    guard !Self.needsCloserLook(word) else { break }
                    self.position += 8
                }
            }
            while self.position < count {
                let byte = self.bytes[self.position]
                guard byte >= 0x20, byte < 0x80, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") else { break }
                self.position += 1
            }
            guard self.position < count else { throw self.error("unterminated string") }
            let byte = self.bytes[self.position]
            if byte == UInt8(ascii: "\"") { break }
            if byte == UInt8(ascii: "\\") {
                escaped = true
                try self.skipEscape()
            } else if byte < 0x20 {
                throw self.error("a control character in a string must be escaped")
            } else {
                try self.skipMultibyte(byte)
            }
        }
        let next = UInt32(self.nodes.count + 1)
        self.nodes.append(
            JSONNode(
                kind: .string,
                flag: escaped,
                count: 0,
                start: UInt32(start),
                end: UInt32(self.position),
                next: next
            )
        )
        self.position += 1
    }

    /// Whether any of eight bytes is a quote, a backslash, a control character or not ASCII (bit tricks on a word:
    /// a byte's high bit survives only where the test is true).
    private static func needsCloserLook(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let control = (word &- ones &* 0x20) & ~word
        let zeroQuote = (quote &- ones) & ~quote
        let zeroBackslash = (backslash &- ones) & ~backslash
        return (control | zeroQuote | zeroBackslash | word) & highBits != 0
    }

    private mutating func skipEscape() throws(JSONSyntaxError) {
        self.position += 1
        guard self.position < self.bytes.count else { throw self.error("unterminated string") }
        switch self.bytes[self.position] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            self.position += 1
        case UInt8(ascii: "u"):
            let unit = try self.hex4(at: self.position + 1)
            self.position += 5
            if unit >= 0xDC00, unit <= 0xDFFF { throw self.error("a lone low surrogate", .invalidEscape) }
            guard unit >= 0xD800, unit <= 0xDBFF else { return }
            guard self.position + 1 < self.bytes.count, self.bytes[self.position] == UInt8(ascii: "\\"),
                self.bytes[self.position + 1] == UInt8(ascii: "u")
            else { throw self.error("a high surrogate without its low half", .invalidEscape) }
            let low = try self.hex4(at: self.position + 2)
            guard low >= 0xDC00, low <= 0xDFFF else {
                throw self.error("a high surrogate without its low half", .invalidEscape)
            }
            self.position += 6
        default:
            throw self.error("an unknown escape", .invalidEscape)
        }
    }

    private func hex4(at offset: Int) throws(JSONSyntaxError) -> UInt32 {
        guard offset + 4 <= self.bytes.count else { throw self.error("a truncated \\u escape", .invalidEscape) }
        var value: UInt32 = 0
        for index in offset..<offset + 4 {
            guard let digit = Self.hexValue(self.bytes[index]) else {
                throw self.error("a \\u escape needs four hex digits", .invalidEscape)
            }
            value = value << 4 | digit
        }
        return value
    }

    static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// Steps over one multi-byte UTF-8 sequence, rejecting overlong forms, surrogates and values above U+10FFFF.
    private mutating func skipMultibyte(_ lead: UInt8) throws(JSONSyntaxError) {
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED:
            length = 3
            secondRange = 0x80...0x9F
        case 0xF0:
            length = 4
            secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4:
            length = 4
            secondRange = 0x80...0x8F
        default: throw self.error("a byte that is not UTF-8", .invalidUTF8)
        }
        guard self.position + length <= self.bytes.count else { throw self.error("truncated UTF-8", .invalidUTF8) }
        guard secondRange.contains(self.bytes[self.position + 1]) else { throw self.error("bad UTF-8", .invalidUTF8) }
        for offset in 2..<length where self.bytes[self.position + offset] & 0xC0 != 0x80 {
            throw self.error("bad UTF-8", .invalidUTF8)
        }
        self.position += length
    }

    /// Unescapes a string's text; the parser has already checked every escape, so nothing here can fail.
    static func unescape(_ text: UnsafeBufferPointer<UInt8>) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(text.count)
        var index = 0
        while index < text.count {
            let byte = text[index]
            guard byte == UInt8(ascii: "\\"), index + 1 < text.count else {
                output.append(byte)
                index += 1
                continue
            }
            let escape = text[index + 1]
            index += 2
            switch escape {
            case UInt8(ascii: "b"): output.append(0x08)
            case UInt8(ascii: "f"): output.append(0x0C)
            case UInt8(ascii: "n"): output.append(0x0A)
            case UInt8(ascii: "r"): output.append(0x0D)
            case UInt8(ascii: "t"): output.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = self.hex4(text, index)
                index += 4
                if scalar >= 0xD800, scalar <= 0xDBFF, index + 6 <= text.count {
                    let low = self.hex4(text, index + 2)
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    index += 6
                }
                self.appendUTF8(scalar, to: &output)
            default: output.append(escape)
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func hex4(_ text: UnsafeBufferPointer<UInt8>, _ offset: Int) -> UInt32 {
        var value: UInt32 = 0
        for index in offset..<min(offset + 4, text.count) { value = value << 4 | (self.hexValue(text[index]) ?? 0) }
        return value
    }

    private static func appendUTF8(_ scalar: UInt32, to output: inout [UInt8]) {
        switch scalar {
        case ..<0x80:
            output.append(UInt8(scalar))
        case ..<0x800:
            output.append(UInt8(0xC0 | scalar >> 6))
            output.append(UInt8(0x80 | scalar & 0x3F))
        case ..<0x10000:
            output.append(UInt8(0xE0 | scalar >> 12))
            output.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            output.append(UInt8(0x80 | scalar & 0x3F))
        default:
            output.append(UInt8(0xF0 | scalar >> 18 & 0x07))
            output.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            output.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            output.append(UInt8(0x80 | scalar & 0x3F))
        }
    }
}
