import ConfigModel
import Delivery
import Foundation
import Messages
import ObshellModel
import Testing
import Tracker

/// One kind of hostile agent text. `marker` starts the text, is plain ASCII letters, and must survive every format
/// (escaping leaves letters alone), so a test can tell the text was carried rather than dropped.
struct HostileCase: Sendable, CustomStringConvertible {
    var label: String
    var text: String

    var marker: String { "HOSTILE" + self.label.uppercased().filter(\.isLetter) }
    var description: String { self.label }

    static let all: [HostileCase] = [
        HostileCase(label: "crlf", text: "a\r\nX-Injected: 1\r\nBcc: evil@example.com\rlone-cr\nlone-lf\r\n\r\n."),
        HostileCase(
            label: "markdown",
            text: "*bold* _it_ ~s~ [link](http://evil) <http://evil|click> \n# heading `code` |table|a|"
        ),
        HostileCase(
            label: "mentions",
            text: "@all <!channel> <!here> <at user_id=\"all\"></at> <at id=all></at> <@U123> @13800000000 <!everyone> "
                + "@here <!subteam^S1> <#C123>"
        ),
        HostileCase(label: "json", text: "\"}],\"x\":{\"y\":[1,{\"z\":\"\\u0000\"}]}\\"),
        HostileCase(label: "html", text: "<script>alert(1)</script><img src=x onerror=alert(1)>&amp;"),
        HostileCase(label: "controls", text: "nul\u{0}bel\u{7}esc\u{1B}[31mred\u{7F}c1\u{85}\u{9B}vt\u{B}ff\u{C}"),
        HostileCase(label: "bidi", text: "invoice\u{202E}fdp.exe\u{202C} \u{2066}iso\u{2069} \u{200F}rlm"),
        HostileCase(label: "separators", text: "line\u{2028}sep\u{2029}para\tTab"),
        HostileCase(label: "encoded words", text: "=?UTF-8?B?U3Bvb2Zl?= =?utf-8?q?X-Evil=3A_1?= ?="),
        HostileCase(label: "emoji", text: "😀👩‍👩‍👧‍👦🇨🇳 é̂ 日志"),
        HostileCase(
            label: "everything",
            text:
                "\r\n@all <!channel> <at user_id=\"all\"></at> *b* [l](http://evil) \"}],\"x\":{\" <script>\u{0}\u{202E}😀"
        ),
    ]

    /// 100 KB of mixed hostile text, the marker first.
    static let huge = HostileCase(
        label: "huge",
        text: String(repeating: "@all <!channel> *x* \"}] \r\n日志😀\u{202E}", count: 100_000 / 40)
    )
}

/// Events, notifications and receivers carrying hostile text the way the daemon builds and renders them.
enum HostileFixtures {
    static let at = ObshellTime("2024-01-10T11:34:32.520371417+08:00") ?? ObshellTime(seconds: 0, nanoseconds: 0)
    static let now = Date(timeIntervalSince1970: 1_720_063_700)

    /// A `failed` event whose target, DAG, node and sub-task names and last log line all carry the text (the long
    /// case puts it in the log and the DAG name only, as a real agent would send a long log, not a long host name).
    static func failed(_ hostile: HostileCase, long: Bool = false) -> Event {
        let text = hostile.marker + " " + hostile.text
        let targetName = long ? "prod-east" : text
        let target = TargetIdentity(name: targetName, url: "http://10.0.0.5:2886", labels: ["env": text])
        return Event(
            id: "ev-failed-\(hostile.label)",
            type: .failed,
            incident: "\(targetName)/11/failed",
            at: Self.at,
            target: target,
            dag: Event.DagInfo(
                id: "11",
                dagID: 11,
                name: text,
                stage: 4,
                maxStage: 9,
                state: "FAILED",
                operator: "RUN"
            ),
            node: Event.NodeInfo(id: "14", nodeID: 4, name: long ? "node" : text, state: "FAILED", operator: "RUN"),
            subTasks: [
                Event.SubTaskInfo(
                    id: "14",
                    name: long ? "sub-task" : text,
                    state: "FAILED",
                    executeTimes: 1,
                    executeAgent: SubTask.Agent(ip: "10.10.10.1", port: 2886),
                    lastLog: text
                )
            ],
            summary: "\(text) failed at stage 4/9 (\(long ? "node" : text)) on \(targetName)"
        )
    }

