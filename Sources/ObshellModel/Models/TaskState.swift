/// A state of a DAG, node or sub-task as obshell spells it.
///
/// A struct rather than an enum: a value obshell adds later (say `PAUSED`) is kept as it came and never fails a
/// poll. The known values are static constants.
package struct TaskState: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// The value exactly as the agent sent it.
    package let rawValue: String

    /// Wraps any value, known or not.
    package init(rawValue: String) { self.rawValue = rawValue }

    /// Waiting for an earlier node (nodes and sub-tasks only).
    package static let pending = TaskState(rawValue: "PENDING")
    /// Queued to run.
    package static let ready = TaskState(rawValue: "READY")
    /// Running now.
    package static let running = TaskState(rawValue: "RUNNING")
    /// Failed; a maintenance DAG stays listed until an operator acts.
    package static let failed = TaskState(rawValue: "FAILED")
    /// Finished (obshell's spelling).
    package static let succeed = TaskState(rawValue: "SUCCEED")

    /// Whether this is one of the five values obshell defines.
    package var isKnown: Bool { [.pending, .ready, .running, .failed, .succeed].contains(self) }
    /// READY or RUNNING: the DAG is still going.
    package var isActive: Bool { self == .ready || self == .running }
    /// SUCCEED or FAILED.
    package var isFinal: Bool { self == .succeed || self == .failed }

    /// The raw value.
    package var description: String { self.rawValue }

    /// Decodes any string.
    package init(from decoder: any Decoder) throws {
        self.rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    /// Encodes the raw value.
    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.rawValue)
    }
}

/// The operator last applied to a DAG, node or sub-task, as obshell spells it; unknown values are kept.
package struct TaskOperator: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// The value exactly as the agent sent it.
    package let rawValue: String

    /// Wraps any value, known or not.
    package init(rawValue: String) { self.rawValue = rawValue }

    /// A normal forward run.
    package static let run = TaskOperator(rawValue: "RUN")
    /// A retry (appears on nodes, never on DAGs).
    package static let retry = TaskOperator(rawValue: "RETRY")
    /// Rolling back.
    package static let rollback = TaskOperator(rawValue: "ROLLBACK")
    /// Cancelled: ends as FAILED/CANCEL.
    package static let cancel = TaskOperator(rawValue: "CANCEL")
    /// Skipped by an operator: ends as SUCCEED/PASS.
    package static let pass = TaskOperator(rawValue: "PASS")

    /// Whether this is one of the five values obshell defines.
    package var isKnown: Bool { [.run, .retry, .rollback, .cancel, .pass].contains(self) }

    /// The raw value.
    package var description: String { self.rawValue }

    /// Decodes any string.
    package init(from decoder: any Decoder) throws {
        self.rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    /// Encodes the raw value.
    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.rawValue)
    }
}
