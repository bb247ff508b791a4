import ConfigModel
import Delivery
import Foundation
import ObshellModel
import ObwatchTestKit
import Synchronization
import Testing
import Tracker

/// A receiver that is down for ten minutes of virtual time from `start`: HTTP 500 for the first 200 s, then 429
/// with Retry-After, then requests that time out (each one spends the timeout), then it takes everything.
///
/// Its clock is virtual: a wait returns at once and moves the clock to its deadline, so ten minutes of outage take
/// none. It can also hold a try open (``closeGate(after:)``) until the test answers it, so a test can stop the
/// outbox in the middle of a try; ``log`` records each try it holds (`held`), and the test adds its own steps.
final class OutageReceiver: NotificationSender {
    struct Record: Sendable {
        var id: String
        var start: Date
        var end: Date
        var outcome: DeliveryOutcome
    }

    private struct State {
        var calls = 0
        var gateAfter: Int?
        var blocked: CheckedContinuation<DeliveryOutcome, Never>?
        var records: [Record] = []
    }

    static let serverErrorsUntil: TimeInterval = 200
    static let throttledUntil: TimeInterval = 400
    static let recoversAt: TimeInterval = 600
    static let retryAfter: Duration = .seconds(45)
    static let timeout: Duration = .seconds(10)

    let clock: ImmediateClock
    /// What happened, in order: `held` for each try held open, and what the test adds.
    let log = Recording<String>()
    let outageStart: Date
    private let state = Mutex(State())

    init(clock: ImmediateClock, outageStart: Date) {
        self.clock = clock
        self.outageStart = outageStart
    }

    func deliver(_ notification: OutboundNotification, now: Date) async -> DeliveryOutcome {
        let gated = self.state.withLock { state -> Bool in
            state.calls += 1
            return state.gateAfter.map { state.calls > $0 } ?? false
        }
        let outcome: DeliveryOutcome
        if gated {
            outcome = await withCheckedContinuation { continuation in
                self.state.withLock { $0.blocked = continuation }
                self.log.append("held")
            }
        } else {
            outcome = self.answer(at: now)
        }
        let end = self.clock.wallNow
        self.state.withLock { $0.records.append(Record(id: notification.id, start: now, end: end, outcome: outcome)) }
        return outcome
    }

    private func answer(at now: Date) -> DeliveryOutcome {
        let elapsed = now.timeIntervalSince(self.outageStart)
        if elapsed < Self.serverErrorsUntil { return .retry(reason: "HTTP 500 Internal Server Error", after: nil) }
        if elapsed < Self.throttledUntil { return .retry(reason: "HTTP 429 Too Many Requests", after: Self.retryAfter) }
        if elapsed < Self.recoversAt {
            self.clock.advance(by: Self.timeout)
            return .retry(reason: "timed out after 10 s", after: nil)
        }
        return .delivered(answer: "HTTP 200 ok")
    }

    /// Tries after the `count`-th wait for ``release(_:)``.
    func closeGate(after count: Int) { self.state.withLock { $0.gateAfter = count } }

    /// Answers the try that waits, if one does.
    @discardableResult
    func release(_ outcome: DeliveryOutcome) -> Bool {
        let blocked = self.state.withLock { state -> CheckedContinuation<DeliveryOutcome, Never>? in
            defer { state.blocked = nil }
            return state.blocked
        }
        blocked?.resume(returning: outcome)
        return blocked != nil
    }

    var records: [Record] { self.state.withLock { $0.records } }
    var deliveredIDs: [String] {
        self.records.compactMap { record in
            if case .delivered = record.outcome { return record.id }
            return nil
        }
    }
}

/// Attempts and drops as the outbox reports them, each drop with the clock's time; a test awaits them.
final class OutageRecorder: Sendable {
    /// A try, or a drop and when it happened.
    enum Report: Sendable {
        case attempt(DeliveryAttempt)
        case drop(DeliveryDrop, at: Date)
    }

    let reports = Recording<Report>()

    func attempt(_ attempt: DeliveryAttempt) { self.reports.append(.attempt(attempt)) }
    func drop(_ drop: DeliveryDrop, at: Date) { self.reports.append(.drop(drop, at: at)) }
    var allAttempts: [DeliveryAttempt] {
        self.reports.all.compactMap { report in
            if case .attempt(let attempt) = report { return attempt }
            return nil
        }
    }
    var allDrops: [(drop: DeliveryDrop, at: Date)] {
        self.reports.all.compactMap { report in
            if case .drop(let drop, let at) = report { return (drop, at) }
            return nil
        }
    }

    /// Waits until `condition` holds, asking it again after every try and drop.
    /// - Throws: ``TestTimeout`` when it never held.
    func wait(until what: String, _ condition: @escaping @Sendable () async -> Bool) async throws {
        try await self.reports.wait(until: what, checking: condition)
    }
}