    /// The `retried` event that resolves the same incident.
    static func retried(_ hostile: HostileCase, long: Bool = false) -> Event {
        let failed = Self.failed(hostile, long: long)
        return Event(
            id: "ev-retried-\(hostile.label)",
            type: .retried,
            incident: failed.incident,
            at: Self.at,
            target: TargetIdentity(name: failed.target.name, url: failed.target.url, labels: failed.target.labels),
            dag: failed.dag,
            summary: "\(failed.dag?.name ?? "") runs again on \(failed.target.name)"
        )
    }

    /// The notifications a receiver gets: the firing one, and one that resolves the incident.
    static func notifications(_ hostile: HostileCase, long: Bool = false) -> [OutboundNotification] {
        [
            OutboundNotification(receiver: "db-chat", rule: "failures", events: [Self.failed(hostile, long: long)]),
            OutboundNotification(
                receiver: "db-chat",
                rule: "failures",
                events: [Self.failed(hostile, long: long), Self.retried(hostile, long: long)]
            ),
        ]
    }

    static let mark = SourcePosition(file: "reliability.yaml", line: 1, column: 1)

    static func webhookReceiver(_ format: WebhookFormat) -> ReceiverConfig {
        ReceiverConfig(
            name: "db-chat",
            kind: .webhook(
                WebhookSettings(
                    format: format,
                    url: Secret("https://hooks.example.com/hook?token=abc"),
                    redactedURL: "https://hooks.example.com/hook?<redacted>",
                    signingSecret: Secret("SECxyz"),
                    routingKey: Secret("R0UTINGKEY0123456789abcdef012345"),
                    apiKey: Secret("genie-key-1"),
                    headers: [:],
                    mentions: []
                )
            ),
            delivery: DeliverySettings(),
            mark: Self.mark
        )
    }

    static let emailSettings = EmailSettings(
        relayURL: "smtp://127.0.0.1:2525",
        tls: .none,
        from: "obwatch@example.com",
        to: ["dba@example.com"]
    )

    static func templates(_ receiver: ReceiverConfig) -> MessageTemplates {
        MessageTemplates(receiver: receiver, rules: [], timeZone: TimeZone(identifier: "UTC") ?? .current)
    }

    static var cases: [(HostileCase, Bool)] {
        HostileCase.all.map { ($0, false) } + [(HostileCase.huge, true)]
    }
}

/// Every string inside a decoded JSON value, depth first.
func jsonStrings(_ value: Any) -> [String] {
    switch value {
    case let string as String: [string]
    case let array as [Any]: array.flatMap(jsonStrings)
    case let object as [String: Any]: object.keys.sorted().flatMap { [$0] + jsonStrings(object[$0] ?? "") }
    default: []
    }
}

/// A member by key path.
func jsonMember(_ value: Any, _ path: [String]) -> Any? {
    var current: Any? = value
    for key in path { current = (current as? [String: Any])?[key] }
    return current
}

@Suite("Hostile agent text through every delivery format")
struct HostileTextTests {
    /// What must never reach a chat unescaped: each one pings people, adds a link, or injects markup.
    static let chatForbidden = [
        "<!channel>", "<!here>", "<!everyone>", "<!subteam", "<#C123>", "<at user_id", "<at ", "<at>", "<@U123>",
        "<@", "@all", "@13800000000", "<http",
        "@here", "<script>", "<img",
    ]
    /// Markup that the markdown dialects (DingTalk, WeCom, Feishu, Teams) would render.
    static let markdownForbidden = ["[link](http://evil)", "[l](http://evil)", "*bold*", "`code`", "|table|", "*b*"]

