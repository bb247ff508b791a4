package import ObshellModel

/// The daemon's one duration history, shared by every target's poll loop and kept through a ``HistoryStore``.
///
/// Poll loops read a ``snapshot()`` for each step (a value: the tracker stays pure) and hand what they observed to
/// ``learn(from:target:)``; a change is saved at once (a node finishing is rare next to polls). A save that fails is
/// tried again with the next change; history is a cache of what obshell knows, so losing some costs estimates, not
/// events.
package actor HistoryBook {
    private var history: DurationHistory
    private let store: (any HistoryStore)?
    private var unsaved = false
    /// The last save error, until a save succeeds.
    package private(set) var lastError: HistoryStoreError?

    /// A book on a loaded history.
    /// - Parameters:
    ///   - history: What the store held.
    ///   - store: Where changes go; `nil` keeps them in memory only.
    package init(history: DurationHistory = DurationHistory(), store: (any HistoryStore)? = nil) {
        self.history = history
        self.store = store
    }

    /// The history as it stands.
    package func snapshot() -> DurationHistory { self.history }

    /// Learns from DAGs observed on `target` and saves when something was learned.
    /// - Returns: Whether the history changed.
    @discardableResult
    package func learn(from dags: [Dag], target: String) async -> Bool {
        var changed = false
        for dag in dags where self.history.learn(from: dag, target: target) { changed = true }
        if changed { self.unsaved = true }
        if self.unsaved { await self.save() }
        return changed
    }

    /// Adds a whole history (a backfill, an import) and saves.
    /// - Returns: How many samples were added.
    @discardableResult
    package func merge(_ other: DurationHistory) async -> Int {
        let added = self.history.merge(other)
        if added > 0 { self.unsaved = true }
        if self.unsaved { await self.save() }
        return added
    }

    private func save() async {
        guard let store = self.store else {
            self.unsaved = false
            return
        }
        do {
            try await store.save(self.history)
            self.unsaved = false
            self.lastError = nil
        } catch {
            self.lastError = error
        }
    }
}
