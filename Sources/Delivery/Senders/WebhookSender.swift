package import ConfigModel
package import Curl
package import Foundation
package import Messages

/// Delivers through a chat or paging webhook: renders the message, builds the vendor's request(s), posts them with
/// libcurl, and judges each answer the vendor's way (an `errcode` in an HTTP 200 is a failure).
package struct WebhookSender: NotificationSender {
    private let formatter: WebhookFormatter
    private let templates: MessageTemplates
    private let timeout: Duration
    private let tls: TLSOptions
    private let engine: CurlEngine

    /// Makes a sender.
    /// - Parameters:
    ///   - settings: The webhook.
    ///   - templates: The receiver's compiled templates.
    ///   - timeout: How long one request may take.
    ///   - engine: The curl engine.
    package init(
        settings: WebhookSettings,
        templates: MessageTemplates,
        timeout: Duration,
        engine: CurlEngine = .shared
    ) {
        self.formatter = WebhookFormatter(settings: settings)
        self.templates = templates
        self.timeout = timeout
        self.tls = TLSOptions(caFile: settings.caFile)
        self.engine = engine
    }

    package func deliver(_ notification: OutboundNotification, now: Date) async -> DeliveryOutcome {
        let message = self.templates.render(notification)
        var answers: [String] = []
        // PagerDuty and Opsgenie get one request per incident; a failure of any retries the notification, and the
        // ones already taken are idempotent there (dedup_key, alias).
        for request in self.formatter.requests(for: notification, message: message, now: now) {
            let outcome: WebhookOutcome
            var answer = ""
            do {
                let response = try await self.engine.perform(
                    HTTPRequest(
                        method: HTTPMethod(request.method),
                        target: .url(request.url),
                        headers: HTTPHeaders(request.headers.map { HTTPHeader(name: $0.name, value: $0.value) }),
                        body: request.body,
                        timeout: self.timeout,
                        connectTimeout: min(self.timeout, .seconds(10)),
                        tls: self.tls,
                        maxResponseBytes: 1 << 20,
                        hidesPathInErrors: true
                    )
                )
                answer = Self.describe(status: response.status, body: response.body)
                outcome = self.formatter.outcome(
                    status: response.status,
                    headers: response.headers.map { ($0.name, $0.value) },
                    body: response.body,
                    transportError: nil,
                    now: now
                )
            } catch {
                answer = error.message
                outcome = self.formatter.outcome(
                    status: nil,
                    headers: [],
                    body: Data(),
                    transportError: error.message,
                    now: now
                )
            }
            switch outcome {
            case .delivered:
                answers.append(answer)
            case .retry(let reason, let after):
                return .retry(reason: reason, after: after)
            case .rejected(let reason):
                return .rejected(reason: reason)
            }
        }
        return .delivered(answer: answers.joined(separator: "; "))
    }

    /// `HTTP 200: {"errcode":0,...}`, the body cut to 200 characters on one line.
    static func describe(status: Int, body: Data) -> String {
        var text = String(decoding: body.prefix(400), as: UTF8.self)
        text = String(text.map { $0.isNewline ? " " : $0 }.prefix(200))
        return text.isEmpty ? "HTTP \(status)" : "HTTP \(status): \(text)"
    }
}
