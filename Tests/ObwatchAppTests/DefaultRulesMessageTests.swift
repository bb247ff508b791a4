import ConfigLoading
import ConfigModel
import Delivery
import Foundation
import Logging
import Messages
import ObshellModel
import ObwatchTestKit
import PeerSupport
import Pipeline
import Routing
import Simulator
import Synchronization
import Testing
import Tracker

import func ObwatchTestKit.temporaryFolder

@testable import ObwatchApp

/// rules/default.yaml, the documented starting point, end to end: the simulator plays a scale-out that fails, the
/// daemon's poller, router and outbox run on the shipped rules, and a real HTTP peer stands for the DingTalk robot.
@Suite("rules/default.yaml: one chat message per failure")
struct DefaultRulesMessageTests {
    static let receiverScript = packageRoot.appendingPathComponent("Tests/DeliveryTests/Peers/webhook_receiver.py")

    @Test("a failing scale-out gives one chat message that names the failing log line once")
    func oneMessagePerFailure() async throws {
        let peer = try PeerProcess.launchPython(script: Self.receiverScript, arguments: ["[]"])
        try await withPeer(peer) { peer, port in
            let folder = try temporaryFolder("obw-default-rules")
            defer { try? FileManager.default.removeItem(at: folder) }
            let scenario = try bundledScenario("scale-out-fails.yaml")
            let running = try await ManualSimulator(scenario)
            defer { running.stop() }
            let config = try Self.config(chatPort: port, agentURL: running.url, folder: folder)

            let handed = Mutex<[OutboundNotification]>([])
            let outbox = Outbox(
                receivers: config.receivers,
                stateDirectory: folder,
                makeSender: { DeliverySenders.make(for: $0, templates: MessageTemplates(receiver: $0, config: config)) }
            )
            await outbox.start()
            let clock = ManualClock.scenario()
            let storage = LocalStateFolder(directory: folder, clock: clock)
            let routing = try await RoutingStage(
                router: Router(config: config),
                storage: storage,
                logger: Logger(label: "test"),
                deliver: { notifications throws(DeliveryError) in
                    handed.withLock { $0 += notifications }
                    try await outbox.accept(notifications)
                },
                output: { _ in }
            )
            let target = try #require(config.targets.first)
            let poller = try await TargetPoller(
                target: target,
                settings: config.trackerSettings,
                storage: storage,
                clock: clock,
                sink: { try await routing.observed($0) }
            )
            try await withRunning(routing) {
                var elapsed = Duration.zero
                while elapsed <= scenario.lastStepTime + .seconds(30) {
                    elapsed = try await running.simulator.advance(by: .seconds(5))
                    clock.advance(toWall: await running.simulator.state().now.date)
                    _ = await poller.pollOnce()
                    // group_wait falls due between polls, as the daemon's ticker ticks it.
                    await routing.tick(at: ObshellTime(date: clock.wallNow))
                }
            }

            // What the rules sent the chat: the failure, then its resolution by the retry; nothing else.
            let toChat = handed.withLock { $0 }.filter { $0.receiver == "db-chat" }
            #expect(toChat.map(\.status) == [.firing, .resolved])
            #expect(toChat.first?.events.map(\.type) == [.nodeFailed, .failed])
            var messages: [String] = []
            for _ in toChat {
                let request = try #require(
                    try JSONSerialization.jsonObject(with: Data(try await peer.nextLine().utf8)) as? [String: Any]
                )
                let body = try #require(request["body"] as? String)
                let object = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
                let markdown = try #require(object["markdown"] as? [String: Any])
                messages.append(try #require(markdown["text"] as? String))
            }
            await outbox.stop(grace: .seconds(5))

            let failure = try #require(messages.first)
            #expect(
                failure.hasPrefix("#### [FIRING] Cluster scale out failed on sim (2 events: node failed, DAG failed)")
            )
            #expect(failure.components(separatedBy: "Error 4012 (HY000)").count == 2, "\(failure)")
            #expect(failure.components(separatedBy: "**Node:**").count == 2)
            #expect(failure.components(separatedBy: "**Sub-task:**").count == 2)
            #expect(failure.contains("on 10.10.10.1:2886"))
            #expect(!failure.contains("more)") && !failure.contains("---"))
            #expect(messages.dropFirst().first?.hasPrefix("#### [RESOLVED] Cluster scale out is being retried") == true)
        }
    }

    /// rules/default.yaml as shipped, its variables set, pointed at the simulator, its state in `folder` and its
    /// syslog audit trail in a file (a test machine may have no /dev/log).
    private static func config(chatPort: String, agentURL: String, folder: URL) throws -> ObwatchConfig {
        let loader = ConfigLoader(environment: [
            "OBSHELL_PASSWORD": "root-pw",
            "OBWATCH_CHAT_URL": "http://127.0.0.1:\(chatPort)/robot/send?access_token=t",
            "OBWATCH_CHAT_SECRET": "SECtest",
        ])
        var config = try loader.loadValid(contentsOfFile: packageRoot.appendingPathComponent("rules/default.yaml").path)
            .0
        config.stateDirectory = folder.path
        config.targets = config.targets.prefix(1).map { target in
            var target = target
            target.name = "sim"
            target.url = agentURL
            return target
        }
        config.receivers = config.receivers.map { receiver in
            var receiver = receiver
            if case .syslog = receiver.kind {
                receiver.kind = .file(FileSettings(path: folder.appendingPathComponent("audit.jsonl").path))
            }
            return receiver
        }
        return config
    }
}
