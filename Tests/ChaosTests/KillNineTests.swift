import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Where in a step the daemon is killed.
enum KillPoint: String, CaseIterable, Sendable {
    /// Right after the proxy saw the first poll after the step: obwatch is somewhere in that observation (waiting
    /// for the answer, in the tracker, saving, handing the events on).
    case afterPoll = "after-poll"
    /// Right after the proxy sent the answer to the first poll after the step: obwatch is reading it, tracking,
    /// saving or handing the events on.
    case afterAnswer = "after-answer"
    /// Right after the daemon printed an event: routed, maybe not yet saved as handed on.
    case afterPrinted = "after-printed"
    /// While the hook holds a notification unanswered.
    case whileHeld = "while-held"
    /// Right after the hook answered a notification, before obwatch may have noted it as sent.
    case afterDelivery = "after-delivery"
}

/// What one run of the hour left at the hook and on the daemons' standard output.
struct HourOutcome: Sendable {
    var delivered: [String: [String]]
    var printed: Set<String>
    /// The ids (not fingerprints) the daemons printed, in order.
    var printedIDs: [String]
    /// The ids `obwatch replay` makes of the run's own capture.
    var replayedIDs: [String]
    /// How `obwatch replay` exited.
    var replayStatus: Int32
    var typesByFingerprint: [String: String]
}

/// The uninterrupted run of the hour, made once and shared by every seed.
private let controlOutcome = Mutex<HourOutcome?>(nil)

/// The seeds of the kill plans: three fixed ones, or `OBWATCH_CHAOS_SEEDS=1,2,3` to look further.
func chaosSeeds() -> [UInt64] {
    let given = (ProcessInfo.processInfo.environment["OBWATCH_CHAOS_SEEDS"] ?? "").split(separator: ",")
        .compactMap { UInt64($0.trimmingCharacters(in: .whitespaces)) }
    return given.isEmpty ? [11, 2_026, 90_210] : given
}

@Suite("obwatch run killed with SIGKILL at seeded points of a virtual hour", .serialized)
struct KillNineTests {
    static let scenarioName = "chaos-hour.yaml"

    /// Step times after which the daemon has nothing to notify (log lines, a READY DAG started): no delivery to
    /// hold or to wait for there.
    static let quietSteps: Set<String> = ["1m30s", "4m", "11m", "14m30s", "21m", "26m", "36m", "45m", "1h"]

    /// Plays the hour: each step, then two polls; at the planned steps a SIGKILL and a restart on the same state.
    static func playHour(
        binary: URL,
        plan: [Int: KillPoint],
        name: String
    ) async throws -> (HourOutcome, ObwatchRig) {
        let scenario = try ChaosResources.url(Self.scenarioName)
        let times = try stepTimes(of: scenario)
        let rig = try await ObwatchRig(
            binary: binary,
            scenario: scenario,
            downAfter: 3,
            prefix: "obwatch-chaos-\(name)"
        )
        do {
            try rig.startDaemon()
            try await rig.awaitPolls(2)
            for (index, time) in times.enumerated() {
                let point = plan[index]
                if point == .whileHeld { try await rig.holdNextDelivery() }
                try await rig.advance(to: time)
                switch point {
                case nil:
                    try await rig.awaitPolls(2)
                    continue
                case .afterPoll:
                    try await rig.awaitPolls(1)
                case .afterAnswer:
                    try await rig.awaitPollAnswer()
                case .afterPrinted:
                    try await rig.awaitPrintedEvent()
                case .whileHeld:
                    try await rig.awaitHook("held")
                case .afterDelivery:
                    try await rig.awaitHook("delivered")
                }
                try await rig.stopDaemon(SIGKILL)
                rig.releaseHook()
                try await rig.markProxy()
                try rig.startDaemon()
                // A request the killed daemon had sent may still be reported after the mark: one poll more.
                try await rig.awaitPolls(3)
            }
            try await rig.finish()
        } catch {
            rig.group.killAll()
            throw ChaosError(description: "\(name): \(error)\nsteps: \(rig.log)")
        }
        var delivered: [String: [String]] = [:]
        var types: [String: String] = [:]
        for request in rig.hookRequests where request.answered {
            for event in request.events {
                delivered[event.fingerprint, default: []].append(event.id)
                types[event.fingerprint] = event.type
            }
        }
        let printed = rig.printedEvents
        let replayed = try await rig.replayCapture()
        let outcome = HourOutcome(
            delivered: delivered,
            printed: Set(printed.map(\.fingerprint)),
            printedIDs: printed.map(\.id),
            replayedIDs: replayed.events.map(\.id),
            replayStatus: replayed.status,
            typesByFingerprint: types
        )
        return (outcome, rig)
    }

    static func control(binary: URL) async throws -> HourOutcome {
        if let known = controlOutcome.withLock({ $0 }) { return known }
        let (outcome, _) = try await Self.playHour(binary: binary, plan: [:], name: "control")
        controlOutcome.withLock { $0 = outcome }
        return outcome
    }