/// Seeded numbers in `0..<1` for the jitter, each one written down in the order the queue drew it.
final class RecordedRandom: Sendable {
    private let state: Mutex<(generator: SplitMix64, drawn: [Double])>

    init(seed: UInt64) {
        self.state = Mutex((SplitMix64(seed: seed), []))
    }

    func next() -> Double {
        self.state.withLock { state in
            let value = Double(state.generator.next() >> 11) / Double(UInt64(1) << 53)
            state.drawn.append(value)
            return value
        }
    }

    var drawn: [Double] { self.state.withLock { $0.drawn } }
}

enum OutageFixtures {
    static let start = Date(timeIntervalSince1970: 1_700_000_000)
    static let target = TargetIdentity(name: "prod-east", url: "http://10.0.0.5:2886", labels: [:])

    /// A `failed` notification of DAG `dag` for `receiver`.
    static func notification(_ dag: Int, receiver: String) -> OutboundNotification {
        let event = Event(
            id: "outage-\(dag)",
            type: .failed,
            incident: "prod-east/\(dag)/failed",
            at: ObshellTime(seconds: 1_700_000_000, nanoseconds: 0),
            target: Self.target,
            summary: "DAG \(dag) failed"
        )
        return OutboundNotification(receiver: receiver, rule: "failures", events: [event])
    }

    static func folder() throws -> URL {
        try temporaryFolder("obw-outage")
    }

    static func receiver(_ name: String, settings: DeliverySettings) -> ReceiverConfig {
        ReceiverConfig(
            name: name,
            kind: .file(FileSettings(path: "/dev/null")),
            delivery: settings,
            mark: SourcePosition(file: "reliability.yaml", line: 1, column: 1)
        )
    }

    /// Runs a queue until `condition` holds (asked again after every try and drop `recorder` reports), then stops
    /// it.
    /// - Throws: ``TestTimeout`` when it never held.
    static func drain(
        _ queue: ReceiverQueue,
        recorder: OutageRecorder,
        until condition: @escaping @Sendable () async -> Bool
    ) async throws {
        let worker = Task { await queue.run() }
        defer { worker.cancel() }
        try await recorder.wait(until: "the queue's drain condition", condition)
        await queue.stop()
        worker.cancel()
        await worker.value
    }

    /// Each notification delivered exactly once, in the order given, and nothing else delivered.
    static func expectExactlyOnceInOrder(
        _ delivered: [String],
        _ expected: [OutboundNotification],
        _ label: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(
            delivered == expected.map(\.id),
            "\(label): delivered out of order, twice, or not at all",
            sourceLocation: sourceLocation
        )
    }
}

