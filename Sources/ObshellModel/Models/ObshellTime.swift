package import Foundation
import Support

/// A timestamp as obshell writes it: Go's RFC 3339 with up to nine fraction digits and the server's UTC offset.
///
/// The text is kept exactly as received, so an answer re-encodes byte for byte and nanoseconds are never rounded
/// through a `Double`. obshell resets a DAG's times to the Unix epoch (rendered in its own zone) whenever an
/// operator is applied; ``isEpoch`` tells those apart from real times.
package struct ObshellTime: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The text exactly as the agent sent it, e.g. `2024-01-10T11:34:32.520371417+08:00`.
    package let text: String
    /// Whole seconds since the Unix epoch.
    package let seconds: Int64
    /// Nanoseconds within the second, 0 to 999,999,999.
    package let nanoseconds: Int32
    /// The offset from UTC in seconds that the text carries (`Z` is 0).
    package let utcOffsetSeconds: Int32

    /// Parses an RFC 3339 timestamp; returns `nil` when the text is not one.
    package init?(_ text: String) {
        guard let parsed = RFC3339Parser.parse(text) else { return nil }
        self.text = text
        self.seconds = parsed.seconds
        self.nanoseconds = parsed.nanoseconds
        self.utcOffsetSeconds = parsed.offset
    }

    /// Wraps text that has already been parsed (the JSON reader parses the bytes before it makes the string).
    init(text: String, parsed: RFC3339Parser.Parsed) {
        self.text = text
        self.seconds = parsed.seconds
        self.nanoseconds = parsed.nanoseconds
        self.utcOffsetSeconds = parsed.offset
    }

    /// The error for a string that is not a timestamp, shared with the JSON reader's shortcut.
    static func notATimestamp(_ text: String, codingPath: [any CodingKey]) -> DecodingError {
        DecodingError.dataCorrupted(
            DecodingError.Context(
                codingPath: codingPath,
                debugDescription: "not an RFC 3339 timestamp: \(text.debugDescription)"
            )
        )
    }

    /// Makes a timestamp from an instant, rendered with all nine fraction digits trimmed as Go trims them.
    package init(seconds: Int64, nanoseconds: Int32, utcOffsetSeconds: Int32 = 0) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
        self.utcOffsetSeconds = utcOffsetSeconds
        self.text = RFC3339Parser.format(seconds: seconds, nanoseconds: nanoseconds, offset: utcOffsetSeconds)
    }

    /// Makes a timestamp from a Foundation date (microsecond precision at best), in UTC.
    package init(date: Date, utcOffsetSeconds: Int32 = 0) {
        let interval = date.timeIntervalSince1970
        var whole = interval.rounded(.down)
        var nanos = ((interval - whole) * 1_000_000_000).rounded()
        if nanos >= 1_000_000_000 {
            whole += 1
            nanos -= 1_000_000_000
        }
        self.init(seconds: Int64(whole), nanoseconds: Int32(nanos), utcOffsetSeconds: utcOffsetSeconds)
    }

    /// True for the epoch (in any zone): obshell's "no time" after an operator reset the DAG.
    package var isEpoch: Bool { self.seconds == 0 && self.nanoseconds == 0 }

    /// The instant as a Foundation date (sub-microsecond digits are lost).
    package var date: Date {
        Date(timeIntervalSince1970: Double(self.seconds) + Double(self.nanoseconds) / 1_000_000_000)
    }

    /// The signed duration from `self` to `other`.
    package func duration(to other: ObshellTime) -> Duration {
        .seconds(other.seconds - self.seconds) + .nanoseconds(Int64(other.nanoseconds) - Int64(self.nanoseconds))
    }

    /// The instant moved by a duration, keeping this timestamp's offset.
    package func adding(_ duration: Duration) -> ObshellTime {
        let (wholeSeconds, attoseconds) = duration.components
        var nanos = Int64(self.nanoseconds) + attoseconds / 1_000_000_000
        var seconds = self.seconds + wholeSeconds
        if nanos >= 1_000_000_000 {
            seconds += 1
            nanos -= 1_000_000_000
        } else if nanos < 0 {
            seconds -= 1
            nanos += 1_000_000_000
        }
        return ObshellTime(seconds: seconds, nanoseconds: Int32(nanos), utcOffsetSeconds: self.utcOffsetSeconds)
    }

    /// The original text.
    package var description: String { self.text }

    /// Orders by instant; equal instants in different zones order by text so the order is total.
    package static func < (lhs: ObshellTime, rhs: ObshellTime) -> Bool {
        if lhs.seconds != rhs.seconds { return lhs.seconds < rhs.seconds }
        if lhs.nanoseconds != rhs.nanoseconds { return lhs.nanoseconds < rhs.nanoseconds }
        return lhs.text < rhs.text
    }

    /// Decodes from a JSON string; a string that is not RFC 3339 is a decoding error at its path.
    package init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let time = ObshellTime(text) else { throw Self.notATimestamp(text, codingPath: container.codingPath) }
        self = time
    }

    /// Encodes the original text.
    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.text)
    }
}

