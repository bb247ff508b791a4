import ConfigLoading
import ConfigModel
import Curl
import Delivery
import Foundation
import Messages
import ObshellModel
import ObwatchTestKit
import PeerSupport
import Testing
import Tracker

/// A receiver at the holding peer (`Peers/holding_receiver.py`): every request stays open until the test releases
/// it, so what the peer holds is exactly what the queue has in flight, with no timing involved.
struct HoldingPeer {
    /// One request as it arrived.
    struct Arrival: Sendable, Hashable {
        /// Its Idempotency-Key: the notification's id.
        var key: String
        /// Its first event's id (`event-INCIDENT-STEP`).
        var event: String
        /// How many requests the peer held open when it arrived, this one included.
        var held: Int
    }

    static let script = Bundle.module.url(forResource: "Peers/holding_receiver", withExtension: "py")

    let peer: PeerProcess
    let port: String

    /// The next request to arrive.
    func next() async throws -> Arrival {
        let line = try await self.peer.nextLine()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let events = try #require(object["events"] as? [String])
        return Arrival(
            key: try #require(object["key"] as? String),
            event: events.first ?? "",
            held: try #require(object["held"] as? Int)
        )
    }

    /// The next `count` requests.
    func next(_ count: Int) async throws -> [Arrival] {
        var arrivals: [Arrival] = []
        for _ in 0..<count { arrivals.append(try await self.next()) }
        return arrivals
    }

    /// Answers the held request of `event` with `status` (and a Retry-After).
    func release(_ event: String, status: Int = 200, retryAfter: Int? = nil) async throws {
        var order: [String: Any] = ["event": event, "status": status]
        if let retryAfter { order["retry_after"] = "\(retryAfter)" }
        let response = try await CurlEngine.shared.perform(
            HTTPRequest(
                method: .post,
                url: "http://127.0.0.1:\(self.port)/_release",
                body: try JSONSerialization.data(withJSONObject: order)
            )
        )
        #expect(response.status == 200, "\(event) was not held")
    }

    /// A generic webhook to the peer with `delivery`.
    func receiver(_ delivery: DeliverySettings) -> ReceiverConfig {
        ReceiverConfig(
            name: "hook",
            kind: .webhook(
                WebhookSettings(
                    format: .generic,
                    url: Secret("http://127.0.0.1:\(self.port)/hook"),
                    redactedURL: "http://127.0.0.1:\(self.port)/hook"
                )
            ),
            delivery: delivery,
            mark: .init(file: "", line: 0, column: 0)
        )
    }

    /// Runs `body` with a started peer, and stops it however `body` ends.
    static func with(_ body: (HoldingPeer) async throws -> Void) async throws {
        let process = try PeerProcess.launchPython(script: try #require(Self.script))
        try await withPeer(process) { process, port in
            try await body(HoldingPeer(peer: process, port: port))
        }
    }
}

@Suite("Outbox: bursts in parallel, each incident in order, against a receiver that holds requests open")
struct ConcurrentDeliveryTests {
    /// Notification `step` of incident `incident`: one `failed` event `event-INCIDENT-STEP`.
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

    /// The incident of an event id `event-INCIDENT-STEP`.
    static func incident(_ event: String) -> String {
        String(event.split(separator: "-").dropFirst().first ?? "")
    }

    /// A queue for the peer's receiver, journalled in `folder`, on `clock`.
    /// A queue of `concurrency` on `peer` (a manual clock, a fresh folder) that accepted `notifications`, with its
    /// worker running.
    static func started(
        _ peer: HoldingPeer,
        concurrency: Int,
        accepting notifications: [OutboundNotification]
    ) async throws -> (ReceiverQueue, DeliveryRecorder, Task<Void, Never>) {
        let recorder = DeliveryRecorder()
        let queue = try Self.queue(
            peer,
            folder: try OutboxFixtures.folder(),
            clock: ManualClock(),
            recorder: recorder,
            delivery: DeliverySettings(timeout: .seconds(30), concurrency: concurrency)
        )
        try await queue.accept(notifications)
        return (queue, recorder, Task { await queue.run() })
    }

