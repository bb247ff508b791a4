package import ConfigModel
package import Foundation
package import Messages
import ObshellModel
import Tracker

/// Builds the RFC 5322 bytes of one notification mail: headers, and a `multipart/alternative` body with a plain
/// text and an HTML part, both UTF-8 quoted-printable, every line ending in CRLF.
///
/// ## Identity and threading
///
/// - `Message-ID` is `<NOTIFICATION-ID@obwatch.HOSTNAME>`. The notification id is a stable hash of receiver, rule
///   and event ids, so a retry of the same notification carries the same id and a client or relay that sees it
///   twice can drop the duplicate; a `repeat` reminder has new event ids and therefore its own message.
/// - Every mail about an incident names one *thread root*, `<INCIDENT-HASH@obwatch.HOSTNAME>`, where the hash is
///   a stable hash of the notification's first incident (`target/dag/failed`, ...), in both `In-Reply-To` and
///   `References`. The firing mail, its reminders and the resolved mail all carry it, so they are siblings under
///   one parent. No mail has that id itself: a real message with it would be the same message on every reminder
///   (Gmail silently drops a second message with a known `Message-ID`), and clients thread fine around a parent
///   they never received. Thunderbird and Apple Mail build threads from `References` and `In-Reply-To` alone
///   and show the missing root as an empty parent; Outlook (Microsoft 365) links a message to a conversation by
///   `In-Reply-To`/`References` too. Gmail additionally requires the subjects to match once `Re:` and `Fwd:` are
///   stripped: it threads the mails of one incident only when the email title template gives them the same
///   title (for example `{{dag.name}} on {{target.name}}`); with titles that name the event, Gmail shows firing
///   and resolved separately while the other clients still thread them.
/// - A notification without an incident (`started`, `stage_advanced`, ...) has neither header: it starts nothing.
///
/// ## Safety
///
/// Every header value passes through ``MailHeaderText``: control characters (CR, LF, TAB, other C0 and C1
/// controls, U+2028, U+2029) become spaces, long values are folded at 78 columns, and text that is not plain ASCII
/// is RFC 2047 encoded. The body is quoted-printable, so agent text cannot end a part or the message either, and
/// the boundary starts with `=_`, which quoted-printable output never contains.
package struct MailMessage: Sendable {
    /// How many events the time footer lists before summarising the rest.
    static let footerEventLimit = 20

    /// Builds a notification mail.
    /// - Parameters:
    ///   - notification: The notification; its id, incidents and events give identity, threading and the footer.
    ///   - message: The rendered title (the subject), text (the plain part) and HTML (the HTML part; the text is
    ///     escaped into a `<pre>` when it is `nil`).
    ///   - settings: The receiver's settings; `from` and `to` fill the address headers.
    ///   - hostname: This machine's name, the domain part of the ids (`obwatch.HOSTNAME`).
    ///   - now: The `Date` header's instant.
    /// - Returns: The RFC 5322 message, CRLF line ends, ready for ``MailSender/send(_:)``.
    package static func build(
        notification: OutboundNotification,
        message: RenderedMessage,
        settings: EmailSettings,
        hostname: String,
        now: Date
    ) -> Data {
        let domain = "obwatch." + Self.domainLabel(hostname)
        let date = MailDate.rfc5322(now)
        let safeID = Self.identifier(notification.id)
        var headers: [String] = []
        headers.append("Date: " + date)
        headers.append(MailHeaderText.fold(prefix: "From:", tokens: [MailAddress(settings.from).headerText]))
        let recipients = settings.to.map { MailAddress($0).headerText }.filter { !$0.isEmpty }
        headers.append(
            MailHeaderText.fold(
                prefix: "To:",
                tokens: recipients.enumerated().map { $0.offset < recipients.count - 1 ? $0.element + "," : $0.element }
            )
        )
        headers.append(MailHeaderText.unstructured("Subject", message.title))
        headers.append("Message-ID: <\(safeID)@\(domain)>")
        if let incident = notification.incidents.first {
            let root = "<\(Self.threadRoot(incident: incident))@\(domain)>"
            headers.append("In-Reply-To: " + root)
            headers.append("References: " + root)
        }
        headers.append("Auto-Submitted: auto-generated")
        headers.append("X-Auto-Response-Suppress: All")
        if !notification.incidents.isEmpty {
            headers.append(
                MailHeaderText.unstructured("X-Obwatch-Incident", notification.incidents.joined(separator: " "))
            )
        }
        var types: [String] = []
        for event in notification.events where !types.contains(event.type.rawValue) {
            types.append(event.type.rawValue)
        }
        if !types.isEmpty {
            headers.append(MailHeaderText.unstructured("X-Obwatch-Event-Type", types.joined(separator: " ")))
        }
        headers.append("X-Obwatch-Status: " + notification.status.rawValue)
        headers.append("MIME-Version: 1.0")
        let boundary = "=_obwatch_" + safeID
        headers.append("Content-Type: multipart/alternative;\r\n boundary=\"\(boundary)\"")

        let footer = Self.footer(notification: notification, date: date, hostname: hostname)
        let plain = message.text + "\n\n-- \n" + footer.joined(separator: "\n")
        let html = Self.html(message.html, text: message.text, footer: footer)

        var lines = headers
        lines.append("")
        lines.append("This is a multi-part message in MIME format.")
        for (type, content) in [("text/plain", plain), ("text/html", html)] {
            lines.append("--" + boundary)
            lines.append("Content-Type: \(type); charset=utf-8")
            lines.append("Content-Transfer-Encoding: quoted-printable")
            lines.append("")
            lines.append(MailQuotedPrintable.encode(content))
        }
        lines.append("--" + boundary + "--")
        lines.append("")
        return Data(lines.joined(separator: "\r\n").utf8)
    }

    /// The local part of an incident's thread root: a stable hash, the same on every run and every reminder.
    /// - Parameter incident: The incident key, e.g. `prod-east/11/failed`.
    package static func threadRoot(incident: String) -> String {
        EventID.make(["obwatch.mail.thread", incident])
    }

    /// The notification id when it is a plain token (it is a hex hash in practice), else a hash of it, so the
    /// `Message-ID` and the boundary can never carry a special character.
    static func identifier(_ id: String) -> String {
        let safe = !id.isEmpty && id.utf8.count <= 64 && id.utf8.allSatisfy { Self.isAlphanumeric($0) }
        return safe ? id : EventID.make(["obwatch.mail.id", id])
    }

    /// The host name reduced to letters, digits, `-` and `.`, for the right-hand side of the ids.
    static func domainLabel(_ hostname: String) -> String {
        var bytes = hostname.utf8.filter {
            Self.isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".")
        }
        while bytes.first == UInt8(ascii: ".") { bytes.removeFirst() }
        while bytes.last == UInt8(ascii: ".") { bytes.removeLast() }
        return bytes.isEmpty ? "localhost" : String(decoding: bytes, as: UTF8.self)
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
    }

    /// When each event was observed and when the mail was written: clients show only the time a mail arrived,
    /// which hides a late delivery (receivers.md section 3 item 9).
    private static func footer(notification: OutboundNotification, date: String, hostname: String) -> [String] {
        var lines = ["Observed:"]
        for event in notification.events.prefix(Self.footerEventLimit) {
            lines.append("  \(event.at.text)  \(event.type.rawValue)  \(MailHeaderText.oneLine(event.target.name))")
        }
        if notification.events.count > Self.footerEventLimit {
            lines.append("  ... and \(notification.events.count - Self.footerEventLimit) more")
        }
        lines.append("Sent \(date) by obwatch on \(MailHeaderText.oneLine(hostname)).")
        lines.append(
            "\(notification.rules.count > 1 ? "Rules" : "Rule") "
                + "\(MailHeaderText.oneLine(notification.rules.joined(separator: ", "))), receiver \(MailHeaderText.oneLine(notification.receiver)), "
                + "notification \(notification.id)."
        )
        return lines
    }

    /// The HTML part: the rendered HTML (or the text escaped into a `<pre>`) with the footer before `</body>`.
    private static func html(_ rendered: String?, text: String, footer: [String]) -> String {
        let footerHTML =
            "<hr><pre style=\"color: #666666; font-family: monospace\">"
            + Self.escapeHTML(footer.joined(separator: "\n")) + "</pre>"
        let document =
            rendered
            ?? "<html><body><pre style=\"font-family: monospace\">" + Self.escapeHTML(text) + "</pre></body></html>"
        if let end = document.range(of: "</body>", options: .backwards) {
            return document.replacingCharacters(in: end.lowerBound..<end.lowerBound, with: footerHTML)
        }
        return document + footerHTML
    }

    private static func escapeHTML(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.append(character)
            }
        }
        return result
    }
}

/// The `Date` header's format.
enum MailDate {
    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `Tue, 24 Nov 2026 21:14:54 +0000`: RFC 5322 section 3.3, in UTC, English names whatever the locale.
    static func rfc5322(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0) ?? calendar.timeZone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let weekday = Self.weekdays[((parts.weekday ?? 1) - 1 + 7) % 7]
        let month = Self.months[((parts.month ?? 1) - 1 + 12) % 12]
        return "\(weekday), \(Self.two(parts.day ?? 1)) \(month) \(parts.year ?? 1970) "
            + "\(Self.two(parts.hour ?? 0)):\(Self.two(parts.minute ?? 0)):\(Self.two(parts.second ?? 0)) +0000"
    }

    private static func two(_ value: Int) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }
}
