/// The live state machine of one target: owns its ``TrackerState`` and applies observations one at a time.
///
/// Each ``observe(_:)`` is a check-and-update with no suspension inside, so two pollers can never interleave on
/// one state.
package actor TargetTracker {
    /// The target, copied into events.
    package let target: TargetIdentity
    /// The current settings (a reload may change them).
    package private(set) var settings: TrackerSettings
    /// The current state.
    package private(set) var state: TrackerState

    /// Makes a tracker, from a saved state after a restart or from nothing.
    package init(target: TargetIdentity, settings: TrackerSettings, state: TrackerState = TrackerState()) {
        self.target = target
        self.settings = settings
        self.state = state
    }

    /// Applies one observation and returns what it did; the caller persists ``state`` and asks for confirmations.
    package func observe(_ observation: Observation) -> TrackerStep {
        let step = Tracker.step(self.state, observation, settings: self.settings, target: self.target)
        self.state = step.state
        return step
    }

    /// Goes back to a state the caller kept, when the one the last observations produced could not be saved: the
    /// next poll then observes the same changes again and makes the same events (same ids).
    func replaceState(with state: TrackerState) {
        self.state = state
    }

    /// Replaces the settings (SIGHUP reload); the state is kept.
    package func update(settings: TrackerSettings) {
        self.settings = settings
    }
}
