import ConfigModel
import Delivery
import Foundation
import Messages
import ObshellModel
import ObwatchTestKit
import PeerSupport
import PostgresStore
import Support
import Synchronization
import Testing
import Tracker

@Suite("the shared outbox: dispatchers of several replicas on one table, against a real HTTP receiver", .serialized)
struct SharedOutboxTests {
    static let peer = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("DeliveryTests/Peers/webhook_receiver.py")

    static func receiver(
        port: String,
        delivery: DeliverySettings = DeliverySettings(timeout: .seconds(30))
    ) -> ReceiverConfig {
        ReceiverConfig(
            name: "hook",
            kind: .webhook(
                WebhookSettings(
                    format: .generic,
                    url: Secret("http://127.0.0.1:\(port)/hook"),
                    redactedURL: "http://127.0.0.1:\(port)/hook"
                )
            ),
            delivery: delivery,
            mark: .init(file: "", line: 0, column: 0)
        )
    }

    /// Notification `step` of incident `incident` (one `failed` event each).
    static func notification(incident: Int, step: Int) -> OutboundNotification {
        let event = Event(
            id: "event-\(incident)-\(step)",
            type: .failed,
            incident: "prod-east/\(incident)/failed",
            at: ObshellTime(seconds: 1_700_000_000 + Int64(step), nanoseconds: 0),
            target: TargetIdentity(name: "prod-east", url: nil, labels: [:]),
            summary: "DAG \(incident) step \(step)"
        )
        return OutboundNotification(receiver: "hook", rule: "r", events: [event])
    }

