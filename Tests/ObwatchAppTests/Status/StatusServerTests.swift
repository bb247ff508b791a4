import Curl
import Foundation
import ObshellModel
import ServiceLifecycle
import Testing
import Tracker

#if canImport(StatusSupport)
import StatusSupport
#else
import ObwatchApp
#endif

@Suite("status API over loopback")
struct StatusServerTests {
    @Test("/healthz answers ok; unknown paths are 404 JSON; other methods 405")
    func healthAndUnknown() async throws {
        let harness = try await StatusHarness()
        defer { harness.stop() }
        let health = try await harness.get("/healthz")
        #expect(health.status == 200)
        #expect(health.body == "ok\n")
        let head = try await harness.get("/healthz", method: .head)
        #expect(head.status == 200)
        #expect(head.body.isEmpty)
        #expect(head.headers["Content-Length"] == "3")
        let unknown = try await harness.get("/nope")
        #expect(unknown.status == 404)
        #expect(unknown.headers["Content-Type"] == "application/json")
        #expect(try unknown.json() as? [String: String] == ["error": "not found"])
        let post = try await harness.get("/metrics", method: .post)
        #expect(post.status == 405)
        #expect(post.headers["Allow"] == "GET, HEAD")
    }

    @Test("/readyz: 503 listing what is missing, 200 after the config load and a poll of every target")
    func readiness() async throws {
        let harness = try await StatusHarness(targets: ["east", "west"])
        defer { harness.stop() }
        let before = try await harness.get("/readyz")
        #expect(before.status == 503)
        let missing = try #require(try before.json() as? [String: Any])["missing"] as? [String]
        #expect(missing == ["config not loaded", "target east not yet polled", "target west not yet polled"])

        harness.readiness.configLoaded()
        harness.readiness.polled(target: "east")
        let half = try await harness.get("/readyz")
        #expect(half.status == 503)
        #expect(
            try #require(try half.json() as? [String: Any])["missing"] as? [String] == ["target west not yet polled"]
        )

        harness.readiness.polled(target: "west")
        let ready = try await harness.get("/readyz")
        #expect(ready.status == 200)
        #expect(ready.body == "ready\n")

