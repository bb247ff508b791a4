public import Foundation
public import Rules
import Tracker

/// The compiled templates of one receiver: one renderer per rule that notifies it (the rule's `template:` over the
/// format's defaults), and the plain defaults for a rule that is gone (a reload removed it while its notifications
/// still waited in the outbox).
public struct MessageTemplates: Sendable {
    /// The format rendered for.
    public let format: String
    private let byRule: [String: TemplateRenderer]
    private let fallback: TemplateRenderer?

    /// Compiles the templates; the configuration passed `check`, so they compile.
    /// - Parameters:
    ///   - receiver: The receiver.
    ///   - rules: Every rule of the configuration; those that notify `receiver` are compiled.
    ///   - timeZone: Where `at_local` is written.
    public init(receiver: ReceiverConfig, rules: [Rule], timeZone: TimeZone) {
        self.format = receiver.formatName
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

    /// The title and text of a notification; the title of a `test-receiver` sample starts with `[TEST]` whatever the
    /// rule's template says, so that no one takes it for a real failure.
    public func render(_ notification: OutboundNotification) -> RenderedMessage {
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
    public static let testMark = "[TEST]"
}
