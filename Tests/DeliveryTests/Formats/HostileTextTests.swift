import ConfigModel
import Delivery
import Foundation
import Messages
import Testing
import Tracker

@Suite struct HostileTextTests {
    static let hostileName = "\"}]\u{2028}@all <!channel>\r\nX-Injected: 1\u{0}end 😀"
    static let hugeLog = String(repeating: "日志line\"\\\u{1}", count: 100_000 / 12) + "\r\n\u{2029}tail"

    static func hostileEvents() -> [Event] {
        [FormatSamples.failed(dagName: Self.hostileName, lastLog: Self.hugeLog), FormatSamples.stalled()]
    }

    /// The message the real template layer makes for the format, and a raw one that no template escaped.
    static func messages(_ format: WebhookFormat, _ events: [Event]) throws -> [RenderedMessage] {
        let renderer = try TemplateRenderer(format: format.rawValue, timeZone: TimeZone(identifier: "UTC") ?? .current)
        let rendered = renderer.render(receiver: "db-chat", rule: "failures", events: events)
        let raw = RenderedMessage(title: Self.hostileName, text: Self.hostileName + "\n" + Self.hugeLog)
        return [rendered, raw]
    }

    @Test(arguments: WebhookFormat.allCases)
    func hostileTextCannotBreakTheBodyOrTheLimits(_ format: WebhookFormat) throws {
        let events = Self.hostileEvents()
        let notification = FormatSamples.notification(events)
        let formatter = FormatSamples.formatter(format, signingSecret: "SECxyz", mentions: ["13800000000", "@all"])
        for message in try Self.messages(format, events) {
            let requests = formatter.requests(for: notification, message: message, now: FormatSamples.now)
            #expect(!requests.isEmpty)
            for request in requests {
                let body = try decodeObject(request.body)
                // Raw NUL, CR, LF and U+2028 never reach the wire: they are escaped inside strings.
                #expect(!request.body.contains(0))
                #expect(!request.body.contains(0x0D) && !request.body.contains(0x0A))
                if format != .generic && format != .pagerduty {
                    // Only the verbatim event objects (generic, PagerDuty's custom_details) keep U+2028 raw, as
                    // Event.jsonLine() writes it; everything this module encodes escapes it.
                    #expect(!String(decoding: request.body, as: UTF8.self).contains("\u{2028}"))
                }
                for header in request.headers {
                    #expect(!header.value.contains("\r") && !header.value.contains("\n"))
                    #expect(!header.name.isEmpty)
                }
                try Self.checkLimits(format, body: body, request: request)
            }
        }
    }

    static func checkLimits(_ format: WebhookFormat, body: [String: Any], request: WebhookRequest) throws {
        switch format {
        case .generic:
            let events = try #require(body["events"] as? [[String: Any]])
            #expect(value(events[0], ["dag", "name"]) as? String == Self.hostileName)
            let subTasks = try #require(events[0]["sub_tasks"] as? [[String: Any]])
            #expect(subTasks.first?["last_log"] as? String == Self.hugeLog)
        case .slack:
            let blocks = try #require(body["blocks"] as? [[String: Any]])
            let text = try #require(value(blocks[0], ["text", "text"]) as? String)
            #expect(text.utf16.count <= 3_000)
        case .dingtalk:
            #expect(request.body.count <= 20_000)
            #expect(value(body, ["at", "isAtAll"]) as? Bool == false)
            #expect(value(body, ["at", "atMobiles"]) as? [String] == ["13800000000"])
        case .feishu:
            #expect(request.body.count <= 20_000)
            let content = try #require(
                ((value(body, ["card", "elements"]) as? [[String: Any]])?.first).flatMap {
                    value($0, ["text", "content"])
                }
                    as? String
            )
            #expect(content.hasSuffix("…"))
        case .wecom:
            let content = try #require(value(body, ["markdown", "content"]) as? String)
            #expect(content.utf8.count <= 4_096)
            #expect(content.hasSuffix("<@13800000000>"))
        case .teams:
            #expect(request.body.count <= 28_000)
        case .pagerduty:
            #expect(request.body.count <= 512_000)
            if let summary = value(body, ["payload", "summary"]) as? String { #expect(summary.utf16.count <= 1_024) }
        case .opsgenie:
            if let message = body["message"] as? String { #expect(message.utf16.count <= 130) }
            if let description = body["description"] as? String { #expect(description.utf16.count <= 15_000) }
            if let details = body["details"] as? [String: Any] { #expect(details.values.allSatisfy { $0 is String }) }
        }
    }

    @Test func pagerDutyKeepsAnOversizedEventAsCutText() throws {
        let log = String(repeating: "z", count: 300_000)
        var event = FormatSamples.failed(lastLog: log)
        event.subTasks = (event.subTasks ?? []) + (event.subTasks ?? [])
        let request = try #require(
            FormatSamples.formatter(.pagerduty)
                .requests(
                    for: FormatSamples.notification([event]),
                    message: FormatSamples.message,
                    now: FormatSamples.now
                )
                .first
        )
        #expect(request.body.count <= 512_000)
        let body = try decodeObject(request.body)
        let details = try #require(value(body, ["payload", "custom_details"]) as? String)
        #expect(details.hasPrefix("{\"schema\":\"obwatch.event/v1\""))
        #expect(details.hasSuffix("…"))
    }

    @Test func truncationNeverSplitsACharacter() throws {
        let family: Character = "👩‍👩‍👧‍👦"
        let text = String(repeating: "\(family)é", count: 5_000)
        let message = RenderedMessage(title: "t", text: text)
        for format in [WebhookFormat.wecom, .feishu, .teams, .dingtalk] {
            let request = try #require(
                FormatSamples.formatter(format)
                    .requests(
                        for: FormatSamples.notification([FormatSamples.failed()]),
                        message: message,
                        now: FormatSamples.now
                    )
                    .first
            )
            let body = try decodeObject(request.body)
            let carried: String?
            switch format {
            case .wecom:
                carried = (value(body, ["markdown", "content"]) as? String)?.replacingOccurrences(
                    of: "**t**\n",
                    with: ""
                )
            case .dingtalk:
                carried = (value(body, ["markdown", "text"]) as? String)?.replacingOccurrences(
                    of: "#### t\n\n",
                    with: ""
                )
            case .feishu:
                carried =
                    ((value(body, ["card", "elements"]) as? [[String: Any]])?.first).flatMap {
                        value($0, ["text", "content"])
                    } as? String
            default:
                let content = ((body["attachments"] as? [[String: Any]])?.first)?["content"] as? [String: Any]
                carried = ((content?["body"] as? [[String: Any]])?.last)?["text"] as? String
            }
            let cut = try #require(carried, "\(format)")
            #expect(cut.last == "…", "\(format)")
            #expect(cut.count > 100, "\(format)")
            #expect(cut.dropLast().allSatisfy { $0 == family || $0 == "é" }, "\(format)")
        }
    }
}
