package import ConfigModel
package import Foundation
package import ObshellModel

/// One operator action for the audit trail: a silence created or expired, an incident acknowledged. It goes to
/// every syslog receiver directly (not through the outbox: it is not an event and no rule routes it) and to the
/// daemon's log.
package struct AuditRecord: Sendable, Hashable {
    /// The action, the record's MSGID: `silence_created`, `silence_expired`, `incident_acknowledged`.
    package var action: String
    /// When it happened.
    package var at: ObshellTime
    /// Structured data: `id`, `author`, `matchers`, `until`, ... in this order.
    package var fields: [Field]
    /// The sentence a reader sees.
    package var text: String

    /// One structured-data parameter.
    package struct Field: Sendable, Hashable {
        /// The parameter name.
        package var name: String
        /// Its value.
        package var value: String

        /// Makes a field.
        package init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// Makes a record.
    package init(action: String, at: ObshellTime, fields: [Field], text: String) {
        self.action = action
        self.at = at
        self.fields = fields
        self.text = text
    }
}

extension SyslogMessage {
    /// Formats an audit record at severity notice (5), with the same framing rules as events: one line, escaped
    /// structured data (`[obwatch@32473 audit="silence_created" id="..." ...]`), bounded length.
    /// - Parameters:
    ///   - record: The action.
    ///   - settings: Format, facility and app name.
    ///   - hostname: This machine's name.
    ///   - processID: PROCID / the tag's `[pid]`.
    ///   - timeZone: The zone of the RFC 3164 timestamp.
    /// - Returns: The message bytes, without framing.
    package static func audit(
        _ record: AuditRecord,
        settings: SyslogSettings,
        hostname: String,
        processID: Int32,
        timeZone: TimeZone = TimeZone(secondsFromGMT: 0) ?? .current
    ) -> Data {
        let priority = min(max(settings.facility, 0), 23) * 8 + 5
        let line = Self.oneLine(record.text)
        switch settings.format {
        case .rfc5424:
            let header = [
                "<\(priority)>1",
                Self.timestamp(record.at),
                Self.headerField(hostname, limit: 255),
                Self.headerField(settings.appName, limit: 48),
                Self.headerField(String(processID), limit: 128),
                Self.headerField(record.action, limit: 32),
            ].joined(separator: " ")
            var element = "[" + Self.structuredDataID + " audit=\"\(Self.parameterValue(record.action))\""
            for field in record.fields {
                element += " \(Self.headerField(field.name, limit: 32))=\"\(Self.parameterValue(field.value))\""
            }
            element += "]"
            var bytes = Array((header + " " + element).utf8)
            let room = Self.maximumRFC5424Length - bytes.count - 4
            if !line.isEmpty, room > 0 {
                bytes += [0x20, 0xEF, 0xBB, 0xBF]
                bytes += Self.prefix(line, maximumBytes: room)
            }
            return Data(bytes)
        case .rfc3164:
            var tag = String(
                decoding: settings.appName.utf8.filter { Self.isTagCharacter($0) }.prefix(32),
                as: UTF8.self
            )
            if tag.isEmpty { tag = "obwatch" }
            var host = String(decoding: hostname.utf8.filter { (0x21...0x7E).contains($0) }.prefix(255), as: UTF8.self)
            if host.isEmpty { host = "-" }
            let head = "<\(priority)>\(Self.bsdTimestamp(record.at, timeZone: timeZone)) \(host) \(tag)[\(processID)]:"
            var bytes = Array(head.utf8)
            let text = Self.oneLine(record.action + ": " + record.text)
            let room = Self.maximumRFC3164Length - bytes.count - 1
            if room > 0 {
                bytes.append(0x20)
                bytes += Self.prefix(text, maximumBytes: room)
            }
            return Data(bytes.prefix(Self.maximumRFC3164Length))
        }
    }

    /// A tag keeps letters, digits and `-_./`, as an event's does.
    private static func isTagCharacter(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
            || [0x2D, 0x5F, 0x2E, 0x2F].contains(byte)
    }
}
