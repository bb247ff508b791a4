import Synchronization

/// What `/readyz` answers: ready once the configuration is loaded and every configured target was polled once.
///
/// The daemon updates it from wherever it polls; reads and updates are cheap and thread-safe.
package final class Readiness: Sendable {
    private struct State {
        var configLoaded = false
        var targets: [String] = []
        var polled: Set<String> = []
        var problems: [String] = []
    }

    private let state: Mutex<State>

    /// Makes a readiness that is not ready yet.
    /// - Parameter targets: The targets that must be polled once, in config order.
    package init(targets: [String] = []) {
        self.state = Mutex(State(targets: targets))
    }

    /// Marks the configuration as loaded.
    package func configLoaded() {
        self.state.withLock { $0.configLoaded = true }
    }

    /// Replaces the targets that must be polled (after a reload); targets polled before stay polled.
    /// - Parameter targets: The configured targets' names.
    package func setTargets(_ targets: [String]) {
        self.state.withLock { $0.targets = targets }
    }

    /// Marks a target's first poll (good or failed: the daemon knows how the target stands) as done.
    /// - Parameter target: The target's name.
    package func polled(target: String) {
        self.state.withLock { _ = $0.polled.insert(target) }
    }

    /// Replaces what keeps a running daemon from doing its job (state that cannot be saved, a stuck receiver, every
    /// target failing), each in a human's words; `/readyz` answers 503 with them until they clear.
    func setProblems(_ problems: [String]) {
        self.state.withLock { $0.problems = problems }
    }

    /// What keeps the daemon from being ready, in a human's words; empty when ready.
    package var missing: [String] {
        self.state.withLock { state in
            var missing: [String] = []
            if !state.configLoaded { missing.append("config not loaded") }
            for target in state.targets where !state.polled.contains(target) {
                missing.append("target \(target) not yet polled")
            }
            return missing + state.problems
        }
    }

    /// The configured targets in config order, each with whether it was polled once, for `/api/v1/targets`.
    package var targets: [(name: String, polled: Bool)] {
        self.state.withLock { state in state.targets.map { ($0, state.polled.contains($0)) } }
    }

    /// Whether nothing is missing.
    package var isReady: Bool { self.missing.isEmpty }
}