    static func queue(
        _ peer: HoldingPeer,
        folder: URL,
        clock: ManualClock,
        recorder: DeliveryRecorder,
        delivery: DeliverySettings
    ) throws -> ReceiverQueue {
        let receiver = peer.receiver(delivery)
        guard case .webhook(let settings) = receiver.kind else { throw PeerError(message: "not a webhook") }
        return ReceiverQueue(
            name: receiver.name,
            settings: delivery,
            file: OutboxFile(stateDirectory: folder, receiver: receiver.name),
            sender: WebhookSender(
                settings: settings,
                templates: MessageTemplates(receiver: receiver, rules: [], timeZone: TimeZone(identifier: "UTC")!),
                timeout: delivery.timeout
            ),
            clock: clock,
            random: { 1.0 },
            onAttempt: { recorder.attempt($0) },
            onDrop: { recorder.drop($0) }
        )
    }

    @Test("three in flight at once across incidents, never two of one incident, each incident in order, sent once")
    func parallelAcrossIncidents() async throws {
        try await HoldingPeer.with { peer in
            // Five incidents, two steps each, routed step by step: 0-0, 1-0, ..., 4-0, 0-1, ..., 4-1.
            let notifications = (0..<2).flatMap { step in (0..<5).map { Self.notification(incident: $0, step: step) } }
            let (queue, recorder, worker) = try await Self.started(peer, concurrency: 3, accepting: notifications)
            defer { worker.cancel() }

            var arrivals = try await peer.next(3)
            // The first three go at once: the peer holds all three open.
            #expect(arrivals.map(\.held).max() == 3)
            #expect(Set(arrivals.map(\.event)) == ["event-0-0", "event-1-0", "event-2-0"])
            var held = arrivals.map(\.event)
            while arrivals.count < notifications.count {
                // A freed slot takes the oldest notification whose incident has nothing waiting before it.
                try await peer.release(held.removeFirst())
                let arrival = try await peer.next()
                #expect(arrival.held == 3, "a slot stayed empty while work was waiting")
                #expect(
                    !held.map(Self.incident).contains(Self.incident(arrival.event)),
                    "\(arrival.event) went while its incident had one in flight"
                )
                held.append(arrival.event)
                arrivals.append(arrival)
            }
            #expect(
                arrivals.dropFirst(3).map(\.event)
                    == ["event-3-0", "event-4-0", "event-0-1", "event-1-1", "event-2-1", "event-3-1", "event-4-1"]
            )
            for event in held { try await peer.release(event) }
            try await recorder.wait(until: "every notification delivered") { await queue.depth == 0 }
            // Each once, with its own id as the key.
            #expect(arrivals.map(\.key).sorted() == notifications.map(\.id).sorted())
            for arrival in arrivals {
                #expect(notifications.first { $0.id == arrival.key }?.events.first?.id == arrival.event)
            }
            #expect(recorder.drops.isEmpty)
            await queue.stop()
            await worker.value
        }
    }

    /// Notification `step` of DAG `dag` with no incident: one `stage_advanced` event `event-DAG-STEP`.
    static func stageNotification(dag: Int, step: Int) -> OutboundNotification {
        let event = Event(
            id: "event-\(dag)-\(step)",
            type: .stageAdvanced,
            at: ObshellTime(seconds: 1_700_000_000 + Int64(step), nanoseconds: 0),
            target: TargetIdentity(name: "prod-east", url: nil, labels: [:]),
            dag: Event.DagInfo(
                id: "\(dag)",
                dagID: Int64(dag),
                name: "upgrade",
                stage: step + 2,
                maxStage: 9,
                state: "RUNNING",
                operator: "RUN"
            ),
            summary: "DAG \(dag) stage \(step + 2)"
        )
        return OutboundNotification(receiver: "hook", rule: "r", events: [event])
    }

    @Test("events without an incident go in parallel across DAGs, never two of one DAG at once, each DAG in order")
    func parallelAcrossDAGsWithoutIncidents() async throws {
        try await HoldingPeer.with { peer in
            // Four DAGs of one target, two stages each, routed stage by stage: 0-0, ..., 3-0, 0-1, ..., 3-1.
            let notifications = (0..<2).flatMap { step in (0..<4).map { Self.stageNotification(dag: $0, step: step) } }
            let (queue, recorder, worker) = try await Self.started(peer, concurrency: 3, accepting: notifications)
            defer { worker.cancel() }

            var arrivals = try await peer.next(3)
            // Three DAGs at once: no incident does not mean one at a time.
            #expect(arrivals.map(\.held).max() == 3)
            #expect(Set(arrivals.map(\.event)) == ["event-0-0", "event-1-0", "event-2-0"])
            // Released oldest DAG first, whichever order the three arrived in.
            var held = arrivals.map(\.event).sorted()
            while arrivals.count < notifications.count {
                try await peer.release(held.removeFirst())
                let arrival = try await peer.next()
                #expect(
                    !held.map(Self.incident).contains(Self.incident(arrival.event)),
                    "\(arrival.event) went while its DAG had one in flight"
                )
                held.append(arrival.event)
                arrivals.append(arrival)
            }
            #expect(
                arrivals.dropFirst(3).map(\.event) == ["event-3-0", "event-0-1", "event-1-1", "event-2-1", "event-3-1"]
            )
            for event in held { try await peer.release(event) }
            try await recorder.wait(until: "every notification delivered") { await queue.depth == 0 }
            #expect(arrivals.map(\.key).sorted() == notifications.map(\.id).sorted())
            await queue.stop()
            await worker.value
        }
    }

    @Test("a 500 holds only its incident: others go on, its retry waits the backoff and keeps the id and the order")
    func failureHoldsOnlyItsIncident() async throws {
        try await HoldingPeer.with { peer in
            let clock = ManualClock()
            let recorder = DeliveryRecorder()
            let delivery = DeliverySettings(
                timeout: .seconds(30),
                retryInitial: .seconds(10),
                retryMax: .seconds(60),
                concurrency: 2
            )
            let queue = try Self.queue(
                peer,
                folder: try OutboxFixtures.folder(),
                clock: clock,
                recorder: recorder,
                delivery: delivery
            )
            let a0 = Self.notification(incident: 0, step: 0)
            let b0 = Self.notification(incident: 1, step: 0)
            let a1 = Self.notification(incident: 0, step: 1)
            let b1 = Self.notification(incident: 1, step: 1)
            let c0 = Self.notification(incident: 2, step: 0)
            try await queue.accept([a0, b0, a1, b1, c0])
            let worker = Task { await queue.run() }
            defer { worker.cancel() }

            let first = try await peer.next(2)
            #expect(Set(first.map(\.event)) == ["event-0-0", "event-1-0"])
            try await peer.release("event-0-0", status: 500)
            // Incident 0 waits for its retry; incident 1 has one in flight: the slot goes to incident 2.
            #expect(try await peer.next().event == "event-2-0")
            try await peer.release("event-1-0")
            #expect(try await peer.next().event == "event-1-1")
            try await peer.release("event-2-0")
            try await peer.release("event-1-1")
            try await recorder.waitForAttempts(4)
            // Only incident 0 is left, its two notifications, and nothing is in flight: the retry waits its 10 s.
            await clock.sleepers(atLeast: 1)
            #expect(await queue.inFlightCount == 0)
            #expect(await queue.depth == 2)
            clock.advance(by: .seconds(10))
            let retried = try await peer.next()
            #expect(retried.event == "event-0-0")
            #expect(retried.key == a0.id && first.first { $0.event == "event-0-0" }?.key == a0.id, "the same id")
            try await peer.release("event-0-0")
            #expect(try await peer.next().event == "event-0-1", "the incident's next one only after it")
            try await peer.release("event-0-1")
            try await recorder.wait(until: "all delivered") { await queue.depth == 0 }
            let tries = recorder.attempts.filter { $0.notificationID == a0.id }
            #expect(tries.map(\.attempt) == [1, 2])
            #expect(tries.map { $0.at.timeIntervalSince(tries[0].at) } == [0, 10])
            await queue.stop()
            await worker.value
        }
    }

    @Test("a 429 with Retry-After pauses the whole receiver: nothing goes until it passes")
    func retryAfterPausesTheReceiver() async throws {
        try await HoldingPeer.with { peer in
            let clock = ManualClock()
            let recorder = DeliveryRecorder()
            let delivery = DeliverySettings(timeout: .seconds(30), retryInitial: .seconds(1), concurrency: 2)
            let queue = try Self.queue(
                peer,
                folder: try OutboxFixtures.folder(),
                clock: clock,
                recorder: recorder,
                delivery: delivery
            )
            let notifications = (0..<3).map { Self.notification(incident: $0, step: 0) }
            try await queue.accept(notifications)
            let worker = Task { await queue.run() }
            defer { worker.cancel() }

            #expect(Set(try await peer.next(2).map(\.event)) == ["event-0-0", "event-1-0"])
            try await peer.release("event-0-0", status: 429, retryAfter: 30)
            try await peer.release("event-1-0")
            try await recorder.waitForAttempts(2)
            await clock.sleepers(atLeast: 1)
            // Incident 2 is free and a slot too, but the receiver asked for 30 s of quiet.
            #expect(await queue.inFlightCount == 0)
            #expect(await queue.depth == 2)
            clock.advance(by: .seconds(30))
            #expect(Set(try await peer.next(2).map(\.event)) == ["event-0-0", "event-2-0"])
            try await peer.release("event-0-0")
            try await peer.release("event-2-0")
            try await recorder.wait(until: "all delivered") { await queue.depth == 0 }
            let late = recorder.attempts.filter { $0.notificationID == notifications[2].id }
            #expect(late.map { $0.at.timeIntervalSince(recorder.attempts[0].at) } == [30])
            await queue.stop()
            await worker.value
        }
    }

    @Test("a rate limit of 2/min holds with four slots: two go, the next two a minute later")
    func rateLimitWithConcurrency() async throws {
        try await HoldingPeer.with { peer in
            let clock = ManualClock()
            let recorder = DeliveryRecorder()
            let delivery = DeliverySettings(
                timeout: .seconds(30),
                rateLimits: [RateLimit("2/min")].compactMap { $0 },
                concurrency: 4
            )
            let queue = try Self.queue(
                peer,
                folder: try OutboxFixtures.folder(),
                clock: clock,
                recorder: recorder,
                delivery: delivery
            )
            let notifications = (0..<4).map { Self.notification(incident: $0, step: 0) }
            try await queue.accept(notifications)
            let worker = Task { await queue.run() }
            defer { worker.cancel() }

            let first = try await peer.next(2)
            #expect(first.map(\.held).max() == 2)
            // The worker waits for the window with two free slots and two notifications ready.
            await clock.sleepers(atLeast: 1)
            #expect(await queue.inFlightCount == 2)
            for arrival in first { try await peer.release(arrival.event) }
            try await recorder.waitForAttempts(2)
            clock.advance(by: .seconds(60))
            let second = try await peer.next(2)
            for arrival in second { try await peer.release(arrival.event) }
            try await recorder.wait(until: "all delivered") { await queue.depth == 0 }
            #expect(Set((first + second).map(\.event)) == Set(notifications.compactMap { $0.events.first?.id }))
            let start = recorder.attempts[0].at
            #expect(recorder.attempts.map { $0.at.timeIntervalSince(start) }.sorted() == [0, 0, 60, 60])
            await queue.stop()
            await worker.value
        }
    }

    @Test("killed with two in flight: the restarted queue sends both again with the same ids, then the rest")
    func crashResendsInFlight() async throws {
        try await HoldingPeer.with { peer in
            let folder = try OutboxFixtures.folder()
            let clock = ManualClock()
            let recorder = DeliveryRecorder()
            let delivery = DeliverySettings(timeout: .seconds(30), concurrency: 2)
            let queue = try Self.queue(peer, folder: folder, clock: clock, recorder: recorder, delivery: delivery)
            let notifications = (0..<3).map { Self.notification(incident: $0, step: 0) }
            try await queue.accept(notifications)
            let worker = Task { await queue.run() }
            let before = try await peer.next(2)

            // kill -9 now: what is on disk is what the restarted process finds.
            let journal = OutboxFile(stateDirectory: folder, receiver: "hook").url
            let restartedFolder = try OutboxFixtures.folder()
            let restartedJournal = OutboxFile(stateDirectory: restartedFolder, receiver: "hook").url
            try FileManager.default.createDirectory(
                at: restartedJournal.deletingLastPathComponent(),
                withIntermediateDirectories: true
            )
            try FileManager.default.copyItem(at: journal, to: restartedJournal)
            // The dead process's requests end without a word from it (its own folder is not looked at again).
            await queue.stop()
            for arrival in before { try await peer.release(arrival.event, status: 500) }
            await worker.value

            let restartedRecorder = DeliveryRecorder()
            let restarted = try Self.queue(
                peer,
                folder: restartedFolder,
                clock: clock,
                recorder: restartedRecorder,
                delivery: delivery
            )
            #expect(await restarted.depth == 3)
            let restartedWorker = Task { await restarted.run() }
            defer { restartedWorker.cancel() }
            let again = try await peer.next(2)
            #expect(Set(again.map(\.key)) == Set(before.map(\.key)), "the ones in flight, with the same ids")
            for arrival in again { try await peer.release(arrival.event) }
            let last = try await peer.next()
            #expect(last.key == notifications[2].id)
            try await peer.release(last.event)
            try await restartedRecorder.wait(until: "all delivered") { await restarted.depth == 0 }
            #expect(OutboxFile(stateDirectory: restartedFolder, receiver: "hook").load().pending.isEmpty)
            await restarted.stop()
            await restartedWorker.value
        }
    }
}