    @Test(
        "every webhook format: valid JSON, no mention, the text carried or cut with a marker",
        arguments: WebhookFormat.allCases
    )
    func webhookFormats(_ format: WebhookFormat) throws {
        let receiver = HostileFixtures.webhookReceiver(format)
        guard case .webhook(let settings) = receiver.kind else { return }
        let formatter = WebhookFormatter(settings: settings)
        let templates = HostileFixtures.templates(receiver)
        for (hostile, long) in HostileFixtures.cases {
            for notification in HostileFixtures.notifications(hostile, long: long) {
                let message = templates.render(notification)
                let requests = formatter.requests(for: notification, message: message, now: HostileFixtures.now)
                #expect(!requests.isEmpty, "\(format) \(hostile)")
                for request in requests {
                    try Self.check(request, format: format, hostile: hostile, long: long, notification: notification)
                }
            }
        }
    }

    static func check(
        _ request: WebhookRequest,
        format: WebhookFormat,
        hostile: HostileCase,
        long: Bool,
        notification: OutboundNotification
    ) throws {
        let context = "\(format) \(hostile) \(notification.status)"
        let decoded = try JSONSerialization.jsonObject(with: request.body)
        let body = try #require(decoded as? [String: Any], "\(context): the body is not a JSON object")
        // JSON strings cannot hold raw control characters, so none may be on the wire.
        #expect(!request.body.contains { $0 < 0x20 }, "\(context): a raw control byte in the body")
        #expect(
            request.url.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F },
            "\(context): the URL is not plain ASCII: \(request.redactedURL)"
        )
        for header in request.headers {
            #expect(
                !header.value.contains { $0.isNewline } && !header.name.contains { $0.isNewline },
                "\(context): a header carries a line break"
            )
        }
        let strings = jsonStrings(body)
        let joined = strings.joined(separator: "\u{1}")
        switch format {
        case .generic:
            let events = try #require(body["events"] as? [[String: Any]], "\(context)")
            let original = notification.events[0]
            #expect(jsonMember(events[0], ["dag", "name"]) as? String == original.dag?.name, "\(context)")
            #expect(jsonMember(events[0], ["target", "name"]) as? String == original.target.name, "\(context)")
            let subTasks = try #require(events[0]["sub_tasks"] as? [[String: Any]], "\(context)")
            #expect(subTasks.first?["last_log"] as? String == original.subTasks?.first?.lastLog, "\(context)")
            #expect(jsonMember(events[0], ["node", "name"]) as? String == original.node?.name, "\(context)")
        case .slack, .dingtalk, .feishu, .wecom, .teams:
            for forbidden in Self.chatForbidden {
                #expect(!joined.contains(forbidden), "\(context): \(forbidden) reaches the chat")
            }
            if format != .slack {
                for forbidden in Self.markdownForbidden {
                    #expect(!joined.contains(forbidden), "\(context): \(forbidden) reaches the chat")
                }
                let unescapedHeading = joined.replacingOccurrences(of: "\\# heading", with: "")
                #expect(!unescapedHeading.contains("# heading"), "\(context): a heading reaches the chat")
            } else {
                for mark in ["*bold*", "_it_", "~s~", "`code`", "*b*"] {
                    #expect(!joined.contains(mark), "\(context): \(mark) reaches Slack as formatting")
                }
            }
            #expect(!joined.contains("\u{2028}") && !joined.contains("\u{2029}"), "\(context)")
            try Self.checkVendorLimits(body, request: request, format: format, context: context)
            try Self.checkMentionFields(body, format: format, context: context)
        case .pagerduty:
            #expect(request.body.count <= 512_000, "\(context)")
            if let summary = jsonMember(body, ["payload", "summary"]) as? String {
                #expect(summary.count <= 1_024, "\(context)")
                #expect(!summary.contains { $0.isNewline }, "\(context): the page summary is not one line")
            }
            if let key = body["dedup_key"] as? String { #expect(key.utf8.count <= 255, "\(context)") }
        case .opsgenie:
            if let message = body["message"] as? String {
                #expect(message.count <= 130, "\(context)")
                #expect(!message.contains { $0.isNewline }, "\(context): the alert message is not one line")
            }
            if body["note"] != nil {
                // The close request names the alias in the URL path: one segment, whatever the agent wrote.
                let path = try #require(request.url.split(separator: "?").first, "\(context)")
                let segments = path.split(separator: "/", omittingEmptySubsequences: false)
                #expect(segments.last == "close", "\(context)")
                #expect(segments.dropLast().last.map { !$0.isEmpty && !$0.contains("#") } == true, "\(context)")
                #expect(path.hasPrefix("https://hooks.example.com/hook/") && segments.count == 6, "\(context): \(path)")
            }
            if let alias = body["alias"] as? String { #expect(alias.utf8.count <= 512, "\(context)") }
            if let description = body["description"] as? String { #expect(description.count <= 15_000, "\(context)") }
        }
        // Carried, escaped or cut, but never silently dropped; a PagerDuty resolve carries only the dedup key.
        let isBareResolve = format == .pagerduty && body["event_action"] as? String == "resolve"
        #expect(isBareResolve || joined.contains(hostile.marker), "\(context): the agent text is gone")
        if long && [.slack, .dingtalk, .feishu, .wecom, .teams].contains(format) {
            #expect(joined.contains("…"), "\(context): cut without a visible marker")
        }
    }

    @Test("the oracle is not vacuous: text that skipped the template's escaping is caught")
    func oracleCatchesRawText() throws {
        let receiver = HostileFixtures.webhookReceiver(.slack)
        guard case .webhook(let settings) = receiver.kind else { return }
        let hostile = try #require(HostileCase.all.first { $0.label == "mentions" })
        let raw = RenderedMessage(title: hostile.text, text: hostile.text)
        let notification = HostileFixtures.notifications(hostile)[0]
        let request = try #require(
            WebhookFormatter(settings: settings).requests(for: notification, message: raw, now: HostileFixtures.now)
                .first
        )
        let joined = jsonStrings(try JSONSerialization.jsonObject(with: request.body)).joined(separator: "\u{1}")
        #expect(Self.chatForbidden.contains { joined.contains($0) })
    }

    /// Each chat's documented size limit (receivers.md section 2).
    static func checkVendorLimits(
        _ body: [String: Any],
        request: WebhookRequest,
        format: WebhookFormat,
        context: String
    ) throws {
        switch format {
        case .slack:
            let blocks = try #require(body["blocks"] as? [[String: Any]], "\(context)")
            let section = try #require(jsonMember(blocks[0], ["text", "text"]) as? String, "\(context)")
            #expect(section.count <= 3_000, "\(context): a Slack section over 3000 characters")
        case .dingtalk, .feishu:
            #expect(request.body.count <= 20_000, "\(context): a body over 20 KB")
        case .wecom:
            let content = try #require(jsonMember(body, ["markdown", "content"]) as? String, "\(context)")
            #expect(content.utf8.count <= 4_096, "\(context): WeCom content over 4096 bytes")
        case .teams:
            #expect(request.body.count <= 28_000, "\(context): a Teams message over 28 KB")
        default:
            break
        }
    }

    /// The vendor fields that mention people stay empty: the receiver configured no mentions, and agent text can
    /// never add one.
    static func checkMentionFields(_ body: [String: Any], format: WebhookFormat, context: String) throws {
        switch format {
        case .dingtalk:
            #expect(jsonMember(body, ["at", "isAtAll"]) as? Bool ?? false == false, "\(context): isAtAll")
            #expect((jsonMember(body, ["at", "atMobiles"]) as? [Any] ?? []).isEmpty, "\(context): atMobiles")
            #expect((jsonMember(body, ["at", "atUserIds"]) as? [Any] ?? []).isEmpty, "\(context): atUserIds")
        case .wecom:
            for key in ["mentioned_list", "mentioned_mobile_list"] {
                #expect(jsonMember(body, ["text", key]) == nil, "\(context): \(key)")
                #expect(jsonMember(body, ["markdown", key]) == nil, "\(context): \(key)")
            }
        case .teams:
            let entities = jsonMember(body, ["attachments"]).map(jsonStrings) ?? []
            #expect(!entities.contains("mention"), "\(context): a Teams mention entity")
        default:
            break
        }
    }

    @Test("email: no header injection, one Subject, CRLF only, the text carried")
    func email() throws {
        let receiver = ReceiverConfig(
            name: "dba-mail",
            kind: .email(HostileFixtures.emailSettings),
            delivery: DeliverySettings(),
            mark: HostileFixtures.mark
        )
        let templates = HostileFixtures.templates(receiver)
        for (hostile, long) in HostileFixtures.cases {
            for notification in HostileFixtures.notifications(hostile, long: long) {
                let data = MailMessage.build(
                    notification: notification,
                    message: templates.render(notification),
                    settings: HostileFixtures.emailSettings,
                    hostname: "host\r\nX-Evil: 1",
                    now: HostileFixtures.now
                )
                try Self.checkMail(data, hostile: hostile, context: "email \(hostile) \(notification.status)")
            }
        }
    }

    static let allowedMailHeaders: Set<String> = [
        "date", "from", "to", "subject", "message-id", "in-reply-to", "references", "auto-submitted",
        "x-auto-response-suppress", "x-obwatch-incident", "x-obwatch-event-type", "x-obwatch-status", "mime-version",
        "content-type",
    ]

    static func checkMail(_ data: Data, hostile: HostileCase, context: String) throws {
        let bytes = Array(data)
        #expect(!bytes.contains(0), "\(context): a NUL in the message")
        for (index, byte) in bytes.enumerated() {
            if byte == 0x0D {
                #expect(index + 1 < bytes.count && bytes[index + 1] == 0x0A, "\(context): a lone CR at \(index)")
            }
            if byte == 0x0A {
                #expect(index > 0 && bytes[index - 1] == 0x0D, "\(context): a lone LF at \(index)")
            }
        }
        let text = String(decoding: data, as: UTF8.self)
        let split = try #require(text.range(of: "\r\n\r\n"), "\(context): no end of headers")
        let headerBlock = String(text[..<split.lowerBound])
        #expect(headerBlock.unicodeScalars.allSatisfy { $0.isASCII }, "\(context): raw non-ASCII in a header")
        var names: [String] = []
        var unfolded: [String] = []
        for line in headerBlock.components(separatedBy: "\r\n") {
            #expect(line.utf8.count <= 998, "\(context): a header line over 998 octets")
            if line.hasPrefix(" ") || line.hasPrefix("\t") {
                #expect(!unfolded.isEmpty, "\(context): a continuation line first")
                if !unfolded.isEmpty { unfolded[unfolded.count - 1] += line }
                continue
            }
            let colon = try #require(line.firstIndex(of: ":"), "\(context): not a header line: \(line.prefix(80))")
            let name = String(line[..<colon])
            #expect(
                !name.isEmpty && name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" },
                "\(context): bad header name \(name.prefix(40))"
            )
            names.append(name.lowercased())
            unfolded.append(line)
        }
        for name in names {
            #expect(Self.allowedMailHeaders.contains(name), "\(context): injected header \(name)")
        }
        #expect(names.filter { $0 == "subject" }.count == 1, "\(context): not exactly one Subject")
        let subject = try #require(unfolded.first { $0.lowercased().hasPrefix("subject:") }, "\(context)")
        let decodedSubject = MailDecoding.encodedWords(String(subject.dropFirst("Subject:".count)))
        #expect(decodedSubject.contains(hostile.marker), "\(context): the Subject lost the text")
        if hostile.label == "encoded words" {
            // Agent text that looks like an encoded word reaches the reader as itself, not as what it would decode to.
            #expect(decodedSubject.contains("=?UTF-8?B?U3Bvb2Zl?="), "\(context): a fake encoded word was decoded")
        }
        #expect(!decodedSubject.contains { $0.isNewline }, "\(context): the Subject decodes to several lines")

        let parts = MailDecoding.parts(String(text[split.upperBound...]))
        let plain = try #require(parts["text/plain"], "\(context): no text part")
        let html = try #require(parts["text/html"], "\(context): no HTML part")
        #expect(plain.contains(hostile.marker), "\(context): the text part lost the text")
        #expect(html.contains(hostile.marker), "\(context): the HTML part lost the text")
        #expect(!html.contains("<script>") && !html.contains("<img"), "\(context): markup reaches the HTML part")
    }

    @Test("syslog RFC 5424 and 3164: one record, no raw line break, well formed, the text carried")
    func syslog() throws {
        for format in SyslogSettings.Format.allCases {
            let settings = SyslogSettings(address: .unix(path: "/dev/log"), format: format, facility: 16)
            let receiver = ReceiverConfig(
                name: "audit",
                kind: .syslog(settings),
                delivery: DeliverySettings(),
                mark: HostileFixtures.mark
            )
            let templates = HostileFixtures.templates(receiver)
            for (hostile, long) in HostileFixtures.cases {
                for event in [
                    HostileFixtures.failed(hostile, long: long), HostileFixtures.retried(hostile, long: long),
                ] {
                    let single = OutboundNotification(receiver: "audit", rule: "audit-trail", events: [event])
                    let data = SyslogMessage.format(
                        event: event,
                        notification: single,
                        text: templates.render(single).text,
                        settings: settings,
                        hostname: "host name\r\n",
                        processID: 42,
                        sequence: 7
                    )
                    let context = "\(format) \(hostile) \(event.type)"
                    #expect(!data.contains(0x0A) && !data.contains(0x0D), "\(context): a raw line break")
                    #expect(!data.contains(0), "\(context): a NUL")
                    let text = String(decoding: data, as: UTF8.self)
                    #expect(text.utf8.elementsEqual(data), "\(context): not UTF-8")
                    switch format {
                    case .rfc5424:
                        #expect(data.count <= SyslogMessage.maximumRFC5424Length, "\(context)")
                        let message = try #require(
                            RFC5424Parser.parse(text),
                            "\(context): not RFC 5424: \(text.prefix(200))"
                        )
                        #expect(message.structuredData.contains(SyslogMessage.structuredDataID), "\(context)")
                        #expect(
                            message.message.contains(hostile.marker) || message.structuredData.contains(hostile.marker),
                            "\(context): the text is gone"
                        )
                    case .rfc3164:
                        #expect(data.count <= SyslogMessage.maximumRFC3164Length, "\(context)")
                        #expect(
                            text.range(
                                of:
                                    #"^<[0-9]{1,3}>[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} \S+ [^\s\[:]+\[42\]: "#,
                                options: .regularExpression
                            ) != nil,
                            "\(context): not RFC 3164: \(text.prefix(120))"
                        )
                        #expect(text.contains(hostile.marker), "\(context): the text is gone")
                    }
                }
            }
        }
    }

    @Test("file receiver: one JSON line per notification, names byte-exact")
    func fileSender() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("obw-rel-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("notifications.jsonl").path
        let receiver = ReceiverConfig(
            name: "file",
            kind: .file(FileSettings(path: path)),
            delivery: DeliverySettings(),
            mark: HostileFixtures.mark
        )
        let sender = FileSender(settings: FileSettings(path: path), templates: HostileFixtures.templates(receiver))
        var sent: [OutboundNotification] = []
        for (hostile, long) in HostileFixtures.cases {
            for notification in HostileFixtures.notifications(hostile, long: long) {
                let outcome = await sender.deliver(notification, now: HostileFixtures.now)
                #expect(outcome.word == "delivered", "\(hostile): \(outcome)")
                sent.append(notification)
            }
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        #expect(lines.count == sent.count + 1 && lines.last?.isEmpty == true, "one line per notification")
        for (line, notification) in zip(lines, sent) {
            #expect(!line.contains(0x0D), "a raw CR in a file line")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
            #expect(object["id"] as? String == notification.id)
            let events = try #require(object["events"] as? [[String: Any]])
            #expect(jsonMember(events[0], ["dag", "name"]) as? String == notification.events[0].dag?.name)
        }
    }

    @Test("console receiver: one line, no control character, the text carried")
    func consoleLine() throws {
        let receiver = ReceiverConfig(
            name: "console",
            kind: .console,
            delivery: DeliverySettings(),
            mark: HostileFixtures.mark
        )
        let templates = HostileFixtures.templates(receiver)
        for (hostile, long) in HostileFixtures.cases {
            for notification in HostileFixtures.notifications(hostile, long: long) {
                let line = ConsoleSender.line(notification, title: templates.render(notification).title)
                #expect(
                    !line.unicodeScalars.contains { $0.properties.generalCategory == .control },
                    "\(hostile): a control character on the console"
                )
                #expect(!line.contains { $0.isNewline }, "\(hostile): the console line breaks")
                #expect(line.contains(hostile.marker), "\(hostile): the text is gone")
            }
        }
    }
}

