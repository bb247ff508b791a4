/// Why the outbox could not take or keep a notification.
public struct DeliveryError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case storage, unknownReceiver, stopped
        }
        private let kind: Kind

        /// A journal cannot be written (thrown by ``OutboxFile``; the queues deliver from memory instead).
        public static let storage = Code(kind: .storage)
        /// No receiver has that name.
        public static let unknownReceiver = Code(kind: .unknownReceiver)
        /// The outbox is shutting down.
        public static let stopped = Code(kind: .stopped)

        public var description: String { self.kind.rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// What went wrong.
    public var message: String
    /// The underlying reason.
    public var cause: String?

    /// Makes an error.
    public init(code: Code, message: String, cause: String? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { self.cause.map { "\(self.message): \($0)" } ?? self.message }
}
