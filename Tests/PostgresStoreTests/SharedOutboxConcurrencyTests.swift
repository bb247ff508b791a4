import ConfigModel
import Curl
import Delivery
import Foundation
import ObwatchTestKit
import PeerSupport
import PostgresStore
import Testing

@Suite(
    "the shared outbox: a receiver's concurrency per replica, against a receiver that holds requests open",
    .serialized
)
struct SharedOutboxConcurrencyTests {
    static let peer = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("DeliveryTests/Peers/holding_receiver.py")

    /// One request as the holding peer saw it arrive: its key, first event, and how many it held open then.
    struct Arrival: Hashable {
        var key: String
        var event: String
        var held: Int
    }

    static func next(_ peer: PeerProcess) async throws -> Arrival {
        let line = try await peer.nextLine()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let events = try #require(object["events"] as? [String])
        return Arrival(
            key: try #require(object["key"] as? String),
            event: events.first ?? "",
            held: try #require(object["held"] as? Int)
        )
    }

    static func release(_ event: String, port: String) async throws {
        let response = try await CurlEngine.shared.perform(
            HTTPRequest(
                method: .post,
                url: "http://127.0.0.1:\(port)/_release",
                body: try JSONSerialization.data(withJSONObject: ["event": event, "status": 200])
            )
        )
        #expect(response.status == 200, "\(event) was not held")
    }

    /// The incident of an event id `event-INCIDENT-STEP`.
    static func incident(_ event: String) -> String {
        String(event.split(separator: "-").dropFirst().first ?? "")
    }

    @Test("two replicas with concurrency 2 each: four in flight, never two of one incident, each incident in order")
    func concurrencyPerReplica() async throws {
        guard let fixture = try await SharedOutboxTests.fixture() else { return }
        let process = try PeerProcess.launchPython(script: Self.peer)
        try await withPeer(process) { peer, port in
            let receiver = SharedOutboxTests.receiver(
                port: port,
                delivery: DeliverySettings(timeout: .seconds(30), concurrency: 2)
            )
            // Six incidents, two steps each, routed step by step.
            let notifications = (0..<2).flatMap { step in
                (0..<6).map { SharedOutboxTests.notification(incident: $0, step: step) }
            }
            #expect(try await PostgresOutbox(store: fixture.store).enqueue(notifications) == 12)
            let other = try fixture.another()
            let recorder = DeliveryRecorder()
            let one = SharedOutboxTests.dispatcher(fixture.store, replica: "r1", receiver: receiver, recorder: recorder)
            let two = SharedOutboxTests.dispatcher(other, replica: "r2", receiver: receiver, recorder: recorder)
            await one.start()
            await two.start()

            var arrivals: [Arrival] = []
            for _ in 0..<4 { arrivals.append(try await Self.next(peer)) }
            // Two per replica, at once: the peer holds four open.
            #expect(arrivals.map(\.held).max() == 4)
            #expect(Set(arrivals.map { Self.incident($0.event) }).count == 4, "four incidents")
            var held = arrivals.map(\.event)
            while arrivals.count < notifications.count {
                // The replica whose try ends claims the next due row at once (its own wake-up); the other's polls
                // never come, its clock stands still.
                try await Self.release(held.removeFirst(), port: port)
                let arrival = try await Self.next(peer)
                #expect(arrival.held <= 4)
                #expect(
                    !held.map(Self.incident).contains(Self.incident(arrival.event)),
                    "\(arrival.event) went while its incident had one in flight"
                )
                held.append(arrival.event)
                arrivals.append(arrival)
            }
            for event in held { try await Self.release(event, port: port) }
            try await recorder.waitForAttempts(12)
            await one.stop(grace: .seconds(30))
            await two.stop(grace: .seconds(30))

            #expect(arrivals.map(\.key).sorted() == notifications.map(\.id).sorted(), "each once, its id as key")
            for incident in 0..<6 {
                let order = arrivals.map(\.event).filter { $0.hasPrefix("event-\(incident)-") }
                #expect(order == ["event-\(incident)-0", "event-\(incident)-1"], "incident \(incident) in order")
            }
            #expect(try await PostgresOutbox(store: fixture.store).inspect().allSatisfy { $0.state == "sent" })
            await other.close()
        }
        await fixture.store.close()
    }

    @Test("a receiver that delivers serially (syslog) gets one row claimed at a time, oldest first, across incidents")
    func inOrderReceiver() async throws {
        guard let fixture = try await SharedOutboxTests.fixture() else { return }
        let queue = PostgresOutbox(store: fixture.store)
        let notifications = (0..<3).map { SharedOutboxTests.notification(incident: $0, step: 0) }
        try await queue.enqueue(notifications)
        let none = ClaimRequest(
            claimant: "r3",
            limit: 10,
            claimLength: .seconds(120),
            rateLimits: [:],
            perReceiver: ["hook": 0]
        )
        #expect(try await queue.claim(none).isEmpty, "a receiver without room is passed over, its rows due")
        let inOrder = ClaimRequest(
            claimant: "r1",
            limit: 10,
            claimLength: .seconds(120),
            rateLimits: [:],
            perReceiver: ["hook": 10],
            inOrder: ["hook"]
        )
        let first = try await queue.claim(inOrder)
        #expect(first.map(\.notification.id) == [notifications[0].id])
        #expect(try await queue.claim(inOrder).isEmpty, "nothing while the oldest is in flight")
        #expect(try await queue.finish(first[0].row, claimant: "r1", result: .sent))
        #expect(try await queue.claim(inOrder).map(\.notification.id) == [notifications[1].id])
        // Without the order, the others' incidents are free: the share bounds the claim.
        let shared = ClaimRequest(
            claimant: "r2",
            limit: 10,
            claimLength: .seconds(120),
            rateLimits: [:],
            perReceiver: ["hook": 1]
        )
        #expect(try await queue.claim(shared).map(\.notification.id) == [notifications[2].id])
        await fixture.store.close()
    }
}
