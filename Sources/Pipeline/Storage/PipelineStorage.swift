package import Logging
package import Routing

/// Where the pipeline keeps what must survive a restart: each target's ``TargetRecord`` (the tracker's state and
/// the batches not yet handed on) and the router's memory. It is the pipeline's one seam with persistence; the
/// outbox keeps its own journal.
///
/// ``LocalStateFolder`` is the first implementation: one file per target and `routing.state` in `state_dir`.
/// PostgreSQL comes next. It will write every change of one routing step (the router's memory, the target records
/// it settles and the outbox rows it makes) in one transaction, and guard each write with a fencing epoch taken
/// with the instance's lease, so an instance that lost its lease cannot overwrite what its successor wrote.
package protocol PipelineStorage: Sendable {
    /// Loads a target's record: empty when there is none; a record that cannot be read is set aside (and said).
    func loadTarget(_ name: String) async -> StorageLoad<TargetRecord>
    /// Saves a target's record, replacing the one before; a reader sees the old record or the new, never a mix.
    func saveTarget(_ record: TargetRecord, name: String) async throws(StorageError)
    /// Loads the router's memory: empty when there is none; memory that cannot be read is set aside (and said).
    func loadRouterState() async -> StorageLoad<RouterState>
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

/// A write the storage refused: why, in an operator's words, with the path.
package struct StorageError: Error, Sendable, CustomStringConvertible {
    /// What could not be written, and why (`cannot rename PATH: read-only file system`).
    package var reason: String

    /// Makes an error.
    package init(reason: String) {
        self.reason = reason
    }

    package var description: String { self.reason }
}
