import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The package root, from this file's path (the scratch package links Tests/ChaosTests into it).
private let packageRoot = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// What a run without kills delivered, in the order the daemon printed it.
private struct FaultOutcome {
    var delivered: [EventCopy]
    var printed: [EventCopy]
    var secretFetches: Int
    /// `GET /api/v1/task/dag/{id}` requests: confirmations of DAGs missing from a list.
    var confirmations: Int
    var failedPollLogs: Int
}

@Suite("obwatch run against an agent that misbehaves", .serialized)
struct AgentFaultTests {
    /// Plays every step of `scenario` (each followed by three polls) with `down_after: 1`, so that every failed poll
    /// shows as a `target_down` and none can hide.
    private static func play(binary: URL, scenario: URL, name: String) async throws -> FaultOutcome {
        let times = try stepTimes(of: scenario)
        let rig = try await ObwatchRig(
            binary: binary,
            scenario: scenario,
            downAfter: 1,
            prefix: "obwatch-faults-\(name)"
        )
        do {
            try rig.startDaemon()
            try await rig.awaitPolls(2)
            for time in times {
                try await rig.advance(to: time)
                // The proxy reports a poll when it arrives, before it forwards it: the second poll after the
                // advance may be answered from the next step. The third one is only sent once the second is
                // through, so two whole observations belong to this step, and a window that ends here is followed
                // by a good poll before the next fault can start (one outage per window, never two merged).
                try await rig.awaitPolls(3)
            }
            try await rig.finish()
        } catch {
            rig.group.killAll()
            throw ChaosError(description: "\(name): \(error)\nsteps: \(rig.log)")
        }
        return FaultOutcome(
            delivered: rig.hookRequests.filter(\.answered).flatMap(\.events),
            printed: rig.printedEvents,
            secretFetches: rig.proxiedRequests.filter { $0.hasPrefix("/api/v1/secret") }.count,
            confirmations: rig.proxiedRequests.filter { $0.hasPrefix("/api/v1/task/dag/") }.count,
            failedPollLogs: rig.logLines.filter { $0.contains("poll failed") }.count
        )
    }

    /// Runs `scenario` with its faults and without them, and holds the faults to what CONTRACT lets them do.
    private static func compareWithControl(
        scenario: URL,
        name: String,
        downEpisodes: Int,
        keyChanges: Int
    ) async throws {
        let binary = try #require(ObwatchBinary.locate(), "no obwatch binary: set OBWATCH_BINARY or build it")
        let folder = try temporaryFolder("obwatch-fault-variants")
        defer { try? FileManager.default.removeItem(at: folder) }
        let clean = folder.appendingPathComponent("clean-\(scenario.lastPathComponent)")
        let text = try String(contentsOf: scenario, encoding: .utf8)
        try Data(text.split(separator: "\n").filter { !$0.contains("fault:") }.joined(separator: "\n").utf8)
            .write(to: clean)

        let faulty = try await Self.play(binary: binary, scenario: scenario, name: name)
        let control = try await Self.play(binary: binary, scenario: clean, name: "\(name)-control")

        let targetTypes: Set<String> = ["target_down", "target_up"]
        // With one target, each outage also leaves obwatch unable to watch anything: its own events, not a DAG's.
        let watcherTypes: Set<String> = ["watcher_degraded", "watcher_recovered"]
        let notDagTypes = targetTypes.union(watcherTypes)
        print("\(name): with faults \(faulty.printed.map(\.type)); without \(control.printed.map(\.type))")
        // The control run sees a healthy agent: no target events, no failed poll.
        #expect(control.delivered.allSatisfy { !targetTypes.contains($0.type) })
        #expect(control.failedPollLogs == 0)
        // Faults add target_down/target_up and nothing else: every DAG event is the control run's, and the control
        // run's are all there (a DAG merely missing from a partial list is neither succeeded, failed nor vanished).
        let dagEvents = Set(faulty.delivered.filter { !notDagTypes.contains($0.type) }.map(\.fingerprint))
        let expected = Set(control.delivered.map(\.fingerprint))
        let onlyWithFaults = faulty.delivered.filter {
            !notDagTypes.contains($0.type) && !expected.contains($0.fingerprint)
        }
        let onlyWithout = control.delivered.filter { !dagEvents.contains($0.fingerprint) }
        #expect(dagEvents == expected, "\(name): only with faults \(onlyWithFaults), only without \(onlyWithout)")
        #expect(!faulty.delivered.contains { $0.type == "vanished" })
        // Each fault window is one outage: target_down then target_up, alternating, ending up; a key change is no
        // outage at all (down_after is 1, so a single failed poll would show).
        let outages = faulty.printed.filter { targetTypes.contains($0.type) }.map(\.type)
        let alternating = (0..<downEpisodes).flatMap { _ in ["target_down", "target_up"] }
        #expect(outages == alternating, "\(name): target events \(outages)")
        #expect(Set(faulty.delivered.filter { targetTypes.contains($0.type) }.map(\.id)).count == 2 * downEpisodes)
        #expect(faulty.failedPollLogs >= downEpisodes)
        // An outage of the only target that lasts past the watcher's once-a-second look is a watcher episode:
        // degraded then recovered, never more episodes than outages, and none left open.
        let watcherEvents = faulty.printed.filter { watcherTypes.contains($0.type) }.map(\.type)
        let episodes = watcherEvents.count / 2
        #expect(episodes <= downEpisodes)
        #expect(watcherEvents == (0..<episodes).flatMap { _ in ["watcher_degraded", "watcher_recovered"] })
        // The partial lists and `contents: null` really hid DAGs: obwatch asked for them by id more often.
        #expect(faulty.confirmations > control.confirmations, "\(name): \(faulty.confirmations) confirmations")
        // The key changes really happened: obwatch fetched the key again after each, without a failed poll.
        #expect(faulty.secretFetches >= 1 + keyChanges, "\(name): \(faulty.secretFetches) key fetches")
    }

    @Test("flaky-agent.yaml: 500s, a hang, garbage, a partial list, contents: null, a new key, a refused password")
    func flakyAgent() async throws {
        try await Self.compareWithControl(
            scenario: packageRoot.appendingPathComponent("scenarios/flaky-agent.yaml"),
            name: "flaky-agent",
            downEpisodes: 4,
            keyChanges: 1
        )
    }

    @Test("faults while DAGs advance, fail and succeed out of a partial list; two key changes")
    func faultsWhileDagsMove() async throws {
        try await Self.compareWithControl(
            scenario: try ChaosResources.url("faults.yaml"),
            name: "faults",
            downEpisodes: 4,
            keyChanges: 2
        )
    }
}
