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
///
/// With a clock, ``snapshot()`` also hands out a published copy renewed at most every `publishInterval` rather than
/// the history being learned into: a poll's snapshot shares the history's storage, so every change made while any
/// poll held one copied the whole history (every target's samples and pools). At 2,000 targets learning their
/// backfills that was gigabytes of copies and a 1.2 GiB peak; now it is at most one copy per interval. Estimates see
/// what was learned at most that much later.
package actor HistoryBook {
    private var history: DurationHistory
    /// What ``snapshot()`` hands out with a clock: the history as of ``publishedChanges``.
    private var published: DurationHistory
    /// The change count ``published`` covers.
    private var publishedChanges = 0
    /// When ``published`` was last renewed (the clock's wall time).
    private var lastPublish: Date?
    private let publishInterval: TimeInterval
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
    /// A save started by ``saveInBackground()`` and not finished.
    private var backgroundSave: Task<Void, Never>?
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
    ///   - publishInterval: With a clock, the longest a ``snapshot()`` lags what was learned.
    package init(
        history: DurationHistory = DurationHistory(),
        store: (any HistoryStore)? = nil,
        clock: (any ObwatchClock)? = nil,
        saveInterval: Duration = .seconds(1),
        publishInterval: Duration = .milliseconds(250)
    ) {
        self.history = history
        self.published = history
        self.store = store
        self.clock = clock
        self.saveInterval = Self.seconds(saveInterval)
        self.publishInterval = Self.seconds(publishInterval)
    }

    /// The history as it stands; with a clock, as it stood at most `publishInterval` ago (see the type).
    package func snapshot() -> DurationHistory {
        guard let clock = self.clock else { return self.history }
        if self.publishedChanges != self.changes {
            let now = clock.wallNow
            if let last = self.lastPublish, now.timeIntervalSince(last) < self.publishInterval { return self.published }
            self.published = self.history
            self.publishedChanges = self.changes
            self.lastPublish = now
        }
        return self.published
    }

    private static func seconds(_ duration: Duration) -> TimeInterval {
        let (whole, attoseconds) = duration.components
        return Double(whole) + Double(attoseconds) / 1e18
    }

    /// Learns from DAGs observed on `target`, and saves what was learned when it is due (see the type).
    /// - Returns: Whether the history changed.
    @discardableResult
    package func learn(from dags: [Dag], target: String) async -> Bool {
        var changed = false
        for dag in dags where self.history.learn(from: dag, target: target) { changed = true }
        if changed { self.changes += 1 }
        if self.changes != self.savedChanges, self.saveIsDue {
            // The daemon's polls call this: a store that hangs (PostgreSQL going away mid-query, until its deadline)
            // must not hold a poll back, or a DAG that starts and ends meanwhile is never seen.
            if self.clock != nil { self.saveInBackground() } else { await self.save() }
        }
        return changed
    }

    /// Starts a save of what waits without waiting for it (the daemon's ticker); one runs at a time.
    package func saveInBackground() {
        guard self.changes != self.savedChanges, self.backgroundSave == nil else { return }
        // An unstructured task keeps no executor preference: a poll learns on the curl engine's thread, and the save
        // (a disk, a database) runs on the global pool.
        self.backgroundSave = Task { await self.runBackgroundSave() }
    }

    private func runBackgroundSave() async {
        await self.save()
        self.backgroundSave = nil
    }

    /// Waits for a save started in the background, if one runs.
    package func settled() async {
        await self.backgroundSave?.value
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
        await self.settled()
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