/// Just enough MIME to read the test's own messages back.
enum MailDecoding {
    /// The text of RFC 2047 encoded words (`=?UTF-8?B?...?=` and `=?UTF-8?Q?...?=`), other text kept; whitespace
    /// between two encoded words dropped, as RFC 2047 section 6.2 says.
    static func encodedWords(_ value: String) -> String {
        let pattern = #"=\?([^?]+)\?([BbQq])\?([^?]*)\?="#
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return value }
        var result = ""
        var cursor = value.startIndex
        var previousWasWord = false
        let nsValue = value as NSString
        for match in regex.matches(in: value, range: NSRange(location: 0, length: nsValue.length)) {
            guard let range = Range(match.range, in: value), let kindRange = Range(match.range(at: 2), in: value),
                let payloadRange = Range(match.range(at: 3), in: value)
            else { continue }
            let between = String(value[cursor..<range.lowerBound])
            if !(previousWasWord && between.allSatisfy(\.isWhitespace)) { result += between }
            let payload = String(value[payloadRange])
            var bytes: [UInt8] = []
            if value[kindRange].uppercased() == "B" {
                bytes = Array(Data(base64Encoded: payload) ?? Data())
            } else {
                bytes = Self.quotedPrintableBytes(payload.replacingOccurrences(of: "_", with: " "))
            }
            result += String(decoding: bytes, as: UTF8.self)
            cursor = range.upperBound
            previousWasWord = true
        }
        result += String(value[cursor...])
        return result
    }

    static func quotedPrintableBytes(_ text: String) -> [UInt8] {
        let source = Array(text.replacingOccurrences(of: "=\r\n", with: "").utf8)
        var bytes: [UInt8] = []
        var index = 0
        while index < source.count {
            if source[index] == UInt8(ascii: "="), index + 2 < source.count,
                let value = UInt8(String(decoding: source[(index + 1)...(index + 2)], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                index += 3
            } else {
                bytes.append(source[index])
                index += 1
            }
        }
        return bytes
    }

    /// The decoded parts of a `multipart/alternative` body, by content type.
    static func parts(_ body: String) -> [String: String] {
        var result: [String: String] = [:]
        for chunk in body.components(separatedBy: "\r\n--") {
            guard let split = chunk.range(of: "\r\n\r\n") else { continue }
            let headers = chunk[..<split.lowerBound].lowercased()
            let type =
                headers.contains("content-type: text/plain")
                ? "text/plain" : headers.contains("content-type: text/html") ? "text/html" : nil
            guard let type else { continue }
            result[type] = String(
                decoding: Self.quotedPrintableBytes(String(chunk[split.upperBound...])),
                as: UTF8.self
            )
        }
        return result
    }
}

