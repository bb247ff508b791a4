public import ConfigModel
public import Delivery
public import Foundation
import Synchronization

/// A receiver that answers from a script (then `delivered`), and records what it was given and when.
///
/// ``calls`` is a ``Recording``, so a test awaits "the third try" instead of spinning on a count.
public final class ScriptedSender: NotificationSender {
    /// One try: which notification, and the outbox's time when it was made.
    public struct Call: Sendable, Hashable {
        /// The notification's id.
        public var id: String
        /// The time the outbox handed over (its clock's wall time).
        public var at: Date
    }

    private let script: Mutex<[DeliveryOutcome]>
    /// Every try so far, in order.
    public let calls = Recording<Call>()

    /// Makes a sender that answers `script` in order, then `delivered` to everything.
    public init(_ script: [DeliveryOutcome] = []) {
        self.script = Mutex(script)
    }

    public func deliver(_ notification: OutboundNotification, now: Date) async -> DeliveryOutcome {
        let outcome = self.script.withLock { $0.isEmpty ? .delivered(answer: "ok") : $0.removeFirst() }
        self.calls.append(Call(id: notification.id, at: now))
        return outcome
    }

    /// The ids it was given, in order.
    public var ids: [String] { self.calls.all.map(\.id) }
    /// The times of its tries, in order.
    public var times: [Date] { self.calls.all.map(\.at) }
}

/// What an outbox reports: every try and every drop, in order, to await and to check.
///
/// Pass ``attempt(_:)`` and ``drop(_:)`` as the outbox's `onAttempt` and `onDrop`. ``reports`` records both, so a
/// wait on a queue's state (its depth, its journal) is asked again whenever the queue has done something.
public final class DeliveryRecorder: Sendable {
    /// A try or a drop.
    public enum Report: Sendable, Hashable {
        /// A try and its outcome.
        case attempt(DeliveryAttempt)
        /// A notification dropped undelivered.
        case drop(DeliveryDrop)
    }

    /// Every report, in order.
    public let reports = Recording<Report>()

    /// Makes an empty recorder.
    public init() {}

    /// Records a try (the outbox's `onAttempt`).
    public func attempt(_ attempt: DeliveryAttempt) { self.reports.append(.attempt(attempt)) }

    /// Records a drop (the outbox's `onDrop`).
    public func drop(_ drop: DeliveryDrop) { self.reports.append(.drop(drop)) }

    /// Every try so far.
    public var attempts: [DeliveryAttempt] {
        self.reports.all.compactMap { report in
            if case .attempt(let attempt) = report { return attempt }
            return nil
        }
    }

    /// Every drop so far.
    public var drops: [DeliveryDrop] {
        self.reports.all.compactMap { report in
            if case .drop(let drop) = report { return drop }
            return nil
        }
    }

    /// Waits until `count` tries have been reported.
    /// - Throws: ``TestTimeout`` when fewer were within `bound`.
    public func waitForAttempts(_ count: Int, within bound: Duration = TestBound.standard) async throws {
        try await self.reports.wait(until: "\(count) delivery attempts", within: bound) { reports in
            reports.count { if case .attempt = $0 { true } else { false } } >= count
        }
    }

    /// Waits until `condition` holds, asking it again after every try and drop: for a queue's state, which only
    /// changes together with one of them.
    /// - Throws: ``TestTimeout`` when it never held within `bound`.
    public func wait(
        until what: String,
        within bound: Duration = TestBound.standard,
        _ condition: @escaping @Sendable () async -> Bool
    ) async throws {
        try await self.reports.wait(until: what, within: bound, checking: condition)
    }
}
