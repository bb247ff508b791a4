package import Foundation
package import ObshellModel
import Support
import Synchronization
package import Tracker

/// obwatch watching itself: once a second it gathers what keeps the pipeline from doing its job (state that cannot
/// be saved, a receiver with a notification undelivered past `stuck_after`, every target down), and turns changes
/// into `watcher_degraded` and `watcher_recovered` events for the rules. It outlives a reload, so one episode is one
/// incident however often the configuration changes.
package final class WatcherMonitor: Sendable {
    /// The identity of the watcher's own events: `target.name` is `obwatch`.
    package static let identity = TargetIdentity(name: "obwatch")

    private let health: Mutex<WatcherHealth>
    private let current = Mutex<[WatcherProblem]>([])
    private let file: URL?

    /// The file of the watcher's incident in a state folder (target files end in `.json`: no collision).
    static func stateFile(in folder: URL) -> URL { folder.appendingPathComponent("watcher.state") }

    /// Makes a monitor and loads the watcher's incident from `stateDirectory`, so that a restart continues an
    /// episode (and its event ids) instead of starting again at 1, which the outbox would take for repeats.
    /// - Parameter stateDirectory: `state_dir`; `nil` keeps nothing on disk.
    package init(stateDirectory: URL? = nil) {
        self.file = stateDirectory.map(Self.stateFile(in:))
        var loaded = WatcherHealth()
        if let file = self.file, let data = try? Data(contentsOf: file),
            let decoded = try? JSONDecoder().decode(WatcherHealth.self, from: data)
        {
            loaded = decoded
        }
        self.health = Mutex(loaded)
    }

    /// What is wrong now, from the pipeline's reports.
    /// - Parameters:
    ///   - stateProblem: Why state cannot be saved, if it cannot.
    ///   - backlog: Each receiver's undelivered notifications and since when the oldest waits.
    ///   - stuckAfter: `defaults.stuck_after`.
    ///   - allTargetsFailing: Whether every target is down.
    ///   - targetCount: How many targets there are.
    ///   - now: The wall clock.
    package static func problems(
        stateProblem: String?,
        backlog: [(receiver: String, depth: Int, oldest: Date?)],
        stuckAfter: Duration,
        allTargetsFailing: Bool,
        targetCount: Int,
        now: Date
    ) -> [WatcherProblem] {
        var problems: [WatcherProblem] = []
        if let stateProblem {
            problems.append(WatcherProblem(kind: .stateUnsaved, detail: "state cannot be saved: \(stateProblem)"))
        }
        let limit = Double(stuckAfter.components.seconds) + Double(stuckAfter.components.attoseconds) / 1e18
        for entry in backlog {
            guard let oldest = entry.oldest else { continue }
            let age = now.timeIntervalSince(oldest)
            guard age >= limit else { continue }
            problems.append(
                WatcherProblem(
                    kind: .receiverStuck(entry.receiver),
                    detail: "receiver \(entry.receiver) has had a notification undelivered for "
                        + Self.spell(seconds: age) + " (\(entry.depth) waiting)"
                )
            )
        }
        if allTargetsFailing {
            let what = targetCount == 1 ? "the only target is down" : "all \(targetCount) targets are down"
            problems.append(WatcherProblem(kind: .allTargetsFailing, detail: "\(what): every poll fails"))
        }
        return problems
    }

    /// Records the problems of this second and returns the watcher events their change makes (none when nothing
    /// changed).
    package func update(_ problems: [WatcherProblem], at instant: ObshellTime) -> [Event] {
        self.current.withLock { $0 = problems }
        let (events, snapshot) = self.health.withLock { health in
            let events = health.update(problems: problems, at: instant, identity: Self.identity)
            return (events, health)
        }
        // Written when an event was made, the only time the episode's numbering moves. When the disk is the
        // problem this fails too; the event goes out all the same.
        if !events.isEmpty, let file = self.file, let data = try? JSONEncoder().encode(snapshot) {
            try? AtomicFile.store(data, at: file)
        }
        return events
    }

    /// The problems last recorded, in words.
    package var details: [String] { self.current.withLock { $0.map(\.detail) } }

    /// `12m`, `1h5m`, `40s`: an age as an operator reads it.
    static func spell(seconds: Double) -> String {
        let total = Int(seconds.rounded(.down))
        let hours = total / 3600
        let minutes = total % 3600 / 60
        let rest = total % 60
        if hours > 0 { return minutes > 0 ? "\(hours)h\(minutes)m" : "\(hours)h" }
        if minutes > 0 { return rest > 0 && minutes < 10 ? "\(minutes)m\(rest)s" : "\(minutes)m" }
        return "\(rest)s"
    }
}
