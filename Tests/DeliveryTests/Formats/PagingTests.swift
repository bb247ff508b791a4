import ConfigModel
import Delivery
import Foundation
import Messages
import Testing
import Tracker

@Suite struct PagingTests {
    private func requests(_ format: WebhookFormat, _ events: [Event]) -> [WebhookRequest] {
        FormatSamples.formatter(format, url: format == .opsgenie ? "https://api.opsgenie.com/v2/alerts/" : "")
            .requests(for: FormatSamples.notification(events), message: FormatSamples.message, now: FormatSamples.now)
    }

    @Test func twoIncidentsGiveTwoPagerDutyRequests() throws {
        let requests = self.requests(.pagerduty, [FormatSamples.failed(), FormatSamples.stalled()])
        #expect(requests.count == 2)
        let keys = try requests.map { try decodeObject($0.body)["dedup_key"] as? String }
        #expect(keys == ["prod-east/11/failed", "prod-east/12/stalled"])
        #expect(requests.map(\.incident) == ["prod-east/11/failed", "prod-east/12/stalled"])
    }

    @Test func pagerDutyResolveUsesTheFiringDedupKey() throws {
        let firing = try #require(self.requests(.pagerduty, [FormatSamples.failed()]).first)
        let resolved = try #require(self.requests(.pagerduty, [FormatSamples.retried()]).first)
        let firingBody = try decodeObject(firing.body)
        let resolvedBody = try decodeObject(resolved.body)
        #expect(firingBody["event_action"] as? String == "trigger")
        #expect(resolvedBody["event_action"] as? String == "resolve")
        #expect(resolvedBody["dedup_key"] as? String == firingBody["dedup_key"] as? String)
        #expect(resolvedBody["routing_key"] as? String == firingBody["routing_key"] as? String)
    }

    @Test func theLastEventOfAnIncidentDecides() throws {
        let requests = self.requests(
            .pagerduty,
            [FormatSamples.failed(), FormatSamples.started(), FormatSamples.retried()]
        )
        #expect(requests.count == 2)
        let actions = try requests.map { try decodeObject($0.body)["event_action"] as? String }
        #expect(actions == ["resolve", "trigger"])
    }

    @Test func twoIncidentsGiveTwoOpsgenieRequests() throws {
        let requests = self.requests(.opsgenie, [FormatSamples.failed(), FormatSamples.stalled()])
        #expect(requests.count == 2)
        let aliases = try requests.map { try decodeObject($0.body)["alias"] as? String }
        #expect(aliases == ["prod-east/11/failed", "prod-east/12/stalled"])
        #expect(requests.allSatisfy { $0.url == "https://api.opsgenie.com/v2/alerts/" })
    }

    @Test func opsgenieCloseUsesTheFiringAlias() throws {
        let firing = try #require(self.requests(.opsgenie, [FormatSamples.failed()]).first)
        let alias = try #require(try decodeObject(firing.body)["alias"] as? String)
        let close = try #require(self.requests(.opsgenie, [FormatSamples.retried()]).first)
        #expect(close.url == "https://api.opsgenie.com/v2/alerts/prod-east%2F11%2Ffailed/close?identifierType=alias")
        #expect(close.incident == alias)
        #expect(close.header("Authorization") == "GenieKey genie-key-1")
        let body = try decodeObject(close.body)
        #expect(body["source"] as? String == "obwatch")
        #expect(body["note"] as? String == FormatSamples.message.title)
        #expect(!close.redactedURL.contains("genie"))
    }

    @Test func longIncidentKeysStayWithinLimitsAndAgree() throws {
        let incident = "prod-east/" + String(repeating: "x", count: 600) + "/failed"
        var firing = FormatSamples.failed()
        firing.incident = incident
        var resolved = FormatSamples.retried()
        resolved.incident = incident
        for (format, key, limit) in [(WebhookFormat.pagerduty, "dedup_key", 255), (.opsgenie, "alias", 512)] {
            let open = try #require(self.requests(format, [firing]).first)
            let openKey = try #require(try decodeObject(open.body)[key] as? String)
            #expect(openKey.utf8.count <= limit)
            let close = try #require(self.requests(format, [resolved]).first)
            #expect(close.incident == openKey)
        }
    }

    @Test func chatFormatsGiveOneRequestForManyIncidents() {
        for format in [WebhookFormat.generic, .slack, .dingtalk, .feishu, .wecom, .teams] {
            #expect(self.requests(format, [FormatSamples.failed(), FormatSamples.stalled()]).count == 1)
        }
    }
}