/// An RFC 5424 reader strict enough to tell a well-formed record from a broken one.
enum RFC5424Parser {
    struct Message {
        var structuredData: String
        var message: String
    }

    static func parse(_ text: String) -> Message? {
        var rest = Substring(text)
        guard rest.hasPrefix("<"), let close = rest.firstIndex(of: ">") else { return nil }
        guard let priority = Int(rest[rest.index(after: rest.startIndex)..<close]), (0...191).contains(priority)
        else { return nil }
        rest = rest[rest.index(after: close)...]
        guard rest.hasPrefix("1 ") else { return nil }
        rest = rest.dropFirst(2)
        // TIMESTAMP HOSTNAME APP-NAME PROCID MSGID: printable US-ASCII, no spaces.
        for limit in [64, 255, 48, 128, 32] {
            guard let space = rest.firstIndex(of: " ") else { return nil }
            let field = rest[..<space]
            guard !field.isEmpty, field.count <= limit,
                field.unicodeScalars.allSatisfy({ (33...126).contains($0.value) })
            else { return nil }
            rest = rest[rest.index(after: space)...]
        }
        let sdStart = rest.startIndex
        if rest.hasPrefix("-") {
            rest = rest.dropFirst()
        } else {
            guard rest.hasPrefix("[") else { return nil }
            while rest.hasPrefix("[") {
                guard let after = Self.element(rest) else { return nil }
                rest = after
            }
        }
        let structuredData = String(text[sdStart..<rest.startIndex])
        if rest.isEmpty { return Message(structuredData: structuredData, message: "") }
        guard rest.hasPrefix(" ") else { return nil }
        return Message(structuredData: structuredData, message: String(rest.dropFirst()))
    }

