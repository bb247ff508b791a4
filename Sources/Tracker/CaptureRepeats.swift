import Foundation
import ObshellModel

/// Recognises a poll line that repeats the target's last good list line but for its times and trace id, so the line
/// need not be parsed or its list decoded again.
///
/// Most lines of a capture are such repeats: between two changes an agent answers with the same list, and only the
/// line's `at` and the envelope's `timestamp`, `duration` and `traceId` move. A line is a repeat when its bytes,
/// outside those four values, equal the bytes of a line that parsed as a good list (the template); the four values
/// are checked to be what the full reader accepts there (an RFC 3339 string, a plain integer, a plain string).
/// Then the whole line is JSON of the same shape, and the reader would have found the same list with the new times.
/// Anything else (another shape, an escape in a key, a repeated key) is read in full.
struct CaptureRepeats {
    /// The values of a poll line that may change while its list stays.
    enum Hole: UInt8, Equatable {
        case at, timestamp, duration, traceID
    }

    /// Where a line's values that may change lie, in order, and where its target name is.
    struct Shape {
        var target: Range<Int>
        var holes: [(hole: Hole, range: Range<Int>)]
    }

    /// The last good list line of one target.
    struct Template {
        var line: Range<Int>
        var shape: Shape
        var target: String
        var request: String
        var dags: [Dag]
        /// Whether the target's last entry is this template's list (or a repeat of it): a repeat then observes the
        /// same list twice in a row, which the tracker's shortcut needs.
        var listIsLast: Bool
    }

    /// A line that repeats a template, read.
    struct Repeat {
        var target: String
        var request: String
        var at: ObshellTime
        var agentTime: ObshellTime
        var dags: [Dag]
        var follows: Bool
    }

    private var templates: [Template] = []

    /// Reads `line` as a repeat of its target's template; `nil` when it is not one (the caller reads it in full).
    mutating func read(_ line: Range<Int>, in bytes: UnsafeBufferPointer<UInt8>) -> Repeat? {
        guard !self.templates.isEmpty, let shape = Self.shape(of: line, in: bytes) else { return nil }
        guard let index = self.templates.firstIndex(where: { Self.equal(bytes, $0.shape.target, shape.target) }) else {
            return nil
        }
        let template = self.templates[index]
        guard template.shape.holes.count == shape.holes.count else { return nil }
        // The bytes between the holes must be the template's, and the holes hold the same kinds of value.
        var mine = line.lowerBound
        var theirs = template.line.lowerBound
        for (new, old) in zip(shape.holes, template.shape.holes) {
            guard new.hole == old.hole,
                Self.equal(bytes, mine..<new.range.lowerBound, theirs..<old.range.lowerBound)
            else { return nil }
            mine = new.range.upperBound
            theirs = old.range.upperBound
        }
        guard Self.equal(bytes, mine..<line.upperBound, theirs..<template.line.upperBound) else { return nil }
        var at: ObshellTime?
        var agentTime: ObshellTime?
        for (hole, range) in shape.holes {
            switch hole {
            case .at, .timestamp:
                guard let text = Self.plainString(range, in: bytes), let time = ObshellTime(text) else { return nil }
                if hole == .at { at = time } else { agentTime = time }
            case .duration:
                guard Self.isPlainInteger(range, in: bytes) else { return nil }
            case .traceID:
                guard Self.plainString(range, in: bytes) != nil else { return nil }
            }
        }
        guard let at, let agentTime else { return nil }
        let follows = template.listIsLast
        self.templates[index].listIsLast = true
        return Repeat(
            target: template.target,
            request: template.request,
            at: at,
            agentTime: agentTime,
            dags: template.dags,
            follows: follows
        )
    }

