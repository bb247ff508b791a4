import ConfigLoading
import ConfigModel
import Foundation
import Logging
import ObshellModel
import ObwatchTestKit
import Pipeline
import Routing
import Simulator
import Synchronization
import Testing
import Tracker

@testable import ObwatchApp

/// One bundled scenario and how to walk it: the step between polls may grow where nothing happens for long.
struct ScenarioWalk: Sendable, CustomTestStringConvertible {
    let file: String
    let timeout: Duration
    let step: @Sendable (Duration) -> Duration

    var testDescription: String { self.file }

    static let all: [ScenarioWalk] = [
        ScenarioWalk(file: "scale-out.yaml", timeout: .seconds(30), step: { _ in .seconds(5) }),
        ScenarioWalk(file: "scale-out-fails.yaml", timeout: .seconds(30), step: { _ in .seconds(5) }),
        // stall.yaml is quiet from 20s to 35m20s: a minute per poll there keeps the walk short.
        ScenarioWalk(
            file: "stall.yaml",
            timeout: .seconds(30),
            step: { elapsed in elapsed >= .seconds(60) && elapsed < .seconds(2100) ? .seconds(60) : .seconds(5) }
        ),
        ScenarioWalk(file: "rollback.yaml", timeout: .seconds(30), step: { _ in .seconds(5) }),
        // The hang fault is one failed poll: ManualSimulator answers a hung request at once, so no walk needs a
        // short timeout, and none can cut a slow answer short on a loaded machine.
        ScenarioWalk(file: "flaky-agent.yaml", timeout: .seconds(30), step: { _ in .seconds(5) }),
    ]
}

@Suite("obwatch run: every bundled scenario, live against replay")
struct ScenarioReplayTests {
    @Test("live events equal the replay of the recording", arguments: ScenarioWalk.all)
    func liveEqualsReplay(walk: ScenarioWalk) async throws {
        let scenario = try bundledScenario(walk.file)
        let running = try await ManualSimulator(scenario)
        defer { running.stop() }
        let (simulator, url) = (running.simulator, running.url)

        let folder = try temporaryFolder("obwatch-walk")
        defer { try? FileManager.default.removeItem(at: folder) }
        let capturePath = folder.appendingPathComponent("capture.jsonl").path
        let recorder = try CaptureRecorder(path: capturePath)
        let target = ObwatchConfig.Target(
            name: "sim",
            url: url,
            password: Password("root-pw"),
            pollInterval: .seconds(5),
            timeout: walk.timeout,
            labels: [:]
        )
        let config = try Self.rulesConfig(in: folder)
        let router = Router(config: config)
        let settings = config.trackerSettings
        let clock = ManualClock.scenario()
        let storage = LocalStateFolder(directory: folder.appendingPathComponent("state"), clock: clock)
        let collected = EventBox()
        let routed = EventBox()
        let routing = try await RoutingStage(
            router: router,
            storage: storage,
            logger: Logger(label: "test"),
            output: { routed.append($0.events) }
        )
        let poller = try await TargetPoller(
            target: target,
            settings: settings,
            storage: storage,
            recorder: recorder,
            clock: clock,
            sink: { batch in
                collected.append(batch.events)
                try await routing.observed(batch)
            }
        )

        try await withRunning(routing) {
            var elapsed = Duration.zero
            while elapsed <= scenario.lastStepTime + .seconds(20) {
                elapsed = try await simulator.advance(by: walk.step(elapsed))
                clock.advance(toWall: await simulator.state().now.date)
                _ = await poller.pollOnce()
            }
        }
        recorder.close()

        let live = collected.all
        let capture = try Data(contentsOf: URL(fileURLWithPath: capturePath))
        let reading = CaptureReader.read(capture, file: capturePath)
        #expect(reading.diagnostics.isEmpty)
        var replayer = Replayer(defaultSettings: settings, identities: ["sim": target.identity])
        let replayed = replayer.replay(reading.entries)
        #expect(replayed.map { $0.jsonLine() } == live.map { $0.jsonLine() })
        #expect(!live.map { $0.jsonLine() }.joined().contains("root-pw"))

        // The daemon's router on the live events equals replay --config on the recording, routes and reminders.
        let replayedRoutes = ReplayCommand.replay(
            files: [capturePath],
            replayer: Replayer(defaultSettings: settings, identities: ["sim": target.identity]),
            router: router,
            write: { _ in }
        )
        #expect(replayedRoutes.errors == [])
        #expect(replayedRoutes.events == routed.all.map { $0.jsonLine() })
        #expect(routed.all.contains { !($0.routes ?? []).isEmpty })

        Self.checkHeadline(walk.file, types: live.map(\.type))
    }

