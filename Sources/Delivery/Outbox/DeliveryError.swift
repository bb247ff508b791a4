/// Why the outbox could not take or keep a notification.
package struct DeliveryError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case storage, unknownReceiver, stopped
        }
        private let kind: Kind

        /// A journal cannot be written (thrown by ``OutboxFile``; the queues deliver from memory instead).
        package static let storage = Code(kind: .storage)
        /// No receiver has that name.
        static let unknownReceiver = Code(kind: .unknownReceiver)
        /// The outbox is shutting down.
        package static let stopped = Code(kind: .stopped)

        package var description: String { self.kind.rawValue }
    }

    /// The kind of failure.
    package var code: Code
    /// What went wrong.
    package var message: String
    /// The underlying reason.
    package var cause: String?

    /// Makes an error.
    package init(code: Code, message: String, cause: String? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    package var description: String { self.cause.map { "\(self.message): \($0)" } ?? self.message }
}
