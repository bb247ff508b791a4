package import ConfigModel
package import Foundation
import Tracker

/// The compiled templates of one receiver: one renderer per rule that notifies it (the rule's `template:` over the
/// format's defaults), and the plain defaults for a rule that is gone (a reload removed it while its notifications
/// still waited in the outbox).
package struct MessageTemplates: Sendable {
    /// The format rendered for.
    package let format: String
    /// Where `at_local` is written, and the zone of timestamps that carry none (RFC 3164 syslog).
    package let timeZone: TimeZone
    private let byRule: [String: TemplateRenderer]
    private let fallback: TemplateRenderer?

    /// Compiles the templates; the configuration passed `check`, so they compile.
    /// - Parameters:
    ///   - receiver: The receiver.
    ///   - rules: Every rule of the configuration; those that notify `receiver` are compiled.
    ///   - timeZone: Where `at_local` is written.
    package init(receiver: ReceiverConfig, rules: [Rule], timeZone: TimeZone) {
        self.format = receiver.formatName
        self.timeZone = timeZone
        var byRule: [String: TemplateRenderer] = [:]
        for rule in rules where rule.receivers.contains(receiver.name) {
            byRule[rule.name] = try? TemplateRenderer(
                format: receiver.formatName,
                overrides: rule.template,
                timeZone: timeZone
            )
        }
        self.byRule = byRule
        self.fallback = try? TemplateRenderer(format: receiver.formatName, timeZone: timeZone)
    }

    /// Compiles the templates of `receiver` from a configuration: its rules, in its ``ObwatchConfig/messageTimeZone``.
    /// - Parameters:
    ///   - receiver: The receiver.
    ///   - config: The configuration it belongs to.
    package init(receiver: ReceiverConfig, config: ObwatchConfig) {
        self.init(receiver: receiver, rules: config.rules, timeZone: config.messageTimeZone)
    }

    /// The title and text of a notification; the title of a `test-receiver` sample starts with `[TEST]` whatever the
    /// rule's template says, so that no one takes it for a real failure.
    package func render(_ notification: OutboundNotification) -> RenderedMessage {
        var message: RenderedMessage
        if let renderer = self.byRule[notification.rule] ?? self.fallback {
            message = renderer.render(
                receiver: notification.receiver,
                rule: notification.rule,
                rules: notification.rules,
                events: notification.events
            )
        } else {
            let summary = notification.events.map(\.summary).joined(separator: "\n")
            message = RenderedMessage(
                title: notification.events.first?.summary ?? "obwatch notification",
                text: summary
            )
        }
        if notification.events.contains(where: { $0.type == .test }), !message.title.hasPrefix(Self.testMark) {
            message.title = Self.testMark + " " + message.title
        }
        return message
    }

    /// What marks a test in every title, subject and syslog message.
    package static let testMark = "[TEST]"
}
