import ConfigModel
import Curl
import Delivery
import Foundation
import Messages
import ObshellModel
import ObwatchTestKit
import PeerSupport
import Support
import Testing
import Tracker

/// The `alertmanager:` receiver against a real Alertmanager (Debian's), started on loopback by each test.
@Suite(
    "Alertmanager receiver",
    .enabled(if: AlertmanagerServer.isAvailable, "\(AlertmanagerServer.unavailableReason)")
)
struct AlertmanagerReceiverTests {
    static let templates = MessageTemplates(
        receiver: ReceiverConfig(
            name: "am",
            kind: .alertmanager(AlertmanagerSettings(url: Secret("http://127.0.0.1:1"), redactedURL: "")),
            delivery: DeliverySettings(),
            mark: SourcePosition(file: "obwatch.yaml", line: 1, column: 1)
        ),
        rules: [],
        timeZone: .gmt
    )

    static func settings(_ server: AlertmanagerServer, repostEvery: Duration = .seconds(60)) -> AlertmanagerSettings {
        AlertmanagerSettings(url: Secret(server.url + "/"), redactedURL: server.url, repostEvery: repostEvery)
    }

    /// `GET /api/v2/alerts`, as JSON objects.
    static func listed(_ base: String) async throws -> [[String: Any]] {
        let response = try await CurlEngine.shared.perform(
            HTTPRequest(method: .get, target: .url(base + "/api/v2/alerts"), timeout: .seconds(10))
        )
        #expect(response.status == 200)
        return try #require(try JSONSerialization.jsonObject(with: response.body) as? [[String: Any]])
    }

    /// The listed alerts whose `alertname` is `name`.
    static func alerts(named name: String, in base: String) async throws -> [[String: Any]] {
        try await Self.listed(base).filter { ($0["labels"] as? [String: String])?["alertname"] == name }
    }

    static func failed() -> Event {
        var event = FormatSamples.failed(lastLog: "line one\nline two \u{1B}[31m<b>")
        event.target.labels = ["env": "prod", "alertname": "clash", "team-name": "db", "9lives": "cat"]
        return event
    }

    @Test func failedAlertAppearsWithLabelsAndAnnotationsAndSucceededResolvesIt() async throws {
        let server = try await AlertmanagerServer.start()
        let sender = AlertmanagerSender(
            settings: Self.settings(server),
            templates: Self.templates,
            timeout: .seconds(10)
        )
        let failed = Self.failed()
        let outcome = await sender.deliver(FormatSamples.notification([failed]), now: Date())
        guard case .delivered = outcome else {
            Issue.record("not delivered: \(outcome)")
            await server.stop()
            return
        }
        let alert = try #require(try await Self.alerts(named: "obwatch_failed", in: server.url).first)
        let labels = try #require(alert["labels"] as? [String: String])
        #expect(labels["event"] == "failed")
        #expect(labels["severity"] == "critical")
        #expect(labels["target"] == "prod-east")
        #expect(labels["dag"] == "Cluster scale out")
        #expect(labels["dag_id"] == "11")
        #expect(labels["incident"] == "prod-east/11/failed")
        #expect(labels["env"] == "prod")
        #expect(labels["exported_alertname"] == "clash")
        #expect(labels["team_name"] == "db")
        #expect(labels["_9lives"] == "cat")
        let annotations = try #require(alert["annotations"] as? [String: String])
        #expect(annotations["summary"] == failed.summary)
        #expect(annotations["node"] == "Wait remote deploy finish")
        #expect(annotations["last_log"]?.contains("line one") == true)
        #expect(annotations["last_log"]?.contains("\n") == false)
        #expect((alert["status"] as? [String: Any])?["state"] as? String == "active")

        var succeeded = FormatSamples.retried()
        succeeded.type = .succeeded
        succeeded.status = .resolved
        succeeded.severity = .info
        succeeded.at = ObshellTime(seconds: failed.at.seconds + 60, nanoseconds: 0)
        let resolved = await sender.deliver(FormatSamples.notification([succeeded]), now: Date())
        guard case .delivered = resolved else {
            Issue.record("resolve not delivered: \(resolved)")
            await server.stop()
            return
        }
        // A resolved alert leaves the list of active alerts, or stays with an end in the past.
        let after = try await Self.alerts(named: "obwatch_failed", in: server.url)
        for alert in after {
            let endsAt = try #require(alert["endsAt"] as? String)
            #expect(endsAt.hasPrefix("2024-01-10T03:35:32"), "endsAt is the succeeded event's time: \(endsAt)")
        }
        await server.stop()
    }

