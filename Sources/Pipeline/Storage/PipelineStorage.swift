package import Logging
package import Routing

/// Where the pipeline keeps what must survive a restart: each target's ``TargetRecord`` (the tracker's state and
/// the batches not yet handed on) and the router's memory. It is the pipeline's one seam with persistence; the
/// outbox keeps its own journal.
///
/// ``LocalStateFolder`` is the first implementation: one file per target and `routing.state` in `state_dir`.
/// `PostgresStore.PostgresPipelineStorage` is the second: every write is one transaction, and a target's record is
/// guarded by the fencing epoch of the target's lease, so an instance that lost its lease cannot overwrite what its
/// successor wrote.
///
/// A load that cannot reach the storage throws instead of answering "empty": an empty record saved over a real one
/// would start every DAG afresh (a second `started`, lost incidents).
package protocol PipelineStorage: Sendable {
    /// Loads a target's record: empty when there is none; a record that cannot be read is set aside (and said).
    /// - Throws: ``StorageError`` when the storage cannot be read at all (a database that does not answer).
    func loadTarget(_ name: String) async throws(StorageError) -> StorageLoad<TargetRecord>
    /// Saves a target's record, replacing the one before; a reader sees the old record or the new, never a mix.
    /// - Throws: ``StorageError``; ``StorageError/Kind/fenced`` when a newer holder of the target wrote after it.
    func saveTarget(_ record: TargetRecord, name: String) async throws(StorageError)
    /// Loads the router's memory: empty when there is none; memory that cannot be read is set aside (and said).
    /// - Throws: ``StorageError`` when the storage cannot be read at all.
    func loadRouterState() async throws(StorageError) -> StorageLoad<RouterState>
    /// Saves the router's memory, replacing the one before.
    func saveRouterState(_ state: RouterState) async throws(StorageError)
}

/// What a load found: the value, and a warning when what was stored could not be used.
package struct StorageLoad<Value: Sendable>: Sendable {
    /// The value, or an empty one.
    package var value: Value
    /// Why what was stored was set aside, with where it went; `nil` when nothing was.
    package var warning: (message: String, metadata: Logger.Metadata)?

    /// Makes a load's result.
    package init(value: Value, warning: (message: String, metadata: Logger.Metadata)? = nil) {
        self.value = value
        self.warning = warning
    }
}

/// A read or write the storage refused: why, in an operator's words, with the path or the server (never a
/// password).
package struct StorageError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure it is, for the callers that treat them apart (a fenced write is counted, not retried).
    package enum Kind: Sendable, Hashable {
        /// The write or read failed (a full disk, a constraint, an undecodable answer).
        case failed
        /// The storage could not be reached (a database that refuses connections or does not answer).
        case unreachable
        /// The write was refused because a newer holder of the target wrote with a higher fencing epoch (or
        /// this instance's lease is no longer valid): this instance must stop writing for the target.
        case fenced
    }

    /// What could not be written, and why (`cannot rename PATH: read-only file system`).
    package var reason: String
    /// What kind of failure it is.
    package var kind: Kind

    /// Makes an error.
    package init(reason: String, kind: Kind = .failed) {
        self.reason = reason
        self.kind = kind
    }

    package var description: String { self.reason }
}
