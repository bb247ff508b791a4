package import Foundation

/// What tells whether the `data` of a list answer is byte for byte the one of the previous poll, without keeping
/// those bytes: its length and a 64-bit SipHash of it.
///
/// Most polls of an agent return exactly the list they returned last time (only the envelope's `timestamp`,
/// `duration` and `traceId` change), and decoding DAGs with their nodes, sub-tasks and logs is most of a poll's work.
/// Two different lists of the same length share a hash with a chance of 2⁻⁶⁴ per poll.
package struct AnswerFingerprint: Hashable, Sendable {
    var length: Int
    var hash: Int

    /// Makes a fingerprint of `length` bytes that hashed to `hash`.
    init(length: Int, hash: Int) {
        self.length = length
        self.hash = hash
    }
}

/// A list answer cut in two without parsing its `data`: the fingerprint of the member's value bytes, and the rest of
/// the document with that value replaced by `{}`, which is all the client has to parse when the list is the one of
/// the last poll.
///
/// Found by one pass over the top-level object that only tracks strings and brackets (no tree is built). When the
/// value bytes equal those of a list that parsed and decoded before, and the remainder parses, the whole answer is
/// valid JSON with that same list: putting a valid value where a valid remainder has `{}` keeps it valid.
package struct AnswerSplit: Sendable {
    /// The length and hash of the member value's bytes.
    package var fingerprint: AnswerFingerprint
    /// Where the member's value lies in the document (offsets from its first byte).
    package var valueRange: Range<Int>
    /// The document with the member's value replaced by `{}`.
    package var remainder: Data

    /// Splits `document` at its top-level member `key`; `nil` when the document is not a top-level object the
    /// pass can read plainly: the member missing or repeated, a key written with an escape, or anything after the
    /// object but whitespace. The caller then parses the whole answer, as it would without the split.
    package init?(member key: String, of document: Data) {
        let found: Range<Int>? = document.withUnsafeBytes { raw in
            Self.valueRange(of: Array(key.utf8), in: raw.bindMemory(to: UInt8.self))
        }
        guard let range = found else { return nil }
        var hasher = Hasher()
        document.withUnsafeBytes { raw in
            hasher.combine(bytes: UnsafeRawBufferPointer(rebasing: raw[range]))
        }
        self.fingerprint = AnswerFingerprint(length: range.count, hash: hasher.finalize())
        self.valueRange = range
        var remainder = Data(capacity: document.count - range.count + 2)
        let start = document.startIndex
        remainder.append(document[start..<(start + range.lowerBound)])
        remainder.append(contentsOf: [UInt8(ascii: "{"), UInt8(ascii: "}")])
        remainder.append(document[(start + range.upperBound)...])
        self.remainder = remainder
    }

    private static let quote = UInt8(ascii: "\"")
    private static let backslash = UInt8(ascii: "\\")

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    /// The byte range of the top-level member `key`'s value.
    private static func valueRange(of key: [UInt8], in bytes: UnsafeBufferPointer<UInt8>) -> Range<Int>? {
        var index = 0
        func skipWhitespace() {
            while index < bytes.count, Self.isWhitespace(bytes[index]) { index += 1 }
        }
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return nil }
        index += 1
        var found: Range<Int>?
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            return nil
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == Self.quote else { return nil }
            let keyStart = index + 1
            index = keyStart
            while index < bytes.count, bytes[index] != Self.quote {
                // An escaped key could spell `data` differently: leave such answers to the parser.
                if bytes[index] == Self.backslash { return nil }
                index += 1
            }
            guard index < bytes.count else { return nil }
            let isKey = index - keyStart == key.count && zip(bytes[keyStart..<index], key).allSatisfy { $0 == $1 }
            index += 1
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
            index += 1
            skipWhitespace()
            let valueStart = index
            guard let valueEnd = Self.endOfValue(from: valueStart, in: bytes) else { return nil }
            if isKey {
                guard found == nil else { return nil }
                found = valueStart..<valueEnd
            }
            index = valueEnd
            skipWhitespace()
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard bytes[index] == UInt8(ascii: "}") else { return nil }
            index += 1
            break
        }
        skipWhitespace()
        guard index == bytes.count, let found, !found.isEmpty else { return nil }
        return found
    }

    /// Where the value starting at `start` ends (one past its last byte): a string to its closing quote, an object
    /// or array to its matching bracket, anything else to the next `,`, `}`, `]` or whitespace.
    private static func endOfValue(from start: Int, in bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        var index = start
        var depth = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case Self.quote:
                index += 1
                while index < bytes.count, bytes[index] != Self.quote {
                    index += bytes[index] == Self.backslash ? 2 : 1
                }
                guard index < bytes.count else { return nil }
                index += 1
                if depth == 0 { return index }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                index += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                guard depth > 0 else { return index == start ? nil : index }
                depth -= 1
                index += 1
                if depth == 0 { return index }
            case UInt8(ascii: ","):
                if depth == 0 { return index == start ? nil : index }
                index += 1
            default:
                if depth == 0, Self.isWhitespace(byte) { return index }
                index += 1
            }
        }
        return depth == 0 && index > start ? index : nil
    }
}
