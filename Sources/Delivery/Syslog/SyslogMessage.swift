package import ConfigModel
package import Foundation
import Messages
import ObshellModel
import Support
package import Tracker

/// Formats one event as one syslog message, RFC 5424 with structured data or BSD-style RFC 3164, for an audit
/// trail.
///
/// Every message is one line whatever the agent wrote: CR, LF, TAB, other control characters and U+2028/U+2029
/// become spaces (LF-framed receivers split on a raw newline), structured-data values escape `"`, `\` and `]`, and
/// header fields keep only printable US-ASCII. Sizes are bounded (``maximumRFC5424Length``,
/// ``maximumRFC3164Length``) by cutting the text at a UTF-8 character boundary.
package enum SyslogMessage {
    /// The longest RFC 5424 message written: rsyslog's default `maxMessageSize`, well within a UDP datagram.
    package static let maximumRFC5424Length = 8192
    /// The longest RFC 3164 message written (RFC 3164 section 4.1).
    package static let maximumRFC3164Length = 1024
    /// The longest structured-data value kept before escaping: names and keys are short, and a bounded value
    /// keeps the structured data well inside ``maximumRFC5424Length``.
    static let maximumParameterLength = 256
    /// `obwatch@32473`: 32473 is the documentation enterprise number of RFC 5612.
    package static let structuredDataID = "obwatch@32473"

    /// Formats one event; a `test-receiver` sample (type `test`) says so in its text (`[TEST] ...`) and in its
    /// structured data (`test="true"`).
    /// - Parameters:
    ///   - event: The event; its time, type, status, severity, incident, target and DAG fill the header and the
    ///     structured data.
    ///   - notification: The notification the event travels in (its rule and receiver).
    ///   - text: The rendered body; made one line.
    ///   - settings: Format, facility and app name.
    ///   - hostname: This machine's name.
    ///   - processID: PROCID / the tag's `[pid]`.
    ///   - sequence: The sender's 1-based message counter, written as `[meta sequenceId]` so a collector can spot
    ///     a gap (wrapped into 1...2147483647 as RFC 5424 section 7.3.1 asks).
    ///   - timeZone: The zone of the RFC 3164 timestamp, which has no offset; RFC 5424 keeps the event's offset.
    /// - Returns: The message bytes, without framing.
    package static func format(
        event: Event,
        notification: OutboundNotification,
        text: String,
        settings: SyslogSettings,
        hostname: String,
        processID: Int32,
        sequence: UInt64,
        timeZone: TimeZone = TimeZone(secondsFromGMT: 0) ?? .current
    ) -> Data {
        let priority = Self.priority(event: event, facility: settings.facility)
        let text = event.type == .test ? MessageTemplates.testMark + " " + text : text
        switch settings.format {
        case .rfc5424:
            return Self.rfc5424(
                priority: priority,
                event: event,
                notification: notification,
                text: text,
                settings: settings,
                hostname: hostname,
                processID: processID,
                sequence: sequence
            )
        case .rfc3164:
            return Self.rfc3164(
                priority: priority,
                event: event,
                text: text,
                appName: settings.appName,
                hostname: hostname,
                processID: processID,
                timeZone: timeZone
            )
        }
    }

    /// Facility × 8 + severity: critical is 2 (crit), warning 4, info 6, and any resolved event 5 (notice).
    static func priority(event: Event, facility: Int) -> Int {
        let severity: Int
        if event.status == .resolved {
            severity = 5
        } else {
            switch event.severity {
            case .critical: severity = 2
            case .warning: severity = 4
            case .info: severity = 6
            }
        }
        return min(max(facility, 0), 23) * 8 + severity
    }

    private static func rfc5424(
        priority: Int,
        event: Event,
        notification: OutboundNotification,
        text: String,
        settings: SyslogSettings,
        hostname: String,
        processID: Int32,
        sequence: UInt64
    ) -> Data {
        let header = [
            "<\(priority)>1",
            Self.timestamp(event.at),
            Self.headerField(hostname, limit: 255),
            Self.headerField(settings.appName, limit: 48),
            Self.headerField(String(processID), limit: 128),
            Self.headerField(event.type.rawValue, limit: 32),
        ].joined(separator: " ")
        var parameters: [(String, String?)] = [
            ("target", event.target.name),
            ("dag_id", event.dag?.id),
            ("dag", event.dag?.name),
            ("type", event.type.rawValue),
            ("status", event.status.rawValue),
            ("incident", event.incident),
            ("rule", notification.rule),
            // Every rule that routed the event here, when more than one did (one notification per receiver).
            ("rules", notification.rules.count > 1 ? notification.rules.joined(separator: ",") : nil),
            ("receiver", notification.receiver),
            ("event_id", event.id),
            ("severity", event.severity.rawValue),
        ]
        if let dag = event.dag {
            parameters.append(("stage", "\(dag.stage)/\(dag.maxStage)"))
            parameters.append(("state", dag.state))
        }
        parameters.append(("previous_state", event.previous?.state))
        parameters.append(("node", event.node?.name))
        // A test-receiver sample: a collector's rule can leave it out by this as well as by its type.
        parameters.append(("test", event.type == .test ? "true" : nil))
        var element = "[" + Self.structuredDataID
        for case (let name, let value?) in parameters {
            element += " \(name)=\"\(Self.parameterValue(value))\""
        }
        element += "][meta sequenceId=\"\(Self.sequenceID(sequence))\"]"
        var bytes = Array((header + " " + element).utf8)
        let line = Self.oneLine(text)
        if !line.isEmpty {
            let room = Self.maximumRFC5424Length - bytes.count - 4
            if room > 0 {
                bytes += [0x20, 0xEF, 0xBB, 0xBF]
                bytes += Self.prefix(line, maximumBytes: room)
            }
        }
        return Data(bytes)
    }

    private static func rfc3164(
        priority: Int,
        event: Event,
        text: String,
        appName: String,
        hostname: String,
        processID: Int32,
        timeZone: TimeZone
    ) -> Data {
        var tag = String(decoding: appName.utf8.filter { Self.isTagByte($0) }.prefix(32), as: UTF8.self)
        if tag.isEmpty { tag = "obwatch" }
        var host = String(decoding: hostname.utf8.filter { (0x21...0x7E).contains($0) }.prefix(255), as: UTF8.self)
        if host.isEmpty { host = "-" }
        let head = "<\(priority)>\(Self.bsdTimestamp(event.at, timeZone: timeZone)) \(host) \(tag)[\(processID)]:"
        var bytes = Array(head.utf8)
        let line = Self.oneLine(text)
        let room = Self.maximumRFC3164Length - bytes.count - 1
        if !line.isEmpty && room > 0 {
            bytes.append(0x20)
            bytes += Self.prefix(line, maximumBytes: room)
        }
        return Data(bytes.prefix(Self.maximumRFC3164Length))
    }

    /// A tag keeps letters, digits and `-_./`; `[` and `:` would end it early.
    private static func isTagByte(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
            || [UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "/")].contains(byte)
    }

    /// A header field: printable US-ASCII only, cut to its limit, `-` (the nil value) when nothing is left.
    static func headerField(_ text: String, limit: Int) -> String {
        let kept = text.utf8.filter { (0x21...0x7E).contains($0) }.prefix(limit)
        return kept.isEmpty ? "-" : String(decoding: kept, as: UTF8.self)
    }

    /// The value made one line, cut to ``maximumParameterLength`` bytes, then `"`, `\` and `]` escaped (after the
    /// cut, so an escape is never split).
    static func parameterValue(_ text: String) -> String {
        let cut = String(
            decoding: Self.prefix(Self.oneLine(text), maximumBytes: Self.maximumParameterLength),
            as: UTF8.self
        )
        var escaped = ""
        for character in cut {
            if character == "\"" || character == "\\" || character == "]" {
                escaped.append("\\")
            }
            escaped.append(character)
        }
        return escaped
    }

    /// RFC 5424's `sequenceId` range is 1...2147483647 and wraps to 1.
    static func sequenceID(_ sequence: UInt64) -> UInt64 {
        sequence == 0 ? 1 : (sequence - 1) % 2_147_483_647 + 1
    }

    /// Control characters and Unicode line separators as spaces; CRLF counts as one break.
    static func oneLine(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        var previous: Unicode.Scalar?
        for scalar in text.unicodeScalars {
            defer { previous = scalar }
            if scalar == "\n" && previous == "\r" { continue }
            switch scalar.value {
            case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029: scalars.append(" ")
            default: scalars.append(scalar)
            }
        }
        return String(scalars)
    }

    /// The longest prefix of the UTF-8 bytes that fits and ends on a character boundary.
    static func prefix(_ text: String, maximumBytes: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        for scalar in text.unicodeScalars {
            let encoded = Array(String(scalar).utf8)
            if bytes.count + encoded.count > maximumBytes { break }
            bytes += encoded
        }
        return bytes
    }

    /// RFC 3339 with at most six fraction digits and the event's own offset; `-` when the year has no four digits.
    static func timestamp(_ time: ObshellTime) -> String {
        let offset = Int(time.utcOffsetSeconds)
        let shifted = time.seconds.addingReportingOverflow(Int64(offset))
        guard abs(offset) < 86_400, !shifted.overflow,
            let local = CivilTime(secondsSince1970: shifted.partialValue),
            (0...9999).contains(local.year)
        else { return "-" }
        let date = "\(Self.digits(local.year, 4))-\(Self.digits(local.month, 2))-\(Self.digits(local.day, 2))"
        let clock = "\(Self.digits(local.hour, 2)):\(Self.digits(local.minute, 2)):\(Self.digits(local.second, 2))"
        var text = date + "T" + clock
        let micros = Int(time.nanoseconds) / 1000
        if micros > 0 {
            var fraction = Self.digits(micros, 6)
            while fraction.hasSuffix("0") { fraction.removeLast() }
            text += "." + fraction
        }
        if offset == 0 {
            text += "Z"
        } else {
            let magnitude = abs(offset) / 60
            text += (offset < 0 ? "-" : "+") + Self.digits(magnitude / 60, 2) + ":" + Self.digits(magnitude % 60, 2)
        }
        return text
    }

    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `Mmm dd hh:mm:ss` in the zone, the day padded with a space.
    static func bsdTimestamp(_ time: ObshellTime, timeZone: TimeZone) -> String {
        let instant = Date(timeIntervalSince1970: TimeInterval(time.seconds))
        let shifted = time.seconds.addingReportingOverflow(Int64(timeZone.secondsFromGMT(for: instant)))
        guard !shifted.overflow, let local = CivilTime(secondsSince1970: shifted.partialValue) else {
            return "Jan  1 00:00:00"
        }
        let day = local.day < 10 ? " \(local.day)" : "\(local.day)"
        return "\(Self.months[local.month - 1]) \(day) "
            + "\(Self.digits(local.hour, 2)):\(Self.digits(local.minute, 2)):\(Self.digits(local.second, 2))"
    }

    private static func digits(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}

extension Int64 {
    /// Floor division, so times before 1970 land on the right day.
    fileprivate func quotientRoundingDown(_ divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
