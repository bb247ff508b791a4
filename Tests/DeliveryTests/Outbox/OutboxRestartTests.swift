import ConfigLoading
import ConfigModel
import Delivery
import Foundation
import ObwatchTestKit
import Support
import Testing

@Suite("Outbox: back-off across restarts, and a journal that cannot be written")
struct OutboxRestartTests {
    private func queue(
        _ folder: URL,
        sender: ScriptedSender,
        clock: any ObwatchClock,
        recorder: DeliveryRecorder,
        settings: DeliverySettings = DeliverySettings(retryInitial: .seconds(1), retryMax: .seconds(60)),
        journalProblems: Recording<String?>? = nil
    ) -> ReceiverQueue {
        ReceiverQueue(
            name: "hook",
            settings: settings,
            file: OutboxFile(stateDirectory: folder, receiver: "hook"),
            sender: sender,
            clock: clock,
            random: { 1.0 },
            onAttempt: { recorder.attempt($0) },
            onDrop: { recorder.drop($0) },
            onJournalProblem: { journalProblems?.append($0) }
        )
    }

    @Test("a 429 with Retry-After 5 s, then kill -9 and a restart: the next try waits the 5 s, as attempt 2")
    func retryAfterSurvivesRestart() async throws {
        let folder = try OutboxFixtures.folder()
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        let notification = OutboxFixtures.notification(1)
        let recorder = DeliveryRecorder()
        let first = self.queue(
            folder,
            sender: ScriptedSender([.retry(reason: "HTTP 429", after: .seconds(5))]),
            clock: ManualClock(wallStart: start),
            recorder: recorder
        )
        try await first.accept([notification])
        // The first try gets the 429; the worker then waits on a clock that never moves, and the process "dies".
        try await OutboxFixtures.drain(first, recorder: recorder) { recorder.attempts.count == 1 }

        let journal = OutboxFile(stateDirectory: folder, receiver: "hook").load()
        #expect(journal.pending.map(\.attempts) == [1])
        #expect(journal.pending.first?.notBefore == start.addingTimeInterval(5))

        // The restart comes half a second after the 429.
        let clock = ManualClock(wallStart: start.addingTimeInterval(0.5))
        let sender = ScriptedSender()
        let restarted = self.queue(folder, sender: sender, clock: clock, recorder: recorder)
        let worker = Task { await restarted.run() }
        await clock.sleepers(atLeast: 1)
        clock.advance(by: .seconds(4))
        #expect(sender.ids.isEmpty, "tried 4.5 s after a 429 that asked for 5 s")
        clock.advance(by: .milliseconds(500))
        try await recorder.wait(until: "an empty queue") { await restarted.depth == 0 }
        await restarted.stop()
        await worker.value
        #expect(sender.times == [start.addingTimeInterval(5)])
        #expect(recorder.attempts.map(\.attempt) == [1, 2])
        #expect(OutboxFile(stateDirectory: folder, receiver: "hook").load().pending.isEmpty)
    }

    @Test("the backoff continues where it was: the restarted queue's next failure waits the third ceiling")
    func backoffContinues() async throws {
        let folder = try OutboxFixtures.folder()
        let recorder = DeliveryRecorder()
        let clock = ManualClock()
        let start = clock.wallNow
        let failing = ScriptedSender(Array(repeating: .retry(reason: "HTTP 503", after: nil), count: 10))
        let first = self.queue(folder, sender: failing, clock: clock, recorder: recorder)
        try await first.accept([OutboxFixtures.notification(1)])
        let worker = Task { await first.run() }
        try await recorder.waitForAttempts(1)
        await clock.sleepers(atLeast: 1)
        clock.advance(by: .seconds(1))
        try await recorder.waitForAttempts(2)
        await first.stop()
        worker.cancel()
        await worker.value
        // Two failures: ceilings 1 s and 2 s (random = 1.0), so the journal says attempt 2, not before start + 3 s.
        let journal = OutboxFile(stateDirectory: folder, receiver: "hook").load()
        #expect(journal.pending.map(\.attempts) == [2])
        #expect(journal.pending.first?.notBefore == start.addingTimeInterval(3))

        let second = self.queue(folder, sender: failing, clock: clock, recorder: recorder)
        let restartedWorker = Task { await second.run() }
        await clock.sleepers(atLeast: 1)
        clock.advance(by: .seconds(2))
        try await recorder.waitForAttempts(3)
        await clock.sleepers(atLeast: 1)
        await second.stop()
        restartedWorker.cancel()
        await restartedWorker.value
        #expect(recorder.attempts.map(\.attempt) == [1, 2, 3])
        #expect(failing.times == [0, 1, 3].map { start.addingTimeInterval($0) })
        // The third failure waits the third ceiling, 4 s.
        let after = OutboxFile(stateDirectory: folder, receiver: "hook").load()
        #expect(after.pending.map(\.attempts) == [3])
        #expect(after.pending.first?.notBefore == start.addingTimeInterval(7))
    }

