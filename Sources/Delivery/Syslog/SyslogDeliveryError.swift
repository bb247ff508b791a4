/// A syslog message that did not reach the collector's socket.
package struct SyslogDeliveryError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is; compare against the static constants.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case invalidAddress
            case resolveFailed
            case connectFailed
            case sendFailed
            case timedOut
            case messageTooLarge
        }

        private let value: Value

        private init(_ value: Value) {
            self.value = value
        }

        /// The address cannot be used (a unix path too long for `sun_path`, a port out of range).
        package static let invalidAddress = Code(.invalidAddress)
        /// The host name did not resolve.
        package static let resolveFailed = Code(.resolveFailed)
        /// No connection could be made (refused, unreachable, no socket at the path).
        package static let connectFailed = Code(.connectFailed)
        /// Writing failed, or the peer closed the connection.
        package static let sendFailed = Code(.sendFailed)
        /// Connecting or writing took longer than the timeout.
        package static let timedOut = Code(.timedOut)
        /// The message does not fit in one datagram.
        static let messageTooLarge = Code(.messageTooLarge)

        /// The code's name, such as `timedOut`.
        package var description: String {
            self.value.rawValue
        }
    }

    /// What kind of failure this is.
    package var code: Code
    /// A human explanation.
    package var message: String
    /// The `errno` of the failed call, when there was one.
    package var errorNumber: Int32?
    /// The address the message was for, as configured.
    package var address: String

    /// Whether a later try may succeed: everything but an unusable address or an oversized message.
    package var retryable: Bool {
        self.code != .invalidAddress && self.code != .messageTooLarge
    }

    /// Makes an error.
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - message: A human explanation.
    ///   - errorNumber: The `errno`, if any.
    ///   - address: The configured address.
    package init(code: Code, message: String, errorNumber: Int32? = nil, address: String) {
        self.code = code
        self.message = message
        self.errorNumber = errorNumber
        self.address = address
    }

    /// One line for logs.
    package var description: String {
        var text = "\(self.message) (\(self.address))"
        if let errorNumber = self.errorNumber {
            text += " [errno \(errorNumber)]"
        }
        return text
    }
}
