import ConfigModel
import Delivery
import Foundation
import Testing

/// One row of a classification table: an answer and the outcome kind it must give.
struct OutcomeRow: Sendable, CustomStringConvertible {
    enum Kind: Sendable { case delivered, retry, rejected }

    var format: WebhookFormat
    var status: Int?
    var body: String
    var headers: [(String, String)] = []
    var kind: Kind
    var after: Duration?

    var description: String { "\(self.format) \(self.status.map(String.init) ?? "nil") \(self.body.prefix(40))" }
}

@Suite struct OutcomeTests {
    static let rows: [OutcomeRow] = [
        // generic: 2xx, then the transient statuses, then everything else permanent.
        OutcomeRow(format: .generic, status: 200, body: "", kind: .delivered),
        OutcomeRow(format: .generic, status: 204, body: "", kind: .delivered),
        OutcomeRow(format: .generic, status: 408, body: "", kind: .retry),
        OutcomeRow(format: .generic, status: 425, body: "", kind: .retry),
        OutcomeRow(
            format: .generic,
            status: 429,
            body: "",
            headers: [("Retry-After", "7")],
            kind: .retry,
            after: .seconds(7)
        ),
        OutcomeRow(format: .generic, status: 500, body: "boom", kind: .retry),
        OutcomeRow(
            format: .generic,
            status: 503,
            body: "",
            headers: [("retry-after", "120")],
            kind: .retry,
            after: .seconds(120)
        ),
        OutcomeRow(format: .generic, status: 400, body: "bad", kind: .rejected),
        OutcomeRow(format: .generic, status: 404, body: "", kind: .rejected),
        OutcomeRow(format: .generic, status: 301, body: "", kind: .rejected),
        // slack: only 200 "ok" delivers.
        OutcomeRow(format: .slack, status: 200, body: "ok", kind: .delivered),
        OutcomeRow(format: .slack, status: 200, body: "ok\n", kind: .delivered),
        OutcomeRow(format: .slack, status: 200, body: "something else", kind: .rejected),
        OutcomeRow(format: .slack, status: 400, body: "invalid_payload", kind: .rejected),
        OutcomeRow(format: .slack, status: 404, body: "channel_not_found", kind: .rejected),
        OutcomeRow(format: .slack, status: 410, body: "channel_is_archived", kind: .rejected),
        OutcomeRow(
            format: .slack,
            status: 429,
            body: "rate_limited",
            headers: [("Retry-After", "1")],
            kind: .retry,
            after: .seconds(1)
        ),
        OutcomeRow(format: .slack, status: 502, body: "", kind: .retry),
        // dingtalk: errors inside HTTP 200.
        OutcomeRow(format: .dingtalk, status: 200, body: #"{"errcode":0,"errmsg":"ok"}"#, kind: .delivered),
        OutcomeRow(
            format: .dingtalk,
            status: 200,
            body: #"{"errcode":310000,"errmsg":"keywords not in content"}"#,
            kind: .retry
        ),
        OutcomeRow(
            format: .dingtalk,
            status: 200,
            body: #"{"errcode":130101,"errmsg":"send too fast"}"#,
            kind: .retry,
            after: .seconds(60)
        ),
        OutcomeRow(format: .dingtalk, status: 200, body: #"{"errcode":"0","errmsg":"ok"}"#, kind: .delivered),
        OutcomeRow(format: .dingtalk, status: 200, body: "<html>gateway</html>", kind: .retry),
        OutcomeRow(format: .dingtalk, status: 200, body: "", kind: .retry),
        OutcomeRow(format: .dingtalk, status: 200, body: "[1,2]", kind: .retry),
        OutcomeRow(format: .dingtalk, status: 502, body: "", kind: .retry),
        OutcomeRow(format: .dingtalk, status: 404, body: "not found", kind: .rejected),
        // feishu: code or StatusCode.
        OutcomeRow(format: .feishu, status: 200, body: #"{"code":0,"msg":"success","data":{}}"#, kind: .delivered),
        OutcomeRow(
            format: .feishu,
            status: 200,
            body: #"{"StatusCode":0,"StatusMessage":"success"}"#,
            kind: .delivered
        ),
        OutcomeRow(format: .feishu, status: 200, body: #"{"code":19021,"msg":"sign match fail"}"#, kind: .retry),
        OutcomeRow(
            format: .feishu,
            status: 200,
            body: #"{"code":11232,"msg":"frequency limited"}"#,
            kind: .retry,
            after: .seconds(60)
        ),
        OutcomeRow(
            format: .feishu,
            status: 200,
            body: #"{"code":9499,"msg":"Too Many Request"}"#,
            kind: .retry,
            after: .seconds(60)
        ),
        OutcomeRow(format: .feishu, status: 400, body: #"{"code":19002,"msg":"params error"}"#, kind: .retry),
        OutcomeRow(format: .feishu, status: 200, body: "not json", kind: .retry),
        OutcomeRow(format: .feishu, status: 403, body: "forbidden", kind: .rejected),
        // wecom.
        OutcomeRow(format: .wecom, status: 200, body: #"{"errcode":0,"errmsg":"ok"}"#, kind: .delivered),
        OutcomeRow(
            format: .wecom,
            status: 200,
            body: #"{"errcode":45009,"errmsg":"api freq out of limit"}"#,
            kind: .retry,
            after: .seconds(60)
        ),
        OutcomeRow(
            format: .wecom,
            status: 200,
            body: #"{"errcode":93000,"errmsg":"invalid webhook url"}"#,
            kind: .retry
        ),
        OutcomeRow(format: .wecom, status: 200, body: "", kind: .retry),
        // teams.
        OutcomeRow(format: .teams, status: 202, body: "", kind: .delivered),
        OutcomeRow(format: .teams, status: 200, body: "1", kind: .delivered),
        OutcomeRow(
            format: .teams,
            status: 200,
            body: "Microsoft Teams endpoint returned HTTP error 429 with ContextId abc",
            kind: .retry
        ),
        OutcomeRow(
            format: .teams,
            status: 429,
            body: "",
            headers: [("Retry-After", "3")],
            kind: .retry,
            after: .seconds(3)
        ),
        OutcomeRow(format: .teams, status: 500, body: "", kind: .retry),
        OutcomeRow(format: .teams, status: 400, body: "bad card", kind: .rejected),
        OutcomeRow(format: .teams, status: 401, body: "", kind: .rejected),
        // pagerduty.
        OutcomeRow(format: .pagerduty, status: 202, body: #"{"status":"success","dedup_key":"k"}"#, kind: .delivered),
        OutcomeRow(format: .pagerduty, status: 400, body: #"{"status":"invalid event"}"#, kind: .rejected),
        OutcomeRow(format: .pagerduty, status: 429, body: "", kind: .retry),
        OutcomeRow(format: .pagerduty, status: 500, body: "", kind: .retry),
        OutcomeRow(format: .pagerduty, status: 503, body: "", kind: .retry),
        // opsgenie.
        OutcomeRow(format: .opsgenie, status: 202, body: #"{"result":"Request will be processed"}"#, kind: .delivered),
        OutcomeRow(
            format: .opsgenie,
            status: 429,
            body: "",
            headers: [("X-RateLimit-Period-In-Sec", "60")],
            kind: .retry,
            after: .seconds(60)
        ),
        OutcomeRow(format: .opsgenie, status: 502, body: "", kind: .retry),
        OutcomeRow(format: .opsgenie, status: 422, body: #"{"message":"bad"}"#, kind: .rejected),
        OutcomeRow(format: .opsgenie, status: 401, body: "", kind: .rejected),
    ]

    @Test(arguments: Self.rows)
    func classification(_ row: OutcomeRow) {
        let outcome = FormatSamples.formatter(row.format)
            .outcome(status: row.status, headers: row.headers, body: Data(row.body.utf8), transportError: nil)
        switch (row.kind, outcome) {
        case (.delivered, .delivered), (.rejected, .rejected): break
        case (.retry, .retry(_, let after)): #expect(after == row.after)
        default: Issue.record("\(row): got \(outcome)")
        }
    }

    @Test(arguments: WebhookFormat.allCases)
    func transportErrorIsAlwaysRetry(_ format: WebhookFormat) {
        let formatter = FormatSamples.formatter(format)
        let refused = formatter.outcome(status: nil, headers: [], body: Data(), transportError: "connection refused")
        #expect(refused == .retry(reason: "no answer: connection refused", after: nil))
        let silent = formatter.outcome(status: nil, headers: [], body: Data(), transportError: nil)
        guard case .retry = silent else {
            Issue.record("no status gave \(silent)")
            return
        }
    }

    @Test func dingTalkErrorMessageIsInTheReason() {
        let outcome = FormatSamples.formatter(.dingtalk)
            .outcome(
                status: 200,
                headers: [],
                body: Data(#"{"errcode":310000,"errmsg":"sign not match, more: [https://x]"}"#.utf8),
                transportError: nil
            )
        guard case .retry(let reason, let after) = outcome else {
            Issue.record("got \(outcome)")
            return
        }
        #expect(reason.contains("310000"))
        #expect(reason.contains("sign not match"))
        #expect(after == nil)
    }

    @Test func slackInvalidPayloadIsRejectedWithItsCode() {
        let outcome = FormatSamples.formatter(.slack)
            .outcome(status: 400, headers: [], body: Data("invalid_payload".utf8), transportError: nil)
        #expect(outcome == .rejected(reason: "HTTP 400: invalid_payload"))
    }

    @Test func retryAfterAsHTTPDateIsMeasuredFromTheDateHeader() {
        let formatter = FormatSamples.formatter(.generic)
        let outcome = formatter.outcome(
            status: 503,
            headers: [("Date", "Wed, 21 Oct 2015 07:28:00 GMT"), ("Retry-After", "Wed, 21 Oct 2015 07:30:30 GMT")],
            body: Data(),
            transportError: nil
        )
        #expect(outcome == .retry(reason: "HTTP 503", after: .seconds(150)))
    }

    @Test func retryAfterAsHTTPDateWithoutDateHeaderUsesNow() throws {
        let now = try #require(ISO8601DateFormatter().date(from: "2015-10-21T07:28:00Z"))
        let formatter = FormatSamples.formatter(.slack)
        let forms = ["Wed, 21 Oct 2015 07:29:00 GMT", "Wednesday, 21-Oct-15 07:29:00 GMT", "Wed Oct 21 07:29:00 2015"]
        for form in forms {
            let outcome = formatter.outcome(
                status: 429,
                headers: [("Retry-After", form)],
                body: Data(),
                transportError: nil,
                now: now
            )
            #expect(outcome == .retry(reason: "HTTP 429", after: .seconds(60)), "\(form)")
        }
        let past = formatter.outcome(
            status: 429,
            headers: [("Retry-After", "Wed, 21 Oct 2015 07:00:00 GMT")],
            body: Data(),
            transportError: nil,
            now: now
        )
        #expect(past == .retry(reason: "HTTP 429", after: .zero))
        let unmeasurable = formatter.outcome(
            status: 429,
            headers: [("Retry-After", "Wed, 21 Oct 2015 07:29:00 GMT")],
            body: Data(),
            transportError: nil
        )
        #expect(unmeasurable == .retry(reason: "HTTP 429", after: nil))
    }

    @Test func oddRetryAfterValuesDoNotCrash() {
        let formatter = FormatSamples.formatter(.generic)
        let cases: [(String, Duration?)] = [
            ("99999999999999999999999", .seconds(86_400)), ("-5", nil), ("soon", nil), ("", nil), ("1.5", nil),
            ("Wed, 32 Oct 2015 07:29:00 GMT", nil),
        ]
        for (value, expected) in cases {
            let outcome = formatter.outcome(
                status: 429,
                headers: [("Retry-After", value)],
                body: Data(),
                transportError: nil
            )
            guard case .retry(_, let after) = outcome else {
                Issue.record("\(value): \(outcome)")
                continue
            }
            #expect(after == expected, "\(value)")
        }
    }

    @Test func reasonsStayShortAndOnOneLine() {
        let body = Data((String(repeating: "x", count: 10_000) + "\r\nSecond-Line: y").utf8)
        let outcome = FormatSamples.formatter(.generic).outcome(
            status: 500,
            headers: [],
            body: body,
            transportError: nil
        )
        guard case .retry(let reason, _) = outcome else {
            Issue.record("got \(outcome)")
            return
        }
        #expect(reason.count < 300)
        #expect(!reason.contains("\n") && !reason.contains("\r"))
    }
}
