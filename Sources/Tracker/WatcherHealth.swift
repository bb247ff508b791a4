package import ObshellModel

/// One reason obwatch cannot do its job, as the daemon finds it.
package struct WatcherProblem: Sendable, Hashable, Codable {
    /// What is wrong; two problems of the same kind are the same problem.
    package enum Kind: Sendable, Hashable, Codable {
        /// The state cannot be written to `state_dir` (or the store): a restart would forget what was seen.
        case stateUnsaved
        /// A receiver has had a notification undelivered past `defaults.stuck_after`.
        case receiverStuck(String)
        /// Every target's polls fail: obwatch sees nothing at all.
        case allTargetsFailing
    }

    /// What is wrong.
    package var kind: Kind
    /// The problem in words, for the summary, e.g. `state cannot be saved in /var/lib/obwatch (read-only file
    /// system)`.
    package var detail: String

    /// Makes a problem.
    package init(kind: Kind, detail: String) {
        self.kind = kind
        self.detail = detail
    }
}

/// Whether obwatch itself works: problems in, `watcher_degraded` and `watcher_recovered` out. A pure value, like
/// the tracker: the daemon owns it, feeds it what it finds wrong, and hands the events on.
///
/// An episode starts when the first problem appears and ends when none is left. It fires one `watcher_degraded`
/// when it starts and another, in the same incident, for each kind of problem that appears while it lasts (a
/// second receiver stuck); a problem that clears while others remain fires nothing. `watcher_recovered` ends it.
/// All carry the incident `obwatch/watcher/degraded` (the identity's name first). Ids are made from the episode
/// number: keep the value across restarts (it is `Codable`) so that a later episode never repeats an earlier id,
/// which the outbox would drop as already sent.
package struct WatcherHealth: Sendable, Hashable, Codable {
    /// Episodes so far: the episode key of the events' ids.
    package private(set) var episodes: Int
    /// The problems of the current episode, in the order they appeared; empty when obwatch works.
    package private(set) var problems: [WatcherProblem]
    /// How many `watcher_degraded` the current episode fired.
    private(set) var announcements: Int

    /// Healthy, no episode yet.
    package init() {
        self.episodes = 0
        self.problems = []
        self.announcements = 0
    }

    /// Whether a problem is open.
    package var isDegraded: Bool { !self.problems.isEmpty }

    /// Takes the problems found now.
    /// - Parameters:
    ///   - problems: Everything wrong at `at` (a kind given twice counts once, its first detail kept).
    ///   - at: When they were found.
    ///   - identity: The `target` of the events: obwatch itself (name `obwatch`).
    /// - Returns: A `watcher_degraded` when a kind of problem appeared, a `watcher_recovered` when the last one
    ///   cleared, else nothing.
    package mutating func update(problems: [WatcherProblem], at: ObshellTime, identity: TargetIdentity) -> [Event] {
        var current: [WatcherProblem] = []
        for problem in problems where !current.contains(where: { $0.kind == problem.kind }) {
            current.append(problem)
        }
        let before = Set(self.problems.map(\.kind))
        let wasDegraded = self.isDegraded
        self.problems = current
        let incident = "\(identity.name)/watcher/degraded"
        if current.isEmpty {
            guard wasDegraded else { return [] }
            return [
                Event(
                    id: EventID.make([
                        identity.name, "", EventType.watcherRecovered.rawValue, String(self.episodes),
                    ]),
                    type: .watcherRecovered,
                    incident: incident,
                    at: at,
                    target: identity,
                    summary: "\(identity.name) works again: nothing is degraded any more"
                )
            ]
        }
        guard current.contains(where: { !before.contains($0.kind) }) else { return [] }
        if !wasDegraded {
            self.episodes += 1
            self.announcements = 0
        }
        self.announcements += 1
        // The first announcement of an episode keeps the plain episode key; later ones extend it.
        let key = self.announcements == 1 ? String(self.episodes) : "\(self.episodes)/\(self.announcements)"
        let receivers = current.compactMap { problem -> String? in
            guard case .receiverStuck(let name) = problem.kind else { return nil }
            return name
        }
        return [
            Event(
                id: EventID.make([identity.name, "", EventType.watcherDegraded.rawValue, key]),
                type: .watcherDegraded,
                incident: incident,
                at: at,
                target: identity,
                degradedReceivers: receivers.isEmpty ? nil : receivers.sorted(),
                summary: "\(identity.name) is degraded: " + current.map(\.detail).joined(separator: "; ")
            )
        ]
    }
}
