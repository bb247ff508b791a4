import Foundation

/// `alertmanager:` settings: obwatch's events posted as alerts to Prometheus Alertmanager's `POST /api/v2/alerts`.
package struct AlertmanagerSettings: Sendable, Hashable {
    /// How requests prove who sends them.
    package enum Authorization: Sendable, Hashable {
        /// `Authorization: Basic` from a user name and a password.
        case basic(username: String, password: Secret)
        /// `Authorization: Bearer` with a token.
        case bearer(Secret)
    }

    /// Alertmanager's base URL (`http://am.example.com:9093`, or with a path prefix when it runs under one);
    /// `/api/v2/alerts` is appended. A secret, since it may carry credentials.
    package var url: Secret
    /// The URL with its credentials and query hidden, for logs and `check`.
    package var redactedURL: String
    /// Basic auth or a bearer token, when Alertmanager (or a proxy before it) wants one.
    package var authorization: Authorization?
    /// A PEM CA file trusted besides the system's.
    package var caFile: String?
    /// How often open alerts are posted again, so that Alertmanager's `resolve_timeout` (5 minutes by default)
    /// never resolves them on its own; must stay well below that timeout.
    package var repostEvery: Duration
    /// `generatorURL` of every alert (a link back to obwatch's page, say), when set.
    package var generatorURL: String?

    /// The default re-post period: a minute, a fifth of Alertmanager's default `resolve_timeout`.
    package static let defaultRepostEvery: Duration = .seconds(60)

    /// Makes settings.
    package init(
        url: Secret,
        redactedURL: String,
        authorization: Authorization? = nil,
        caFile: String? = nil,
        repostEvery: Duration = Self.defaultRepostEvery,
        generatorURL: String? = nil
    ) {
        self.url = url
        self.redactedURL = redactedURL
        self.authorization = authorization
        self.caFile = caFile
        self.repostEvery = repostEvery
        self.generatorURL = generatorURL
    }
}