    /// Notes a line read in full: a good list line with a time becomes its target's template; any other entry means
    /// the target's last entry is no list of a template.
    mutating func noteFullRead(
        _ line: Range<Int>,
        in bytes: UnsafeBufferPointer<UInt8>,
        target: String,
        request: String,
        observation: Observation,
        agentTime: ObshellTime?
    ) {
        let index = self.templates.firstIndex { $0.target == target }
        if case .list(let dags, _) = observation, agentTime != nil, let shape = Self.shape(of: line, in: bytes),
            shape.holes.contains(where: { $0.hole == .at }), shape.holes.contains(where: { $0.hole == .timestamp })
        {
            let template = Template(
                line: line,
                shape: shape,
                target: target,
                request: request,
                dags: dags,
                listIsLast: true
            )
            if let index { self.templates[index] = template } else { self.templates.append(template) }
            return
        }
        if let index { self.templates[index].listIsLast = false }
    }

    // MARK: - Scanning

    private static let quote = UInt8(ascii: "\"")
    private static let backslash = UInt8(ascii: "\\")

    /// The holes and the target of a line `{"at":..,"target":..,"request":..,"status":..,"body":{..}}` in any order;
    /// `nil` for any other shape.
    static func shape(of line: Range<Int>, in bytes: UnsafeBufferPointer<UInt8>) -> Shape? {
        var target: Range<Int>?
        var holes: [(hole: Hole, range: Range<Int>)] = []
        holes.reserveCapacity(4)
        let ok = Self.members(of: line, in: bytes) { key, value in
            switch key {
            case .at: holes.append((.at, value))
            case .target:
                guard bytes[value.lowerBound] == Self.quote else { return false }
                target = value
            case .body:
                guard bytes[value.lowerBound] == UInt8(ascii: "{") else { return false }
                return Self.members(of: value, in: bytes) { key, value in
                    switch key {
                    case .timestamp: holes.append((.timestamp, value))
                    case .duration: holes.append((.duration, value))
                    case .traceID: holes.append((.traceID, value))
                    default: break
                    }
                    return true
                }
            default: break
            }
            return true
        }
        guard ok, let target else { return nil }
        return Shape(target: target, holes: holes)
    }

    /// Walks the members of the object at `range`, calling `visit` with each key (a ``Key``)
    /// and its value's range; `false` when the object is not plain (escaped or repeated keys, trailing bytes other
    /// than whitespace) or `visit` says so.
    private static func members(
        of range: Range<Int>,
        in bytes: UnsafeBufferPointer<UInt8>,
        _ visit: (Key, Range<Int>) -> Bool
    ) -> Bool {
        var index = range.lowerBound
        let end = range.upperBound
        func skipWhitespace() {
            while index < end, Self.isWhitespace(bytes[index]) { index += 1 }
        }
        skipWhitespace()
        guard index < end, bytes[index] == UInt8(ascii: "{") else { return false }
        index += 1
        // Only the names the scan looks for must be single: any other name, repeated, lies in the bytes that must
        // equal the template's, which the full reader accepted.
        var seen: UInt8 = 0
        while true {
            skipWhitespace()
            guard index < end, bytes[index] == Self.quote else { return false }
            let keyStart = index + 1
            index = keyStart
            while index < end, bytes[index] != Self.quote {
                if bytes[index] == Self.backslash { return false }
                index += 1
            }
            guard index < end else { return false }
            let key = Self.knownKey(keyStart..<index, in: bytes)
            if key != .other {
                let bit = UInt8(1) << key.rawValue
                if seen & bit != 0 { return false }
                seen |= bit
            }
            index += 1
            skipWhitespace()
            guard index < end, bytes[index] == UInt8(ascii: ":") else { return false }
            index += 1
            skipWhitespace()
            let valueStart = index
            guard let valueEnd = Self.endOfValue(from: valueStart, to: end, in: bytes), valueEnd > valueStart else {
                return false
            }
            guard visit(key, valueStart..<valueEnd) else { return false }
            index = valueEnd
            skipWhitespace()
            guard index < end else { return false }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard bytes[index] == UInt8(ascii: "}") else { return false }
            index += 1
            skipWhitespace()
            return index == end
        }
    }