/// A hand-written RFC 3339 reader and writer: faster than `DateFormatter` and exact to the nanosecond.
enum RFC3339Parser {
    struct Parsed {
        var seconds: Int64
        var nanoseconds: Int32
        var offset: Int32
    }

    static func parse(_ text: String) -> Parsed? {
        var text = text
        return text.withUTF8 { self.parse(bytes: $0) }
    }

    /// Parses the UTF-8 bytes of a timestamp; a byte-level walk, since this runs for every time in every answer.
    static func parse(bytes: UnsafeBufferPointer<UInt8>) -> Parsed? {
        var reader = ByteReader(bytes: bytes)
        guard let year = reader.digits(4), reader.expect(UInt8(ascii: "-")), let month = reader.digits(2),
            reader.expect(UInt8(ascii: "-")), let day = reader.digits(2)
        else { return nil }
        guard let separator = reader.next(),
            separator == UInt8(ascii: "T") || separator == UInt8(ascii: "t") || separator == UInt8(ascii: " ")
        else { return nil }
        guard let hour = reader.digits(2), reader.expect(UInt8(ascii: ":")), let minute = reader.digits(2),
            reader.expect(UInt8(ascii: ":")), let second = reader.digits(2)
        else { return nil }
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var nanos: Int64 = 0
        if reader.peek() == UInt8(ascii: ".") {
            reader.index += 1
            var count = 0
            while let byte = reader.peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                reader.index += 1
                if count < 9 { nanos = nanos * 10 + Int64(byte - UInt8(ascii: "0")) }
                count += 1
            }
            guard count > 0 else { return nil }
            if count < 9 {
                for _ in count..<9 { nanos *= 10 }
            }
        }
        var offset: Int32 = 0
        guard let zone = reader.next() else { return nil }
        switch zone {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            break
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard let offsetHours = reader.digits(2), reader.expect(UInt8(ascii: ":")),
                let offsetMinutes = reader.digits(2), offsetHours < 24, offsetMinutes < 60
            else { return nil }
            offset = Int32(offsetHours * 3600 + offsetMinutes * 60)
            if zone == UInt8(ascii: "-") { offset = -offset }
        default:
            return nil
        }
        guard reader.index == bytes.count else { return nil }
        let days = CivilCalendar.days(year: year, month: month, day: day)
        let local = days * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        return Parsed(seconds: local - Int64(offset), nanoseconds: Int32(nanos), offset: offset)
    }

    /// A cursor over the timestamp's bytes.
    private struct ByteReader {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        func peek() -> UInt8? { self.index < self.bytes.count ? self.bytes[self.index] : nil }

        mutating func next() -> UInt8? {
            guard self.index < self.bytes.count else { return nil }
            self.index += 1
            return self.bytes[self.index - 1]
        }

        mutating func expect(_ byte: UInt8) -> Bool { self.next() == byte }

        mutating func digits(_ count: Int) -> Int? {
            var value = 0
            for _ in 0..<count {
                guard let byte = self.next(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
    }

    static func format(seconds: Int64, nanoseconds: Int32, offset: Int32) -> String {
        let local = seconds + Int64(offset)
        let days = local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
        let secondOfDay = Int(local - days * 86_400)
        let (year, month, day) = CivilCalendar.date(days: days)
        var text = self.pad(Int(year), 4) + "-" + self.pad(month, 2) + "-" + self.pad(day, 2)
        text += "T" + self.pad(secondOfDay / 3600, 2) + ":" + self.pad(secondOfDay / 60 % 60, 2) + ":"
        text += self.pad(secondOfDay % 60, 2)
        if nanoseconds > 0 {
            var fraction = self.pad(Int(nanoseconds), 9)
            while fraction.hasSuffix("0") { fraction.removeLast() }
            text += "." + fraction
        }
        if offset == 0 {
            text += "Z"
        } else {
            let magnitude = Int(abs(offset))
            text += (offset < 0 ? "-" : "+") + self.pad(magnitude / 3600, 2) + ":" + self.pad(magnitude / 60 % 60, 2)
        }
        return text
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
