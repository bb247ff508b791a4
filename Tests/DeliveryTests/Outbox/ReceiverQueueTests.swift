import ConfigLoading
import ConfigModel
import Delivery
import Foundation
import ObwatchTestKit
import Testing

@Suite("Outbox: one receiver's durable queue")
struct ReceiverQueueTests {
    private func queue(
        _ folder: URL,
        sender: ScriptedSender,
        clock: ImmediateClock,
        recorder: DeliveryRecorder,
        settings: DeliverySettings = DeliverySettings()
    ) -> ReceiverQueue {
        ReceiverQueue(
            name: "hook",
            settings: settings,
            file: OutboxFile(stateDirectory: folder, receiver: "hook"),
            sender: sender,
            clock: clock,
            random: { 1.0 },
            onAttempt: { recorder.attempt($0) },
            onDrop: { recorder.drop($0) }
        )
    }

    @Test("accepted means on disk; delivered in order; a restart sends nothing twice")
    func durableAndOrdered() async throws {
        let folder = try OutboxFixtures.folder()
        let clock = ImmediateClock()
        let sender = ScriptedSender()
        let recorder = DeliveryRecorder()
        let notifications = (1...3).map { OutboxFixtures.notification($0) }
        let queue = self.queue(folder, sender: sender, clock: clock, recorder: recorder)
        #expect(try await queue.accept(notifications) == 3)
        // On disk before any delivery: a fresh reader of the journal sees all three.
        let loaded = OutboxFile(stateDirectory: folder, receiver: "hook").load()
        #expect(loaded.pending.map(\.notification.id) == notifications.map(\.id))

        try await OutboxFixtures.drain(queue, recorder: recorder) { await queue.depth == 0 }
        #expect(sender.ids == notifications.map(\.id))
        #expect(OutboxFile(stateDirectory: folder, receiver: "hook").load().pending.isEmpty)

        let restarted = self.queue(folder, sender: sender, clock: clock, recorder: recorder)
        #expect(await restarted.depth == 0)
        // The same notification routed again after a restart is recognised by its id.
        #expect(try await restarted.accept([notifications[0]]) == 0)
    }

    @Test("a restart delivers what was accepted and not yet delivered")
    func resumesAfterRestart() async throws {
        let folder = try OutboxFixtures.folder()
        let clock = ImmediateClock()
        let recorder = DeliveryRecorder()
        let first = self.queue(folder, sender: ScriptedSender(), clock: clock, recorder: recorder)
        try await first.accept([OutboxFixtures.notification(1), OutboxFixtures.notification(2)])
        // The process dies here: no worker ever ran.
        let sender = ScriptedSender()
        let second = self.queue(folder, sender: sender, clock: clock, recorder: recorder)
        #expect(await second.depth == 2)
        try await OutboxFixtures.drain(second, recorder: recorder) { await second.depth == 0 }
        #expect(sender.ids == [OutboxFixtures.notification(1).id, OutboxFixtures.notification(2).id])
    }

    @Test("retries back off exponentially, honour Retry-After, and keep the order")
    func backoff() async throws {
        let folder = try OutboxFixtures.folder()
        let clock = ImmediateClock()
        let start = clock.wallNow
        let sender = ScriptedSender([
            .retry(reason: "HTTP 500", after: nil),
            .retry(reason: "HTTP 500", after: nil),
            .retry(reason: "HTTP 429", after: .seconds(30)),
            .retry(reason: "errcode 310000", after: nil),
        ])
        let recorder = DeliveryRecorder()
        let settings = DeliverySettings(retryInitial: .seconds(1), retryMax: .seconds(60))
        let queue = self.queue(folder, sender: sender, clock: clock, recorder: recorder, settings: settings)
        try await queue.accept([OutboxFixtures.notification(1), OutboxFixtures.notification(2)])
        try await OutboxFixtures.drain(queue, recorder: recorder) { await queue.depth == 0 }
        let offsets = sender.times.map { $0.timeIntervalSince(start) }
        // random = 1.0: each wait is its full ceiling 1, 2, then max(4, Retry-After 30), then 8.
        #expect(offsets == [0, 1, 3, 33, 41, 41])
        #expect(sender.ids == [1, 1, 1, 1, 1, 2].map { OutboxFixtures.notification($0).id })
        #expect(recorder.attempts.map(\.attempt) == [1, 2, 3, 4, 5, 1])
    }

    @Test("a rejected notification is dropped loudly and the next one goes on")
    func rejected() async throws {
        let folder = try OutboxFixtures.folder()
        let sender = ScriptedSender([.rejected(reason: "HTTP 400 invalid_payload")])
        let recorder = DeliveryRecorder()
        let queue = self.queue(folder, sender: sender, clock: ImmediateClock(), recorder: recorder)
        try await queue.accept([OutboxFixtures.notification(1), OutboxFixtures.notification(2)])
        try await OutboxFixtures.drain(queue, recorder: recorder) { await queue.depth == 0 }
        #expect(recorder.drops.map(\.reason) == [.rejected])
        #expect(recorder.drops.first?.detail == "HTTP 400 invalid_payload")
        #expect(sender.ids.count == 2)
    }

