package import Foundation

/// One HTTP header of a webhook request.
package struct WebhookHeader: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The header's name, e.g. `Content-Type`.
    package var name: String
    /// The header's value; never holds CR or LF.
    package var value: String

    /// Makes a header, removing CR, LF and other control characters so that no value can start a header of its own.
    /// - Parameters:
    ///   - name: The name; characters that HTTP does not allow in a name are dropped.
    ///   - value: The value.
    package init(name: String, value: String) {
        self.name = String(String.UnicodeScalarView(name.unicodeScalars.filter(Self.isTokenCharacter)))
        self.value = String(
            String.UnicodeScalarView(value.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F })
        )
    }

    /// The name only: values such as `Authorization` are secrets.
    package var description: String { "\(self.name): <hidden>" }
    /// The same as ``description``.
    package var debugDescription: String { self.description }

    private static func isTokenCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9": true
        case "!", "#", "$", "%", "&", "'", "*", "+", "-", ".", "^", "_", "`", "|", "~": true
        default: false
        }
    }
}

/// What the sender will POST for one notification (or for one incident of it).
///
/// `url` is the real URL, which carries the vendor's token (and a DingTalk signature): log ``redactedURL`` only.
package struct WebhookRequest: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The HTTP method, always `POST`.
    package var method: String
    /// The URL to post to, secrets included: never log it.
    package var url: String
    /// The URL with its query and credentials hidden, for logs.
    package var redactedURL: String
    /// The request headers, in the order they are sent.
    package var headers: [WebhookHeader]
    /// The JSON body.
    package var body: Data
    /// For PagerDuty and Opsgenie: the incident (dedup key, alias) the request opens or closes.
    package var incident: String?

    /// Makes a request.
    /// - Parameters:
    ///   - method: The HTTP method.
    ///   - url: The real URL.
    ///   - redactedURL: The URL for logs.
    ///   - headers: The headers.
    ///   - body: The body.
    ///   - incident: The incident the request is about, for paging formats.
    package init(
        method: String = "POST",
        url: String,
        redactedURL: String,
        headers: [WebhookHeader],
        body: Data,
        incident: String? = nil
    ) {
        self.method = method
        self.url = url
        self.redactedURL = redactedURL
        self.headers = headers
        self.body = body
        self.incident = incident
    }

    /// Method, redacted URL, header names and body size: never the secrets a request carries.
    package var description: String {
        let names = self.headers.map(\.name).joined(separator: ", ")
        return "\(self.method) \(self.redactedURL) [\(names)] \(self.body.count) bytes"
    }

    /// The same as ``description``.
    package var debugDescription: String { self.description }

    /// The value of the first header with this name, compared without regard to case.
    /// - Parameter name: The header's name.
    package func header(_ name: String) -> String? {
        self.headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// How the far end answered one webhook request.
package enum WebhookOutcome: Sendable, Hashable {
    /// The vendor took the message.
    case delivered
    /// A passing failure (throttling, a server error, a robot set up wrong): try again, after `after` when the
    /// vendor said how long (Retry-After, or its documented throttle window), else after the outbox's backoff.
    case retry(reason: String, after: Duration?)
    /// A permanent failure: sending the same request again cannot help (a bad payload, a 400).
    case rejected(reason: String)
}
