package import Foundation

/// When a failing target is worth a log line: when it starts failing or its kind of failure changes, then a reminder
/// at most every ``reminderInterval``, and once more when it recovers. A target polled every second that stays down
/// for a night writes a few dozen lines, not tens of thousands.
package struct FailureLog: Sendable, Hashable {
    /// The longest quiet stretch while a target keeps failing.
    package static let reminderInterval: TimeInterval = 600

    /// What to log for a failed poll.
    package enum Decision: Sendable, Hashable {
        /// Nothing: already said.
        case quiet
        /// A new failure, or a new kind of failure.
        case first
        /// A reminder: the target is still failing, after this many failed polls in a row.
        case reminder(failures: Int)
    }

    private var kind: String?
    private var failures = 0
    private var lastLogged: Date?

    /// No failure yet.
    package init() {}

    /// Records a failed poll of `kind` at `now`.
    package mutating func failed(kind: String, at now: Date) -> Decision {
        self.failures += 1
        if self.kind != kind {
            self.kind = kind
            self.lastLogged = now
            return .first
        }
        if let last = self.lastLogged, now.timeIntervalSince(last) < Self.reminderInterval { return .quiet }
        self.lastLogged = now
        return .reminder(failures: self.failures)
    }

    /// Records a good poll.
    /// - Returns: How many polls had failed in a row, when they had; `nil` when none had.
    package mutating func succeeded() -> Int? {
        defer {
            self.kind = nil
            self.failures = 0
            self.lastLogged = nil
        }
        return self.failures > 0 ? self.failures : nil
    }
}
