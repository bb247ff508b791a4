import ConfigModel
import Foundation
import Messages
import Testing
import Tracker

@testable import Delivery

/// The builder alone: headers, encoding, folding, quoted-printable, threading and injection.
struct MailMessageTests {
    static let host = "mon-1.example.com"

    static func build(
        _ notification: OutboundNotification,
        title: String = "Cluster scale out failed",
        text: String = "Cluster scale out failed at stage 4/9.\nLast log: deploy timed out",
        html: String? = nil,
        settings: EmailSettings = MailFixtures.settings()
    ) -> Data {
        MailMessage.build(
            notification: notification,
            message: RenderedMessage(title: title, text: text, html: html),
            settings: settings,
            hostname: Self.host,
            now: MailFixtures.now
        )
    }

    /// The decoded text of each part, by content type, split by hand at the boundary.
    static func parts(_ parts: MailParts) throws -> [String: String] {
        let contentType = try #require(parts.values("Content-Type").first)
        let boundary = try #require(contentType.components(separatedBy: "boundary=\"").last?.dropLast())
        let sections = parts.body.components(separatedBy: "\r\n--" + boundary)
        var result: [String: String] = [:]
        for section in sections.dropFirst() where !section.hasPrefix("--") {
            guard let end = section.range(of: "\r\n\r\n") else { continue }
            let head = section[..<end.lowerBound]
            let type = head.contains("text/html") ? "text/html" : "text/plain"
            #expect(head.contains("Content-Transfer-Encoding: quoted-printable"))
            result[type] = decodeMailQuotedPrintable(String(section[end.upperBound...]))
        }
        return result
    }

    @Test func headersAreAsDesigned() throws {
        let notification = MailFixtures.notification([MailFixtures.failed()])
        let parts = try MailParts(Self.build(notification))
        #expect(parts.values("Date") == ["Tue, 24 Nov 2026 21:14:54 +0000"])
        #expect(parts.values("From") == ["obwatch <obwatch@example.com>"])
        #expect(parts.values("To") == ["dba@example.com, DBA Team <team@example.com>"])
        #expect(parts.values("Subject") == ["Cluster scale out failed"])
        #expect(parts.values("Message-ID") == ["<\(notification.id)@obwatch.\(Self.host)>"])
        let root = "<\(MailMessage.threadRoot(incident: MailFixtures.incident))@obwatch.\(Self.host)>"
        #expect(parts.values("In-Reply-To") == [root])
        #expect(parts.values("References") == [root])
        #expect(parts.values("X-Obwatch-Incident") == [MailFixtures.incident])
        #expect(parts.values("X-Obwatch-Event-Type") == ["failed"])
        #expect(parts.values("MIME-Version") == ["1.0"])
        #expect(parts.values("Auto-Submitted") == ["auto-generated"])
        let contentType = try #require(parts.values("Content-Type").first)
        #expect(contentType.hasPrefix("multipart/alternative; boundary=\"=_obwatch_"))
    }

