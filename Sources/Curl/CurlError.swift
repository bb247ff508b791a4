/// A failed HTTP or SMTP transfer, or a request refused before any transfer started.
///
/// An HTTP response with an error status (404, 500, ...) is not a `CurlError`: it is an ``HTTPResponse`` whose
/// ``HTTPResponse/status`` says so. This type only describes transfers that produced no complete response.
///
/// Nothing in an error is secret: ``url`` has its user information, query and fragment replaced by `<redacted>`,
/// and passwords, user information and query strings are scrubbed from libcurl's own message before it is stored.
package struct CurlError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is; compare against the static constants.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case couldNotConnect
            case timedOut
            case tlsFailure
            case resolveFailed
            case protocolNotAllowed
            case invalidRequest
            case insecureTransport
            case cancelled
            case sendFailed
            case receiveFailed
            case loginDenied
            case mailRejected
            case responseTooLarge
            case other
        }

        private let value: Value

        private init(_ value: Value) {
            self.value = value
        }

        /// The peer refused the connection or could not be reached.
        package static let couldNotConnect = Code(.couldNotConnect)
        /// The request or connect timeout expired.
        package static let timedOut = Code(.timedOut)
        /// The TLS handshake failed or the peer's certificate was not trusted.
        package static let tlsFailure = Code(.tlsFailure)
        /// The host name could not be resolved.
        package static let resolveFailed = Code(.resolveFailed)
        /// The URL's scheme is not allowed for this kind of transfer (only http/https for HTTP, smtp/smtps for mail).
        package static let protocolNotAllowed = Code(.protocolNotAllowed)
        /// The request is malformed (bad URL, header, method, address or option); nothing was sent.
        package static let invalidRequest = Code(.invalidRequest)
        /// The request would send mail in plain text to a host that is not on loopback.
        package static let insecureTransport = Code(.insecureTransport)
        /// The awaiting task was cancelled, or the engine was shut down, before the transfer finished.
        package static let cancelled = Code(.cancelled)
        /// Sending data to the peer failed.
        package static let sendFailed = Code(.sendFailed)
        /// Receiving data from the peer failed, or the peer closed the connection without answering.
        package static let receiveFailed = Code(.receiveFailed)
        /// The SMTP server refused the user name or password.
        package static let loginDenied = Code(.loginDenied)
        /// The SMTP server refused the sender, a recipient or the message.
        package static let mailRejected = Code(.mailRejected)
        /// The response body exceeded the request's size limit.
        package static let responseTooLarge = Code(.responseTooLarge)
        /// Any other libcurl failure; see ``CurlError/curlCode``.
        package static let other = Code(.other)

        /// The code's name, such as `timedOut`.
        package var description: String {
            self.value.rawValue
        }
    }

    /// What kind of failure this is.
    package var code: Code
    /// A human explanation that never contains a secret.
    package var message: String
    /// libcurl's numeric `CURLcode`, when libcurl reported the failure.
    package var curlCode: Int?
    /// The text libcurl wrote into the transfer's error buffer, with secrets scrubbed; `nil` when it was empty.
    package var curlMessage: String?
    /// The request's URL with credentials, query and fragment redacted.
    package var url: String?
    /// The SMTP reply code or HTTP status last received from the peer, when there was one.
    package var peerCode: Int?
    /// The underlying error, when the failure came from Swift code rather than libcurl.
    package var cause: (any Error & Sendable)?

    /// Creates an error.
    /// - Parameters:
    ///   - code: What kind of failure this is.
    ///   - message: A human explanation; it must not contain secrets.
    ///   - curlCode: libcurl's numeric `CURLcode`, if any.
    ///   - curlMessage: libcurl's error-buffer text, already scrubbed of secrets.
    ///   - url: The redacted URL.
    ///   - peerCode: The last SMTP reply code or HTTP status received.
    ///   - cause: The underlying error.
    package init(
        code: Code,
        message: String,
        curlCode: Int? = nil,
        curlMessage: String? = nil,
        url: String? = nil,
        peerCode: Int? = nil,
        cause: (any Error & Sendable)? = nil
    ) {
        self.code = code
        self.message = message
        self.curlCode = curlCode
        self.curlMessage = curlMessage
        self.url = url
        self.peerCode = peerCode
        self.cause = cause
    }

    /// One line: the message, libcurl's detail, URL and peer code, for logs and people (the code's name stays out).
    package var description: String {
        var text = self.message
        if let curlMessage = self.curlMessage, curlMessage != self.message {
            text += " (\(curlMessage))"
        }
        if let curlCode = self.curlCode {
            text += " [CURLcode \(curlCode)]"
        }
        if let peerCode = self.peerCode {
            text += " [peer replied \(peerCode)]"
        }
        if let url = self.url {
            text += " url=\(url)"
        }
        if let cause = self.cause {
            text += " cause: \(cause)"
        }
        return text
    }
}