        // A reload that adds a target waits for its first poll; one that drops a target forgets it.
        harness.readiness.setTargets(["east", "west", "north"])
        #expect(try await harness.get("/readyz").status == 503)
        harness.readiness.setTargets(["east"])
        #expect(try await harness.get("/readyz").status == 200)
    }

    @Test("/metrics parses as Prometheus text and its counters move between scrapes")
    func metricsMove() async throws {
        let harness = try await StatusHarness()
        defer { harness.stop() }
        let metrics = harness.metrics
        metrics.configReload(success: true)
        metrics.pollFinished(target: "east", result: "ok", seconds: 0.02)
        metrics.event(.started, target: "east")
        metrics.ruleMatched(rule: "failures-to-chat")
        metrics.notification(receiver: "chat", outcome: .delivered)
        metrics.outbox(receiver: "chat", depth: 3, oldestAgeSeconds: 12.5)
        metrics.dagsTracked(target: "east", byState: ["RUNNING": 2, "FAILED": 1])

        let first = try await harness.get("/metrics")
        #expect(first.status == 200)
        #expect(first.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8")
        let before = try PrometheusText(parsing: first.body)
        #expect(before.types["obwatch_polls_total"] == "counter")
        #expect(before.types["obwatch_poll_duration_seconds"] == "histogram")
        #expect(before.types["obwatch_dags"] == "gauge")
        #expect(before.help["obwatch_events_total"]?.isEmpty == false)
        #expect(before.value("obwatch_polls_total", ["target": "east", "result": "ok"]) == 1)
        #expect(before.value("obwatch_poll_duration_seconds_count", ["target": "east"]) == 1)
        #expect(before.value("obwatch_dags", ["target": "east", "state": "RUNNING"]) == 2)
        #expect(before.value("obwatch_outbox_depth", ["receiver": "chat"]) == 3)
        #expect(before.value("obwatch_outbox_oldest_age_seconds", ["receiver": "chat"]) == 12.5)
        #expect(before.value("obwatch_config_last_reload_successful") == 1)

        metrics.pollFinished(target: "east", result: "ok", seconds: 0.3)
        metrics.pollFinished(target: "east", result: "failed", seconds: 5)
        metrics.event(.started, target: "east")
        metrics.event("stalled", target: "east")
        metrics.ruleMatched(rule: "failures-to-chat")
        metrics.notification(receiver: "chat", outcome: .retry)
        metrics.notification(receiver: "chat", outcome: .delivered)
        metrics.dagsTracked(target: "east", byState: ["SUCCEED": 3])
        metrics.configReload(success: false)

        let after = try PrometheusText(parsing: try await harness.get("/metrics").body)
        #expect(after.value("obwatch_polls_total", ["target": "east", "result": "ok"]) == 2)
        #expect(after.value("obwatch_polls_total", ["target": "east", "result": "failed"]) == 1)
        #expect(after.value("obwatch_poll_duration_seconds_count", ["target": "east"]) == 3)
        #expect(after.value("obwatch_poll_duration_seconds_bucket", ["target": "east", "le": "0.025"]) == 1)
        #expect(after.value("obwatch_events_total", ["target": "east", "type": "started"]) == 2)
        #expect(after.value("obwatch_events_total", ["target": "east", "type": "stalled"]) == 1)
        #expect(after.value("obwatch_rule_matches_total", ["rule": "failures-to-chat"]) == 2)
        #expect(after.value("obwatch_notifications_total", ["receiver": "chat", "outcome": "delivered"]) == 2)
        #expect(after.value("obwatch_notifications_total", ["receiver": "chat", "outcome": "retry"]) == 1)
        #expect(after.value("obwatch_dags", ["target": "east", "state": "RUNNING"]) == 0)
        #expect(after.value("obwatch_dags", ["target": "east", "state": "SUCCEED"]) == 3)
        #expect(after.value("obwatch_config_last_reload_successful") == 0)
        #expect(after.value("obwatch_config_reloads_total", ["result": "failure"]) == 1)

        // The same counts again set nothing new; a change after them is set, the emptied state goes to 0.
        metrics.dagsTracked(target: "east", byState: ["SUCCEED": 3])
        metrics.dagsTracked(target: "east", byState: ["RUNNING": 1])
        let last = try PrometheusText(parsing: try await harness.get("/metrics").body)
        #expect(last.value("obwatch_dags", ["target": "east", "state": "SUCCEED"]) == 0)
        #expect(last.value("obwatch_dags", ["target": "east", "state": "RUNNING"]) == 1)
    }

    @Test("/api/v1/dags lists the rows the daemon provides, stall clock included")
    func dags() async throws {
        let harness = try await StatusHarness()
        defer { harness.stop() }
        #expect(try await harness.get("/api/v1/dags").body == "[]\n")
        let seen = try StatusFixtures.time("2026-01-10T11:00:00Z")
        var state = TrackerState()
        state.dags["11"] = DagRecord(
            first: DagSummary(StatusFixtures.dag(id: "11", stage: 2, state: .running)),
            at: seen
        )
        let now = try StatusFixtures.time("2026-01-10T11:05:00+08:00")
        harness.rows.set(DagStatus.make(target: "east/1", state: state, now: now))

        let reply = try await harness.get("/api/v1/dags")
        #expect(reply.status == 200)
        #expect(reply.headers["Content-Type"] == "application/json")
        // Keys in the documented order, `/` not escaped.
        #expect(
            reply.body
                == #"[{"target":"east/1","id":"11","dag_id":11,"name":"Cluster scale out","state":"RUNNING","#
                + #""operator":"RUN","stage":2,"max_stage":3,"node":{"id":"112","name":"Deploy","state":"RUNNING"},"#
                + #""last_seen":"2026-01-10T11:00:00Z","last_progress":"2026-01-10T11:00:00Z","stall_seconds":0,"#
                + #""phase":"listed"}]"# + "\n"
        )
        let later = try StatusFixtures.time("2026-01-10T11:05:30Z")
        harness.rows.set(DagStatus.make(target: "east", state: state, now: later))
        let rows = try #require(try await harness.get("/api/v1/dags").json() as? [[String: Any]])
        #expect(rows.first?["stall_seconds"] as? Int == 330)
    }

    @Test("/api/v1/events: every kept event, then only those after a cursor or an instant")
    func events() async throws {
        let harness = try await StatusHarness()
        defer { harness.stop() }
        let empty = try #require(try await harness.get("/api/v1/events").json() as? [String: Any])
        #expect((empty["events"] as? [Any])?.isEmpty == true)
        #expect(empty["next"] as? Int == 1)

        let first = try StatusFixtures.event("e1", .started, at: "2026-01-10T11:00:00Z")
        let second = try StatusFixtures.event("e2", .stageAdvanced, at: "2026-01-10T11:00:05Z")
        let third = try StatusFixtures.event("e3", .failed, at: "2026-01-10T11:00:10.5Z")
        await harness.events.append([first, second])

        let all = try await harness.get("/api/v1/events")
        #expect(all.status == 200)
        #expect(all.body == #"{"events":["# + first.jsonLine() + "," + second.jsonLine() + #"],"next":3}"# + "\n")

        await harness.events.append([third])
        let page = try #require(try await harness.get("/api/v1/events?since=3").json() as? [String: Any])
        #expect((page["events"] as? [[String: Any]])?.map { $0["id"] as? String } == ["e3"])
        #expect(page["next"] as? Int == 4)
        let none = try #require(try await harness.get("/api/v1/events?since=4").json() as? [String: Any])
        #expect((none["events"] as? [Any])?.isEmpty == true)

        // The same instant in another zone; `+` encoded, and sent raw (read back as a space).
        for since in ["2026-01-10T19:00:05%2B08:00", "2026-01-10T19:00:05+08:00"] {
            let timed = try #require(try await harness.get("/api/v1/events?since=\(since)").json() as? [String: Any])
            #expect((timed["events"] as? [[String: Any]])?.map { $0["id"] as? String } == ["e3"])
        }

        let bad = try await harness.get("/api/v1/events?since=yesterday")
        #expect(bad.status == 400)
        #expect(try #require(try bad.json() as? [String: String])["error"]?.contains("since") == true)
    }

    @Test("a bearer token guards everything but the probes, compared exactly and never echoed")
    func bearerToken() async throws {
        let token = "s3cret-Token/with+chars"
        let harness = try await StatusHarness(token: token)
        defer { harness.stop() }
        for path in ["/metrics", "/api/v1/dags", "/api/v1/events", "/nope"] {
            for presented in [nil, "wrong", token + "x", String(token.dropLast()), ""] as [String?] {
                let reply = try await harness.get(path, token: presented)
                #expect(reply.status == 401, "\(path)")
                #expect(reply.headers["WWW-Authenticate"]?.hasPrefix("Bearer") == true)
                #expect(!reply.body.contains(token))
                #expect(!reply.headers.contains { $0.value.contains(token) })
            }
            let allowed = try await harness.get(path, token: token)
            #expect(allowed.status == (path == "/nope" ? 404 : 200), "\(path)")
            #expect(!allowed.body.contains(token))
        }
        #expect(try await harness.get("/healthz").status == 200)
        #expect(try await harness.get("/readyz").status == 503)
        #expect(!"\(harness.server.configuration)".contains(token))

        // The scheme is case-insensitive; the token is not.
        let lower = try await CurlEngine.shared.perform(
            HTTPRequest(url: harness.baseURL + "/metrics", headers: ["Authorization": "bearer \(token)"])
        )
        #expect(lower.status == 200)
        let upper = try await harness.get("/metrics", token: token.uppercased())
        #expect(upper.status == 401)
    }

    @Test("port 0 binds a free port; two servers at once get two ports")
    func freePort() async throws {
        let one = try await StatusHarness()
        defer { one.stop() }
        let two = try await StatusHarness()
        defer { two.stop() }
        let first = try await one.server.listeningPort()
        let second = try await two.server.listeningPort()
        #expect(first > 0)
        #expect(second > 0)
        #expect(first != second)
        #expect(one.baseURL == "http://127.0.0.1:\(first)")
        #expect(try await two.get("/healthz").status == 200)
    }

    @Test("a port already taken fails run() with listenFailed, and waiters hear of it")
    func portTaken() async throws {
        let one = try await StatusHarness()
        defer { one.stop() }
        let port = try await one.server.listeningPort()
        let clash = StatusServer(
            configuration: .init(host: "127.0.0.1", port: port, logger: StatusHarness.quietLogger),
            metrics: DaemonMetrics(),
            readiness: Readiness(),
            events: EventLog(),
            dags: { [] }
        )
        await #expect(throws: StatusServerError.self) { try await clash.run() }
        let error = await #expect(throws: StatusServerError.self) { try await clash.listeningPort() }
        #expect(error?.code == .listenFailed)
    }

    @Test("as a Service in a ServiceGroup it serves, and stops on graceful shutdown")
    func serviceGroup() async throws {
        let server = StatusServer(
            configuration: .init(host: "127.0.0.1", port: 0, logger: StatusHarness.quietLogger),
            metrics: DaemonMetrics(),
            readiness: Readiness(),
            events: EventLog(),
            dags: { [] }
        )
        let group = ServiceGroup(
            services: [server],
            gracefulShutdownSignals: [],
            cancellationSignals: [],
            logger: StatusHarness.quietLogger
        )
        let running = Task { try await group.run() }
        let url = try await server.baseURL()
        #expect(try await CurlEngine.shared.perform(HTTPRequest(url: url + "/healthz")).status == 200)
        await group.triggerGracefulShutdown()
        try await running.value
        let error = await #expect(throws: StatusServerError.self) { try await server.listeningPort() }
        #expect(error?.code == .notRunning)
    }
}
