package import ConfigModel
package import Foundation
package import Messages
import Support
import Tracker

extension WebhookFormatter {
    /// The `obwatch.notification/v1` object (CONTRACT section 4), compact, on one line: the generic webhook's body
    /// and a `file:` receiver's line. The events are their `jsonLine()` objects, verbatim; `rules` names every rule
    /// that routed them to the receiver, `rule` (the first of them) kept for older consumers.
    static func genericBody(_ notification: OutboundNotification, _ message: RenderedMessage) -> Data {
        OrderedJSON.members([
            "schema": .string("obwatch.notification/v1"),
            "id": .string(notification.id),
            "receiver": .string(notification.receiver),
            "rule": .string(notification.rule),
            "rules": .array(notification.rules.map { .string($0) }),
            "status": .string(notification.status.rawValue),
            "title": .string(message.title),
            "text": .string(message.text),
            "events": .array(notification.events.map { .raw($0.jsonLine()) }),
        ]).webhookBody
    }

    /// `obwatch.notification/v1` (CONTRACT section 4), with an `Idempotency-Key` header of the notification's id.
    func genericRequest(_ notification: OutboundNotification, _ message: RenderedMessage) -> WebhookRequest {
        WebhookRequest(
            url: self.url,
            redactedURL: self.redactedURL,
            headers: self.headers([WebhookHeader(name: "Idempotency-Key", value: notification.id)]),
            body: Self.genericBody(notification, message)
        )
    }

    /// Slack incoming webhook: fallback text, one mrkdwn section, an attachment for the colour bar.
    func slackRequest(_ notification: OutboundNotification, _ message: RenderedMessage) -> WebhookRequest {
        let title = Self.chatTitle(message)
        var section = "*\(title)*"
        if !message.text.isEmpty { section += "\n" + message.text }
        section = TextLimits.truncated(section, characters: Self.slackSectionLimit)
        let severity = Self.severity(of: notification)
        let body = OrderedJSON.members([
            "text": .string(title),
            "blocks": .array([
                .members([
                    "type": .string("section"),
                    "text": .members(["type": .string("mrkdwn"), "text": .string(section)]),
                ])
            ]),
            "attachments": .array([
                .members([
                    "color": .string(Self.hexColour(notification.status, severity)),
                    "text": .string("\(notification.status.rawValue), \(severity.rawValue)"),
                ])
            ]),
        ])
        return WebhookRequest(
            url: self.url,
            redactedURL: self.redactedURL,
            headers: self.headers(),
            body: body.webhookBody
        )
    }

    /// DingTalk custom robot, markdown; mentions both in `at` and as `@number` in the text, where DingTalk needs
    /// them to highlight; signed in the query when a secret is set.
    func dingTalkRequest(
        _ notification: OutboundNotification,
        _ message: RenderedMessage,
        now: Date
    ) -> WebhookRequest {
        let title = Self.chatTitle(message)
        let mentions = self.safeMentions
        let mentionLine = mentions.map { "@" + $0 }.joined(separator: " ")
        let body = Self.fitted(text: message.text, limit: Self.dingTalkBodyLimit) { text in
            var markdown = "#### \(title)"
            if !text.isEmpty { markdown += "\n\n" + text }
            if !mentionLine.isEmpty { markdown += "\n\n" + mentionLine }
            return OrderedJSON.members([
                "msgtype": .string("markdown"),
                "markdown": .members(["title": .string(title), "text": .string(markdown)]),
                "at": .members([
                    "atMobiles": .array(mentions.map { .string($0) }),
                    // Never true: one robot must not page a whole group because of agent text or a setting.
                    "isAtAll": .bool(false),
                ]),
            ])
        }
        var url = self.url
        if let secret = self.settings.signingSecret, !secret.isEmpty {
            url = WebhookSigning.appendingQuery(
                WebhookSigning.dingTalkQuery(secret: secret.revealed, now: now),
                to: url
            )
        }
        return WebhookRequest(url: url, redactedURL: self.redactedURL, headers: self.headers(), body: body)
    }