    @Test("a rate limit's window survives a restart: no burst beyond 2/min")
    func rateLimitHistorySurvivesRestart() async throws {
        let folder = try OutboxFixtures.folder()
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        let settings = DeliverySettings(rateLimits: [RateLimit("2/min")].compactMap { $0 })
        let recorder = DeliveryRecorder()
        let first = self.queue(
            folder,
            sender: ScriptedSender(),
            clock: ImmediateClock(wallStart: start),
            recorder: recorder,
            settings: settings
        )
        try await first.accept([OutboxFixtures.notification(1), OutboxFixtures.notification(2)])
        try await OutboxFixtures.drain(first, recorder: recorder) { await first.depth == 0 }
        #expect(OutboxFile(stateDirectory: folder, receiver: "hook").load().sent == [start, start])

        let clock = ManualClock(wallStart: start.addingTimeInterval(10))
        let sender = ScriptedSender()
        let restarted = self.queue(folder, sender: sender, clock: clock, recorder: recorder, settings: settings)
        try await restarted.accept([OutboxFixtures.notification(3)])
        let worker = Task { await restarted.run() }
        await clock.sleepers(atLeast: 1)
        #expect(sender.ids.isEmpty, "a third send 10 s after two, under 2/min")
        clock.advance(by: .seconds(50))
        try await recorder.wait(until: "an empty queue") { await restarted.depth == 0 }
        await restarted.stop()
        await worker.value
        #expect(sender.times == [start.addingTimeInterval(60)])
    }

    @Test("compaction keeps each waiting notification's retry state and the recent send times")
    func compactionKeepsRetryState() throws {
        let folder = try OutboxFixtures.folder()
        let file = OutboxFile(stateDirectory: folder, receiver: "hook")
        let accepted = Date(timeIntervalSince1970: 1_700_000_000)
        let head = OutboxFile.Pending(
            notification: OutboxFixtures.notification(1),
            acceptedAt: accepted,
            attempts: 4,
            notBefore: accepted.addingTimeInterval(30)
        )
        let next = OutboxFile.Pending(notification: OutboxFixtures.notification(2), acceptedAt: accepted)
        let sent = [accepted, accepted.addingTimeInterval(1.5)]
        try file.compact(pending: [head, next], finishedIDs: ["old"], sent: sent)
        let loaded = file.load()
        #expect(loaded.pending == [head, next])
        #expect(loaded.sent == sent)
        #expect(loaded.finishedIDs == ["old"])
        #expect(loaded.skippedLines == 0)
    }

    @Test("a journal written before retry and sent lines existed loads as before")
    func oldJournalLoads() throws {
        let folder = try OutboxFixtures.folder()
        let file = OutboxFile(stateDirectory: folder, receiver: "hook")
        let accepted = Date(timeIntervalSince1970: 1_700_000_000)
        try file.append([OutboxFile.Pending(notification: OutboxFixtures.notification(1), acceptedAt: accepted)])
        let text = try String(contentsOf: file.url, encoding: .utf8)
        #expect(!text.contains("retry") && !text.contains("sent"))
        let loaded = file.load()
        #expect(loaded.pending.map(\.attempts) == [0])
        #expect(loaded.pending.map(\.notBefore) == [nil])
        #expect(loaded.sent.isEmpty)
        // A retry line for a notification that was finished afterwards changes nothing.
        try file.markRetry(OutboxFixtures.notification(9).id, attempts: 3, notBefore: accepted)
        try file.markDone(OutboxFixtures.notification(9).id)
        #expect(file.load().pending.map(\.notification.id) == [OutboxFixtures.notification(1).id])
    }

