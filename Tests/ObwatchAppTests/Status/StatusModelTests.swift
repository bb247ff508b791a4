import Metrics
import ObshellModel
import Testing
import Tracker

#if canImport(StatusSupport)
import StatusSupport
#else
import ObwatchApp
#endif

@Suite("status API: event log, DAG rows, readiness, metrics registry")
struct StatusModelTests {
    @Test("the event log keeps the newest events, numbering them for good")
    func eventLogRing() async throws {
        let log = EventLog(capacity: 3)
        let events = try (1...5).map { try StatusFixtures.event("e\($0)", .started, at: "2026-01-10T11:00:0\($0)Z") }
        await log.append(Array(events[0..<2]))
        await log.append(Array(events[2...]))
        let page = await log.events(since: nil)
        #expect(page.events.map(\.sequence) == [3, 4, 5])
        #expect(page.events.map(\.event.id) == ["e3", "e4", "e5"])
        #expect(page.next == 6)
        // A reader that fell behind gets what is left, not an error.
        #expect(await log.events(since: .sequence(1)).events.map(\.sequence) == [3, 4, 5])
        #expect(await log.events(since: .sequence(5)).events.map(\.sequence) == [5])
        #expect(await log.events(since: .after(try StatusFixtures.time("2026-01-10T11:00:04Z"))).events.count == 1)
    }

    @Test("cursors: sequence numbers and RFC 3339 instants; nothing else")
    func cursors() throws {
        #expect(EventCursor(parsing: "42") == .sequence(42))
        #expect(EventCursor(parsing: "2026-01-10T11:00:00Z") == .after(try StatusFixtures.time("2026-01-10T11:00:00Z")))
        #expect(EventCursor(parsing: "-1") == nil)
        #expect(EventCursor(parsing: "") == nil)
        #expect(EventCursor(parsing: "2026-01-10") == nil)
    }

    @Test("DAG rows: the current node, the phase, and a stall clock only for READY/RUNNING DAGs")
    func dagRows() throws {
        let start = try StatusFixtures.time("2026-01-10T11:00:00Z")
        var state = TrackerState()
        var running = DagRecord(first: DagSummary(StatusFixtures.dag(id: "7", stage: 1, state: .ready)), at: start)
        running.stalledNanoseconds = 90_000_000_000
        running.stallMark = try StatusFixtures.time("2026-01-10T11:01:30Z")
        state.dags["7"] = running
        var failedPoll = DagRecord(first: DagSummary(StatusFixtures.dag(id: "8", stage: 3, state: .running)), at: start)
        failedPoll.stalledNanoseconds = 20_000_000_000
        failedPoll.stallMark = nil
        state.dags["8"] = failedPoll
        var done = DagRecord(
            first: DagSummary(StatusFixtures.dag(id: "3", stage: 3, state: .succeed, nodes: false)),
            at: start
        )
        done.phase = .finished
        done.stalledNanoseconds = 50_000_000_000
        state.dags["3"] = done

        let rows = DagStatus.make(target: "east", state: state, now: try StatusFixtures.time("2026-01-10T11:02:00Z"))
        #expect(rows.map(\.id) == ["3", "7", "8"])
        #expect(rows.map(\.stallSeconds) == [0, 120, 20])
        #expect(rows.map(\.phase) == ["finished", "listed", "listed"])
        #expect(rows[0].currentNode == nil)
        #expect(rows[1].currentNode == DagStatus.Node(id: "71", name: "Prepare", state: "READY"))
        #expect(rows[2].currentNode?.name == "Finish")
    }

    @Test("readiness by itself")
    func readiness() {
        let readiness = Readiness()
        #expect(!readiness.isReady)
        readiness.configLoaded()
        #expect(readiness.isReady)
        readiness.setTargets(["a"])
        #expect(readiness.missing == ["target a not yet polled"])
        readiness.polled(target: "a")
        #expect(readiness.isReady)
    }

    @Test("registries are separate, and swift-metrics users land in the registry they were given")
    func registries() throws {
        let one = DaemonMetrics()
        let two = DaemonMetrics()
        one.ruleMatched(rule: "r")
        Counter(label: "obwatch_test_library_total", dimensions: [("kind", "x")], factory: two.factory).increment(by: 4)
        let first = try PrometheusText(parsing: one.render())
        let second = try PrometheusText(parsing: two.render())
        #expect(first.value("obwatch_rule_matches_total", ["rule": "r"]) == 1)
        #expect(second.value("obwatch_rule_matches_total", ["rule": "r"]) == nil)
        #expect(second.value("obwatch_test_library_total", ["kind": "x"]) == 4)
        #expect(try PrometheusText(parsing: DaemonMetrics().render()).samples.isEmpty)
    }

    @Test("label values with quotes, backslashes and line feeds stay parseable")
    func awkwardLabels() throws {
        let metrics = DaemonMetrics()
        let name = "we\"ird\\name\nnext"
        metrics.pollFinished(target: name, result: "ok", seconds: .nan)
        metrics.outbox(receiver: name, depth: 0, oldestAgeSeconds: -.infinity)
        let text = try PrometheusText(parsing: metrics.render())
        #expect(text.value("obwatch_polls_total", ["target": name, "result": "ok"]) == 1)
        #expect(text.value("obwatch_poll_duration_seconds_sum", ["target": name]) == 0)
        #expect(text.value("obwatch_outbox_oldest_age_seconds", ["receiver": name]) == 0)
    }

    @Test("the test's Prometheus parser is strict: it refuses what a scraper would")
    func parserStrictness() {
        let refused = [
            "obwatch_x 1\n",
            "# TYPE obwatch_x counter\nobwatch_x{a=\"1\"} 1",
            "# TYPE obwatch_x counter\nobwatch_x{a=\"\\q\"} 1\n",
            "# TYPE obwatch_x counter\nobwatch_x{a=1} 1\n",
            "# TYPE obwatch_x counter\nobwatch_x{a=\"1\",a=\"2\"} 1\n",
            "# TYPE obwatch_x counter\nobwatch_x one\n",
            "# TYPE obwatch_x counter\n# TYPE obwatch_x gauge\n",
            "# TYPE obwatch_x counter\nobwatch_x 1\n# HELP obwatch_x late\n",
            "# TYPE obwatch_x teapot\n",
            "# TYPE obwatch_h histogram\nobwatch_h_bucket{le=\"1\"} 2\nobwatch_h_bucket{le=\"+Inf\"} 1\n"
                + "obwatch_h_sum 1\nobwatch_h_count 1\n",
            "# TYPE obwatch_h histogram\nobwatch_h_bucket{le=\"1\"} 1\nobwatch_h_sum 1\nobwatch_h_count 1\n",
        ]
        for text in refused {
            #expect(throws: PrometheusText.Problem.self, "\(text)") { try PrometheusText(parsing: text) }
        }
        #expect(throws: Never.self) {
            try PrometheusText(
                parsing: "# HELP obwatch_x Some help.\n# TYPE obwatch_x counter\nobwatch_x{a=\"q\\\"\"} 1 1700000000\n"
            )
        }
    }
}