    /// Feishu/Lark custom bot, an interactive card; signed in the body when a secret is set.
    func feishuRequest(_ notification: OutboundNotification, _ message: RenderedMessage, now: Date) -> WebhookRequest {
        let title = Self.chatTitle(message)
        let signature = self.settings.signingSecret.flatMap { secret in
            secret.isEmpty ? nil : WebhookSigning.feishu(secret: secret.revealed, now: now)
        }
        let template = Self.feishuTemplate(notification.status, Self.severity(of: notification))
        let body = Self.fitted(text: message.text, limit: Self.feishuBodyLimit) { text in
            var elements: [OrderedJSON] = []
            if !text.isEmpty {
                elements.append(
                    .members([
                        "tag": .string("div"), "text": .members(["tag": .string("lark_md"), "content": .string(text)]),
                    ])
                )
            }
            return OrderedJSON.members([
                "timestamp": signature.map { .string($0.timestamp) },
                "sign": signature.map { .string($0.sign) },
                "msg_type": .string("interactive"),
                "card": .members([
                    "header": .members([
                        "title": .members(["tag": .string("plain_text"), "content": .string(title)]),
                        "template": .string(template),
                    ]),
                    "elements": .array(elements),
                ]),
            ])
        }
        return WebhookRequest(url: self.url, redactedURL: self.redactedURL, headers: self.headers(), body: body)
    }

    /// WeCom group robot, markdown, the content at most 4096 bytes; mentions as `<@id>`.
    func weComRequest(_ notification: OutboundNotification, _ message: RenderedMessage) -> WebhookRequest {
        let title = Self.chatTitle(message)
        let mentionLine = self.safeMentions.map { "<@\($0)>" }.joined(separator: " ")
        let head = "**\(title)**\n"
        let tail = mentionLine.isEmpty ? "" : "\n" + mentionLine
        let room = Self.weComContentLimit - head.utf8.count - tail.utf8.count
        let text = TextLimits.truncated(message.text, utf8Bytes: max(0, room))
        let body = OrderedJSON.members([
            "msgtype": .string("markdown"),
            "markdown": .members(["content": .string(head + text + tail)]),
        ])
        return WebhookRequest(
            url: self.url,
            redactedURL: self.redactedURL,
            headers: self.headers(),
            body: body.webhookBody
        )
    }

    /// Microsoft Teams through a Workflows URL: an Adaptive Card message, at most 28 KB.
    func teamsRequest(_ notification: OutboundNotification, _ message: RenderedMessage) -> WebhookRequest {
        let title = Self.chatTitle(message)
        let body = Self.fitted(text: message.text, limit: Self.teamsBodyLimit) { text in
            var blocks: [OrderedJSON] = [
                .members([
                    "type": .string("TextBlock"), "text": .string(title), "weight": .string("Bolder"),
                    "wrap": .bool(true),
                ])
            ]
            if !text.isEmpty {
                blocks.append(.members(["type": .string("TextBlock"), "text": .string(text), "wrap": .bool(true)]))
            }
            return OrderedJSON.members([
                "type": .string("message"),
                "attachments": .array([
                    .members([
                        "contentType": .string("application/vnd.microsoft.card.adaptive"),
                        "contentUrl": .null,
                        "content": .members([
                            "$schema": .string("http://adaptivecards.io/schemas/adaptive-card.json"),
                            "type": .string("AdaptiveCard"),
                            "version": .string("1.2"),
                            "body": .array(blocks),
                            "msteams": .members(["width": .string("full")]),
                        ]),
                    ])
                ]),
            ])
        }
        return WebhookRequest(url: self.url, redactedURL: self.redactedURL, headers: self.headers(), body: body)
    }

    /// Slack attachment colour: red for critical, orange for warning, blue for other firing and info, green once
    /// resolved.
    static func hexColour(_ status: EventStatus, _ severity: EventSeverity) -> String {
        switch (status, severity) {
        case (.resolved, _): "#2eb886"
        case (.firing, .critical): "#d00000"
        case (.firing, .warning), (.info, .warning), (.info, .critical): "#ffa500"
        default: "#439fe0"
        }
    }

    /// Feishu card header template: the same colours, in Feishu's names.
    static func feishuTemplate(_ status: EventStatus, _ severity: EventSeverity) -> String {
        switch (status, severity) {
        case (.resolved, _): "green"
        case (.firing, .critical): "red"
        case (.firing, .warning), (.info, .warning), (.info, .critical): "orange"
        default: "blue"
        }
    }
}