    @Test("a journal that cannot be written: delivery goes on from memory, the problem is told, and it heals")
    func unwritableJournal() async throws {
        let folder = try OutboxFixtures.folder()
        let file = OutboxFile(stateDirectory: folder, receiver: "hook")
        // A folder where the journal should be: every write fails, for root too.
        try FileManager.default.createDirectory(at: file.url, withIntermediateDirectories: true)
        let clock = ManualClock()
        let sender = ScriptedSender()
        let recorder = DeliveryRecorder()
        let journalProblems = Recording<String?>()
        let queue = self.queue(
            folder,
            sender: sender,
            clock: clock,
            recorder: recorder,
            journalProblems: journalProblems
        )
        let notifications = [OutboxFixtures.notification(1), OutboxFixtures.notification(2)]
        #expect(try await queue.accept(notifications) == 2)
        #expect(await queue.storageProblem == "cannot write \(file.url.path): is a directory")

        let worker = Task { await queue.run() }
        try await recorder.wait(until: "an empty queue") { await queue.depth == 0 }
        #expect(sender.ids == notifications.map(\.id))
        // The accept and the two "done" marks.
        #expect(await queue.failedJournalWrites == 3)

        // The disk comes back; the idle queue's retry rewrites the journal from memory.
        try FileManager.default.removeItem(at: file.url)
        await clock.sleepers(atLeast: 1)
        clock.advance(by: .seconds(5))
        // The problem was told once when it started, and its end is told now.
        let told = try await journalProblems.waitForCount(2, "journal problem changes")
        #expect(told == ["cannot write \(file.url.path): is a directory", nil])
        #expect(await queue.storageProblem == nil)
        let healed = file.load()
        #expect(healed.pending.isEmpty)
        #expect(healed.finishedIDs == notifications.map(\.id))
        #expect(await queue.failedJournalWrites == 3)

        // Writes are plain appends again.
        let third = OutboxFixtures.notification(3)
        #expect(try await queue.accept([third]) == 1)
        #expect(try String(contentsOf: file.url, encoding: .utf8).contains(third.id))
        try await recorder.wait(until: "an empty queue") { await queue.depth == 0 }
        await queue.stop()
        await worker.value
        #expect(sender.ids == (notifications + [third]).map(\.id))
    }

    @Test("the outbox accepts and delivers with an unwritable journal, and says so in storageStatus")
    func outboxStorageStatus() async throws {
        let folder = try OutboxFixtures.folder()
        let broken = OutboxFile(stateDirectory: folder, receiver: "broken")
        try FileManager.default.createDirectory(at: broken.url, withIntermediateDirectories: true)
        let sender = ScriptedSender()
        let receivers = ["broken", "fine"].map { name in
            ReceiverConfig(
                name: name,
                kind: .console,
                delivery: DeliverySettings(),
                mark: .init(file: "", line: 0, column: 0)
            )
        }
        let outbox = Outbox(
            receivers: receivers,
            stateDirectory: folder,
            makeSender: { _ in sender },
            clock: ManualClock()
        )
        #expect(await outbox.storageStatus() == OutboxStorageStatus(problems: [:], failedWrites: 0))
        await outbox.start()
        let notifications = [
            OutboxFixtures.notification(1, receiver: "broken"), OutboxFixtures.notification(2, receiver: "fine"),
        ]
        try await outbox.accept(notifications)
        try await sender.calls.waitForCount(2, "deliveries")
        #expect(Set(sender.ids) == Set(notifications.map(\.id)))
        let status = await outbox.storageStatus()
        #expect(status.problem == "broken: cannot write \(broken.url.path): is a directory")
        #expect(status.failedWrites >= 1)
        await outbox.stop(grace: .milliseconds(100))
        await #expect(throws: DeliveryError.self) { try await outbox.accept([OutboxFixtures.notification(3)]) }
    }

    @Test("a receiver is stuck when its oldest waiting notification is older than the threshold")
    func stuckReceivers() async throws {
        let folder = try OutboxFixtures.folder()
        let down = ScriptedSender(Array(repeating: .retry(reason: "HTTP 503", after: nil), count: 100))
        let up = ScriptedSender()
        let receivers = ["down", "up"].map { name in
            ReceiverConfig(
                name: name,
                kind: .console,
                delivery: DeliverySettings(retryInitial: .seconds(3600), retryMax: .seconds(3600)),
                mark: .init(file: "", line: 0, column: 0)
            )
        }
        let clock = ManualClock()
        let outbox = Outbox(
            receivers: receivers,
            stateDirectory: folder,
            makeSender: { $0.name == "down" ? down : up },
            clock: clock
        )
        await outbox.start()
        try await outbox.accept([
            OutboxFixtures.notification(1, receiver: "down"), OutboxFixtures.notification(1, receiver: "up"),
        ])
        try await up.calls.waitForCount(1, "deliveries to the receiver that is up")
        try await down.calls.waitForCount(1, "tries of the receiver that is down")
        let acceptedAt = clock.wallNow
        #expect(await outbox.stuckReceivers(olderThan: .seconds(600), now: acceptedAt.addingTimeInterval(60)).isEmpty)
        let stuck = await outbox.stuckReceivers(olderThan: .seconds(600), now: acceptedAt.addingTimeInterval(601))
        #expect(stuck.map(\.receiver) == ["down"])
        #expect(stuck.map(\.since) == [acceptedAt])
        await OutboxFixtures.stop(outbox, grace: .milliseconds(100), clock: clock, waiting: 1)
    }
}
