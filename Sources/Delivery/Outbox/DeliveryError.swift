/// Why the outbox could not take or keep a notification.
package struct DeliveryError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case storage, unknownReceiver, stopped, fenced
        }
        private let kind: Kind

        /// A journal or the shared outbox cannot be written (thrown by ``OutboxFile``, whose queues deliver from memory
        /// instead, and by a store's routing step).
        package static let storage = Code(kind: .storage)
        /// No receiver has that name.
        static let unknownReceiver = Code(kind: .unknownReceiver)
        /// The outbox is shutting down.
        package static let stopped = Code(kind: .stopped)
        /// The target's lease fence refused the work: this instance no longer holds the target (or never did), so
        /// the events were not routed and must not be retried by it.
        package static let fenced = Code(kind: .fenced)

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
