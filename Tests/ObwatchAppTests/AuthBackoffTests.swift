import ConfigModel
import Foundation
import Logging
import ObshellModel
import ObwatchTestKit
import Pipeline
import Simulator
import Synchronization
import Testing
import Tracker

import class ObwatchTestKit.EventBox
import func ObwatchTestKit.temporaryFolder

@testable import ObwatchApp

@Suite("obwatch run: a refused password is not hammered; failing targets are logged by episode")
struct AuthBackoffTests {
    @Test("the wait doubles from the interval and stops at 15 minutes")
    func doubling() {
        let waits = (1...12).map { AuthBackoff.delay(afterRefusals: $0, interval: .seconds(1)) }
        #expect(Array(waits.prefix(10)) == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512].map { Duration.seconds($0) })
        #expect(waits[10] == .seconds(900))
        #expect(waits[11] == .seconds(900))
        #expect(AuthBackoff.delay(afterRefusals: 100, interval: .seconds(5)) == AuthBackoff.maximum)
    }

    @Test("a reload keeps the back-off of an unchanged password and drops it for a new one")
    func bookAcrossReloads() {
        let clock = ManualClock()
        let book = AuthBackoffBook(clock: clock)
        let wrong = Password("wrong")
        #expect(book.refused(target: "prod", password: wrong, interval: .seconds(60)) == .seconds(60))
        #expect(book.refused(target: "prod", password: wrong, interval: .seconds(60)) == .seconds(120))
        #expect(book.remainingWait(target: "prod", password: wrong) == .seconds(120))
        clock.advance(by: .seconds(100))
        #expect(book.remainingWait(target: "prod", password: wrong) == .seconds(20))
        #expect(book.remainingWait(target: "prod", password: Password("fixed")) == nil)
        // A new password starts its own count.
        #expect(book.refused(target: "prod", password: Password("fixed"), interval: .seconds(60)) == .seconds(60))
        book.accepted(target: "prod")
        #expect(book.refusals(target: "prod") == 0)
    }

    @Test("failure logging: the first failure, a change of kind, then a reminder at most every 10 minutes")
    func failureLog() {
        var log = FailureLog()
        let start = Date(timeIntervalSince1970: 1_000_000)
        #expect(log.failed(kind: "connect", at: start) == .first)
        #expect(log.failed(kind: "connect", at: start.addingTimeInterval(1)) == .quiet)
        #expect(log.failed(kind: "connect", at: start.addingTimeInterval(599)) == .quiet)
        #expect(log.failed(kind: "connect", at: start.addingTimeInterval(600)) == .reminder(failures: 4))
        #expect(log.failed(kind: "auth", at: start.addingTimeInterval(601)) == .first)
        #expect(log.succeeded() == 5)
        #expect(log.succeeded() == nil)
        #expect(log.failed(kind: "auth", at: start.addingTimeInterval(700)) == .first)
    }

    @Test("a wrong password at a 1 s interval: at most 12 refused logins at the agent in 10 minutes, target_down auth")
    func wrongPasswordAgainstTheAgent() async throws {
        let running = try await ManualSimulator(try bundledScenario("scale-out-fails.yaml"))
        defer { running.stop() }
        let folder = try temporaryFolder("obwatch-auth")
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = ObwatchConfig.Target(
            name: "prod-east",
            url: running.url,
            password: Password("not-the-password"),
            pollInterval: .seconds(1),
            timeout: .seconds(30),
            labels: [:]
        )
        let clock = ImmediateClock(stopAfter: 16)
        let box = EventBox()
        let poller = try await TargetPoller(
            target: target,
            settings: TrackerSettings(downAfter: 3),
            storage: LocalStateFolder(directory: folder, clock: clock),
            clock: clock,
            random: { 0 },
            sink: { box.append($0.events) }
        )
        await #expect(throws: CancellationError.self) { try await poller.run() }
        // Each poll follows a wait; the last wait ended the loop.
        var elapsed = Duration.zero
        var pollsInTenMinutes = 0
        for wait in clock.waits.dropLast() {
            elapsed += wait
            if elapsed < .seconds(600) { pollsInTenMinutes += 1 }
        }
        let refused = await running.simulator.refusedLogins()
        #expect(refused == clock.waits.count - 1, "every poll is one login, no hidden retries")
        #expect(pollsInTenMinutes <= 12, "\(pollsInTenMinutes) refused logins in the first 10 minutes")
        #expect(clock.waits.dropFirst().prefix(4) == [.seconds(1), .seconds(2), .seconds(4), .seconds(8)])
        #expect(clock.waits.last == .seconds(900))
        let down = try #require(box.all.first { $0.type == .targetDown })
        #expect(down.errorKind == "auth")
        #expect(down.summary.contains("fix password/password_file of prod-east"), "\(down.summary)")
        #expect(!down.jsonLine().contains("not-the-password"))
        #expect(box.all.filter { $0.type == .targetDown }.count == 1)
    }

