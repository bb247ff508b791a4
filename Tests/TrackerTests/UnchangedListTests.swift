import Foundation
import History
import ObshellModel
import Testing
import Tracker

/// The shortcut for a list identical to the last one (issue 20, point 2): the capture reader recognises a repeated
/// poll line without parsing its list, and the tracker then only moves its clocks. Both must give exactly what the
/// full path gives: the same entries, events and states.
@Suite("unchanged lists")
struct UnchangedListTests {
    /// The capture files bundled with the tests.
    static func captureNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: Fixture.capturesFolder.path)
            .filter { $0.hasSuffix(".jsonl") }.sorted()
    }

    /// Replays entries as the replayer did before the shortcut: a full tracker step for every entry, history learnt
    /// from every entry.
    static func replayInFull(
        _ entries: [CaptureEntry],
        settings: TrackerSettings = TrackerSettings(),
        history: DurationHistory = DurationHistory()
    ) -> (events: [Event], states: [String: TrackerState], history: DurationHistory) {
        var states: [String: TrackerState] = [:]
        var history = history
        var events: [Event] = []
        for entry in entries {
            let step = Tracker.step(
                states[entry.target] ?? TrackerState(),
                entry.observation,
                settings: settings,
                target: TargetIdentity(name: entry.target),
                history: history,
                agentTime: entry.agentTime
            )
            states[entry.target] = step.state
            events += step.events
            for dag in entry.observation.dags { history.learn(from: dag, target: entry.target) }
        }
        return (events, states, history)
    }

    /// Every line read on its own through the full parse: what the reader's repeat recognition must agree with.
    static func readLineByLine(_ data: Data, file: String) -> [CaptureEntry] {
        var entries: [CaptureEntry] = []
        for (index, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            if let entry = try? CaptureReader.entry(Data(line), file: file, line: index + 1) { entries.append(entry) }
        }
        return entries
    }

    @Test("every bundled capture: the same events, states and history with and without the shortcut")
    func bundledCaptures() throws {
        var repeats = 0
        for name in try Self.captureNames() {
            let reading = CaptureReader.read(try Fixture.capture(name), file: name)
            repeats += reading.entries.filter(\.repeatsPreviousList).count
            for settings in [
                TrackerSettings(), TrackerSettings(slowThresholds: [.usual, try #require(SlowerThan("2x"))]),
            ] {
                let full = Self.replayInFull(reading.entries, settings: settings)
                var replayer = Replayer(defaultSettings: settings)
                let events = replayer.replay(reading.entries)
                #expect(events == full.events, "\(name): events differ")
                #expect(replayer.states == full.states, "\(name): states differ")
                #expect(replayer.history == full.history, "\(name): history differs")
            }
        }
        // The captures do exercise the shortcut (polls that repeat the list before them).
        #expect(repeats > 20)
    }

    @Test("every bundled capture: a repeated line reads as the same entry as its full parse")
    func readerAgreesWithTheFullParse() throws {
        for name in try Self.captureNames() where name != "bad-lines.jsonl" {
            let data = try Fixture.capture(name)
            let reading = CaptureReader.read(data, file: name)
            let single = Self.readLineByLine(data, file: name)
            let byLine = Dictionary(single.map { ($0.line, $0) }, uniquingKeysWith: { first, _ in first })
            for entry in reading.entries where entry.repeatsPreviousList {
                let full = try #require(byLine[entry.line], "\(name):\(entry.line)")
                #expect(entry.observation == full.observation, "\(name):\(entry.line)")
                #expect(entry.agentTime == full.agentTime, "\(name):\(entry.line)")
                #expect(entry.target == full.target, "\(name):\(entry.line)")
            }
        }
    }

    static let pollRequest = "GET /api/v1/task/dag/unfinish?show_details=true"

    static func line(
        at: String,
        timestamp: String,
        trace: String = "\"ab\"",
        duration: String = "2",
        data: String
    ) -> String {
        "{\"at\":\"\(at)\",\"target\":\"db1\",\"request\":\"\(Self.pollRequest)\",\"status\":200,\"body\":"
            + "{\"successful\":true,\"timestamp\":\(timestamp),\"duration\":\(duration),\"status\":200,"
            + "\"traceId\":\(trace),\"data\":\(data)}}"
    }

    @Test("near repeats are read in full: the reader's entries and diagnostics equal a line-by-line full parse")
    func nearRepeats() throws {
        let list = "{\"contents\":null}"
        let stamp = "\"2026-11-01T00:00:05.1+08:00\""
        let lines = [
            Self.line(at: "2026-11-01T00:00:00Z", timestamp: stamp, data: list),
            Self.line(
                at: "2026-11-01T00:00:05Z",
                timestamp: "\"2026-11-01T00:00:10+08:00\"",
                trace: "\"x\"",
                data: list
            ),
            // A repeat whose times are not times, whose duration is no integer, whose trace id is no string.
            Self.line(at: "yesterday", timestamp: stamp, data: list),
            Self.line(at: "2026-11-01T00:00:10Z", timestamp: "\"noon\"", data: list),
            Self.line(at: "2026-11-01T00:00:15Z", timestamp: stamp, duration: "2.5", data: list),
            Self.line(at: "2026-11-01T00:00:20Z", timestamp: stamp, duration: "99999999999999999999", data: list),
            Self.line(at: "2026-11-01T00:00:25Z", timestamp: stamp, trace: "7", data: list),
            Self.line(at: "2026-11-01T00:00:30Z", timestamp: "null", data: list),
            Self.line(at: "2026-11-01T00:00:35Z", timestamp: stamp, trace: "\"\\u0041\"", data: list),
            Self.line(at: "2026-11-01T00:00:40Z", timestamp: stamp, data: "{\"contents\":[]}"),
            Self.line(at: "2026-11-01T00:00:45Z", timestamp: stamp, data: list) + " x",
            Self.line(at: "2026-11-01T00:00:50Z", timestamp: stamp, data: list),
            Self.line(at: "2026-11-01T00:00:55Z", timestamp: stamp, data: list).replacingOccurrences(
                of: "\"successful\":true",
                with: "\"successful\":false"
            ),
            Self.line(at: "2026-11-01T00:01:00Z", timestamp: stamp, data: list),
        ]
        let data = Data(lines.joined(separator: "\n").utf8)
        let reading = CaptureReader.read(data, file: "near.jsonl")
        let single = Self.readLineByLine(data, file: "near.jsonl")
        #expect(reading.entries.map(\.observation) == single.map(\.observation))
        #expect(reading.entries.map(\.agentTime) == single.map(\.agentTime))
        #expect(reading.entries.map(\.line) == single.map(\.line))
        var diagnostics: [String] = []
        for (index, line) in lines.enumerated() {
            do { _ = try CaptureReader.entry(Data(line.utf8), file: "near.jsonl", line: index + 1) } catch {
                diagnostics.append(error.description)
            }
        }
        #expect(reading.diagnostics.map(\.description) == diagnostics)
        #expect(!diagnostics.isEmpty)
        // Only line 2 repeats the list right before it: later near repeats were read in full, and line 14 repeats
        // line 12 with a failed poll between them.
        #expect(reading.entries.filter(\.repeatsPreviousList).map(\.line) == [2])
        #expect(reading.entries.contains { $0.line == 14 && !$0.repeatsPreviousList })
        #expect(reading.entries.contains { $0.line == 12 && !$0.repeatsPreviousList })
    }

    /// Usual durations for the fixture's scale-out, so `slow` and ETAs have something to go on.
    static func history() -> DurationHistory {
        var history = DurationHistory()
        for run in 0..<12 {
            var dag = Fixture.dag(id: String(500 + run), stage: 9, state: .succeed)
            let start = Fixture.time(-100_000 + run * 2_000)
            dag.startTime = start
            dag.endTime = start.adding(.seconds(Int64(900 + run)))
            for index in (dag.nodes ?? []).indices {
                dag.nodes?[index].startTime = start.adding(.seconds(Int64(index * 100)))
                dag.nodes?[index].endTime = start.adding(.seconds(Int64(index * 100 + 90 + run)))
            }
            history.learn(from: dag, target: Fixture.target.name)
        }
        return history
    }

    @Test("random sequences: each list repeated at a later time gives the same events and state as a full step")
    func randomSequences() throws {
        let history = Self.history()
        let settings = TrackerSettings(
            downAfter: 2,
            confirmWithin: .seconds(1200),
            stallThresholds: [TrackerSettings.defaultStallAfter, try #require(StallThreshold("1h"))],
            forgetSucceededAfter: .seconds(3_000),
            slowThresholds: [.usual, try #require(SlowerThan("2x"))]
        )
        var shortcuts = 0
        var eventsSeen = 0
        for seed in UInt64(1)...300 {
            var random = SeededGenerator(seed: seed)
            var full = TrackerState()
            var short = TrackerState()
            var time = Fixture.start
            var previous: Observation?
            for _ in 0..<60 {
                time = time.adding(.seconds(Int64.random(in: 1...900, using: &random)))
                var observation = PropertyTests.randomObservation(time, &random)
                if case .list(var dags, _) = observation, Bool.random(using: &random) {
                    // Running nodes that started at the fixture's start: elapsed grows, so `slow` can fire.
                    for index in dags.indices {
                        for node in (dags[index].nodes ?? []).indices {
                            dags[index].nodes?[node].startTime = Fixture.start
                        }
                    }
                    observation = .list(dags, at: time)
                }
                var repeated = false
                if case .list(let dags, _) = previous, Int.random(in: 0..<3, using: &random) > 0 {
                    observation = .list(dags, at: time)
                    repeated = true
                }
                let agentTime = time.adding(.seconds(Int64.random(in: -5...5, using: &random)))
                let expected = Tracker.apply(
                    observation,
                    to: &full,
                    settings: settings,
                    target: Fixture.target,
                    history: history,
                    agentTime: agentTime
                )
                let effects: TrackerEffects
                if repeated, case .list(let dags, let at) = observation {
                    shortcuts += 1
                    effects = Tracker.applyUnchangedList(
                        dags,
                        at: at,
                        to: &short,
                        settings: settings,
                        target: Fixture.target,
                        history: history,
                        agentTime: agentTime
                    )
                } else {
                    effects = Tracker.apply(
                        observation,
                        to: &short,
                        settings: settings,
                        target: Fixture.target,
                        history: history,
                        agentTime: agentTime
                    )
                }
                eventsSeen += expected.events.count
                try #require(effects == expected, "seed \(seed): effects differ")
                try #require(short == full, "seed \(seed): states differ")
                previous = observation
            }
        }
        #expect(shortcuts > 5_000)
        #expect(eventsSeen > 1_000)
    }

    @Test("the in-place step is the step")
    func inPlaceIsStep() {
        var random = SeededGenerator(seed: 7)
        var state = TrackerState()
        var time = Fixture.start
        for _ in 0..<500 {
            time = time.adding(.seconds(Int64.random(in: 1...900, using: &random)))
            let observation = PropertyTests.randomObservation(time, &random)
            let step = Tracker.step(state, observation, settings: TrackerSettings(), target: Fixture.target)
            let effects = Tracker.apply(observation, to: &state, settings: TrackerSettings(), target: Fixture.target)
            #expect(state == step.state)
            #expect(effects.events == step.events)
            #expect(effects.confirmations == step.confirmations)
        }
    }
}