    /// The member names the scan looks for; every other name is `other`.
    enum Key: UInt8, CaseIterable {
        case at, target, body, timestamp, duration, traceID, other

        var spelling: StaticString {
            switch self {
            case .at: "at"
            case .target: "target"
            case .body: "body"
            case .timestamp: "timestamp"
            case .duration: "duration"
            case .traceID: "traceId"
            case .other: ""
            }
        }
    }

    private static func knownKey(_ key: Range<Int>, in bytes: UnsafeBufferPointer<UInt8>) -> Key {
        guard let base = bytes.baseAddress else { return .other }
        for known in Key.allCases where known != .other && known.spelling.utf8CodeUnitCount == key.count {
            if memcmp(base + key.lowerBound, known.spelling.utf8Start, key.count) == 0 { return known }
        }
        return .other
    }

    /// Where the value starting at `start` ends: a string after its closing quote, an object or array after its
    /// matching bracket, anything else at the next `,`, `}`, `]` or whitespace.
    private static func endOfValue(from start: Int, to end: Int, in bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        var index = start
        var depth = 0
        while index < end {
            let byte = bytes[index]
            switch byte {
            case Self.quote:
                guard let close = Self.closingQuote(after: index, to: end, in: bytes) else { return nil }
                index = close + 1
                if depth == 0 { return index }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                index += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                guard depth > 0 else { return index }
                depth -= 1
                index += 1
                if depth == 0 { return index }
            case UInt8(ascii: ","):
                if depth == 0 { return index }
                index += 1
            default:
                if depth == 0, Self.isWhitespace(byte) { return index }
                index += 1
            }
        }
        return depth == 0 ? index : nil
    }

    /// The closing quote of the string opened at `open`: the first quote after it preceded by an even number of
    /// backslashes. Found with `memchr`, since strings are most of an answer's bytes.
    private static func closingQuote(after open: Int, to end: Int, in bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        var from = open + 1
        while from < end {
            guard let found = memchr(base + from, Int32(Self.quote), end - from) else { return nil }
            let position = UnsafeRawPointer(found) - UnsafeRawPointer(base)
            var backslashes = 0
            while position - backslashes - 1 > open, bytes[position - backslashes - 1] == Self.backslash {
                backslashes += 1
            }
            if backslashes % 2 == 0 { return position }
            from = position + 1
        }
        return nil
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    private static func equal(_ bytes: UnsafeBufferPointer<UInt8>, _ first: Range<Int>, _ second: Range<Int>) -> Bool {
        guard first.count == second.count else { return false }
        guard !first.isEmpty, let base = bytes.baseAddress else { return true }
        return memcmp(base + first.lowerBound, base + second.lowerBound, first.count) == 0
    }

    /// The text of a string value of printable ASCII with no escape, else `nil`: such a string reads the same in
    /// every reader (no control character, no invalid UTF-8 for the full reader to reject).
    private static func plainString(_ range: Range<Int>, in bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard range.count >= 2, bytes[range.lowerBound] == Self.quote, bytes[range.upperBound - 1] == Self.quote
        else { return nil }
        let inner = (range.lowerBound + 1)..<(range.upperBound - 1)
        for index in inner
        where !(0x20..<0x7F).contains(bytes[index]) || bytes[index] == Self.backslash
            || bytes[index] == Self.quote
        {
            return nil
        }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[inner]), as: UTF8.self)
    }

    /// A JSON integer that fits an `Int`: an optional minus, then `0` or up to 18 digits not starting with `0`.
    private static func isPlainInteger(_ range: Range<Int>, in bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = range.lowerBound
        if index < range.upperBound, bytes[index] == UInt8(ascii: "-") { index += 1 }
        let digits = range.upperBound - index
        guard (1...18).contains(digits) else { return false }
        if digits > 1, bytes[index] == UInt8(ascii: "0") { return false }
        return bytes[index..<range.upperBound].allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }
}