    @Test("an agent that cannot be reached is polled at the normal cadence (no back-off), error_kind connect")
    func unreachableIsNotBackedOff() async throws {
        let folder = try temporaryFolder("obwatch-connect")
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = ObwatchConfig.Target(
            name: "gone",
            url: "http://127.0.0.1:1",
            password: Password("pw"),
            pollInterval: .seconds(2),
            timeout: .seconds(1),
            labels: [:]
        )
        let clock = ImmediateClock(stopAfter: 5)
        let box = EventBox()
        let poller = try await TargetPoller(
            target: target,
            settings: TrackerSettings(downAfter: 2),
            storage: LocalStateFolder(directory: folder, clock: clock),
            clock: clock,
            random: { 0 },
            sink: { box.append($0.events) }
        )
        await #expect(throws: CancellationError.self) { try await poller.run() }
        #expect(clock.waits == [.zero, .seconds(2), .seconds(2), .seconds(2), .seconds(2)])
        #expect(box.all.first { $0.type == .targetDown }?.errorKind == "connect")
    }
}

@Suite("obwatch run: state that cannot be saved is loud, and events still go out")
struct UnsavedStateTests {
    @Test("a state folder that cannot be written: events are still handed on, health says why; it clears on repair")
    func eventsStillHandedOn() async throws {
        let running = try await ManualSimulator(try bundledScenario("scale-out-fails.yaml"))
        defer { running.stop() }
        let folder = try temporaryFolder("obwatch-unsaved")
        defer { try? FileManager.default.removeItem(at: folder) }
        // A regular file where the state folder's parent should be: every write fails with "not a directory".
        let blocker = folder.appendingPathComponent("blocker")
        try Data("x".utf8).write(to: blocker)
        let target = ObwatchConfig.Target(
            name: "sim",
            url: running.url,
            password: Password("root-pw"),
            pollInterval: .seconds(1),
            timeout: .seconds(30),
            labels: [:]
        )
        let failures = EventCounter()
        let clock = ManualClock()
        let health = PipelineHealth(
            logger: Logger(label: "test"),
            clock: clock,
            onSaveFailure: { failures.increment() }
        )
        let box = EventBox()
        let poller = try await TargetPoller(
            target: target,
            settings: TrackerSettings(),
            storage: LocalStateFolder(directory: blocker.appendingPathComponent("state"), clock: clock),
            clock: clock,
            health: health,
            sink: { box.append($0.events) }
        )
        _ = try await running.simulator.advance(to: .seconds(5))
        await poller.pollOnce()
        #expect(box.all.map(\.type) == [.started])
        #expect(health.stateProblem?.contains("not a directory") == true, "\(health.stateProblem ?? "")")
        #expect(failures.value >= 1)
        _ = try await running.simulator.advance(to: .seconds(30))
        await poller.pollOnce()
        #expect(box.all.map(\.type).contains(.failed))
        // Repaired: the next cycle writes, and the problem is gone.
        try FileManager.default.removeItem(at: blocker)
        try FileManager.default.createDirectory(at: blocker, withIntermediateDirectories: true)
        await poller.pollOnce()
        #expect(health.stateProblem == nil)
        let saved = StateStore(directory: blocker.appendingPathComponent("state")).load(target: "sim", timestamp: "t")
        #expect(saved.state.dags.count == 1)
        #expect(box.all.filter { $0.type == .failed }.count == 1, "no event made twice")
    }

    @Test("the watcher's problems: state, a receiver stuck past stuck_after, every target down")
    func problems() {
        let now = Date(timeIntervalSince1970: 2_000_000)
        let problems = WatcherMonitor.problems(
            stateProblem: "cannot write /var/lib/obwatch/sim.json.tmp-1: read-only file system",
            backlog: [
                ("chat", 3, now.addingTimeInterval(-720)),
                ("pager", 1, now.addingTimeInterval(-30)),
                ("idle", 0, nil),
            ],
            stuckAfter: .seconds(600),
            allTargetsFailing: true,
            targetCount: 2,
            now: now
        )
        #expect(
            problems.map(\.detail) == [
                "state cannot be saved: cannot write /var/lib/obwatch/sim.json.tmp-1: read-only file system",
                "receiver chat has had a notification undelivered for 12m (3 waiting)",
                "all 2 targets are down: every poll fails",
            ]
        )
        #expect(
            WatcherMonitor.problems(
                stateProblem: nil,
                backlog: [],
                stuckAfter: .seconds(600),
                allTargetsFailing: false,
                targetCount: 1,
                now: now
            ).isEmpty
        )
    }
}

/// A thread-safe count.
final class EventCounter: Sendable {
    private let count = Mutex(0)

    func increment() { self.count.withLock { $0 += 1 } }

    var value: Int { self.count.withLock { $0 } }
}
