package import ConfigModel
package import Foundation

/// Puts one notification on the wire for one receiver and judges the answer. Implementations never throw: every
/// failure is an outcome, so the outbox decides about retries in one place.
package protocol NotificationSender: Sendable {
    /// Tries once to deliver.
    /// - Parameters:
    ///   - notification: What to send.
    ///   - now: The outbox's clock, for signatures and message dates.
    func deliver(_ notification: OutboundNotification, now: Date) async -> DeliveryOutcome
}
