import Foundation

/// Parses the `Retry-After` and `Date` header values of an HTTP answer (RFC 9110 section 10.2.3 and 5.6.7).
enum HTTPDate {
    /// The longest wait honoured: a far end that asks for more is still retried daily, and the outbox's
    /// `max_age` ends the wait anyway.
    static let longestRetryAfter: Int64 = 86_400

    /// The delay a `Retry-After` value asks for: delay-seconds, or an HTTP-date measured from `reference` (the
    /// answer's own `Date` header, so that a skewed local clock does not matter, else the caller's clock).
    /// - Returns: `nil` when the value is neither, or is a date with nothing to measure it from.
    static func retryAfter(_ value: String, reference: Date?) -> Duration? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return nil }
        if trimmed.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
            let seconds = Int64(trimmed) ?? Self.longestRetryAfter
            return .seconds(min(seconds, Self.longestRetryAfter))
        }
        guard let date = Self.parse(trimmed), let reference else { return nil }
        let seconds = date.timeIntervalSince(reference)
        guard seconds > 0 else { return .zero }
        return .seconds(Int64(min(seconds.rounded(.up), Double(Self.longestRetryAfter))))
    }

    /// An HTTP-date in any of its three forms: `Sun, 06 Nov 1994 08:49:37 GMT`, `Sunday, 06-Nov-94 08:49:37 GMT`
    /// or `Sun Nov  6 08:49:37 1994`; always UTC.
    static func parse(_ text: String) -> Date? {
        let tokens = text.split { $0 == " " || $0 == "," || $0 == "-" }.map(String.init)
        var month: Int?
        var clock: [Int]?
        var numbers: [Int] = []
        for token in tokens {
            if token.contains(":") {
                let parts = token.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
                guard parts.count == 3, let hour = parts[0], let minute = parts[1], let second = parts[2] else {
                    return nil
                }
                clock = [hour, minute, second]
            } else if let number = Int(token) {
                numbers.append(number)
            } else if let index = Self.months.firstIndex(of: token.lowercased()) {
                month = index + 1
            }
        }
        guard let month, let clock, numbers.count == 2 else { return nil }
        let day = numbers[0]
        var year = numbers[1]
        if year < 100 { year += year >= 70 ? 1900 : 2000 }
        guard (1...31).contains(day), (0...23).contains(clock[0]), (0...59).contains(clock[1]),
            (0...60).contains(clock[2]), (1970...9999).contains(year)
        else { return nil }
        let days = Self.daysSinceEpoch(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(clock[0] * 3600 + clock[1] * 60 + clock[2])
        return Date(timeIntervalSince1970: Double(seconds))
    }

    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// Days from 1970-01-01 to a date of the proleptic Gregorian calendar.
    private static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = shiftedYear / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
