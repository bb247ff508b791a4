import ConfigModel
import Delivery
import Foundation
import Messages
import ObshellModel
import ObwatchTestKit
import PeerSupport
import Synchronization
import Testing
import Tracker

@Suite("Delivery: webhooks against a real HTTP receiver on loopback")
struct WebhookDeliveryTests {
    static let peer = Bundle.module.url(forResource: "Peers/webhook_receiver", withExtension: "py")

    /// A DingTalk receiver at the peer, signed, with a timeout no answered request can run into on a loaded machine.
    private func receiver(port: String) -> ReceiverConfig {
        let url = "http://127.0.0.1:\(port)/robot/send?access_token=token-123"
        return ReceiverConfig(
            name: "db-chat",
            kind: .webhook(
                WebhookSettings(
                    format: .dingtalk,
                    url: Secret(url),
                    redactedURL: "http://127.0.0.1:\(port)/robot/send?<redacted>",
                    signingSecret: Secret("SECsigning")
                )
            ),
            delivery: DeliverySettings(timeout: .seconds(30), rateLimits: WebhookFormat.dingtalk.defaultRateLimits),
            mark: .init(file: "", line: 0, column: 0)
        )
    }

    private static func notification(dag: Int, type: EventType, name: String) -> OutboundNotification {
        let event = Event(
            id: "\(dag)-\(type.rawValue)",
            type: type,
            incident: "prod-east/\(dag)/failed",
            at: ObshellTime(seconds: 1_700_000_000, nanoseconds: 0),
            target: TargetIdentity(name: "prod-east", url: nil, labels: [:]),
            dag: Event.DagInfo(
                id: "\(dag)",
                dagID: Int64(dag),
                name: name,
                stage: 4,
                maxStage: 9,
                state: type == .failed ? "FAILED" : "RUNNING",
                operator: "RUN"
            ),
            summary: "\(name) \(type.rawValue) on prod-east"
        )
        return OutboundNotification(receiver: "db-chat", rule: "failures", events: [event])
    }

    @Test(
        "500, 429 with Retry-After, a hang past the timeout, errcode 310000 in a 200: all arrive once it recovers, in order"
    )
    func recovers() async throws {
        let script =
            #"[{"status":500},{"status":429,"retry_after":"30"},{"hang":true},"#
            + #"{"status":200,"body":{"errcode":310000,"errmsg":"sign not match"}}]"#
        let peer = try PeerProcess.launchPython(script: try #require(Self.peer), arguments: [script])
        try await withPeer(peer) { peer, port in
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("obw-wh-\(UUID().uuidString)")
            let receiver = self.receiver(port: port)
            guard case .webhook(let settings) = receiver.kind else { return }
            let clock = ImmediateClock()
            let start = clock.wallNow
            let recorder = DeliveryRecorder()
            let templates = MessageTemplates(receiver: receiver, rules: [], timeZone: TimeZone(identifier: "UTC")!)
            let queue = ReceiverQueue(
                name: receiver.name,
                settings: receiver.delivery,
                file: OutboxFile(stateDirectory: folder, receiver: receiver.name),
                // Only the third try, which the peer never answers, runs into a short timeout; every answered one
                // has the receiver's generous one.
                sender: TimeoutPerTry(
                    patient: WebhookSender(
                        settings: settings,
                        templates: templates,
                        timeout: receiver.delivery.timeout
                    ),
                    impatient: WebhookSender(settings: settings, templates: templates, timeout: .seconds(1)),
                    impatientTry: 3
                ),
                clock: clock,
                random: { 1.0 },
                onAttempt: { recorder.attempt($0) },
                onDrop: { recorder.drop($0) }
            )
            let notifications = [
                Self.notification(dag: 11, type: .failed, name: "Cluster scale out"),
                Self.notification(dag: 12, type: .failed, name: "Tenant create"),
                Self.notification(dag: 11, type: .retried, name: "Cluster scale out"),
            ]
            try await queue.accept(notifications)
            try await OutboxFixtures.drain(queue, recorder: recorder) { await queue.depth == 0 }

            #expect(recorder.drops.isEmpty)
            let attempts = recorder.attempts
            #expect(
                attempts.map(\.outcome.word) == [
                    "retry", "retry", "retry", "retry", "delivered", "delivered", "delivered",
                ]
            )
            // Full jitter at its ceiling (random = 1): 1 s, then Retry-After 30 s over the 2 s ceiling, 4 s, 8 s.
            #expect(attempts.map { $0.at.timeIntervalSince(start) } == [0, 1, 31, 35, 43, 43, 43])
            #expect(attempts.map(\.notificationID) == [0, 0, 0, 0, 0, 1, 2].map { notifications[$0].id })
            if case .retry(let reason, _) = attempts[3].outcome {
                #expect(reason.contains("310000"))
            }

            var received: [[String: Any]] = []
            for _ in 0..<7 {
                let line = try await peer.nextLine()
                received.append(try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]))
            }
            let delivered = received.filter { ($0["answer"] as? [String: Any])?["body"] as? [String: Any] != nil }
                .filter { (($0["answer"] as? [String: Any])?["body"] as? [String: Any])?["errcode"] as? Int == 0 }
            let titles = try delivered.map { request -> String in
                let body = try #require(request["body"] as? String)
                let object = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
                #expect(object["msgtype"] as? String == "markdown")
                let markdown = try #require(object["markdown"] as? [String: Any])
                return try #require(markdown["title"] as? String)
            }
            #expect(titles.count == 3)
            #expect(titles[0].contains("Cluster scale out") && titles[1].contains("Tenant create"))
            #expect(titles[2].contains("Cluster scale out"))
            // Every request was signed and kept the access token.
            for request in received {
                let path = try #require(request["path"] as? String)
                #expect(
                    path.contains("access_token=token-123") && path.contains("&timestamp=") && path.contains("&sign=")
                )
            }
        }
    }
}

/// Delivers every try through `patient`, except the try numbered `impatientTry`, which goes through `impatient`.
///
/// A hang has to run into a timeout to be seen, but a short timeout on every try would also cut an answer short on
/// a loaded machine: only the try the peer's script holds gets the short one.
private final class TimeoutPerTry: NotificationSender {
    private let patient: WebhookSender
    private let impatient: WebhookSender
    private let impatientTry: Int
    private let tries = Mutex(0)

    init(patient: WebhookSender, impatient: WebhookSender, impatientTry: Int) {
        self.patient = patient
        self.impatient = impatient
        self.impatientTry = impatientTry
    }

    func deliver(_ notification: OutboundNotification, now: Date) async -> DeliveryOutcome {
        let number = self.tries.withLock { tries in
            tries += 1
            return tries
        }
        let sender = number == self.impatientTry ? self.impatient : self.patient
        return await sender.deliver(notification, now: now)
    }
}
