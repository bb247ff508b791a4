import Foundation
package import ObshellModel
package import Support

/// The daemon's one duration history, shared by every target's poll loop and kept through a ``HistoryStore``.
///
/// Poll loops read a ``snapshot()`` for each step (a value: the tracker stays pure) and hand what they observed to
/// ``learn(from:target:)``. Without a clock a change is saved at once. With one (the daemon), changes are saved at
/// most once per `saveInterval`: each save writes the whole history, every target's keys, and when targets finish
/// nodes every second, saving each change cost more than all the polling (at 200 targets, the history file was
/// written for nearly every poll). A change that must wait is saved by the first ``learn(from:target:)`` after the
/// interval (every poll of every target calls it), or by ``flush()``. A save that fails is tried again with the
/// next call; history is a cache of what obshell knows, so losing some costs estimates, not events (the backfill at
/// start refills it).
package actor HistoryBook {
    private var history: DurationHistory
    private let store: (any HistoryStore)?
    /// With a clock, changes are saved at most once per ``saveInterval``; without one, at once.
    private let clock: (any ObwatchClock)?
    private let saveInterval: TimeInterval
    /// Changes made so far (a count): a save covers those made before it read the history.
    private var changes = 0
    /// The changes the store holds.
    private var savedChanges = 0
    /// When the last save started (the clock's wall time).
    private var lastSave: Date?
    /// Whether a save is under way: saves never overlap (the store may suspend), the next one carries what waits.
    private var saving = false
    /// The last save error, until a save succeeds.
    package private(set) var lastError: HistoryStoreError?

    /// A book on a loaded history.
    /// - Parameters:
    ///   - history: What the store held.
    ///   - store: Where changes go; `nil` keeps them in memory only.
    ///   - clock: With a clock, changes are saved at most once per `saveInterval` (the daemon); without one, each
    ///     change is saved at once (commands).
    ///   - saveInterval: The least time between two saves when there is a clock.
    package init(
        history: DurationHistory = DurationHistory(),
        store: (any HistoryStore)? = nil,
        clock: (any ObwatchClock)? = nil,
        saveInterval: Duration = .seconds(1)
    ) {
        self.history = history
        self.store = store
        self.clock = clock
        let (whole, attoseconds) = saveInterval.components
        self.saveInterval = Double(whole) + Double(attoseconds) / 1e18
    }

    /// The history as it stands.
    package func snapshot() -> DurationHistory { self.history }

    /// Learns from DAGs observed on `target`, and saves what was learned when it is due (see the type).
    /// - Returns: Whether the history changed.
    @discardableResult
    package func learn(from dags: [Dag], target: String) async -> Bool {
        var changed = false
        for dag in dags where self.history.learn(from: dag, target: target) { changed = true }
        if changed { self.changes += 1 }
        if self.changes != self.savedChanges, self.saveIsDue { await self.save() }
        return changed
    }

    /// Adds a whole history (a backfill, an import) and saves at once.
    /// - Returns: How many samples were added.
    @discardableResult
    package func merge(_ other: DurationHistory) async -> Int {
        let added = self.history.merge(other)
        if added > 0 { self.changes += 1 }
        if self.changes != self.savedChanges { await self.save() }
        return added
    }

    /// Saves what was learned and not saved yet, now (a stop).
    package func flush() async {
        if self.changes != self.savedChanges { await self.save() }
    }

    /// Whether a change may be saved now: always without a clock, else once ``saveInterval`` has passed since the
    /// last save.
    private var saveIsDue: Bool {
        guard let clock = self.clock, let last = self.lastSave else { return true }
        return clock.wallNow.timeIntervalSince(last) >= self.saveInterval
    }

    private func save() async {
        guard let store = self.store else {
            self.savedChanges = self.changes
            return
        }
        guard !self.saving else { return }
        self.saving = true
        defer { self.saving = false }
        self.lastSave = self.clock?.wallNow
        let covered = self.changes
        do {
            try await store.save(self.history)
            self.savedChanges = covered
            self.lastError = nil
        } catch {
            self.lastError = error
        }
    }
}
