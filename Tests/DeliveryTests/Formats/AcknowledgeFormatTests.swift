import ConfigModel
import Delivery
import Foundation
import Messages
import Testing
import Tracker

@Suite("Paging formats: an acknowledgement (obwatch ack)")
struct AcknowledgeFormatTests {
    private func acknowledgement(_ format: WebhookFormat) throws -> WebhookRequest {
        var notification = FormatSamples.notification([FormatSamples.failed()])
        notification.acknowledgedBy = "me"
        let formatter = FormatSamples.formatter(
            format,
            url: format == .opsgenie ? "https://api.opsgenie.com/v2/alerts/" : ""
        )
        let requests = formatter.requests(for: notification, message: FormatSamples.message, now: FormatSamples.now)
        #expect(requests.count == 1)
        return try #require(requests.first)
    }

    @Test("PagerDuty: event_action acknowledge with the incident's dedup_key")
    func pagerDuty() throws {
        let body = try decodeObject(try self.acknowledgement(.pagerduty).body)
        #expect(body["event_action"] as? String == "acknowledge")
        #expect(body["dedup_key"] as? String == "prod-east/11/failed")
        #expect(body["payload"] == nil)
    }

    @Test("Opsgenie: POST /v2/alerts/{alias}/acknowledge?identifierType=alias, user the author")
    func opsgenie() throws {
        let request = try self.acknowledgement(.opsgenie)
        #expect(
            request.url
                == "https://api.opsgenie.com/v2/alerts/prod-east%2F11%2Ffailed/acknowledge?identifierType=alias"
        )
        let body = try decodeObject(request.body)
        #expect(body["user"] as? String == "me")
        #expect(body["source"] as? String == "obwatch")
    }
}
