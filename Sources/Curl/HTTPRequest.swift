package import Foundation

/// An HTTP request: method, target, headers, optional body and the transfer's limits.
///
/// Redirects are not followed unless ``followRedirects`` is set: a 3xx answer is returned as a response, because a
/// monitoring daemon should report where a service moved rather than silently chase it (and a redirect could carry
/// credentials to another host). Only `http` and `https` are ever allowed, on redirects too.
///
/// URL targets honour libcurl's proxy environment variables (`http_proxy`, `https_proxy`, `no_proxy`); unix-socket
/// targets never use a proxy.
package struct HTTPRequest: Sendable {
    /// The request method.
    package var method: HTTPMethod
    /// Where the request goes.
    package var target: HTTPTarget
    /// The request headers, sent in order. libcurl adds `Host` and, with a body, `Content-Length`.
    ///
    /// With a body and no `Content-Type`, no `Content-Type` is sent (libcurl would otherwise claim
    /// `application/x-www-form-urlencoded`); `Expect: 100-continue` is suppressed unless an `Expect` header is given.
    package var headers: HTTPHeaders
    /// The request body; `nil` sends none. A `POST` without a body sends `Content-Length: 0`.
    package var body: Data?
    /// The limit for the whole transfer, connection included.
    package var timeout: Duration
    /// The limit for establishing the connection (TCP and TLS handshake).
    package var connectTimeout: Duration
    /// How the TLS peer is verified for `https`.
    package var tls: TLSOptions
    /// Whether 3xx redirects to other `http`/`https` URLs are followed (at most ten).
    package var followRedirects: Bool
    /// The largest response body accepted; a larger one fails with ``CurlError/Code/responseTooLarge``.
    package var maxResponseBytes: Int
    /// Whether errors show the URL's path as `<redacted>` too, for webhook URLs whose path is the secret (Slack,
    /// Feishu). User information and query are always redacted.
    package var hidesPathInErrors: Bool
    /// Whether the response's header lines are read into ``HTTPResponse/headers``; a caller that reads only the
    /// status and body (an agent poll) turns it off and saves a string per header line. On by default.
    package var keepsResponseHeaders = true

    /// Creates a request to a target.
    /// - Parameters:
    ///   - method: The request method.
    ///   - target: Where the request goes.
    ///   - headers: The request headers.
    ///   - body: The request body, or `nil`.
    ///   - timeout: The limit for the whole transfer.
    ///   - connectTimeout: The limit for establishing the connection.
    ///   - tls: How the TLS peer is verified.
    ///   - followRedirects: Whether redirects are followed.
    ///   - maxResponseBytes: The largest response body accepted.
    ///   - hidesPathInErrors: Whether errors redact the URL's path as well.
    package init(
        method: HTTPMethod = .get,
        target: HTTPTarget,
        headers: HTTPHeaders = [:],
        body: Data? = nil,
        timeout: Duration = .seconds(30),
        connectTimeout: Duration = .seconds(10),
        tls: TLSOptions = TLSOptions(),
        followRedirects: Bool = false,
        maxResponseBytes: Int = 64 << 20,
        hidesPathInErrors: Bool = false
    ) {
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.tls = tls
        self.followRedirects = followRedirects
        self.maxResponseBytes = maxResponseBytes
        self.hidesPathInErrors = hidesPathInErrors
    }

    /// Creates a request to a URL.
    /// - Parameters:
    ///   - method: The request method.
    ///   - url: An `http://` or `https://` URL.
    ///   - headers: The request headers.
    ///   - body: The request body, or `nil`.
    ///   - timeout: The limit for the whole transfer.
    package init(
        method: HTTPMethod = .get,
        url: String,
        headers: HTTPHeaders = [:],
        body: Data? = nil,
        timeout: Duration = .seconds(30)
    ) {
        self.init(method: method, target: .url(url), headers: headers, body: body, timeout: timeout)
    }
}
