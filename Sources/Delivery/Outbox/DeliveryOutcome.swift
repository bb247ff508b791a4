package import Foundation

/// What one try to deliver a notification gave.
package enum DeliveryOutcome: Sendable, Hashable {
    /// The far end took it; `answer` is what it said (status and the start of the body), for `test-receiver` and
    /// the debug log.
    case delivered(answer: String)
    /// It may work later: a timeout, a refused connection, a 5xx or 429, a vendor error code in a 200. `after` is
    /// the far end's own wait (Retry-After, a throttle window) when it gave one.
    case retry(reason: String, after: Duration?)
    /// It cannot work however often it is tried (a 400 for the payload, a refused recipient): dropped at once, with
    /// an error line and a counter.
    case rejected(reason: String)

    /// A short word for logs and metrics: `delivered`, `retry` or `rejected`.
    package var word: String {
        switch self {
        case .delivered: "delivered"
        case .retry: "retry"
        case .rejected: "rejected"
        }
    }
}

/// One record of the outbox's work, for tests, logs and metrics.
package struct DeliveryAttempt: Sendable, Hashable {
    /// The receiver.
    package var receiver: String
    /// The notification's id.
    package var notificationID: String
    /// When the try started, on the outbox's clock.
    package var at: Date
    /// How many tries this notification has had, this one included.
    package var attempt: Int
    /// What it gave.
    package var outcome: DeliveryOutcome
}

/// What happened to a notification when it left the queue without being delivered.
package struct DeliveryDrop: Sendable, Hashable {
    /// Why it was dropped.
    package enum Reason: String, Sendable, Hashable {
        /// The far end refused it for good.
        case rejected
        /// It stayed undelivered past the receiver's `max_age`.
        case expired
    }

    /// The receiver.
    package var receiver: String
    /// The notification's id.
    package var notificationID: String
    /// Why.
    package var reason: Reason
    /// The last answer or error.
    package var detail: String
}
