import ConfigModel
package import Foundation

extension WebhookFormatter {
    /// DingTalk's, Feishu's and WeCom's throttle answers come without a Retry-After; a minute is the window their
    /// per-minute limits count in.
    static let throttleWindow: Duration = .seconds(60)

    /// Judges the far end's answer to one request of this format.
    ///
    /// Chat vendors report most failures inside an HTTP 200, so their bodies are read: an unexpected answer is
    /// never taken for a delivery.
    /// - Parameters:
    ///   - status: The HTTP status, `nil` when no answer came.
    ///   - headers: The answer's headers (names in any case).
    ///   - body: The answer's body.
    ///   - transportError: What went wrong before an answer (connection refused, timeout); always a retry.
    ///   - now: The current time, used only for a `Retry-After` HTTP-date when the answer has no `Date` header.
    package func outcome(
        status: Int?,
        headers: [(String, String)],
        body: Data,
        transportError: String?,
        now: Date? = nil
    ) -> WebhookOutcome {
        switch self.judge(status: status, headers: headers, body: body, transportError: transportError, now: now) {
        case .delivered: .delivered
        case .retry(let reason, let after): .retry(reason: self.scrubbed(reason), after: after)
        case .rejected(let reason): .rejected(reason: self.scrubbed(reason))
        }
    }

    private func judge(
        status: Int?,
        headers: [(String, String)],
        body: Data,
        transportError: String?,
        now: Date?
    ) -> WebhookOutcome {
        guard let status, transportError == nil else {
            let what = transportError.map { TextLimits.truncated(TextLimits.oneLine($0), characters: 300) }
            return .retry(reason: "no answer: " + (what ?? "no HTTP status"), after: nil)
        }
        let answer = Answer(status: status, headers: headers, body: body, now: now)
        switch self.settings.format {
        case .generic:
            if answer.isSuccess { return .delivered }
            if [408, 425, 429].contains(status) || answer.isServerError { return answer.retry() }
            return answer.rejected()
        case .slack:
            if status == 200 && answer.text.trimmingCharacters(in: .whitespacesAndNewlines) == "ok" {
                return .delivered
            }
            if status == 429 || answer.isServerError { return answer.retry() }
            return answer.rejected()
        case .dingtalk:
            return Self.vendorCodeOutcome(answer, vendor: "DingTalk", codeKeys: ["errcode"], messageKeys: ["errmsg"]) {
                $0 == 130_101
            }
        case .feishu:
            return Self.vendorCodeOutcome(
                answer,
                vendor: "Feishu",
                codeKeys: ["code", "StatusCode"],
                messageKeys: ["msg", "StatusMessage"]
            ) { $0 == 11_232 || $0 == 9_499 }
        case .wecom:
            return Self.vendorCodeOutcome(answer, vendor: "WeCom", codeKeys: ["errcode"], messageKeys: ["errmsg"]) {
                $0 == 45_009
            }
        case .teams:
            // The legacy connectors answer 200 and put their throttling in the text.
            if answer.isSuccess && answer.text.contains("HTTP error 429") {
                return .retry(reason: answer.describe("throttled"), after: answer.retryAfter)
            }
            if answer.isSuccess { return .delivered }
            if status == 429 || answer.isServerError { return answer.retry() }
            return answer.rejected()
        case .pagerduty:
            if answer.isSuccess { return .delivered }
            if status == 429 || answer.isServerError { return answer.retry() }
            return answer.rejected()
        case .opsgenie:
            if answer.isSuccess { return .delivered }
            if status == 429 || answer.isServerError {
                let window = answer.header("X-RateLimit-Period-In-Sec").flatMap {
                    HTTPDate.retryAfter($0, reference: nil)
                }
                return .retry(reason: answer.describe(nil), after: answer.retryAfter ?? window)
            }
            return answer.rejected()
        }
    }

    /// The chat robots that answer `{"errcode": N, "errmsg": "..."}` (or `code`/`msg`): code 0 in a 2xx is the
    /// only success; a throttle code waits a minute; any other code is retried, since a robot set up wrong (keyword,
    /// signature, IP list) recovers once its operator fixes it, and the outbox's `max_age` bounds the attempts.
    private static func vendorCodeOutcome(
        _ answer: Answer,
        vendor: String,
        codeKeys: [String],
        messageKeys: [String],
        isThrottle: (Int64) -> Bool
    ) -> WebhookOutcome {
        if answer.status == 429 || answer.isServerError { return answer.retry() }
        let object = answer.jsonObject
        let code = codeKeys.lazy.compactMap { object?[$0].flatMap(Self.integer) }.first
        let message = messageKeys.lazy.compactMap { object?[$0] as? String }.first ?? ""
        guard let code else {
            if answer.isSuccess {
                return .retry(reason: answer.describe("\(vendor) answered without a result code"), after: nil)
            }
            return answer.rejected()
        }
        if code == 0 && answer.isSuccess { return .delivered }
        let shownMessage = TextLimits.truncated(TextLimits.oneLine(message), characters: 300)
        let reason = "HTTP \(answer.status), \(vendor) code \(code): \(shownMessage)"
        if isThrottle(code) { return .retry(reason: reason, after: answer.retryAfter ?? Self.throttleWindow) }
        return .retry(reason: reason, after: answer.retryAfter)
    }

    /// A JSON number (or a numeric string, which some gateways send) as an integer.
    private static func integer(_ value: Any) -> Int64? {
        if let number = value as? NSNumber {
            let double = number.doubleValue
            guard double.isFinite, double == double.rounded(), abs(double) < 9e15 else { return nil }
            return Int64(double)
        }
        if let text = value as? String { return Int64(text.trimmingCharacters(in: .whitespaces)) }
        return nil
    }
}

/// One answer of the far end, with what the classifications read from it.
private struct Answer {
    let status: Int
    let headers: [(String, String)]
    let body: Data
    let now: Date?

    var isSuccess: Bool { (200..<300).contains(self.status) }
    var isServerError: Bool { (500..<600).contains(self.status) }

    /// The start of the body as text, invalid UTF-8 repaired: what is matched or quoted is always near the start,
    /// and a gateway's error page can be megabytes.
    var text: String { String(decoding: self.body.prefix(4_096), as: UTF8.self) }

    /// The body as a JSON object, when it is one.
    var jsonObject: [String: Any]? {
        // A gateway page can be megabytes of HTML; JSON answers of these vendors are small.
        guard !self.body.isEmpty, self.body.count <= 1_000_000 else { return nil }
        return (try? JSONSerialization.jsonObject(with: self.body)) as? [String: Any]
    }

    func header(_ name: String) -> String? {
        self.headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    /// The delay `Retry-After` asks for.
    var retryAfter: Duration? {
        guard let value = self.header("Retry-After") else { return nil }
        let reference = self.header("Date").flatMap(HTTPDate.parse) ?? self.now
        return HTTPDate.retryAfter(value, reference: reference)
    }

    /// `HTTP 503: <start of the body>`, on one line and short.
    func describe(_ note: String?) -> String {
        var reason = "HTTP \(self.status)"
        if let note { reason += ", " + note }
        let snippet = TextLimits.truncated(
            TextLimits.oneLine(self.text).trimmingCharacters(in: .whitespaces),
            characters: 200
        )
        if !snippet.isEmpty { reason += ": " + snippet }
        return reason
    }

    func retry() -> WebhookOutcome { .retry(reason: self.describe(nil), after: self.retryAfter) }

    func rejected() -> WebhookOutcome { .rejected(reason: self.describe(nil)) }
}
