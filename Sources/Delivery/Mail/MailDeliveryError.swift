package import Curl

/// A mail that was not handed to the relay, and whether trying again later can help.
///
/// Never contains the SMTP password: messages are built from codes and libcurl's scrubbed text, and the password
/// is cut out once more before the error is made.
package struct MailDeliveryError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is; compare against the static constants.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case connectionFailed
            case timedOut
            case tlsFailed
            case authenticationFailed
            case rejected
            case invalidRequest
            case cancelled
            case other
        }

        private let value: Value

        private init(_ value: Value) {
            self.value = value
        }

        /// The relay could not be resolved or reached, or the connection broke.
        package static let connectionFailed = Code(.connectionFailed)
        /// The transfer took longer than the timeout.
        package static let timedOut = Code(.timedOut)
        /// TLS failed: no STARTTLS offered while it is required, a handshake error, or an untrusted certificate.
        package static let tlsFailed = Code(.tlsFailed)
        /// The relay refused the user name or password.
        package static let authenticationFailed = Code(.authenticationFailed)
        /// The relay refused the sender, a recipient or the message.
        package static let rejected = Code(.rejected)
        /// The settings cannot make a valid transfer (URL, scheme, plain text to a remote relay, an address).
        package static let invalidRequest = Code(.invalidRequest)
        /// The send was cancelled before it finished.
        package static let cancelled = Code(.cancelled)
        /// Any other failure.
        package static let other = Code(.other)

        /// The code's name, such as `timedOut`.
        package var description: String {
            self.value.rawValue
        }
    }

    /// What kind of failure this is.
    package var code: Code
    /// A human explanation, free of secrets.
    package var message: String
    /// Whether a later try may succeed: connection trouble, timeouts and 4xx replies are retryable; 5xx replies
    /// (a refused recipient or login) and invalid settings are permanent.
    package var retryable: Bool
    /// The relay's last SMTP reply code, when it sent one.
    package var replyCode: Int?
    /// libcurl's failure, already scrubbed of secrets.
    package var cause: CurlError?

    /// Makes an error.
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - message: A human explanation; it must not contain secrets.
    ///   - retryable: Whether a later try may succeed.
    ///   - replyCode: The relay's SMTP reply code.
    ///   - cause: The underlying transfer error.
    package init(code: Code, message: String, retryable: Bool, replyCode: Int? = nil, cause: CurlError? = nil) {
        self.code = code
        self.message = message
        self.retryable = retryable
        self.replyCode = replyCode
        self.cause = cause
    }

    /// One line for logs: the message, the reply code and whether it will be retried.
    package var description: String {
        var text = self.message
        if let replyCode = self.replyCode {
            text += " [SMTP \(replyCode)]"
        }
        text += self.retryable ? " (will be retried)" : " (will not be retried)"
        return text
    }
}
