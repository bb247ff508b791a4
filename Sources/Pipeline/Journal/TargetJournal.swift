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
    /// The fingerprint of the list the last observation applied, when it was a list answer: a poll whose list has
    /// the same fingerprint repeats it byte for byte, and only moves the tracker's clocks.
    private var lastListFingerprint: AnswerFingerprint?
    /// Whether every step since ``saved`` last matched the state (but for clocks) moved only clocks, as far as an
    /// unchanged list's step can tell without comparing states: then ``settle(at:force:)`` needs no comparison.
    private var onlyClocksMovedSinceSettled = true
    /// How many polls repeated the last list and skipped the tracker's comparisons (for tests and the bench).
    package private(set) var unchangedListSteps = 0

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
    ///
    /// A list whose `listFingerprint` is the one of the list the last observation applied (the answer's `data` bytes
    /// were identical) only moves the tracker's clocks (``Tracker/applyUnchangedList(_:at:to:settings:target:history:agentTime:)``,
    /// proved equal to the full step) and teaches the history nothing new: it learnt from the same DAGs before.
    /// - Parameters:
    ///   - observation: What was seen.
    ///   - agentTime: obshell's clock at the answer, for node elapsed times; `nil` uses the observation's time.
    ///   - listFingerprint: For a list answer, what identifies its `data` bytes (``ObshellClient/Reading``); `nil`
    ///     always takes the full step.
    package func observe(
        _ observation: Observation,
        agentTime: ObshellTime? = nil,
        listFingerprint: AnswerFingerprint? = nil
    ) async -> TrackerStep {
        let known = await self.history?.snapshot() ?? DurationHistory()
        let repeated = self.lastListFingerprint != nil && listFingerprint == self.lastListFingerprint
        if case .list(let dags, let at) = observation, repeated {
            let witness = ClockOnlyWitness(before: self.state, listing: dags)
            // Changed in place: a copy of the state taken out would make the step copy every record.
            let effects = Tracker.applyUnchangedList(
                dags,
                at: at,
                to: &self.state,
                settings: self.settings,
                target: self.identity,
                history: known,
                agentTime: agentTime
            )
            self.unchangedListSteps += 1
            let clocksOnly = witness?.onlyClocksMoved(to: self.state, effects: effects) ?? false
            self.onlyClocksMovedSinceSettled = self.onlyClocksMovedSinceSettled && clocksOnly
            return TrackerStep(state: self.state, events: effects.events, confirmations: effects.confirmations)
        }
        self.onlyClocksMovedSinceSettled = false
        if case .list = observation {
            self.lastListFingerprint = listFingerprint
        } else {
            self.lastListFingerprint = nil
        }
        let effects = Tracker.apply(
            observation,
            to: &self.state,
            settings: self.settings,
            target: self.identity,
            history: known,
            agentTime: agentTime
        )
        if let history = self.history {
            await history.learn(from: observation.dags, target: self.identity.name)
        }
        return TrackerStep(state: self.state, events: effects.events, confirmations: effects.confirmations)
    }

    /// Replaces the settings (a reload); the state is kept. The next list takes the full step.
    package func update(settings: TrackerSettings) {
        self.settings = settings
        self.lastListFingerprint = nil
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
            self.onlyClocksMovedSinceSettled = true
            return Effects(save: staged, handOn: staged.pending)
        }
        let staged = TargetRecord(tracker: self.state, pending: self.saved.pending + produced)
        self.saved = staged
        self.onlyClocksMovedSinceSettled = true
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
        let withinCheckpoint =
            !force && !self.storageBehind
            && self.lastSave.map { now.timeIntervalSince($0) < Self.checkpointInterval }
                ?? false
        // Unchanged lists since the record matched: only clocks moved, known without comparing the states.
        if withinCheckpoint, self.onlyClocksMovedSinceSettled, self.saved.pending.isEmpty, record.pending.isEmpty {
            assert(self.saved.differsOnlyInClock(from: record), "an unchanged list's step moved more than clocks")
            return nil
        }
        defer { self.onlyClocksMovedSinceSettled = true }
        guard self.saved != record || self.storageBehind else { return nil }
        if withinCheckpoint, self.saved.differsOnlyInClock(from: record) {
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

/// What a step on an unchanged list could change besides the clocks, noted before the step: when it changed none of
/// it, the state differs from the one before only in clocks (``TrackerState/differsOnlyInClock(from:)``), known
/// without copying and comparing the whole state. The clocks are what that comparison sets aside: last-seen times,
/// the stall clock (its mark compared for presence only), the ETA, the last good poll.
private struct ClockOnlyWitness {
    var version: Int
    var consecutiveFailedPolls: Int
    var targetDown: Bool
    var downEpisodes: Int
    var lastError: String?
    var count: Int
    /// The listed DAGs' records before the step, in list order, each once.
    var listed: [(id: String, record: DagRecord)]

    /// `nil` when the step would touch more than the listed DAGs: a DAG on record as listed is missing from the
    /// list (it is confirmed or vanishes), or a listed DAG is not on record.
    init?(before state: TrackerState, listing dags: [Dag]) {
        var listed: [(id: String, record: DagRecord)] = []
        listed.reserveCapacity(dags.count)
        for dag in dags where !listed.contains(where: { $0.id == dag.id }) {
            guard let record = state.dags[dag.id] else { return nil }
            listed.append((dag.id, record))
        }
        var index = state.dags.startIndex
        while index != state.dags.endIndex {
            // Read in place: copying each record out would retain everything it holds.
            if state.dags.values[index].phase == .listed {
                let id = state.dags.keys[index]
                if !listed.contains(where: { $0.id == id }) { return nil }
            }
            index = state.dags.index(after: index)
        }
        self.version = state.version
        self.consecutiveFailedPolls = state.consecutiveFailedPolls
        self.targetDown = state.targetDown
        self.downEpisodes = state.downEpisodes
        self.lastError = state.lastError
        self.count = state.dags.count
        self.listed = listed
    }

    /// Whether the step that gave `state` and `effects` moved only clocks.
    func onlyClocksMoved(to state: TrackerState, effects: TrackerEffects) -> Bool {
        guard effects.events.isEmpty, effects.confirmations.isEmpty, state.dags.count == self.count,
            state.version == self.version, state.consecutiveFailedPolls == self.consecutiveFailedPolls,
            state.targetDown == self.targetDown, state.downEpisodes == self.downEpisodes,
            state.lastError == self.lastError
        else { return false }
        for (id, before) in self.listed {
            guard let after = state.dags[id], Self.sameButClocks(before, after) else { return false }
        }
        return true
    }

    private static func sameButClocks(_ before: DagRecord, _ after: DagRecord) -> Bool {
        guard (before.stallMark == nil) == (after.stallMark == nil) else { return false }
        var moved = before
        moved.lastSeen = after.lastSeen
        moved.stallMark = after.stallMark
        moved.stalledNanoseconds = after.stalledNanoseconds
        moved.eta = after.eta
        return moved == after
    }
}
