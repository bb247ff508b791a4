package import ConfigModel
package import Foundation
package import Messages
import Support
import Tracker

/// Turns a notification into the HTTP requests of one webhook format, and judges the far end's answers.
///
/// Pure: no network and no clock (signatures take `now`). Every body is written by ``OrderedJSON``, so no agent text
/// can break out of its string, and each vendor's size limit is kept by cutting the message text.
package struct WebhookFormatter: Sendable {
    /// The receiver's webhook settings.
    package let settings: WebhookSettings

    /// Feishu's documented body limit (20 KB), with room left for what its gateway adds.
    static let feishuBodyLimit = 20_000
    /// Teams' documented message limit (28 KB).
    static let teamsBodyLimit = 28_000
    /// WeCom's markdown content limit, in UTF-8 bytes.
    static let weComContentLimit = 4_096
    /// DingTalk documents no exact figure; its robots refuse messages near 20 KB, so the same budget as Feishu.
    static let dingTalkBodyLimit = 20_000
    /// Slack refuses a section block whose text is longer than 3000 characters.
    static let slackSectionLimit = 3_000
    /// Chat headers and titles: longer ones are cut so the text keeps the room.
    static let titleLimit = 256

    /// Makes a formatter for one receiver.
    /// - Parameter settings: The receiver's `webhook:` settings.
    package init(settings: WebhookSettings) {
        self.settings = settings
    }

    /// The requests that deliver a notification.
    ///
    /// Chat formats and `generic` give one request. PagerDuty and Opsgenie give one per incident (one per event
    /// for events without an incident): trigger/create when the incident's last event fires or informs,
    /// resolve/close when it resolves.
    /// - Parameters:
    ///   - notification: What the receiver is sent.
    ///   - message: Title and text, rendered (and escaped) for this format by the template layer.
    ///   - now: The current time, for signatures.
    package func requests(
        for notification: OutboundNotification,
        message: RenderedMessage,
        now: Date
    ) -> [WebhookRequest] {
        switch self.settings.format {
        case .generic: [self.genericRequest(notification, message)]
        case .slack: [self.slackRequest(notification, message)]
        case .dingtalk: [self.dingTalkRequest(notification, message, now: now)]
        case .feishu: [self.feishuRequest(notification, message, now: now)]
        case .wecom: [self.weComRequest(notification, message)]
        case .teams: [self.teamsRequest(notification, message)]
        case .pagerduty: self.pagerDutyRequests(notification, message)
        case .opsgenie: self.opsgenieRequests(notification, message)
        }
    }

    // MARK: - Shared pieces

    /// The configured URL, or the vendor's fixed endpoint when none is configured.
    var url: String {
        let configured = self.settings.url.revealed
        if configured.isEmpty, let fixed = self.settings.format.defaultURL { return fixed }
        return configured
    }

    /// The redacted URL, or the vendor's fixed endpoint (which holds no secret) when none is configured.
    var redactedURL: String {
        if self.settings.redactedURL.isEmpty, let fixed = self.settings.format.defaultURL { return fixed }
        return self.settings.redactedURL
    }

    /// `Content-Type: application/json`, the format's own headers, then the configured ones (which replace a
    /// default of the same name).
    func headers(_ own: [WebhookHeader] = []) -> [WebhookHeader] {
        let configured = self.settings.headers.keys.sorted().compactMap { name -> WebhookHeader? in
            guard let value = self.settings.headers[name] else { return nil }
            return WebhookHeader(name: name, value: value.revealed)
        }
        .filter { !$0.name.isEmpty }
        let replaced = Set(configured.map { $0.name.lowercased() })
        let defaults = [WebhookHeader(name: "Content-Type", value: "application/json")] + own
        return defaults.filter { !replaced.contains($0.name.lowercased()) } + configured
    }

    /// The text with every configured secret (the URL with its token, signing secret, keys, header values)
    /// replaced, for reasons that quote a transport error or a vendor's answer.
    func scrubbed(_ text: String) -> String {
        var secrets = [self.settings.url, self.settings.signingSecret, self.settings.routingKey, self.settings.apiKey]
            .compactMap { $0?.revealed }
        secrets += self.settings.headers.values.map(\.revealed)
        var result = text
        // Longest first, so that a URL is hidden whole before a key inside it is looked for.
        for secret in secrets.sorted(by: { $0.count > $1.count }) where secret.count >= 4 {
            result = result.replacingOccurrences(of: secret, with: "<redacted>")
        }
        return result
    }

    /// The most urgent severity among the events.
    static func severity(of notification: OutboundNotification) -> EventSeverity {
        let severities = notification.events.map(\.severity)
        if severities.contains(.critical) { return .critical }
        if severities.contains(.warning) { return .warning }
        return .info
    }

    /// The title on one line and short enough for a chat header.
    static func chatTitle(_ message: RenderedMessage) -> String {
        TextLimits.truncated(TextLimits.oneLine(message.title), characters: Self.titleLimit)
    }

    /// Mentions that can only mention the person named: no `@all`, nothing that could close or open markup.
    var safeMentions: [String] {
        var seen: Set<String> = []
        return self.settings.mentions.compactMap { mention -> String? in
            var kept = String(
                String.UnicodeScalarView(
                    mention.unicodeScalars.filter { scalar in
                        scalar.value > 0x20 && scalar.value != 0x7F
                            && !"<>\"'&@*_`[]()\\".unicodeScalars.contains(scalar)
                            && !scalar.properties.isWhitespace
                    }
                )
            )
            kept = TextLimits.truncated(kept, characters: 64)
            guard !kept.isEmpty, kept.lowercased() != "all", !seen.contains(kept) else { return nil }
            seen.insert(kept)
            return kept
        }
    }

    /// The body, its text cut (with "…") until the whole body fits in `limit` bytes.
    /// - Parameters:
    ///   - text: The message text, the only part that is cut.
    ///   - limit: The body's byte limit.
    ///   - build: Makes the body around a text.
    static func fitted(text: String, limit: Int, build: (String) -> OrderedJSON) -> Data {
        let full = build(text).webhookBody
        if full.count <= limit { return full }
        // The text's share is the limit less the rest of the body; parts that appear only around a non-empty text
        // (a separator) can overshoot, so the budget shrinks by the excess until the body fits.
        var budget = limit - build("").webhookBody.count
        while budget > 0 {
            let body = build(TextLimits.truncated(text, jsonBytes: budget)).webhookBody
            if body.count <= limit { return body }
            budget -= body.count - limit
        }
        return build("").webhookBody
    }
}
