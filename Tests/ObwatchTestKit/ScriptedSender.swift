package import ConfigModel
package import Delivery
package import Foundation
import Synchronization

/// A receiver that answers from a script (then `delivered`), and records what it was given and when.
///
/// ``calls`` is a ``Recording``, so a test awaits "the third try" instead of spinning on a count.
package final class ScriptedSender: NotificationSender {
    /// One try: which notification, and the outbox's time when it was made.
    package struct Call: Sendable, Hashable {
        /// The notification's id.
        package var id: String
        /// The time the outbox handed over (its clock's wall time).
        package var at: Date
    }

    private let script: Mutex<[DeliveryOutcome]>
    /// Every try so far, in order.
    package let calls = Recording<Call>()

    /// Makes a sender that answers `script` in order, then `delivered` to everything.
    package init(_ script: [DeliveryOutcome] = []) {
        self.script = Mutex(script)
    }

    package func deliver(_ notification: OutboundNotification, now: Date) async -> DeliveryOutcome {
        let outcome = self.script.withLock { $0.isEmpty ? .delivered(answer: "ok") : $0.removeFirst() }
        self.calls.append(Call(id: notification.id, at: now))
        return outcome
    }

    /// The ids it was given, in order.
    package var ids: [String] { self.calls.all.map(\.id) }
    /// The times of its tries, in order.
    package var times: [Date] { self.calls.all.map(\.at) }
}

/// What an outbox reports: every try and every drop, in order, to await and to check.
///
/// Pass ``attempt(_:)`` and ``drop(_:)`` as the outbox's `onAttempt` and `onDrop`. ``reports`` records both, so a
/// wait on a queue's state (its depth, its journal) is asked again whenever the queue has done something.
package final class DeliveryRecorder: Sendable {
    /// A try or a drop.
    package enum Report: Sendable, Hashable {
        /// A try and its outcome.
        case attempt(DeliveryAttempt)
        /// A notification dropped undelivered.
        case drop(DeliveryDrop)
    }

    /// Every report, in order.
    package let reports = Recording<Report>()

    /// Makes an empty recorder.
    package init() {}

    /// Records a try (the outbox's `onAttempt`).
    package func attempt(_ attempt: DeliveryAttempt) { self.reports.append(.attempt(attempt)) }

    /// Records a drop (the outbox's `onDrop`).
    package func drop(_ drop: DeliveryDrop) { self.reports.append(.drop(drop)) }

    /// Every try so far.
    package var attempts: [DeliveryAttempt] {
        self.reports.all.compactMap { report in
            if case .attempt(let attempt) = report { return attempt }
            return nil
        }
    }

    /// Every drop so far.
    package var drops: [DeliveryDrop] {
        self.reports.all.compactMap { report in
            if case .drop(let drop) = report { return drop }
            return nil
        }
    }

    /// Waits until `count` tries have been reported.
    /// - Throws: ``TestTimeout`` when fewer were within `bound`.
    package func waitForAttempts(_ count: Int, within bound: Duration = TestBound.standard) async throws {
        try await self.reports.wait(until: "\(count) delivery attempts", within: bound) { reports in
            reports.count { if case .attempt = $0 { true } else { false } } >= count
        }
    }

    /// Waits until `condition` holds, asking it again after every try and drop: for a queue's state, which only
    /// changes together with one of them.
    /// - Throws: ``TestTimeout`` when it never held within `bound`.
    package func wait(
        until what: String,
        within bound: Duration = TestBound.standard,
        _ condition: @escaping @Sendable () async -> Bool
    ) async throws {
        try await self.reports.wait(until: what, within: bound, checking: condition)
    }
}