    /// One `[SD-ID PARAM="VALUE" ...]`, values with `\"`, `\\` and `\]` escapes; the text after it.
    private static func element(_ text: Substring) -> Substring? {
        var scalars = text.unicodeScalars.dropFirst()
        var name = ""
        while let first = scalars.first, first != " ", first != "]" {
            guard (33...126).contains(first.value), first != "=", first != "\"" else { return nil }
            name.unicodeScalars.append(first)
            scalars = scalars.dropFirst()
        }
        guard !name.isEmpty else { return nil }
        while scalars.first == " " {
            scalars = scalars.dropFirst()
            var parameter = ""
            while let first = scalars.first, first != "=" {
                guard (33...126).contains(first.value), first != "]", first != "\"", first != " " else { return nil }
                parameter.unicodeScalars.append(first)
                scalars = scalars.dropFirst()
            }
            guard !parameter.isEmpty, scalars.first == "=" else { return nil }
            scalars = scalars.dropFirst()
            guard scalars.first == "\"" else { return nil }
            scalars = scalars.dropFirst()
            var closed = false
            while let first = scalars.first {
                scalars = scalars.dropFirst()
                if first == "\\" {
                    guard let escaped = scalars.first else { return nil }
                    scalars = scalars.dropFirst()
                    _ = escaped
                } else if first == "\"" {
                    closed = true
                    break
                } else if first == "]" {
                    return nil
                }
            }
            guard closed else { return nil }
        }
        guard scalars.first == "]" else { return nil }
        return Substring(scalars.dropFirst())
    }
}
