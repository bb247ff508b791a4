package import ConfigModel
package import Curl
package import Foundation

/// Hands built mails (``MailMessage``) to the receiver's SMTP relay through libcurl, and sorts failures into
/// retryable and permanent ones for the outbox.
package struct MailSender: Sendable {
    /// The relay and addresses.
    package let settings: EmailSettings
    /// The limit for one whole transfer, connection included.
    package let timeout: Duration
    private let engine: CurlEngine

    /// The longest time spent connecting (TCP and TLS), within ``timeout``.
    static let connectLimit: Duration = .seconds(10)

    /// Makes a sender.
    /// - Parameters:
    ///   - settings: The receiver's `email:` settings (the configuration already refused plain text to a remote
    ///     relay; libcurl refuses it again).
    ///   - timeout: The limit for one transfer.
    ///   - engine: The transfer engine; tests may pass their own.
    package init(settings: EmailSettings, timeout: Duration, engine: CurlEngine = .shared) {
        self.settings = settings
        self.timeout = timeout
        self.engine = engine
    }

    /// Sends one message to every `to` address.
    /// - Parameter message: The RFC 5322 bytes from ``MailMessage/build(notification:message:settings:hostname:now:)``.
    /// - Returns: The relay's reply code and the transfer's duration.
    /// - Throws: ``MailDeliveryError``, whose `retryable` tells the outbox whether to try again.
    package func send(_ message: Data) async throws(MailDeliveryError) -> MailResponse {
        do {
            return try await self.engine.send(self.request(message))
        } catch {
            throw self.classify(error)
        }
    }

    /// The transfer for a message: envelope addresses are the bare addresses of `from` and `to`.
    func request(_ message: Data) -> MailRequest {
        var credentials: MailCredentials?
        if let username = self.settings.username, !username.isEmpty {
            credentials = MailCredentials(username: username, password: self.settings.password?.revealed ?? "")
        }
        let tls: MailTLSMode =
            switch self.settings.tls {
            case .starttls: .starttls
            case .implicit: .implicit
            case .none: .none
            }
        return MailRequest(
            server: self.settings.relayURL,
            tls: tls,
            credentials: credentials,
            sender: MailAddress(self.settings.from).address,
            recipients: self.settings.to.map { MailAddress($0).address },
            message: message,
            timeout: self.timeout,
            connectTimeout: min(self.timeout, Self.connectLimit),
            tlsOptions: TLSOptions(caFile: self.settings.caFile)
        )
    }

    /// Maps a transfer failure to a delivery error: 4xx replies and connection trouble are worth retrying, 5xx
    /// replies and requests that can never be valid are not.
    func classify(_ error: CurlError) -> MailDeliveryError {
        let scrubbed = self.scrub(error)
        let reply = error.peerCode.flatMap { (200..<600).contains($0) ? $0 : nil }
        let transient = reply.map { (400..<500).contains($0) }
        let code: MailDeliveryError.Code
        let retryable: Bool
        switch error.code {
        case .couldNotConnect, .resolveFailed, .sendFailed, .receiveFailed:
            code = .connectionFailed
            retryable = transient ?? true
        case .timedOut:
            code = .timedOut
            retryable = true
        case .tlsFailure:
            // A relay that stopped offering STARTTLS or presents an expired certificate is fixed by its operator;
            // retrying until the age limit keeps the mail instead of dropping it at once.
            code = .tlsFailed
            retryable = true
        case .loginDenied:
            code = .authenticationFailed
            retryable = transient ?? false
        case .mailRejected:
            code = .rejected
            retryable = transient ?? false
        case .protocolNotAllowed, .invalidRequest, .insecureTransport:
            code = .invalidRequest
            retryable = false
        case .cancelled:
            code = .cancelled
            retryable = true
        default:
            code = .other
            retryable = transient ?? true
        }
        var message = "mail to \(self.redactedRelay) failed: \(scrubbed.message)"
        if let detail = scrubbed.curlMessage, detail != scrubbed.message {
            message += " (\(detail))"
        }
        return MailDeliveryError(
            code: code,
            message: self.redact(message),
            retryable: retryable,
            replyCode: reply,
            cause: scrubbed
        )
    }

    /// The relay URL without user information, for messages.
    private var redactedRelay: String {
        guard var components = URLComponents(string: self.settings.relayURL) else { return "the relay" }
        components.user = nil
        components.password = nil
        components.query = nil
        components.fragment = nil
        return self.redact(components.string ?? "the relay")
    }

    /// libcurl's error with the password cut out of its texts, whatever libcurl did already.
    private func scrub(_ error: CurlError) -> CurlError {
        var copy = error
        copy.message = self.redact(copy.message)
        copy.curlMessage = copy.curlMessage.map(self.redact)
        copy.url = copy.url.map(self.redact)
        if let cause = copy.cause, self.contains(secretIn: String(describing: cause)) {
            copy.cause = nil
        }
        return copy
    }

    private func contains(secretIn text: String) -> Bool {
        guard let password = self.settings.password?.revealed, !password.isEmpty else { return false }
        return text.contains(password)
    }

    private func redact(_ text: String) -> String {
        guard let password = self.settings.password?.revealed, !password.isEmpty else { return text }
        return text.replacingOccurrences(of: password, with: "<redacted>")
    }
}