    @Test("after max_age a notification is dropped with reason expired, never silently")
    func expiry() async throws {
        let folder = try OutboxFixtures.folder()
        let clock = ImmediateClock()
        let sender = ScriptedSender(Array(repeating: .retry(reason: "down", after: .seconds(3600)), count: 100))
        let recorder = DeliveryRecorder()
        let settings = DeliverySettings(maxAge: .seconds(3 * 3600))
        let queue = self.queue(folder, sender: sender, clock: clock, recorder: recorder, settings: settings)
        try await queue.accept([OutboxFixtures.notification(1)])
        try await OutboxFixtures.drain(queue, recorder: recorder) { await queue.depth == 0 }
        #expect(recorder.drops.map(\.reason) == [.expired])
        // Tried at 0h, 1h, 2h; at 3h it is too old.
        #expect(sender.times.count == 3)
        #expect(OutboxFile(stateDirectory: folder, receiver: "hook").load().pending.isEmpty)
    }

    @Test("a rate limit of 20/min spaces the 21st send a minute after the first")
    func rateLimit() async throws {
        let folder = try OutboxFixtures.folder()
        let clock = ImmediateClock()
        let start = clock.wallNow
        let sender = ScriptedSender()
        let recorder = DeliveryRecorder()
        let settings = DeliverySettings(rateLimits: [RateLimit("20/min")].compactMap { $0 })
        #expect(settings.rateLimits.count == 1)
        let queue = self.queue(folder, sender: sender, clock: clock, recorder: recorder, settings: settings)
        let notifications = (1...25).map { OutboxFixtures.notification($0) }
        try await queue.accept(notifications)
        try await OutboxFixtures.drain(queue, recorder: recorder) { await queue.depth == 0 }
        // Every one sent, once, in order: twenty at once, the other five a minute after the first.
        #expect(sender.ids == notifications.map(\.id))
        let offsets = sender.times.map { $0.timeIntervalSince(start) }
        #expect(offsets == Array(repeating: 0, count: 20) + Array(repeating: 60, count: 5))
        // The only wait was the rate limit's, once: the sixth to the twenty-fifth send all fall in the next window.
        #expect(clock.waits == [.seconds(60)])
    }

    @Test("a torn last line (a crash mid-append) is skipped; the rest loads")
    func tornLine() throws {
        let folder = try OutboxFixtures.folder()
        let file = OutboxFile(stateDirectory: folder, receiver: "hook")
        try file.append([OutboxFile.Pending(notification: OutboxFixtures.notification(1), acceptedAt: Date())])
        let handle = try FileHandle(forWritingTo: file.url)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"add":{"notifica"#.utf8))
        try handle.close()
        let loaded = file.load()
        #expect(loaded.pending.count == 1)
        #expect(loaded.skippedLines == 1)
    }

    @Test("compaction keeps what waits and the finished ids")
    func compaction() throws {
        let folder = try OutboxFixtures.folder()
        let file = OutboxFile(stateDirectory: folder, receiver: "hook")
        let waiting = OutboxFile.Pending(notification: OutboxFixtures.notification(2), acceptedAt: Date())
        try file.append([OutboxFile.Pending(notification: OutboxFixtures.notification(1), acceptedAt: Date()), waiting])
        try file.markDone(OutboxFixtures.notification(1).id)
        try file.compact(pending: [waiting], finishedIDs: [OutboxFixtures.notification(1).id])
        let loaded = file.load()
        #expect(loaded.pending.map(\.notification.id) == [OutboxFixtures.notification(2).id])
        #expect(loaded.finishedIDs == [OutboxFixtures.notification(1).id])
    }
}

@Suite("Outbox: every receiver on its own")
struct OutboxTests {
    @Test("a receiver that stays down delays no other; what it holds stays on disk")
    func downReceiverDelaysNoOther() async throws {
        let folder = try OutboxFixtures.folder()
        let down = ScriptedSender(Array(repeating: .retry(reason: "HTTP 503", after: nil), count: 10_000))
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
        let notifications = (1...5).flatMap { dag in
            [OutboxFixtures.notification(dag, receiver: "down"), OutboxFixtures.notification(dag, receiver: "up")]
        }
        try await outbox.accept(notifications)
        // The down receiver's first try failed and it waits an hour; the other one delivers everything meanwhile.
        try await up.calls.waitForCount(5, "deliveries to the receiver that is up")
        try await down.calls.waitForCount(1, "tries of the receiver that is down")
        await clock.sleepers(atLeast: 1)
        #expect(up.ids == notifications.filter { $0.receiver == "up" }.map(\.id))
        #expect(down.ids.count == 1)
        let backlog = await outbox.backlog()
        #expect(backlog.map(\.receiver) == ["down", "up"])
        #expect(backlog.map(\.depth) == [5, 0])
        await OutboxFixtures.stop(outbox, grace: .milliseconds(100), clock: clock, waiting: 1)
        #expect(OutboxFile(stateDirectory: folder, receiver: "down").load().pending.count == 5)
    }
}