    @Test("the uninterrupted hour notifies every kind of event once")
    func controlRun() async throws {
        let binary = try #require(ObwatchBinary.locate(), "no obwatch binary: set OBWATCH_BINARY or build it")
        let control = try await Self.control(binary: binary)
        #expect(control.delivered.values.allSatisfy { $0.count == 1 }, "\(control.delivered)")
        #expect(Set(control.delivered.keys) == control.printed)
        let types = Set(control.typesByFingerprint.values)
        for type in [
            "started", "stage_advanced", "node_failed", "failed", "retried", "rollback_started", "succeeded",
            "rolled_back", "cancelled",
        ] {
            #expect(types.contains(type), "no \(type) in \(types.sorted())")
        }
        #expect(!types.contains("target_down") && !types.contains("vanished"))
        // The run's own capture replays to the very same ids, stage changes included (their ids carry the capture
        // line's time, which is the observation's).
        #expect(control.replayStatus == 0)
        #expect(
            control.replayedIDs == control.printedIDs,
            "replayed \(control.replayedIDs), printed \(control.printedIDs)"
        )
    }

    @Test(
        "kill -9 at seeded points: nothing lost, nothing invented, duplicates only as themselves",
        arguments: chaosSeeds()
    )
    func killNine(seed: UInt64) async throws {
        let binary = try #require(ObwatchBinary.locate(), "no obwatch binary: set OBWATCH_BINARY or build it")
        let control = try await Self.control(binary: binary)
        let times = try stepTimes(of: try ChaosResources.url(Self.scenarioName))

        var generator = SeededGenerator(seed: seed)
        var plan: [Int: KillPoint] = [:]
        while plan.count < 6 {
            let index = Int.random(in: 0..<times.count, using: &generator)
            var point = KillPoint.allCases.randomElement(using: &generator) ?? .afterPoll
            if Self.quietSteps.contains(times[index]), point != .afterPoll { point = .afterAnswer }
            plan[index] = point
        }
        let shown = plan.keys.sorted().map { "\(times[$0]):\(plan[$0]?.rawValue ?? "")" }
        print("seed \(seed): kill -9 at \(shown.joined(separator: ", "))")

        let (outcome, rig) = try await Self.playHour(binary: binary, plan: plan, name: "seed-\(seed)")
        let expected = Set(control.delivered.keys)
        let got = Set(outcome.delivered.keys)
        let lost = expected.subtracting(got).map { control.typesByFingerprint[$0] ?? "" + $0 }
        let invented = got.subtracting(expected).map { "\(outcome.typesByFingerprint[$0] ?? ""): \($0)" }
        #expect(lost.isEmpty, "seed \(seed) (\(shown)): lost \(lost.sorted())")
        #expect(invented.isEmpty, "seed \(seed) (\(shown)): invented \(invented.sorted())")
        #expect(
            outcome.printed.isSubset(of: expected),
            "seed \(seed): printed but not in the control run: \(outcome.printed.subtracting(expected).sorted())"
        )
        // One stage change, one id, however often it was sent; every other id is the control run's own.
        for (fingerprint, ids) in outcome.delivered {
            #expect(Set(ids).count == 1, "seed \(seed): \(fingerprint) was sent under ids \(Set(ids).sorted())")
        }
        // A duplicate is a copy: the same event, and a notification sent twice is the same notification.
        let requests = rig.hookRequests
        let copiesByEvent = Dictionary(grouping: requests.flatMap(\.events), by: \.id)
        for (id, copies) in copiesByEvent {
            #expect(Set(copies.map(\.canonical)).count == 1, "seed \(seed): event \(id) differs between copies")
        }
        for request in requests {
            #expect(request.idempotencyKey == request.notificationID)
        }
        for (id, copies) in Dictionary(grouping: requests, by: \.notificationID) {
            #expect(Set(copies.map { $0.events.map(\.id) }).count == 1, "seed \(seed): notification \(id) changed")
        }
        // The file receiver holds every expected event too, each line a whole notification.
        let journal = try rig.journalNotifications()
        let journaled = Set(
            journal.flatMap { ($0["events"] as? [[String: Any]]) ?? [] }.compactMap { EventCopy($0)?.fingerprint }
        )
        #expect(journaled == expected, "seed \(seed): the journal differs: \(journaled.symmetricDifference(expected))")
        // The capture replays without a torn line (CONTRACT: a line that is not JSON makes replay exit 1).
        #expect(
            outcome.replayStatus == 0,
            "seed \(seed): obwatch replay of the run's capture exited \(outcome.replayStatus)"
        )
        let duplicates = outcome.delivered.values.filter { $0.count > 1 }.count
        print("seed \(seed): \(got.count) events, \(duplicates) sent more than once, \(rig.generation) daemon starts")
    }
}
