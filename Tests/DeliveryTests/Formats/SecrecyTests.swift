import ConfigModel
import Delivery
import Foundation
import Testing

@Suite struct SecrecyTests {
    @Test func requestDescriptionHidesURLAndHeaderValues() throws {
        let formatter = FormatSamples.formatter(.opsgenie, url: "https://api.opsgenie.com/v2/alerts?token=SEKRET")
        let request = try #require(
            formatter.requests(
                for: FormatSamples.notification([FormatSamples.failed()]),
                message: FormatSamples.message,
                now: FormatSamples.now
            ).first
        )
        for text in [request.description, String(reflecting: request), "\(request.headers)"] {
            #expect(!text.contains("SEKRET"))
            #expect(!text.contains("genie-key-1"))
        }
        #expect(request.description.contains("Authorization"))
    }

    @Test func reasonsNeverQuoteASecret() {
        let formatter = FormatSamples.formatter(
            .dingtalk,
            url: "https://oapi.dingtalk.com/robot/send?access_token=TOKEN123",
            signingSecret: "SECsigning"
        )
        let transport = formatter.outcome(
            status: nil,
            headers: [],
            body: Data(),
            transportError: "could not post https://oapi.dingtalk.com/robot/send?access_token=TOKEN123&timestamp=1"
        )
        let echoed = formatter.outcome(
            status: 200,
            headers: [],
            body: Data(#"{"errcode":310000,"errmsg":"bad sign for SECsigning"}"#.utf8),
            transportError: nil
        )
        for outcome in [transport, echoed] {
            guard case .retry(let reason, _) = outcome else {
                Issue.record("got \(outcome)")
                continue
            }
            #expect(!reason.contains("TOKEN123"))
            #expect(!reason.contains("SECsigning"))
            #expect(reason.contains("<redacted>"))
        }
    }

    @Test func headerNamesThatHTTPCannotCarryAreDropped() throws {
        let formatter = FormatSamples.formatter(.generic, headers: ["\r\n": Secret("x"), "X-Ok\r\nEvil": Secret("v")])
        let request = try #require(
            formatter.requests(
                for: FormatSamples.notification([FormatSamples.failed()]),
                message: FormatSamples.message,
                now: FormatSamples.now
            ).first
        )
        #expect(request.headers.allSatisfy { !$0.name.isEmpty })
        #expect(request.header("X-OkEvil") == "v")
    }
}