@Suite("A receiver down for ten minutes of virtual time")
struct ReceiverOutageTests {
    @Test(
        "500, 429 with Retry-After, timeouts, recovery: each delivered once, in order, no try before its time",
        arguments: [UInt64(1), 0x5EED, 0xBAD_C0DE]
    )
    func outageThenRecovery(seed: UInt64) async throws {
        let folder = try OutageFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let clock = ImmediateClock(wallStart: OutageFixtures.start)
        let receiver = OutageReceiver(clock: clock, outageStart: OutageFixtures.start)
        let recorder = OutageRecorder()
        let random = RecordedRandom(seed: seed)
        let settings = DeliverySettings(
            timeout: .seconds(10),
            maxAge: .seconds(3_600),
            retryInitial: .seconds(1),
            retryMax: .seconds(60)
        )
        let queue = ReceiverQueue(
            name: "hook",
            settings: settings,
            file: OutboxFile(stateDirectory: folder, receiver: "hook"),
            sender: receiver,
            clock: clock,
            random: { random.next() },
            onAttempt: { recorder.attempt($0) },
            onDrop: { drop in recorder.drop(drop, at: clock.wallNow) }
        )
        let notifications = (1...25).map { OutageFixtures.notification($0, receiver: "hook") }
        try await queue.accept(notifications)
        try await OutageFixtures.drain(queue, recorder: recorder) { await queue.depth == 0 }

        let records = receiver.records
        let label = "seed \(seed)"
        OutageFixtures.expectExactlyOnceInOrder(receiver.deliveredIDs, notifications, label)
        #expect(recorder.allDrops.isEmpty, "\(label): dropped while younger than max_age")
        #expect(Set(records.map(\.id)).isSubset(of: Set(notifications.map(\.id))), "\(label): an invented id")
        // The outage really was seen in all its phases, and nothing got through before it ended.
        let reasons = records.compactMap { record -> String? in
            if case .retry(let reason, _) = record.outcome { return reason }
            return nil
        }
        #expect(reasons.contains { $0.hasPrefix("HTTP 500") } && reasons.contains { $0.hasPrefix("HTTP 429") })
        #expect(reasons.contains { $0.hasPrefix("timed out") }, "\(label)")
        for record in records {
            if case .delivered = record.outcome {
                #expect(record.start.timeIntervalSince(OutageFixtures.start) >= OutageReceiver.recoversAt, "\(label)")
            }
        }
        // No try before its backoff or Retry-After instant: the n-th retry waits ceiling(n) × the drawn number, and
        // never less than Retry-After.
        let policy = RetryPolicy(initial: settings.retryInitial, maximum: settings.retryMax)
        let attempts = recorder.allAttempts
        #expect(attempts.count == records.count, "\(label)")
        var drawn = random.drawn[...]
        for index in records.indices.dropLast() {
            guard case .retry(_, let after) = records[index].outcome else {
                // Delivered: the next notification goes at once.
                #expect(records[index + 1].start == records[index].end, "\(label): a gap after a delivery")
                continue
            }
            #expect(records[index + 1].id == records[index].id, "\(label): the head was overtaken")
            let popped = drawn.popFirst()
            let unit = try #require(popped, "\(label): fewer random draws than retries")
            let delay = policy.delay(retry: attempts[index].attempt, unit: unit, requested: after)
            let earliest = records[index].end.addingTimeInterval(
                Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18
            )
            #expect(
                records[index + 1].start.timeIntervalSince(earliest) >= -1e-6,
                "\(label): try \(index + 1) came \(earliest.timeIntervalSince(records[index + 1].start)) s early"
            )
            if let after {
                let requested = Double(after.components.seconds)
                #expect(records[index + 1].start.timeIntervalSince(records[index].end) >= requested - 1e-6, "\(label)")
            }
        }
        #expect(OutboxFile(stateDirectory: folder, receiver: "hook").load().pending.isEmpty, "\(label)")
    }

    @Test("max_age shorter than the outage: the old ones are dropped and reported, never early; younger ones arrive")
    func expiryDuringOutage() async throws {
        let folder = try OutageFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let clock = ImmediateClock(wallStart: OutageFixtures.start)
        let receiver = OutageReceiver(clock: clock, outageStart: OutageFixtures.start)
        let recorder = OutageRecorder()
        let random = RecordedRandom(seed: 42)
        let maxAge: TimeInterval = 400
        let settings = DeliverySettings(maxAge: .seconds(400), retryInitial: .seconds(1), retryMax: .seconds(60))
        let queue = ReceiverQueue(
            name: "hook",
            settings: settings,
            file: OutboxFile(stateDirectory: folder, receiver: "hook"),
            sender: receiver,
            clock: clock,
            random: { random.next() },
            onAttempt: { recorder.attempt($0) },
            onDrop: { drop in recorder.drop(drop, at: clock.wallNow) }
        )
        let old = (1...5).map { OutageFixtures.notification($0, receiver: "hook") }
        let young = (6...10).map { OutageFixtures.notification($0, receiver: "hook") }
        let worker = Task { await queue.run() }
        try await queue.accept(old)
        try await recorder.wait(until: "the old ones expire") { recorder.allDrops.count == old.count }
        // The queue is idle now, so the clock stands still until the next batch is in.
        let youngAcceptedAt = clock.wallNow
        try await queue.accept(young)
        try await recorder.wait(until: "the young ones leave the queue") { await queue.depth == 0 }
        await queue.stop()
        worker.cancel()
        await worker.value

        let drops = recorder.allDrops
        #expect(drops.map(\.drop.notificationID) == old.map(\.id))
        for (drop, at) in drops {
            #expect(drop.reason == .expired)
            #expect(!drop.detail.isEmpty, "a drop without a reason")
            #expect(at.timeIntervalSince(OutageFixtures.start) >= maxAge - 1e-6, "dropped while younger than max_age")
        }
        #expect(
            drops.first?.drop.detail.contains("last failure: HTTP 429") == true,
            "the drop does not say why it failed"
        )
        OutageFixtures.expectExactlyOnceInOrder(receiver.deliveredIDs, young, "young")
        #expect(youngAcceptedAt.timeIntervalSince(OutageFixtures.start) < OutageReceiver.recoversAt)
        for record in receiver.records where old.map(\.id).contains(record.id) {
            #expect(record.start.timeIntervalSince(OutageFixtures.start) < maxAge, "an expired one was tried")
        }
        #expect(OutboxFile(stateDirectory: folder, receiver: "hook").load().pending.isEmpty)
    }

    @Test("a restart in the middle of the outage resumes everything, and the healthy receiver is not held up")
    func restartDuringOutage() async throws {
        let folder = try OutageFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let clock = ImmediateClock(wallStart: OutageFixtures.start)
        let settings = DeliverySettings(maxAge: .seconds(86_400), retryInitial: .seconds(1), retryMax: .seconds(60))
        let receivers = [
            OutageFixtures.receiver("down", settings: settings), OutageFixtures.receiver("up", settings: settings),
        ]
        let recorder = OutageRecorder()
        let down = OutageReceiver(clock: clock, outageStart: OutageFixtures.start)
        let up = OutageReceiver(clock: clock, outageStart: OutageFixtures.start.addingTimeInterval(-3_600))
        down.closeGate(after: 6)
        let first = Outbox(
            receivers: receivers,
            stateDirectory: folder,
            makeSender: { $0.name == "down" ? down : up },
            clock: clock,
            onAttempt: { recorder.attempt($0) },
            onDrop: { drop in recorder.drop(drop, at: clock.wallNow) }
        )
        let forDown = (1...10).map { OutageFixtures.notification($0, receiver: "down") }
        let forUp = (1...10).map { OutageFixtures.notification($0, receiver: "up") }
        await first.start()
        try await first.accept(zip(forDown, forUp).flatMap { [$0, $1] })
        try await recorder.wait(until: "the healthy receiver gets everything") {
            up.deliveredIDs.count == forUp.count
        }
        try await down.log.waitForCount(1, "tries held by the receiver that is down")

        // Stop while a try is on the wire; until the stop has reached the queue, every try fails like the outage.
        // The grace passes on the outbox's virtual clock, at once and without moving it: the worker is cancelled and
        // ends after the try it is in.
        let stopping = Task {
            await first.stop(grace: .zero)
            down.log.append("stopped")
        }
        try await down.log.wait(
            until: "the outbox stops",
            checking: {
                if down.log.all.contains("stopped") { return true }
                down.release(.retry(reason: "HTTP 500 Internal Server Error", after: nil))
                return false
            }
        )
        await stopping.value
        let stopTime = clock.wallNow
        #expect(stopTime.timeIntervalSince(OutageFixtures.start) < OutageReceiver.recoversAt, "stopped too late")
        #expect(down.deliveredIDs.isEmpty)
        #expect(down.records.count > 6, "the stop did not land in the middle of the outage")
        #expect(OutboxFile(stateDirectory: folder, receiver: "down").load().pending.count == forDown.count)
        #expect(OutboxFile(stateDirectory: folder, receiver: "up").load().pending.isEmpty)

        // The restart: a new outbox on the same journals; the router sends the same notifications again (a restart
        // re-routes what it had routed), plus new ones.
        let downAgain = OutageReceiver(clock: clock, outageStart: OutageFixtures.start)
        let upAgain = OutageReceiver(clock: clock, outageStart: OutageFixtures.start.addingTimeInterval(-3_600))
        let second = Outbox(
            receivers: receivers,
            stateDirectory: folder,
            makeSender: { $0.name == "down" ? downAgain : upAgain },
            clock: clock,
            onAttempt: { recorder.attempt($0) },
            onDrop: { drop in recorder.drop(drop, at: clock.wallNow) }
        )
        let newForDown = (11...13).map { OutageFixtures.notification($0, receiver: "down") }
        let newForUp = (11...13).map { OutageFixtures.notification($0, receiver: "up") }
        try await second.accept(forDown + forUp + newForDown + newForUp)
        await second.start()
        try await recorder.wait(until: "the restarted outbox delivers everything") {
            downAgain.deliveredIDs.count >= forDown.count + newForDown.count
                && upAgain.deliveredIDs.count >= newForUp.count
        }
        await second.stop(grace: .zero)

        let failedAfterRestart = downAgain.records.contains { record in
            if case .retry = record.outcome { return true }
            return false
        }
        #expect(failedAfterRestart, "the outage was over before the restart")
        OutageFixtures.expectExactlyOnceInOrder(
            down.deliveredIDs + downAgain.deliveredIDs,
            forDown + newForDown,
            "down"
        )
        OutageFixtures.expectExactlyOnceInOrder(up.deliveredIDs + upAgain.deliveredIDs, forUp + newForUp, "up")
        #expect(recorder.allDrops.isEmpty, "dropped while younger than max_age")
        for record in downAgain.records + upAgain.records {
            #expect(record.start >= stopTime, "the new outbox went back in time")
        }
        // Retry-After holds across both lives of the outbox.
        for records in [down.records, downAgain.records] {
            for (current, next) in zip(records, records.dropFirst()) {
                if case .retry(_, let after?) = current.outcome {
                    #expect(next.start.timeIntervalSince(current.end) >= Double(after.components.seconds) - 1e-6)
                }
            }
        }
        #expect(OutboxFile(stateDirectory: folder, receiver: "down").load().pending.isEmpty)
        #expect(OutboxFile(stateDirectory: folder, receiver: "up").load().pending.isEmpty)
    }
}
