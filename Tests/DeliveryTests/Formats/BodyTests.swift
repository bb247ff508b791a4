import ConfigModel
import Delivery
import Foundation
import Messages
import Testing
import Tracker

@Suite struct BodyTests {
    private func onlyRequest(_ formatter: WebhookFormatter, _ events: [Event]) throws -> WebhookRequest {
        let requests = formatter.requests(
            for: FormatSamples.notification(events),
            message: FormatSamples.message,
            now: FormatSamples.now
        )
        #expect(requests.count == 1)
        return try #require(requests.first)
    }

    @Test func genericCarriesTheEventsVerbatim() throws {
        let events = [FormatSamples.failed(), FormatSamples.stalled()]
        let notification = FormatSamples.notification(events)
        let formatter = FormatSamples.formatter(.generic, headers: ["X-Token": Secret("t0k\r\nX-Evil: 1")])
        let request = try self.onlyRequest(formatter, events)
        let text = String(decoding: request.body, as: UTF8.self)
        #expect(text.contains("\"events\":[" + events.map { $0.jsonLine() }.joined(separator: ",") + "]"))
        let body = try decodeObject(request.body)
        #expect(body["schema"] as? String == "obwatch.notification/v1")
        #expect(body["id"] as? String == notification.id)
        #expect(body["receiver"] as? String == "db-chat")
        #expect(body["rule"] as? String == "failures")
        #expect(body["status"] as? String == "firing")
        #expect(body["title"] as? String == FormatSamples.message.title)
        #expect(body["text"] as? String == FormatSamples.message.text)
        let decodedEvents = try #require(body["events"] as? [[String: Any]])
        #expect(decodedEvents.count == 2)
        #expect(decodedEvents.first?["id"] as? String == "ev-failed-11")
        #expect(request.method == "POST")
        #expect(request.url == "https://hooks.example.com/hook?token=abc")
        #expect(request.header("Content-Type") == "application/json")
        #expect(request.header("Idempotency-Key") == notification.id)
        #expect(request.header("X-Token") == "t0kX-Evil: 1")
        for header in request.headers {
            #expect(!header.value.contains("\r") && !header.value.contains("\n"))
        }
    }

    @Test func genericAndOpsgenieNameEveryRuleThatRoutedTheEvents() throws {
        let events = [FormatSamples.failed()]
        let notification = OutboundNotification(
            receiver: "db-chat",
            rule: "failures",
            otherRules: ["audit"],
            events: events
        )
        let generic = FormatSamples.formatter(.generic)
            .requests(for: notification, message: FormatSamples.message, now: FormatSamples.now)
        let genericRequest = try #require(generic.first)
        let text = String(decoding: genericRequest.body, as: UTF8.self)
        #expect(text.contains("\"rule\":\"failures\",\"rules\":[\"failures\",\"audit\"],\"status\":"))
        let body = try decodeObject(genericRequest.body)
        #expect(body["rules"] as? [String] == ["failures", "audit"])

        let opsgenie = FormatSamples.formatter(.opsgenie, url: "https://api.opsgenie.com/v2/alerts")
            .requests(for: notification, message: FormatSamples.message, now: FormatSamples.now)
        let opsgenieRequest = try #require(opsgenie.first)
        let details = try #require(try decodeObject(opsgenieRequest.body)["details"] as? [String: Any])
        #expect(details["rule"] as? String == "failures")
        #expect(details["rules"] as? String == "failures, audit")

        // A notification of one rule says so in `rules` too.
        let single = try decodeObject(try self.onlyRequest(FormatSamples.formatter(.generic), events).body)
        #expect(single["rules"] as? [String] == ["failures"])
    }

    @Test func configuredHeaderReplacesADefault() throws {
        let formatter = FormatSamples.formatter(.generic, headers: ["content-type": Secret("application/vnd.x+json")])
        let request = try self.onlyRequest(formatter, [FormatSamples.failed()])
        #expect(request.headers.filter { $0.name.lowercased() == "content-type" }.count == 1)
        #expect(request.header("Content-Type") == "application/vnd.x+json")
    }