    @Test func aResolveWithoutTheBookEndsTheAlertFoundInAlertmanager() async throws {
        let server = try await AlertmanagerServer.start()
        let first = AlertmanagerSender(
            settings: Self.settings(server),
            templates: Self.templates,
            timeout: .seconds(10)
        )
        _ = await first.deliver(FormatSamples.notification([Self.failed()]), now: Date())
        #expect(try await Self.alerts(named: "obwatch_failed", in: server.url).count == 1)
        // Another sender with an empty book (state lost, another replica) resolves the same incident.
        let second = AlertmanagerSender(
            settings: Self.settings(server),
            templates: Self.templates,
            timeout: .seconds(10)
        )
        var retried = FormatSamples.retried()
        retried.at = ObshellTime(seconds: Self.failed().at.seconds + 5, nanoseconds: 0)
        let outcome = await second.deliver(FormatSamples.notification([retried]), now: Date())
        #expect(outcome.isDelivered)
        #expect(try await Self.alerts(named: "obwatch_failed", in: server.url).isEmpty)
        await server.stop()
    }

    @Test func openAlertsAreRepostedOnTheClockAndSurviveARestart() async throws {
        let server = try await AlertmanagerServer.start()
        let folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("am-book-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let clock = ManualClock()
        let settings = Self.settings(server, repostEvery: .seconds(60))
        let books = AlertmanagerBooks(stateDirectory: folder, clock: clock)
        let sender = AlertmanagerSender(
            settings: settings,
            templates: Self.templates,
            timeout: .seconds(10),
            book: books.book(for: "am", settings: settings, timeout: .seconds(10))
        )
        #expect(await sender.deliver(FormatSamples.notification([Self.failed()]), now: Date()).isDelivered)
        let firstEnd = try #require(
            try await Self.alerts(named: "obwatch_failed", in: server.url).first?["updatedAt"] as? String
        )
        books.stop()

        // A new shelf on the same folder (a restart) knows the open alert and re-posts it when the period passes.
        let restarted = AlertmanagerBooks(stateDirectory: folder, clock: clock)
        defer { restarted.stop() }
        _ = restarted.book(for: "am", settings: settings, timeout: .seconds(10))
        await clock.sleepers(atLeast: 1)
        clock.advance(by: .seconds(60))
        let base = server.url
        let updated = try await probeUntil("the open alert re-posted", within: .seconds(30)) { () async -> String? in
            let alert = try? await Self.alerts(named: "obwatch_failed", in: base).first
            guard let updatedAt = alert?["updatedAt"] as? String, updatedAt != firstEnd else { return nil }
            return updatedAt
        }
        #expect(updated > firstEnd)
        let alert = try #require(try await Self.alerts(named: "obwatch_failed", in: server.url).first)
        #expect((alert["status"] as? [String: Any])?["state"] as? String == "active")
        await server.stop()
    }

    @Test func aDownAlertmanagerIsRetriedNotRefused() async throws {
        let server = try await AlertmanagerServer.start()
        let sender = AlertmanagerSender(
            settings: Self.settings(server),
            templates: Self.templates,
            timeout: .seconds(10)
        )
        #expect(await sender.deliver(FormatSamples.notification([FormatSamples.stalled()]), now: Date()).isDelivered)
        await server.stop()
        let down = await sender.deliver(FormatSamples.notification([FormatSamples.stalled(dagID: 14)]), now: Date())
        guard case .retry(let reason, _) = down else {
            Issue.record("expected a retry, got \(down)")
            return
        }
        #expect(reason.contains("no answer"))
    }
}

extension DeliveryOutcome {
    var isDelivered: Bool {
        if case .delivered = self { return true }
        return false
    }
}