    @Test func everyLineEndsInCRLFAndStaysShort() throws {
        let title = String(repeating: "scale out failed again and again ", count: 12)
        let text = String(repeating: "x", count: 500) + "\n" + String(repeating: "é ", count: 300) + "\r\nend  "
        let data = Self.build(MailFixtures.notification([MailFixtures.failed()]), title: title, text: text)
        let bytes = [UInt8](data)
        for (index, byte) in bytes.enumerated() {
            if byte == 0x0A { #expect(index > 0 && bytes[index - 1] == 0x0D) }
            if byte == 0x0D { #expect(index + 1 < bytes.count && bytes[index + 1] == 0x0A) }
        }
        let text8 = String(decoding: bytes, as: UTF8.self)
        let headerEnd = try #require(text8.range(of: "\r\n\r\n"))
        for line in text8[..<headerEnd.lowerBound].components(separatedBy: "\r\n") {
            #expect(line.utf8.count <= 78, "header line too long: \(line)")
        }
        for line in text8[headerEnd.upperBound...].components(separatedBy: "\r\n") {
            #expect(line.utf8.count <= 76, "body line too long: \(line)")
        }
        #expect(bytes.allSatisfy { $0 < 0x80 }, "a quoted-printable message is 7-bit")
    }

    @Test func longASCIISubjectFoldsAndUnfoldsToTheTitle() throws {
        let title = (1...30).map { "word\($0)" }.joined(separator: " ")
        let parts = try MailParts(Self.build(MailFixtures.notification([MailFixtures.failed()]), title: title))
        let subjectLines = parts.headerLines.drop { !$0.hasPrefix("Subject:") }.prefix {
            $0.hasPrefix("Subject:") || $0.hasPrefix(" ")
        }
        #expect(subjectLines.count > 1)
        #expect(parts.values("Subject") == [title])
    }

    @Test(arguments: [
        "扩容失败：集群 prod-east 的 DAG 11 在第 4/9 阶段失败",
        "Échec 🚨 de l'extension du cluster 👩‍👩‍👧 with some more words to make it long enough to need several words",
        "=?UTF-8?B?ZmFrZQ==?= an ASCII title that looks encoded",
        "ü",
    ])
    func nonASCIISubjectIsEncodedWords(title: String) throws {
        let parts = try MailParts(Self.build(MailFixtures.notification([MailFixtures.failed()]), title: title))
        let subject = try #require(parts.values("Subject").first)
        let words = subject.split(separator: " ")
        for word in words {
            #expect(word.hasPrefix("=?UTF-8?B?") && word.hasSuffix("?="))
            #expect(word.count <= 75)
        }
        #expect(decodeMailEncodedWords(subject) == title)
    }

    @Test(arguments: [
        "DAG failed\r\nBcc: victim@example.net",
        "DAG failed\nContent-Type: text/html\n\n<script>",
        "DAG failed\r\n\r\nforged body",
        "DAG failed\rX-Evil: 1",
        "DAG\u{2028}failed\u{2029}X-Evil: 1",
        "DAG\u{0}failed\u{7}\u{1B}[31m\u{85}X-Evil: 1",
        "\r\n",
        "扩容失败\r\nBcc: victim@example.net",
    ])
    func hostileTitleCannotMakeHeaders(title: String) throws {
        let settings = MailFixtures.settings(to: [
            "dba@example.com\r\nBcc: victim@example.net", "x@example.com>\nX-Evil: 2",
        ])
        let data = Self.build(MailFixtures.notification([MailFixtures.failed()]), title: title, settings: settings)
        let parts = try MailParts(data)
        let names = Set(parts.headers.map { $0.name.lowercased() })
        #expect(!names.contains("bcc"))
        #expect(!names.contains("x-evil"))
        #expect(
            names.isSubset(of: [
                "date", "from", "to", "subject", "message-id", "in-reply-to", "references", "auto-submitted",
                "x-auto-response-suppress", "x-obwatch-incident", "x-obwatch-event-type", "x-obwatch-status",
                "mime-version", "content-type",
            ])
        )
        #expect(parts.values("Subject").count == 1)
        let subject = decodeMailEncodedWords(try #require(parts.values("Subject").first))
        #expect(!subject.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) })
        #expect(!subject.contains("\u{2028}"))
        #expect(try Self.parts(parts).count == 2, "the body is still the two parts")
        let recipients = try #require(parts.values("To").first)
        #expect(!recipients.contains("\r") && !recipients.contains("\n"))
    }

    @Test func quotedPrintableRoundTripsAndStaysShort() {
        let samples = [
            "plain",
            "a=b and trailing space \nand tab\t\nnext",
            String(repeating: "=", count: 200),
            String(repeating: "日本語", count: 60),
            "From the start\n.dot start\n",
            "lone\rcarriage return",
            "emoji 👩‍👩‍👧 and U+2028 \u{2028} here",
            "",
        ]
        for sample in samples {
            let encoded = MailQuotedPrintable.encode(sample)
            for line in encoded.components(separatedBy: "\r\n") {
                #expect(line.utf8.count <= 76)
                #expect(!line.hasSuffix(" ") && !line.hasSuffix("\t"))
            }
            #expect(!encoded.contains("=_"))
            #expect(decodeMailQuotedPrintable(encoded) == sample.replacingOccurrences(of: "\r\n", with: "\n"))
        }
    }

    @Test func boundaryNeverOccursInTheParts() throws {
        let notification = MailFixtures.notification([MailFixtures.failed()])
        let boundary = "=_obwatch_" + notification.id
        let hostile = "--\(boundary)\n--\(boundary)--\nContent-Type: text/html\n"
        let data = Self.build(notification, title: "t", text: hostile, html: "<html><body>\(hostile)</body></html>")
        let text = String(decoding: data, as: UTF8.self)
        let lines = text.components(separatedBy: "\r\n").filter { $0.hasPrefix("--" + boundary) }
        #expect(lines == ["--" + boundary, "--" + boundary, "--" + boundary + "--"])
        let decoded = try Self.parts(MailParts(data))
        #expect(decoded["text/plain"]?.hasPrefix(hostile) == true)
    }

    @Test func bodyCarriesTheEventTimeAndBothParts() throws {
        let notification = MailFixtures.notification([MailFixtures.failed()])
        let decoded = try Self.parts(MailParts(Self.build(notification, text: "body <b>&</b>")))
        let plain = try #require(decoded["text/plain"])
        let html = try #require(decoded["text/html"])
        #expect(plain.hasPrefix("body <b>&</b>\n\n-- \n"))
        #expect(plain.contains("2024-01-10T11:34:32.520371417+08:00  failed  prod-east"))
        #expect(plain.contains("Sent Tue, 24 Nov 2026 21:14:54 +0000"))
        #expect(html.contains("<pre style=\"font-family: monospace\">body &lt;b&gt;&amp;&lt;/b&gt;</pre>"))
        #expect(html.contains("2024-01-10T11:34:32.520371417+08:00"))
        #expect(html.hasSuffix("</body></html>"))
    }

    @Test func renderedHTMLKeepsItsMarkupAndGetsTheFooter() throws {
        let html = "<html><body><pre>rendered</pre></body></html>"
        let decoded = try Self.parts(
            MailParts(Self.build(MailFixtures.notification([MailFixtures.failed()]), html: html))
        )
        let part = try #require(decoded["text/html"])
        #expect(part.hasPrefix("<html><body><pre>rendered</pre><hr>"))
        #expect(part.hasSuffix("</pre></body></html>"))
    }

    @Test func firingAndResolvedOfOneIncidentShareTheThreadRoot() throws {
        let firing = try MailParts(Self.build(MailFixtures.notification([MailFixtures.failed()])))
        let resolved = try MailParts(
            Self.build(MailFixtures.notification([MailFixtures.retried()]), title: "Cluster scale out runs again")
        )
        #expect(firing.values("References") == resolved.values("References"))
        #expect(firing.values("In-Reply-To") == resolved.values("In-Reply-To"))
        #expect(firing.values("References").count == 1)
        #expect(firing.values("Message-ID") != resolved.values("Message-ID"))
        #expect(firing.values("References") != firing.values("Message-ID"))
    }

    @Test func aRetryIsTheSameMessage() {
        let notification = MailFixtures.notification([MailFixtures.failed()])
        #expect(Self.build(notification) == Self.build(notification))
        let other = MailFixtures.notification([MailFixtures.failed()], receiver: "other-mail")
        #expect(Self.build(notification) != Self.build(other))
    }

    @Test func noIncidentMeansNoThread() throws {
        let parts = try MailParts(Self.build(MailFixtures.notification([MailFixtures.started()])))
        #expect(parts.values("References").isEmpty)
        #expect(parts.values("In-Reply-To").isEmpty)
        #expect(parts.values("X-Obwatch-Incident").isEmpty)
        #expect(parts.values("X-Obwatch-Event-Type") == ["started"])
    }

    @Test func hostnameAndIdCannotBreakTheMessageID() throws {
        let data = MailMessage.build(
            notification: MailFixtures.notification([MailFixtures.failed()]),
            message: RenderedMessage(title: "t", text: "x"),
            settings: MailFixtures.settings(),
            hostname: "evil>\r\nBcc: x@y <host>",
            now: MailFixtures.now
        )
        let parts = try MailParts(data)
        let messageID = try #require(parts.values("Message-ID").first)
        #expect(messageID.hasSuffix("@obwatch.evilBccxyhost>"))
        #expect(MailMessage.domainLabel("...") == "localhost")
        #expect(MailMessage.identifier("a b>c") == EventID.make(["obwatch.mail.id", "a b>c"]))
    }

    @Test func displayNamesAreQuotedOrEncoded() {
        #expect(MailAddress("Ops, Team <ops@example.com>").headerText == "\"Ops, Team\" <ops@example.com>")
        #expect(MailAddress("运维 <ops@example.com>").headerText == "=?UTF-8?B?6L+Q57u0?= <ops@example.com>")
        #expect(MailAddress("  ops@example.com ").address == "ops@example.com")
        #expect(MailAddress("\"Quoted\" <q@example.com>").headerText == "Quoted <q@example.com>")
    }
}
