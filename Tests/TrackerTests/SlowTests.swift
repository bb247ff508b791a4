import Foundation
import History
import ObshellModel
import Testing
import Tracker

/// `slow` and `caught_up` (issue 19): history-based thresholds, once per node attempt and threshold.
@Suite("slow nodes")
struct SlowTests {
    static let capture = "history-slow-node.jsonl"

    @Test("12 usual runs, then a third node six times slower: exactly one slow with its threshold, then caught_up")
    func acceptance() throws {
        let events = try Fixture.replay(Self.capture)
        let slow = events.filter { $0.type == .slow }
        try #require(slow.count == 1)
        let event = slow[0]
        #expect(event.dag?.name == "Create tenant t13")
        #expect(event.node?.name == "Set tenant variables")
        #expect(event.threshold == "usual")
        #expect(event.thresholdSeconds == 120)
        #expect(event.summary.contains("threshold 2m00s"))
        #expect(event.summary.contains("at p95; this run "))
        #expect(event.incident == "db1/113/slow")
        let caughtUp = events.filter { $0.type == .caughtUp }
        #expect(caughtUp.count == 1)
        #expect(caughtUp.first?.incident == "db1/113/slow")
        let slowIndex = try #require(events.firstIndex { $0.type == .slow })
        let caughtIndex = try #require(events.firstIndex { $0.type == .caughtUp })
        #expect(slowIndex < caughtIndex)
        #expect(events.filter { $0.type == .started }.count == 13)
        // ETAs: none while history is too short, a band once it suffices, never on a final event.
        let started = events.filter { $0.type == .started }
        #expect(started.prefix(5).allSatisfy { $0.eta == nil })
        #expect(started.suffix(7).allSatisfy { $0.eta != nil })
        #expect(event.eta?.text.hasPrefix("ETA ") == true)
        #expect(!events.contains { $0.type == .succeeded && $0.eta != nil })
    }

    @Test("the same capture gives the same slow ids")
    func deterministic() throws {
        let first = try Fixture.replay(Self.capture).filter { $0.type == .slow || $0.type == .caughtUp }.map(\.id)
        let second = try Fixture.replay(Self.capture).filter { $0.type == .slow || $0.type == .caughtUp }.map(\.id)
        #expect(first == second)
        #expect(first.count == 2)
        #expect(Set(first).count == 2)
    }

    @Test("a rule's slower_than fires its own slow beside the built-in one")
    func ruleThresholds() throws {
        let reading = CaptureReader.read(try Fixture.capture(Self.capture), file: Self.capture)
        var replayer = Replayer(
            defaultSettings: TrackerSettings(slowThresholds: [.usual, try #require(SlowerThan("2x"))])
        )
        let slow = replayer.replay(reading.entries).filter { $0.type == .slow }
        #expect(Set(slow.compactMap(\.threshold)) == ["2x", "usual"])
        #expect(slow.count == 2)
        #expect(slow.first { $0.threshold == "2x" }?.summary.contains("slower than 2x") == true)
        #expect(Set(slow.map(\.id)).count == 2)
    }

    @Test("without history nothing is slow, however long a node runs")
    func noHistory() {
        var dag = Fixture.dag(stage: 2)
        dag.nodes?[1].startTime = Fixture.time(0)
        let first = Tracker.step(
            TrackerState(),
            .list([dag], at: Fixture.time(0)),
            settings: TrackerSettings(),
            target: Fixture.target
        )
        let later = Tracker.step(
            first.state,
            .list([dag], at: Fixture.time(86_400)),
            settings: TrackerSettings(),
            target: Fixture.target
        )
        #expect(!later.events.contains { $0.type == .slow })
    }

    /// A history where node 2 of the scale-out usually takes 30 s.
    static func history() -> DurationHistory {
        var history = DurationHistory()
        let key = DurationKey(
            target: Fixture.target.name,
            dagTemplate: "Cluster scale out",
            nodeTemplate: Fixture.nodeNames[1],
            width: 1
        )
        for run in 0..<6 {
            history.record(
                DurationSample(seconds: 30 + Double(run), finishedAt: Fixture.time(run), source: "old\(run)"),
                under: key
            )
        }
        return history
    }

    @Test("a node reset to the epoch by RETRY is not slow; its new attempt is measured from its new start")
    func retriedNode() {
        var dag = Fixture.dag(stage: 2)
        dag.nodes?[1].startTime = ObshellTime(seconds: 0, nanoseconds: 0)
        let history = Self.history()
        let settings = TrackerSettings()
        var state = Tracker.step(
            TrackerState(),
            .list([dag], at: Fixture.time(0)),
            settings: settings,
            target: Fixture.target,
            history: history
        ).state
        let epoch = Tracker.step(
            state,
            .list([dag], at: Fixture.time(600)),
            settings: settings,
            target: Fixture.target,
            history: history
        )
        #expect(!epoch.events.contains { $0.type == .slow })
        state = epoch.state
        dag.nodes?[1].startTime = Fixture.time(590)
        let fresh = Tracker.step(
            state,
            .list([dag], at: Fixture.time(600)),
            settings: settings,
            target: Fixture.target,
            history: history
        )
        #expect(!fresh.events.contains { $0.type == .slow })
        let late = Tracker.step(
            fresh.state,
            .list([dag], at: Fixture.time(1000)),
            settings: settings,
            target: Fixture.target,
            history: history,
            agentTime: Fixture.time(1000)
        )
        #expect(late.events.filter { $0.type == .slow }.map(\.elapsedSeconds) == [410])
        let again = Tracker.step(
            late.state,
            .list([dag], at: Fixture.time(1100)),
            settings: settings,
            target: Fixture.target,
            history: history
        )
        #expect(!again.events.contains { $0.type == .slow })
        let ended = Tracker.step(
            again.state,
            .list([Fixture.dag(stage: 9, state: .succeed)], at: Fixture.time(1200)),
            settings: settings,
            target: Fixture.target,
            history: history
        )
        #expect(ended.events.filter { $0.type == .caughtUp }.count == 1)
    }

    @Test("a state written before history existed still loads")
    func oldStateLoads() throws {
        let step = Tracker.step(
            TrackerState(),
            .list([Fixture.dag(stage: 2)], at: Fixture.time(0)),
            settings: TrackerSettings(),
            target: Fixture.target
        )
        var json = String(decoding: try JSONEncoder().encode(step.state), as: UTF8.self)
        #expect(!json.contains("slowFired"))
        json = json.replacingOccurrences(of: "\"finalConfirmed\":false", with: "\"finalConfirmed\":false")
        let decoded = try JSONDecoder().decode(TrackerState.self, from: Data(json.utf8))
        #expect(decoded == step.state)
    }
}
