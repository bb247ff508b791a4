package import History

/// Feeds capture entries through one state machine per target, in file order, and collects the events.
///
/// It asks for no confirmations: a capture's own `/api/v1/task/dag/{id}` lines answer them. It learns usual
/// durations from what it replays (after each entry's events, so a run never measures itself), on top of the
/// history it starts from, so the same capture gives the same `slow` events every time.
package struct Replayer: Sendable {
    /// Settings for a target the caller configured; others use ``defaultSettings``.
    package var settingsByTarget: [String: TrackerSettings]
    /// Settings for targets that only the capture names.
    package var defaultSettings: TrackerSettings
    /// Identities (URL, labels) for configured targets; others get just their name.
    package var identities: [String: TargetIdentity]
    /// The state of every target seen so far.
    package private(set) var states: [String: TrackerState]
    /// Usual durations: the starting history plus every run the replay saw succeed.
    package private(set) var history: DurationHistory

    /// Makes a replayer.
    /// - Parameters:
    ///   - defaultSettings: Settings for targets the config does not name.
    ///   - settingsByTarget: Settings of configured targets, by name.
    ///   - identities: Identities of configured targets, by name.
    ///   - states: States to start from (a restart); empty by default.
    ///   - history: History to start from (`replay --history FILE`); empty by default.
    package init(
        defaultSettings: TrackerSettings = TrackerSettings(),
        settingsByTarget: [String: TrackerSettings] = [:],
        identities: [String: TargetIdentity] = [:],
        states: [String: TrackerState] = [:],
        history: DurationHistory = DurationHistory()
    ) {
        self.history = history
        self.defaultSettings = defaultSettings
        self.settingsByTarget = settingsByTarget
        self.identities = identities
        self.states = states
    }

    /// Adds a history to start from (what `replay --history FILE` read).
    package mutating func startHistory(from history: DurationHistory) {
        self.history.merge(history)
    }

    /// Applies one entry and returns its events.
    ///
    /// An entry whose list repeats the target's previous entry (``CaptureEntry/repeatsPreviousList``) only moves the
    /// clocks (``Tracker/applyUnchangedList(_:at:to:settings:target:history:agentTime:)``), and teaches history
    /// nothing new: the same DAGs were learnt from one entry before.
    package mutating func feed(_ entry: CaptureEntry) -> [Event] {
        let name = entry.target
        let settings =
            self.settingsByTarget.isEmpty ? self.defaultSettings : self.settingsByTarget[name] ?? self.defaultSettings
        let target = self.identities[name] ?? TargetIdentity(name: name)
        let known = self.states[name] != nil
        let effects: TrackerEffects
        if known, entry.repeatsPreviousList, case .list(let dags, let at) = entry.observation {
            effects = Tracker.applyUnchangedList(
                dags,
                at: at,
                to: &self.states[name, default: TrackerState()],
                settings: settings,
                target: target,
                history: self.history,
                agentTime: entry.agentTime
            )
            return effects.events
        }
        // Changed where it lies in the dictionary: a copy taken out would make the step copy the whole state.
        effects = Tracker.apply(
            entry.observation,
            to: &self.states[name, default: TrackerState()],
            settings: settings,
            target: target,
            history: self.history,
            agentTime: entry.agentTime
        )
        for dag in entry.observation.dags { self.history.learn(from: dag, target: name) }
        return effects.events
    }

    /// Applies entries in order and returns all their events in order.
    package mutating func replay(_ entries: [CaptureEntry]) -> [Event] {
        entries.flatMap { self.feed($0) }
    }
}
