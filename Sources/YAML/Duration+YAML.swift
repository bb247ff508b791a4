/// The duration syntax of config and rule files: whole numbers, each followed by a unit (`d`, `h`, `m`, `s`, `ms`),
/// units from the largest to the smallest and each at most once: `30s`, `5m`, `1h30m`, `1h30m15s`, `500ms`, `1d`.
/// No sign, no fractions (`1.5h` is written `1h30m`), no spaces.
extension Duration {
    /// Parses the duration syntax of config files (`30s`, `1h30m`, `500ms`, `1d`).
    /// - Parameter yamlText: The text.
    /// - Returns: `nil` when the text is not a duration.
    package init?(yamlText: String) {
        guard let duration = try? Self.parseYAMLDuration(yamlText) else { return nil }
        self = duration
    }

    /// Why a text is not a duration, worded to follow `invalid duration "…": `.
    struct SyntaxError: Error {
        var reason: String
    }

    private static let units: [(name: String, milliseconds: Int64)] = [
        ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1),
    ]

    /// Parses the duration syntax, explaining what is wrong when the text does not follow it; a duration written in
    /// words (`5 minutes`, `1 hour 30 min`, `10sec`) is told how to write it (`write 5m`).
    static func parseYAMLDuration(_ text: String) throws(SyntaxError) -> Duration {
        do {
            return try Self.parseStrictYAMLDuration(text)
        } catch {
            if let written = Self.rewritten(text) { throw SyntaxError(reason: "write \(written)") }
            throw error
        }
    }

    /// The unit of each word people write for one.
    private static let unitWords: [String: String] = [
        "d": "d", "day": "d", "days": "d",
        "h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
        "m": "m", "min": "m", "mins": "m", "minute": "m", "minutes": "m",
        "s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s",
        "ms": "ms", "msec": "ms", "msecs": "ms", "millisecond": "ms", "milliseconds": "ms",
    ]

    /// The duration syntax for a duration written in words, such as `1 hour, 30 minutes`; `nil` when the text is
    /// not numbers with unit words, or gives no valid duration.
    static func rewritten(_ text: String) -> String? {
        var result = ""
        var rest = Substring(text)
        func skipSeparators() {
            while true {
                rest = rest.drop { $0 == " " || $0 == "," }
                guard rest.hasPrefix("and ") else { return }
                rest = rest.dropFirst(4)
            }
        }
        skipSeparators()
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && $0.isNumber }
            guard !number.isEmpty else { return nil }
            rest = rest.dropFirst(number.count).drop { $0 == " " }
            let word = rest.prefix { $0.isASCII && $0.isLetter }
            // A one-letter unit keeps its case (`M` is not minutes); words are matched in any case.
            let key = word.count > 1 ? word.lowercased() : String(word)
            guard let unit = Self.unitWords[key] else { return nil }
            rest = rest.dropFirst(word.count)
            result += number + unit
            skipSeparators()
        }
        guard result != text, (try? Self.parseStrictYAMLDuration(result)) != nil else { return nil }
        return result
    }

    private static func parseStrictYAMLDuration(_ text: String) throws(SyntaxError) -> Duration {
        let unitList = "ms, s, m, h or d"
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { throw SyntaxError(reason: "write a number and a unit, such as 30s") }
        if bytes[0] == UInt8(ascii: "-") { throw SyntaxError(reason: "a duration cannot be negative") }
        var total: Int64 = 0
        var index = 0
        var lastUnit = -1
        while index < bytes.count {
            let numberStart = index
            while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
            guard index > numberStart else {
                throw SyntaxError(reason: "expected a number at \(Self.rest(bytes, from: index))")
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") || bytes[index] == UInt8(ascii: ",") {
                throw SyntaxError(reason: "fractions are not allowed; combine units instead, such as 1h30m")
            }
            let unitStart = index
            while index < bytes.count, Self.isLetter(bytes[index]) { index += 1 }
            let number = String(decoding: bytes[numberStart..<unitStart], as: UTF8.self)
            let unit = String(decoding: bytes[unitStart..<index], as: UTF8.self)
            guard !unit.isEmpty else {
                if index < bytes.count {
                    throw SyntaxError(reason: "unexpected \(Self.rest(bytes, from: index)) after \(number)")
                }
                throw SyntaxError(reason: "the number \(number) needs a unit (\(unitList))")
            }
            guard let rank = Self.units.firstIndex(where: { $0.name == unit }) else {
                throw SyntaxError(reason: "unknown unit \(YAMLNode.quote(unit)) (use \(unitList))")
            }
            guard rank > lastUnit else {
                throw SyntaxError(reason: "write units from the largest to the smallest, each at most once")
            }
            lastUnit = rank
            guard let value = Int64(number) else { throw SyntaxError(reason: "too large") }
            let (part, overflow) = value.multipliedReportingOverflow(by: Self.units[rank].milliseconds)
            let (sum, overflowSum) = total.addingReportingOverflow(part)
            guard !overflow, !overflowSum else { throw SyntaxError(reason: "too large") }
            total = sum
        }
        return .milliseconds(total)
    }

    /// The shortest text in the duration syntax for a duration, to the millisecond (`5400s` gives `1h30m`).
    var yamlText: String {
        let (seconds, attoseconds) = self.components
        guard seconds >= 0, attoseconds >= 0 else { return "0s" }
        var remaining =
            seconds.multipliedReportingOverflow(by: 1_000).partialValue + attoseconds / 1_000_000_000_000_000
        guard remaining > 0 else { return "0s" }
        var text = ""
        for unit in Self.units where remaining >= unit.milliseconds {
            text += "\(remaining / unit.milliseconds)\(unit.name)"
            remaining %= unit.milliseconds
        }
        return text
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }

    /// The next character, quoted, for "expected ... at" messages.
    private static func rest(_ bytes: [UInt8], from index: Int) -> String {
        let text = String(decoding: bytes[index...], as: UTF8.self)
        return YAMLNode.quote(text.first.map(String.init) ?? "")
    }
}