    @Test("a notification's order key: its first incident, else the DAG its event is about, else its target")
    func orderKeys() {
        let target = TargetIdentity(name: "prod-east", url: nil, labels: [:])
        let at = ObshellTime(seconds: 1_700_000_000, nanoseconds: 0)
        let dag = Event.DagInfo(
            id: "11",
            dagID: 1,
            name: "Scale out",
            stage: 2,
            maxStage: 9,
            state: "RUNNING",
            operator: "RUN"
        )
        func keyed(_ event: Event) -> String {
            PostgresOutbox.orderKey(of: OutboundNotification(receiver: "hook", rule: "r", events: [event]))
        }
        #expect(
            keyed(
                Event(
                    id: "a",
                    type: .failed,
                    incident: "prod-east/11/failed",
                    at: at,
                    target: target,
                    dag: dag,
                    summary: "failed"
                )
            ) == "prod-east/11/failed"
        )
        #expect(
            keyed(Event(id: "b", type: .stageAdvanced, at: at, target: target, dag: dag, summary: "2/9"))
                == "dag:prod-east/11"
        )
        #expect(keyed(Event(id: "c", type: .targetUp, at: at, target: target, summary: "up")) == "target:prod-east")
    }

    static func dispatcher(
        _ store: PostgresStore,
        replica: String,
        receiver: ReceiverConfig,
        clock: ManualClock = ManualClock(),
        recorder: DeliveryRecorder = DeliveryRecorder(),
        timing: SharedOutboxDispatcher.Timing = .init(),
        onClaimed: @escaping @Sendable ([ClaimedNotification]) async -> Void = { _ in }
    ) -> SharedOutboxDispatcher {
        SharedOutboxDispatcher(
            queue: PostgresOutbox(store: store),
            replica: replica,
            receivers: [receiver],
            makeSender: { receiver in
                guard case .webhook(let settings) = receiver.kind else { return NoSender() }
                return WebhookSender(
                    settings: settings,
                    templates: MessageTemplates(receiver: receiver, rules: [], timeZone: TimeZone(identifier: "UTC")!),
                    timeout: receiver.delivery.timeout
                )
            },
            clock: clock,
            random: { 0.5 },
            timing: timing,
            onAttempt: { recorder.attempt($0) },
            onDrop: { recorder.drop($0) },
            onClaimed: onClaimed
        )
    }

    /// The next `count` requests the peer saw: (Idempotency-Key, event id).
    static func requests(_ peer: PeerProcess, count: Int) async throws -> [(key: String, event: String)] {
        var seen: [(key: String, event: String)] = []
        for _ in 0..<count {
            let line = try await peer.nextLine()
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let headers = try #require(object["headers"] as? [String: String])
            let text = try #require(object["body"] as? String)
            let body = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            let events = try #require(body["events"] as? [[String: Any]])
            seen.append((headers["idempotency-key"] ?? "", events.first?["id"] as? String ?? ""))
        }
        return seen
    }

    static func fixture() async throws -> StoreFixture? {
        guard PostgresServer.isAvailable else { return nil }
        let fixture = try await StoreFixture.make()
        _ = try await fixture.store.migrate(appliedBy: "test")
        return fixture
    }

    @Test("two dispatchers deliver each notification once, with its id as Idempotency-Key, incidents in order")
    func exactlyOnceInOrder() async throws {
        guard let fixture = try await Self.fixture() else { return }
        let peer = try PeerProcess.launchPython(script: Self.peer, arguments: ["[]"])
        try await withPeer(peer) { peer, port in
            let receiver = Self.receiver(port: port)
            let notifications = (0..<3).flatMap { step in (0..<6).map { Self.notification(incident: $0, step: step) } }
            #expect(try await PostgresOutbox(store: fixture.store).enqueue(notifications) == 18)
            let other = try fixture.another()
            let recorder = DeliveryRecorder()
            // Two tries in flight each: the replicas interleave.
            let timing = SharedOutboxDispatcher.Timing(concurrency: 2)
            let one = Self.dispatcher(
                fixture.store,
                replica: "r1",
                receiver: receiver,
                recorder: recorder,
                timing: timing
            )
            let two = Self.dispatcher(other, replica: "r2", receiver: receiver, recorder: recorder, timing: timing)
            await one.start()
            await two.start()

            let seen = try await Self.requests(peer, count: 18)
            try await recorder.waitForAttempts(18)
            // A stop waits for the tries in flight, their claims finished.
            await one.stop(grace: .seconds(30))
            await two.stop(grace: .seconds(30))
            #expect(try await PostgresOutbox(store: fixture.store).inspect().allSatisfy { $0.state == "sent" })

            #expect(Set(seen.map(\.key)) == Set(notifications.map(\.id)) && seen.count == 18, "each once")
            #expect(seen.allSatisfy { key, event in notifications.first { $0.id == key }?.events.first?.id == event })
            for incident in 0..<6 {
                let order = seen.map(\.event).filter { $0.hasPrefix("event-\(incident)-") }
                #expect(order == (0..<3).map { "event-\(incident)-\($0)" }, "incident \(incident) in order")
            }
            let claimants = Set(try await PostgresOutbox(store: fixture.store).inspect().compactMap(\.claimedBy))
            #expect(claimants.isSubset(of: ["r1", "r2"]))
            await other.close()
        }
        await fixture.store.close()
    }

    @Test("an expired claim is rescued by another replica and re-sent with the same key; the late finish is refused")
    func expiredClaim() async throws {
        guard let fixture = try await Self.fixture() else { return }
        let peer = try PeerProcess.launchPython(script: Self.peer, arguments: ["[]"])
        try await withPeer(peer) { peer, port in
            let receiver = Self.receiver(port: port)
            let queue = PostgresOutbox(store: fixture.store)
            let notification = Self.notification(incident: 1, step: 0)
            try await queue.enqueue([notification])
            let request = ClaimRequest(claimant: "r1", limit: 5, claimLength: .seconds(120), rateLimits: [:])
            let lost = try await queue.claim(request)
            #expect(lost.map(\.notification.id) == [notification.id])
            #expect(try await queue.claim(request).isEmpty, "claimed rows are not claimed again while the claim holds")
            // r1 dies; its claim expires.
            try await fixture.sql(
                "UPDATE \"\(fixture.settings.schema)\".outbox SET claimed_until = now() - interval '1 second'"
            )
            let rescuer = Self.dispatcher(fixture.store, replica: "r2", receiver: receiver)
            #expect(await rescuer.dispatchOnce() == 1)
            await rescuer.stop(grace: .seconds(30))

            let seen = try await Self.requests(peer, count: 1)
            #expect(seen.map(\.key) == [notification.id])
            let row = try #require(try await queue.inspect().first)
            #expect(row.state == "sent" && row.claimedBy == "r2" && row.attempts == 2)
            #expect(try await queue.finish(lost[0].row, claimant: "r1", result: .sent) == false)
        }
        await fixture.store.close()
    }

    @Test("a replica paused past its claim's trust sends nothing; another sends it once the claim expires")
    func pausedReplica() async throws {
        guard let fixture = try await Self.fixture() else { return }
        let peer = try PeerProcess.launchPython(script: Self.peer, arguments: ["[]"])
        try await withPeer(peer) { peer, port in
            let receiver = Self.receiver(port: port)
            let queue = PostgresOutbox(store: fixture.store)
            let notification = Self.notification(incident: 1, step: 0)
            try await queue.enqueue([notification])
            let clock = ManualClock()
            let recorder = DeliveryRecorder()
            // SIGSTOP between the claim and the send: the monotonic clock moves on past the claim's length.
            let paused = Self.dispatcher(
                fixture.store,
                replica: "r1",
                receiver: receiver,
                clock: clock,
                recorder: recorder
            ) { _ in
                clock.advance(by: .seconds(121))
            }
            #expect(await paused.dispatchOnce() == 1)
            await paused.stop(grace: .zero)
            #expect(recorder.attempts.isEmpty, "nothing sent on an untrusted claim")
            #expect(try await queue.inspect().first?.state == "sending")

            try await fixture.sql(
                "UPDATE \"\(fixture.settings.schema)\".outbox SET claimed_until = now() - interval '1 second'"
            )
            let rescuer = Self.dispatcher(fixture.store, replica: "r2", receiver: receiver)
            #expect(await rescuer.dispatchOnce() == 1)
            await rescuer.stop(grace: .seconds(30))
            #expect(try await Self.requests(peer, count: 1).map(\.key) == [notification.id])
        }
        await fixture.store.close()
    }

    @Test("a rate limit holds across two dispatchers")
    func sharedRateLimit() async throws {
        guard let fixture = try await Self.fixture() else { return }
        let peer = try PeerProcess.launchPython(script: Self.peer, arguments: ["[]"])
        try await withPeer(peer) { peer, port in
            // Two per (long) window; five notifications of five incidents, all due at once.
            let receiver = Self.receiver(
                port: port,
                delivery: DeliverySettings(
                    timeout: .seconds(30),
                    rateLimits: [RateLimit(count: 2, per: .seconds(31_536_000), text: "2/365d")]
                )
            )
            let queue = PostgresOutbox(store: fixture.store)
            try await queue.enqueue((0..<5).map { Self.notification(incident: $0, step: 0) })
            let other = try fixture.another()
            let one = Self.dispatcher(fixture.store, replica: "r1", receiver: receiver)
            let two = Self.dispatcher(other, replica: "r2", receiver: receiver)
            let claimed = [await one.dispatchOnce(), await two.dispatchOnce(), await one.dispatchOnce()]
            await one.stop(grace: .seconds(30))
            await two.stop(grace: .seconds(30))

            #expect(claimed.reduce(0, +) == 2, "claimed: \(claimed)")
            #expect(try await Self.requests(peer, count: 2).count == 2)
            let states = try await queue.inspect().map(\.state)
            #expect(states.filter { $0 == "sent" }.count == 2 && states.filter { $0 == "pending" }.count == 3)
            await other.close()
        }
        await fixture.store.close()
    }

    @Test("500, 429 with Retry-After and a timeout are retried with backoff, then delivered with the same key")
    func retries() async throws {
        guard let fixture = try await Self.fixture() else { return }
        let script = #"[{"status":500},{"status":429,"retry_after":"30"},{"hang":true}]"#
        let peer = try PeerProcess.launchPython(script: Self.peer, arguments: [script])
        try await withPeer(peer) { peer, port in
            // Backoff ceilings of 60 s, 120 s, 240 s; jitter at half: 30 s, then Retry-After's 30 s below 60 s.
            let receiver = Self.receiver(
                port: port,
                delivery: DeliverySettings(timeout: .seconds(2), retryInitial: .seconds(60), retryMax: .seconds(600))
            )
            let schema = "\"\(fixture.settings.schema)\""
            let queue = PostgresOutbox(store: fixture.store)
            let notification = Self.notification(incident: 1, step: 0)
            try await queue.enqueue([notification])
            let recorder = DeliveryRecorder()
            let clock = ManualClock()
            var waits: [String?] = []
            for _ in 0..<3 {
                let dispatcher = Self.dispatcher(
                    fixture.store,
                    replica: "r1",
                    receiver: receiver,
                    clock: clock,
                    recorder: recorder
                )
                #expect(await dispatcher.dispatchOnce() == 1)
                await dispatcher.stop(grace: .seconds(30))
                #expect(await dispatcher.dispatchOnce() == 0, "a stopped dispatcher claims nothing")
                let row = try #require(try await queue.inspect().first)
                #expect(row.state == "pending")
                #expect(
                    try await queue.claim(
                        ClaimRequest(claimant: "x", limit: 1, claimLength: .seconds(1), rateLimits: [:])
                    ).isEmpty,
                    "not due before its backoff"
                )
                waits += try await fixture.sql(
                    "SELECT round(extract(epoch FROM next_attempt_at - now()) / 10)::int::text FROM \(schema).outbox"
                )
                try await fixture.sql("UPDATE \(schema).outbox SET next_attempt_at = now()")
            }
            let last = Self.dispatcher(
                fixture.store,
                replica: "r1",
                receiver: receiver,
                clock: clock,
                recorder: recorder
            )
            #expect(await last.dispatchOnce() == 1)
            await last.stop(grace: .seconds(30))

            #expect(recorder.attempts.map(\.outcome.word) == ["retry", "retry", "retry", "delivered"])
            #expect(recorder.attempts.map(\.attempt) == [1, 2, 3, 4])
            // 30 s after the 500 (half of 60), 60 s after the 429 (half of 120 is above its 30), 120 s after the hang.
            #expect(waits == ["3", "6", "12"])
            let keys = try await Self.requests(peer, count: 4).map(\.key)
            #expect(keys == Array(repeating: notification.id, count: 4))
            #expect(try await queue.inspect().first?.state == "sent")
        }
        await fixture.store.close()
    }
}

/// A sender for a receiver kind these tests do not configure.
private struct NoSender: NotificationSender {
    func deliver(_ notification: OutboundNotification, now: Date) async -> DeliveryOutcome {
        .rejected(reason: "no sender")
    }
}
