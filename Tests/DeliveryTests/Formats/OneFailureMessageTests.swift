import ConfigModel
import Delivery
import Foundation
import Messages
import Testing
import Tracker

/// A failed DAG comes as `node_failed` and `failed` in one notification: every chat format shows it as one message
/// that names the node, the sub-task and its last log line once, and says in words what the events are.
@Suite struct OneFailureMessageTests {
    static let chatFormats: [WebhookFormat] = [.slack, .dingtalk, .feishu, .wecom, .teams]

    @Test("node_failed with its failed: one request, the log line once, no (+1 more)", arguments: Self.chatFormats)
    func oneMessage(format: WebhookFormat) throws {
        let log = "deploy timed out after 600 seconds"
        let notification = FormatSamples.notification([
            FormatSamples.nodeFailed(lastLog: log), FormatSamples.failed(lastLog: log),
        ])
        let renderer = try TemplateRenderer(format: format.rawValue, timeZone: TimeZone(identifier: "UTC") ?? .current)
        let message = renderer.render(receiver: "db-chat", rule: "failures", events: notification.events)
        let requests = FormatSamples.formatter(format).requests(
            for: notification,
            message: message,
            now: FormatSamples.now
        )
        #expect(requests.count == 1)
        let body = String(decoding: try #require(requests.first).body, as: UTF8.self)
        #expect(body.components(separatedBy: log).count == 2, "\(format): \(body)")
        #expect(body.components(separatedBy: "Wait remote deploy finish (FAILED/RUN)").count == 2)
        #expect(body.contains("Cluster scale out failed on prod-east (2 events: node failed, DAG failed)"))
        #expect(!body.contains("more)"))
    }

    @Test("the console line names the failed, not the node_failed it absorbed")
    func consoleLine() {
        let notification = FormatSamples.notification([FormatSamples.nodeFailed(), FormatSamples.failed()])
        let line = ConsoleSender.line(notification, title: "t")
        #expect(line.contains("FIRING   failed "))
    }
}

/// `test-receiver`'s samples: `[TEST]` leads every title, whatever the rule's template says.
@Suite struct TestMarkTests {
    @Test func everyTitleOfATestSaysTest() {
        let mark = SourcePosition(file: "t.yaml", line: 1, column: 1)
        let receiver = ReceiverConfig(
            name: "mail",
            kind: .email(
                EmailSettings(
                    relayURL: "smtp://127.0.0.1:25",
                    tls: .none,
                    from: "obwatch@example.com",
                    to: ["dba@example.com"]
                )
            ),
            delivery: DeliverySettings(timeout: .seconds(1), rateLimits: []),
            mark: mark
        )
        let rule = Rule(
            name: "custom",
            matcher: EventMatcher(types: .all),
            receivers: ["mail"],
            template: TemplateOverrides(title: TemplateSource(text: "{{dag.name}}", mark: mark)),
            mark: mark
        )
        let templates = MessageTemplates(receiver: receiver, rules: [rule], timeZone: .gmt)
        var event = FormatSamples.failed()
        #expect(
            templates.render(OutboundNotification(receiver: "mail", rule: "custom", events: [event])).title
                == "Cluster scale out"
        )
        event.type = .test
        let custom = templates.render(OutboundNotification(receiver: "mail", rule: "custom", events: [event]))
        #expect(custom.title == "[TEST] Cluster scale out")
        let fallback = templates.render(OutboundNotification(receiver: "mail", rule: "gone", events: [event]))
        #expect(fallback.title.hasPrefix("[TEST] [FIRING] "))
    }
}
