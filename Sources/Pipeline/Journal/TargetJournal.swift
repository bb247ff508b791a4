package import Foundation
package import History
package import ObshellModel
package import Tracker

/// One target's journal: the tracker's live state and the ``TargetRecord`` its storage holds (or should hold), as
/// one value with one owner.
///
/// Every method checks and updates at once, with no suspension inside, and returns what must happen next (save this
/// record, hand these batches on) instead of doing it: the caller performs the effects in order and reports back.
/// One caller at a time drives a journal (its target's poll loop).
package actor TargetJournal {
    /// What must happen after a step, in this order.
    package struct Effects: Sendable, Equatable {
        /// Save this record first.
        package var save: TargetRecord?
        /// Then hand these batches on, in order.
        package var handOn: [EventBatch]

        /// Makes effects; by default none.
        package init(save: TargetRecord? = nil, handOn: [EventBatch] = []) {
            self.save = save
            self.handOn = handOn
        }
    }

    /// How long a change of the poll clocks alone may wait for a checkpoint.
    package static let checkpointInterval: TimeInterval = 60

    /// The target, copied into events.
    package let identity: TargetIdentity
    private var settings: TrackerSettings
    /// The daemon's duration history: read for `slow`, taught what each observation shows; `nil` keeps none.
    private let history: HistoryBook?
    /// The tracker's state as the observations left it.
    package private(set) var state: TrackerState
    /// What the storage holds, or should hold when its last write failed (events still to hand on included).
    package private(set) var saved: TargetRecord
    /// When the storage last took a record.
    private var lastSave: Date?
    /// Whether the last write failed: every later step tries again.
    private var storageBehind = false

    /// Opens a journal on a loaded record: the tracker resumes from its state, and its pending batches go first.
    package init(identity: TargetIdentity, settings: TrackerSettings, record: TargetRecord, history: HistoryBook? = nil)
    {
        self.history = history
        self.identity = identity
        self.settings = settings
        self.state = record.tracker
        self.saved = record
    }

    /// The batches made earlier and not yet handed on (a crash, a refused hand-off, a suspended lease), oldest
    /// first.
    package var pending: [EventBatch] { self.saved.pending }

    /// The record the storage should hold when its last write failed; `nil` when it holds it.
    package var unsaved: TargetRecord? { self.storageBehind ? self.saved : nil }

    /// Applies one observation to the tracker, with the history as it stands, then teaches the history what the
    /// observation showed (after the step, so a run never measures itself).
    /// - Parameters:
    ///   - observation: What was seen.
    ///   - agentTime: obshell's clock at the answer, for node elapsed times; `nil` uses the observation's time.
    package func observe(_ observation: Observation, agentTime: ObshellTime? = nil) async -> TrackerStep {
        let known = await self.history?.snapshot() ?? DurationHistory()
        let step = Tracker.step(
            self.state,
            observation,
            settings: self.settings,
            target: self.identity,
            history: known,
            agentTime: agentTime
        )
        self.state = step.state
        if let history = self.history {
            await history.learn(from: observation.dags, target: self.identity.name)
        }
        return step
    }

    /// Replaces the settings (a reload); the state is kept.
    package func update(settings: TrackerSettings) {
        self.settings = settings
    }

    /// A poll cycle made these batches (empty ones are dropped).
    ///
    /// With events: the record to save holds them with the state that made them (after any still pending, which
    /// go first), and they are to be handed on after it is saved. Without a lease, when the storage refuses the
    /// write they go out all the same (a second send after a restart beats silence), and the record stays in
    /// memory for the next try; under a suspended lease the poller holds them back, and they pile up here in
    /// order until the record is written. Without events: the record to save when the state changed enough (see
    /// ``settle(at:force:)``), or the one still unsaved.
    package func made(_ batches: [EventBatch], at now: Date) -> Effects {
        let produced = batches.filter { !$0.events.isEmpty }
        guard !produced.isEmpty else {
            guard !self.saved.pending.isEmpty else { return Effects(save: self.settle(at: now)) }
            let staged = TargetRecord(tracker: self.state, pending: self.saved.pending)
            self.saved = staged
            return Effects(save: staged, handOn: staged.pending)
        }
        let staged = TargetRecord(tracker: self.state, pending: self.saved.pending + produced)
        self.saved = staged
        return Effects(save: staged, handOn: staged.pending)
    }

    /// Every pending batch was handed on: the record to save without them.
    package func handedOn(at now: Date) -> TargetRecord? {
        let clean = TargetRecord(tracker: self.state)
        return self.settleRecord(clean, at: now, force: false)
    }

    /// The record to save when the state changed; `nil` when nothing needs writing now.
    ///
    /// A change of the poll clocks alone (last-seen times, stall clocks) waits up to ``checkpointInterval`` for
    /// the next write, or a `force`d checkpoint at a stop: writing each (two fsyncs) would cost a disk flush per
    /// target per poll, and an older copy loses nothing that matters after a crash. Events still to hand on are
    /// never settled away: the record keeps them until they are handed on.
    package func settle(at now: Date, force: Bool = false) -> TargetRecord? {
        guard self.saved.pending.isEmpty else { return nil }
        return self.settleRecord(TargetRecord(tracker: self.state), at: now, force: force)
    }

    private func settleRecord(_ record: TargetRecord, at now: Date, force: Bool) -> TargetRecord? {
        guard self.saved != record || self.storageBehind else { return nil }
        if !force, !self.storageBehind, let last = self.lastSave,
            now.timeIntervalSince(last) < Self.checkpointInterval, self.saved.differsOnlyInClock(from: record)
        {
            return nil
        }
        self.saved = record
        return record
    }

    /// The storage took `record` (the last one this journal returned to save).
    package func saveSucceeded(at now: Date) {
        self.lastSave = now
        self.storageBehind = false
    }

    /// The storage refused the last record: it stays what the storage should hold, and the next step tries again.
    package func saveFailed() {
        self.storageBehind = true
    }
}