@Suite("Config: a receiver's concurrency")
struct ReceiverConcurrencyConfigTests {
    private func check(_ receivers: String) throws -> (lines: [String], config: ObwatchConfig?) {
        let folder = try OutboxFixtures.folder()
        let path = folder.appendingPathComponent("obwatch.yaml").path
        let yaml = """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers:
            \(receivers)
            rules: [{ name: r, match: { event: failed }, notify: [hook] }]

            """
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let report = ConfigCheck.run(contentsOfFile: path, environment: [:])
        // Errors only: the receivers no rule names get a warning, which is not what these tests are about.
        let lines = report.lines.dropLast().filter { $0.contains(": error: ") }
            .map { $0.replacingOccurrences(of: folder.path + "/", with: "") }
        return (Array(lines), report.isValid ? ConfigLoader(environment: [:]).load(contentsOfFile: path).config : nil)
    }

    @Test("a webhook and mail default to 8, syslog to 1; concurrency: 3 is taken")
    func defaults() throws {
        let (lines, config) = try self.check(
            """
              - name: hook
                webhook: { format: generic, url: "https://hooks.example.com/a" }
              - name: tuned
                concurrency: 3
                webhook: { format: generic, url: "https://hooks.example.com/b" }
              - name: log
                syslog: { address: "udp://127.0.0.1:514" }
            """
        )
        #expect(lines.allSatisfy { !$0.contains(": error: ") }, "\(lines)")
        let byName = Dictionary(
            uniqueKeysWithValues: (config?.receivers ?? []).map { ($0.name, $0.delivery.concurrency) }
        )
        #expect(byName == ["hook": 8, "tuned": 3, "log": 1])
    }

