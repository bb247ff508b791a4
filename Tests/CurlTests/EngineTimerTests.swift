import Foundation
import Testing

@testable import Curl

/// The waits of tasks sleeping on the engine's loop: the heap's order, cancellations, the loop's wake-up, and the
/// engine's clock.
@Suite(.timeLimit(.minutes(1)))
struct EngineTimerTests {
    @Test func dueWaitsComeOutEarliestFirstAndLaterOnesStay() {
        var timers = EngineTimers<Int>()
        let start = ContinuousClock.now
        for offset in [50, 10, 40, 20, 30, 60, 20] {
            let id = timers.register()
            let queued = timers.queue(id, deadline: start.advanced(by: .milliseconds(offset)), offset)
            #expect(queued)
        }
        #expect(timers.count == 7)
        #expect(timers.earliestDeadline == start.advanced(by: .milliseconds(10)))
        let none = timers.takeDue(at: start.advanced(by: .milliseconds(5)))
        #expect(none.isEmpty)
        let first = timers.takeDue(at: start.advanced(by: .milliseconds(30)))
        #expect(first == [10, 20, 20, 30])
        #expect(timers.earliestDeadline == start.advanced(by: .milliseconds(40)))
        let rest = timers.takeDue(at: start.advanced(by: .seconds(1)))
        #expect(rest == [40, 50, 60])
        #expect(timers.count == 0)
        #expect(timers.earliestDeadline == nil)
    }

    @Test func aCancelledWaitNeverComesOutWhetherItWasQueuedOrNot() {
        var timers = EngineTimers<String>()
        let start = ContinuousClock.now
        let queued = timers.register()
        let tookQueued = timers.queue(queued, deadline: start.advanced(by: .milliseconds(10)), "queued")
        #expect(tookQueued)
        let early = timers.register()
        // The cancellation handler ran before the wait was queued: nothing to resume, and the queueing is refused.
        let earlyWaiter = timers.cancel(early)
        #expect(earlyWaiter == nil)
        let tookEarly = timers.queue(early, deadline: start, "early")
        #expect(!tookEarly)
        let kept = timers.register()
        let tookKept = timers.queue(kept, deadline: start.advanced(by: .milliseconds(20)), "kept")
        #expect(tookKept)
        let cancelled = timers.cancel(queued)
        #expect(cancelled == "queued")
        let again = timers.cancel(queued)
        #expect(again == nil, "a second cancellation finds nothing")
        let due = timers.takeDue(at: start.advanced(by: .seconds(1)))
        #expect(due == ["kept"])
        let left = timers.takeAll()
        #expect(left.isEmpty)
    }

    @Test func stoppingTakesEveryQueuedWait() {
        var timers = EngineTimers<Int>()
        let start = ContinuousClock.now
        for index in 0..<5 {
            let id = timers.register()
            _ = timers.queue(id, deadline: start.advanced(by: .seconds(index)), index)
        }
        let all = timers.takeAll()
        #expect(all.sorted() == [0, 1, 2, 3, 4])
        #expect(timers.count == 0)
        #expect(timers.earliestDeadline == nil)
    }

    @Test func wakeUpsAreRoundedUpToTheMillisecondWithinTheLimit() {
        let now = ContinuousClock.now
        #expect(EngineCore.milliseconds(until: now, from: now, atMost: 1000) == 0)
        #expect(EngineCore.milliseconds(until: now.advanced(by: .microseconds(1)), from: now, atMost: 1000) == 1)
        #expect(EngineCore.milliseconds(until: now.advanced(by: .milliseconds(7)), from: now, atMost: 1000) == 7)
        #expect(EngineCore.milliseconds(until: now.advanced(by: .microseconds(7_001)), from: now, atMost: 1000) == 8)
        #expect(EngineCore.milliseconds(until: now.advanced(by: .seconds(5)), from: now, atMost: 1000) == 1000)
        #expect(EngineCore.milliseconds(until: now.advanced(by: .seconds(-5)), from: now, atMost: 1000) == 0)
    }

    @Test func aSleepOnTheEngineEndsAfterItsDeadlineOnTheEngineThread() async throws {
        let engine = CurlEngine()
        defer { engine.shutdown() }
        let clock = engine.clock
        let (woke, deadline, onEngine) = try await withTaskExecutorPreference(engine.taskExecutor) {
            () async throws -> (ContinuousClock.Instant, ContinuousClock.Instant, Bool) in
            let deadline = clock.now.advanced(by: .milliseconds(30))
            try await clock.sleep(until: deadline, tolerance: nil)
            return (ContinuousClock.now, deadline, engine.isCurrentThread)
        }
        #expect(woke >= deadline.advanced(by: .zero - CurlEngine.timerSlack))
        #expect(onEngine)
    }

    @Test func manySleepersFromOtherThreadsEachWakeAtTheirOwnDeadline() async throws {
        let engine = CurlEngine()
        defer { engine.shutdown() }
        let start = ContinuousClock.now
        let early = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in (0..<20).reversed() {
                group.addTask {
                    let deadline = start.advanced(by: .milliseconds(20 + 5 * index))
                    try await engine.sleep(until: deadline)
                    return ContinuousClock.now < deadline.advanced(by: .zero - CurlEngine.timerSlack)
                }
            }
            var early = 0
            for try await woke in group where woke { early += 1 }
            return early
        }
        #expect(early == 0, "\(early) sleepers woke before their deadline")
    }

    @Test func cancellingASleeperThrowsAtOnce() async {
        let engine = CurlEngine()
        defer { engine.shutdown() }
        let sleeper = Task { try await engine.sleep(until: ContinuousClock.now.advanced(by: .seconds(3600))) }
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
    }

    @Test func aStoppedEngineLeavesItsSleepersToTheContinuousClock() async throws {
        let engine = CurlEngine()
        let sleeper = Task { try await engine.sleep(until: ContinuousClock.now.advanced(by: .milliseconds(200))) }
        engine.shutdown()
        try await sleeper.value
        // Later sleeps wait on their own too.
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(10))
        try await engine.sleep(until: deadline)
        #expect(ContinuousClock.now >= deadline)
    }
}

/// Targets spread over the agent engines, each always on the same one.
@Suite struct AgentEngineTests {
    @Test func aTargetAlwaysGetsTheSameEngineAndTargetsUseThemAll() {
        let first = CurlEngine.forAgent(named: "prod-east")
        #expect(CurlEngine.forAgent(named: "prod-east") === first)
        let used = Set((0..<200).map { ObjectIdentifier(CurlEngine.forAgent(named: "t\($0)")) })
        #expect(used.count == CurlEngine.agentEngines.count)
        #expect(CurlEngine.agentEngines.count == min(max(ProcessInfo.processInfo.activeProcessorCount, 1), 4))
    }

    @Test func theEngineThreadIsNamedForTheSystem() async {
        let engine = CurlEngine()
        defer { engine.shutdown() }
        let name = await withTaskExecutorPreference(engine.taskExecutor) { Self.systemThreadName() }
        #expect(name == "obwatch-curl")
    }

    /// The calling thread's name as the system knows it (`/proc/thread-self/comm`).
    private static func systemThreadName() -> String {
        let comm = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
        return comm.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