    /// Rules that route every scenario's events somewhere: failures with a reminder and an inhibition, a second
    /// stall threshold, and an audit trail.
    private static func rulesConfig(in folder: URL) throws -> ObwatchConfig {
        let file = folder.appendingPathComponent("rules.yaml")
        try Data(
            """
            state_dir: state
            targets: [{ name: sim, url: "http://127.0.0.1:1" }]
            receivers:
              - { name: chat, webhook: { format: slack, url: "https://hooks.example/x" } }
              - { name: pager, webhook: { format: pagerduty, routing_key: k } }
              - { name: audit, syslog: { address: "udp://127.0.0.1:514" } }
            rules:
              - { name: failures, match: { event: [node_failed, failed] }, notify: [chat], repeat: 10s }
              - { name: stalls, match: { event: stalled }, after: 1m, notify: [pager] }
              - { name: audit, match: { event: "*" }, notify: [audit] }
            inhibit:
              - { source: failed, suppress: [node_failed] }
            """.utf8
        ).write(to: file)
        return try ConfigLoader(environment: [:]).loadValid(contentsOfFile: file.path).0
    }

    /// What each scenario implies, reasoned from its file rather than from a past run.
    private static func checkHeadline(_ file: String, types: [EventType]) {
        let headline = types.filter { $0 != .stageAdvanced }
        switch file {
        case "scale-out.yaml":
            // Seen RUNNING on stage 4 of 9; five advances walk it through stage 9 and it succeeds.
            #expect(headline == [.started, .succeeded])
            #expect(types.contains(.stageAdvanced))
        case "scale-out-fails.yaml":
            // The node fails at 20s, the DAG stays FAILED until the retry at 1m, then three advances finish it.
            #expect(headline == [.started, .nodeFailed, .failed, .retried, .succeeded])
        case "stall.yaml":
            // No progress from 20s to 35m20s crosses the rule's 1m and the default 30m thresholds once each; the
            // log line resumes it.
            #expect(headline == [.started, .stalled, .stalled, .resumed, .succeeded])
        case "rollback.yaml":
            // Fails on stage 3 at 30s, is rolled back at 1m and ends SUCCEED/ROLLBACK.
            #expect(headline.first == .started)
            #expect(Self.isSubsequence([.failed, .rollbackStarted, .rolledBack], of: headline))
            #expect(!headline.contains(.succeeded))
        case "flaky-agent.yaml":
            // Every fault window covers at most two polls in a row (5s apart), below down_after: 3, so the
            // target never goes down; the partial list hides the DAG for 20s, far inside confirm_within: 10m.
            #expect(!types.contains(.targetDown))
            #expect(!types.contains(.targetUp))
            #expect(!types.contains(.vanished))
            // Stage 3 lasts from 50s to 2m10s; less the 10s of refused passwords that is 70s without progress,
            // past the rule's 1m (the key change at 1m40s is refetched and retried within one poll).
            #expect(headline == [.started, .stalled, .resumed, .succeeded])
        default:
            Issue.record("no headline known for \(file)")
        }
    }

    private static func isSubsequence(_ needle: [EventType], of haystack: [EventType]) -> Bool {
        var rest = needle[...]
        for type in haystack where type == rest.first { rest = rest.dropFirst() }
        return rest.isEmpty
    }
}