    @Test("0, 65 and a word are refused at their place, saying what to write; syslog takes only 1")
    func refused() throws {
        #expect(
            try self.check(
                """
                  - name: hook
                    concurrency: 0
                    webhook: { format: generic, url: "https://hooks.example.com/a" }
                """
            ).lines == [
                "obwatch.yaml:5:18: error: concurrency must be from 1 to 64 (notifications in flight at once; 8 when "
                    + "not set), found 0: write a number in that range, or remove the key"
            ]
        )
        #expect(
            try self.check(
                "  - name: hook\n    concurrency: 65\n    webhook: { format: generic, url: \"https://a.example.com/\" }"
            ).lines.first?.hasPrefix("obwatch.yaml:5:18: error: concurrency must be from 1 to 64") == true
        )
        #expect(
            try self.check(
                "  - name: hook\n    concurrency: many\n    webhook: { format: generic, url: \"https://a.example.com/\" }"
            ).lines.first?.hasPrefix("obwatch.yaml:5:18: error: ") == true
        )
        #expect(
            try self.check(
                """
                  - name: hook
                    webhook: { format: generic, url: "https://hooks.example.com/a" }
                  - name: log
                    concurrency: 4
                    syslog: { address: "udp://127.0.0.1:514" }
                """
            ).lines == [
                "obwatch.yaml:7:18: error: a syslog receiver delivers one notification at a time, in order; remove "
                    + "\"concurrency: 4\" (only webhook and email receivers deliver in parallel)"
            ]
        )
    }
}