    @Test func slackHasTextBlocksAndColour() throws {
        let request = try self.onlyRequest(FormatSamples.formatter(.slack), [FormatSamples.failed()])
        let body = try decodeObject(request.body)
        #expect(body["text"] as? String == "Cluster scale out failed")
        let blocks = try #require(body["blocks"] as? [[String: Any]])
        #expect(blocks.count == 1)
        #expect(blocks[0]["type"] as? String == "section")
        #expect(value(blocks[0], ["text", "type"]) as? String == "mrkdwn")
        #expect(
            value(blocks[0], ["text", "text"]) as? String
                == "*Cluster scale out failed*\nstage 4/9\nnode: Wait remote deploy"
        )
        let attachments = try #require(body["attachments"] as? [[String: Any]])
        #expect(attachments.first?["color"] as? String == "#d00000")

        let resolved = try self.onlyRequest(FormatSamples.formatter(.slack), [FormatSamples.retried()])
        let resolvedBody = try decodeObject(resolved.body)
        #expect((resolvedBody["attachments"] as? [[String: Any]])?.first?["color"] as? String == "#2eb886")
    }

    @Test func dingTalkMarkdownMentionsAndNeverAtAll() throws {
        let formatter = FormatSamples.formatter(.dingtalk, mentions: ["13800000000", "@all", "all", "<x>139"])
        let request = try self.onlyRequest(formatter, [FormatSamples.failed()])
        let body = try decodeObject(request.body)
        #expect(body["msgtype"] as? String == "markdown")
        #expect(value(body, ["markdown", "title"]) as? String == "Cluster scale out failed")
        let text = try #require(value(body, ["markdown", "text"]) as? String)
        #expect(text.hasPrefix("#### Cluster scale out failed\n\nstage 4/9"))
        #expect(text.hasSuffix("@13800000000 @x139"))
        #expect(value(body, ["at", "atMobiles"]) as? [String] == ["13800000000", "x139"])
        #expect(value(body, ["at", "isAtAll"]) as? Bool == false)
    }

    @Test func feishuInteractiveCard() throws {
        let request = try self.onlyRequest(FormatSamples.formatter(.feishu), [FormatSamples.stalled()])
        let body = try decodeObject(request.body)
        #expect(body["msg_type"] as? String == "interactive")
        #expect(value(body, ["card", "header", "title", "tag"]) as? String == "plain_text")
        #expect(value(body, ["card", "header", "title", "content"]) as? String == "Cluster scale out failed")
        #expect(value(body, ["card", "header", "template"]) as? String == "orange")
        let elements = try #require(value(body, ["card", "elements"]) as? [[String: Any]])
        #expect(elements.count == 1)
        #expect(elements[0]["tag"] as? String == "div")
        #expect(value(elements[0], ["text", "tag"]) as? String == "lark_md")
        #expect(value(elements[0], ["text", "content"]) as? String == FormatSamples.message.text)
    }

    @Test func weComMarkdownWithMentions() throws {
        let formatter = FormatSamples.formatter(.wecom, mentions: ["zhangsan", "@all"])
        let request = try self.onlyRequest(formatter, [FormatSamples.failed()])
        let body = try decodeObject(request.body)
        #expect(body["msgtype"] as? String == "markdown")
        #expect(
            value(body, ["markdown", "content"]) as? String
                == "**Cluster scale out failed**\nstage 4/9\nnode: Wait remote deploy\n<@zhangsan>"
        )
    }

    @Test func teamsAdaptiveCard() throws {
        let request = try self.onlyRequest(FormatSamples.formatter(.teams), [FormatSamples.failed()])
        let body = try decodeObject(request.body)
        #expect(body["type"] as? String == "message")
        let attachments = try #require(body["attachments"] as? [[String: Any]])
        #expect(attachments.count == 1)
        let attachment = attachments[0]
        #expect(attachment["contentType"] as? String == "application/vnd.microsoft.card.adaptive")
        #expect(attachment["contentUrl"] is NSNull)
        let content = try #require(attachment["content"] as? [String: Any])
        #expect(content["$schema"] as? String == "http://adaptivecards.io/schemas/adaptive-card.json")
        #expect(content["type"] as? String == "AdaptiveCard")
        #expect(content["version"] as? String == "1.2")
        #expect(value(content, ["msteams", "width"]) as? String == "full")
        let blocks = try #require(content["body"] as? [[String: Any]])
        #expect(blocks.count == 2)
        #expect(blocks[0]["type"] as? String == "TextBlock")
        #expect(blocks[0]["text"] as? String == "Cluster scale out failed")
        #expect(blocks[0]["weight"] as? String == "Bolder")
        #expect(blocks[0]["wrap"] as? Bool == true)
        #expect(blocks[1]["text"] as? String == FormatSamples.message.text)
        #expect(blocks[1]["wrap"] as? Bool == true)
    }

    @Test func pagerDutyTrigger() throws {
        let event = FormatSamples.failed()
        let request = try self.onlyRequest(FormatSamples.formatter(.pagerduty, url: ""), [event])
        #expect(request.url == "https://events.pagerduty.com/v2/enqueue")
        #expect(request.incident == "prod-east/11/failed")
        let body = try decodeObject(request.body)
        #expect(body["routing_key"] as? String == "R0UTINGKEY0123456789abcdef012345")
        #expect(body["event_action"] as? String == "trigger")
        #expect(body["dedup_key"] as? String == "prod-east/11/failed")
        #expect(body["client"] as? String == "obwatch")
        let payload = try #require(body["payload"] as? [String: Any])
        #expect(payload["summary"] as? String == event.summary)
        #expect(payload["source"] as? String == "prod-east")
        #expect(payload["severity"] as? String == "critical")
        #expect(payload["timestamp"] as? String == "2024-01-10T03:34:32.52Z")
        #expect(payload["component"] as? String == "Cluster scale out")
        #expect(payload["group"] as? String == "prod-east")
        #expect(payload["class"] as? String == "failed")
        let details = try #require(payload["custom_details"] as? [String: Any])
        #expect(details["id"] as? String == event.id)
        #expect(details["schema"] as? String == "obwatch.event/v1")
        #expect(String(decoding: request.body, as: UTF8.self).contains("\"custom_details\":" + event.jsonLine()))
    }

    @Test func pagerDutySeverityMapping() throws {
        let formatter = FormatSamples.formatter(.pagerduty)
        let cases: [(Event, String)] = [
            (FormatSamples.failed(), "critical"), (FormatSamples.stalled(), "warning"),
            (FormatSamples.started(), "info"),
        ]
        for (event, severity) in cases {
            let body = try decodeObject(try self.onlyRequest(formatter, [event]).body)
            #expect(value(body, ["payload", "severity"]) as? String == severity)
        }
        let started = try decodeObject(try self.onlyRequest(formatter, [FormatSamples.started()]).body)
        #expect(started["dedup_key"] as? String == "ev-started-13")
        #expect(started["event_action"] as? String == "trigger")
    }

    @Test func opsgenieCreate() throws {
        let event = FormatSamples.failed()
        let request = try self.onlyRequest(
            FormatSamples.formatter(.opsgenie, url: "https://api.opsgenie.com/v2/alerts"),
            [event]
        )
        #expect(request.url == "https://api.opsgenie.com/v2/alerts")
        #expect(request.header("Authorization") == "GenieKey genie-key-1")
        let body = try decodeObject(request.body)
        #expect(body["message"] as? String == event.summary)
        #expect(body["alias"] as? String == "prod-east/11/failed")
        #expect(body["description"] as? String == FormatSamples.message.text)
        #expect(body["entity"] as? String == "prod-east")
        #expect(body["source"] as? String == "obwatch")
        #expect(body["priority"] as? String == "P1")
        #expect(body["tags"] as? [String] == ["failed", "prod-east"])
        let details = try #require(body["details"] as? [String: Any])
        #expect(details.values.allSatisfy { $0 is String })
        #expect(details["event_id"] as? String == event.id)
        #expect(details["dag"] as? String == "Cluster scale out")
        let stalled = try decodeObject(
            try self.onlyRequest(FormatSamples.formatter(.opsgenie), [FormatSamples.stalled()]).body
        )
        #expect(stalled["priority"] as? String == "P3")
        let started = try decodeObject(
            try self.onlyRequest(FormatSamples.formatter(.opsgenie), [FormatSamples.started()]).body
        )
        #expect(started["priority"] as? String == "P5")
    }

    @Test func longMessagesAreCutForOpsgenieAndPagerDuty() throws {
        let longName = String(repeating: "名", count: 2_000)
        let event = FormatSamples.failed(dagName: longName)
        let og = try decodeObject(try self.onlyRequest(FormatSamples.formatter(.opsgenie), [event]).body)
        let message = try #require(og["message"] as? String)
        #expect(message.utf16.count <= 130)
        #expect(message.hasSuffix("…"))
        let pd = try decodeObject(try self.onlyRequest(FormatSamples.formatter(.pagerduty), [event]).body)
        let summary = try #require(value(pd, ["payload", "summary"]) as? String)
        #expect(summary.utf16.count <= 1024)
        #expect(summary.hasSuffix("…"))
    }
}
