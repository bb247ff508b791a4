import Foundation
import History
import ObshellModel
import Testing

@Suite("Name templates")
struct NameTemplateTests {
    @Test("tenant, version, address and backup names become templates")
    func dagTemplates() {
        #expect(NameTemplates.dagTemplate("Create tenant t1") == "Create tenant {tenant}")
        #expect(NameTemplates.dagTemplate("Create tenant sales_eu") == "Create tenant {tenant}")
        #expect(NameTemplates.dagTemplate("Upgrade obshell 4.2.4.0-100000012024") == "Upgrade obshell {version}")
        #expect(NameTemplates.dagTemplate("OB rolling upgrade 4.3.5.0-1") == "OB rolling upgrade {version}")
        #expect(NameTemplates.dagTemplate("Restore backup_t9") == "Restore backup_{tenant}")
        #expect(NameTemplates.dagTemplate("Remove follower agent 10.0.0.5:2886") == "Remove follower agent {address}")
        #expect(
            NameTemplates.dagTemplate("Obcluster start full backup for t3")
                == "Obcluster start full backup for {tenant}"
        )
        #expect(NameTemplates.dagTemplate("Cluster scale out") == "Cluster scale out")
        #expect(NameTemplates.dagTemplate("Something new 42") == "Something new 42")
    }

    @Test("zone nodes are templates only where obshell makes them")
    func nodeTemplates() {
        let upgrade = "OB rolling upgrade {version}"
        #expect(NameTemplates.nodeTemplate("Stop zone1", dagTemplate: upgrade) == "Stop {zone}")
        #expect(NameTemplates.nodeTemplate("Start zone2", dagTemplate: upgrade) == "Start {zone}")
        #expect(NameTemplates.nodeTemplate("Upgrade process 3", dagTemplate: upgrade) == "Upgrade process {index}")
        #expect(NameTemplates.nodeTemplate("Start observer", dagTemplate: "Start OB") == "Start observer")
        #expect(NameTemplates.nodeTemplate("Stop zone z1", dagTemplate: "Delete zone") == "Stop zone {zone}")
        #expect(NameTemplates.nodeTemplate("Upgrade process x", dagTemplate: upgrade) == "Upgrade process x")
    }
}

@Suite("Duration statistics")
struct StatisticsTests {
    @Test("quantiles and MAD on log-durations")
    func quantiles() throws {
        let statistics = try #require(DurationStatistics(seconds: [10, 20, 40, 80, 160]))
        #expect(statistics.count == 5)
        #expect(abs(statistics.p50 - 40) < 1e-9)
        #expect(abs(statistics.p25 - 20) < 1e-9)
        // MAD of logs: deviations ln2·[2,1,0,1,2] → median ln 2.
        #expect(abs(statistics.madLog - log(2.0)) < 1e-9)
        #expect(statistics.p90 > 80 && statistics.p90 < 160)
        #expect(DurationStatistics(seconds: []) == nil)
    }

    @Test("one outlier does not move the median")
    func robust() throws {
        let statistics = try #require(DurationStatistics(seconds: [60, 61, 59, 60, 62, 58, 6000]))
        #expect(abs(statistics.p50 - 60) < 1)
    }

    @Test("durations print as people read them")
    func formatting() {
        #expect(HistoryDurationText.format(41) == "41s")
        #expect(HistoryDurationText.format(192) == "3m12s")
        #expect(HistoryDurationText.format(62) == "1m02s")
        #expect(HistoryDurationText.format(4.24) == "4.2s")
        #expect(HistoryDurationText.format(7500) == "2h05m")
    }
}

@Suite("Duration history")
struct DurationHistoryTests {
    static let names = ["Create tenant", "Modify tenant whitelist", "Set root password"]

    static func runs(_ count: Int, target: String = "db1", into history: inout DurationHistory) {
        for run in 0..<count {
            let dag = Build.dag(
                id: "1\(run)",
                name: "Create tenant t\(run)",
                nodes: Self.names,
                durations: [30 + Double(run % 3), 5, 60 + Double(run % 4)],
                start: Double(run) * 1000
            )
            history.learn(from: dag, target: target)
        }
    }

    @Test("a succeeded DAG gives one sample per node and one for the whole DAG, once")
    func learnsOnce() throws {
        var history = DurationHistory()
        let dag = Build.dag(id: "11", name: "Create tenant t1", nodes: Self.names, durations: [30, 5, 60], start: 0)
        let first = history.learn(from: dag, target: "db1")
        let again = history.learn(from: dag, target: "db1")
        #expect(first)
        #expect(!again)
        #expect(history.keys.count == 4)
        let whole = DurationKey(target: "db1", dagTemplate: "Create tenant {tenant}", nodeTemplate: nil, width: 0)
        #expect(history.samples[whole]?.map(\.seconds) == [95])
    }

    @Test("passed, rolled back and retried nodes are not learned, nor epoch times")
    func onlyNormalExecution() {
        var history = DurationHistory()
        for operation in [TaskOperator.pass, .rollback, .retry] {
            let dag = Build.dag(
                id: "1\(operation.rawValue)",
                name: "Create tenant t1",
                nodes: Self.names,
                durations: [30, 5, 60],
                start: 0,
                nodeOperator: operation
            )
            let learned = history.learn(from: dag, target: "db1")
            #expect(!learned)
        }
        var reset = Build.dag(id: "12", name: "Create tenant t2", nodes: Self.names, durations: [30, 5, 60], start: 0)
        reset.nodes?[0].startTime = ObshellTime(seconds: 0, nanoseconds: 0)
        reset.operator = .rollback
        let learned = history.learn(from: reset, target: "db1")
        #expect(!learned)
        reset.operator = .run
        history.learn(from: reset, target: "db1")
        let first = DurationKey(
            target: "db1",
            dagTemplate: "Create tenant {tenant}",
            nodeTemplate: "Create tenant",
            width: 1
        )
        #expect(history.samples[first] == nil)
    }

    @Test("the last 20 within 180 days are kept")
    func window() {
        var history = DurationHistory()
        let key = DurationKey(target: "db1", dagTemplate: "D", nodeTemplate: "N", width: 1)
        for index in 0..<25 {
            history.record(
                DurationSample(seconds: Double(index), finishedAt: Build.time(Double(index)), source: "\(index)"),
                under: key
            )
        }
        #expect(history.samples[key]?.count == 20)
        #expect(history.samples[key]?.first?.seconds == 5)
        let later = Build.time(200 * 86_400)
        history.record(DurationSample(seconds: 1, finishedAt: later, source: "late"), under: key)
        #expect(history.samples[key]?.map(\.source) == ["late"])
    }

    @Test("pools: 5 of the target first, else 10 across targets, else nothing")
    func pooling() {
        var history = DurationHistory()
        let key = DurationKey(
            target: "db1",
            dagTemplate: "Create tenant {tenant}",
            nodeTemplate: "Set root password",
            width: 1
        )
        Self.runs(4, into: &history)
        #expect(history.pool(for: key) == nil)
        Self.runs(1, into: &history)
        #expect(history.pool(for: key) == nil)  // the same source again
        var more = history
        for run in 4..<5 {
            let dag = Build.dag(
                id: "9\(run)",
                name: "Create tenant x\(run)",
                nodes: Self.names,
                durations: [30, 5, 60],
                start: 9000
            )
            more.learn(from: dag, target: "db1")
        }
        #expect(more.pool(for: key)?.scope == .target)
        var other = DurationHistory()
        Self.runs(6, target: "db2", into: &other)
        Self.runs(4, target: "db1", into: &other)
        #expect(other.pool(for: key)?.scope == .allTargets)
        #expect(other.pool(for: key)?.statistics.count == 10)
    }

    @Test("a history survives a file round trip and a newer template table is dropped")
    func fileRoundTrip() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("history-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        var history = DurationHistory()
        Self.runs(6, into: &history)
        let file = HistoryFile(folder: folder, asideTimestamp: { "T" })
        #expect(try await file.load().isEmpty)
        try await file.save(history)
        #expect(try await file.load() == history)
        var copy = DurationHistory()
        let added = copy.merge(history)
        #expect(added == history.keys.reduce(0) { $0 + (history.samples[$1]?.count ?? 0) })
        #expect(copy == history)
    }
}

@Suite("Estimates and thresholds")
struct EstimateTests {
    static let names = DurationHistoryTests.names

    static func history(runs: Int = 12) -> DurationHistory {
        var history = DurationHistory()
        DurationHistoryTests.runs(runs, into: &history)
        return history
    }

    @Test("a running DAG gets a band from p25, p50 and p90 sums")
    func band() throws {
        let running = Build.dag(
            id: "77",
            name: "Create tenant t77",
            nodes: Self.names,
            durations: [31, 5, 60],
            start: 50_000,
            finished: 1
        )
        let estimate = DagEstimate(dag: running, target: "db1", agentTime: Build.time(50_033), history: Self.history())
        let band = try #require(estimate.remaining)
        #expect(estimate.currentElapsed == 2)
        #expect(band.low <= band.typical && band.typical <= band.high)
        #expect(abs(band.typical - (3 + 61.5)) < 1.5)
        #expect(estimate.nodes.map(\.usualText).allSatisfy { $0.hasPrefix("usually") })
    }

    /// A rolling upgrade's nodes: prep, then per zone Stop/Reinstall/Start, then post.
    static func upgradeNodes(zones: Int) -> [String] {
        ["Backup parameters"]
            + (1...zones).flatMap { ["Stop zone\($0)", "Reinstall and restart observer", "Start zone\($0)"] }
            + ["Restore parameters"]
    }

    @Test("rolling upgrades whose max_stage differs still give every node an estimate, zones pooled by template")
    func rollingUpgrade() throws {
        var history = DurationHistory()
        for run in 0..<6 {
            let zones = run % 2 == 0 ? 2 : 3
            let names = Self.upgradeNodes(zones: zones)
            let durations = names.map { $0.hasPrefix("Reinstall") ? 300.0 : $0.hasPrefix("Stop") ? 20 : 10 }
            let dag = Build.dag(
                id: "9\(run)",
                name: "OB rolling upgrade 4.3.\(run).0-1",
                nodes: names,
                durations: durations,
                start: Double(run) * 10_000
            )
            history.learn(from: dag, target: "db1")
        }
        let names = Self.upgradeNodes(zones: 4)
        let running = Build.dag(
            id: "99",
            name: "OB rolling upgrade 4.4.0.0-1",
            nodes: names,
            durations: names.map { _ in 10 },
            start: 100_000,
            finished: 1
        )
        let estimate = DagEstimate(dag: running, target: "db1", agentTime: Build.time(100_015), history: history)
        #expect(running.maxStage == 14)
        #expect(estimate.nodes.allSatisfy { $0.pool != nil }, "\(estimate.nodes.map(\.usualText))")
        let band = try #require(estimate.remaining)
        // 4 zones × (20 + 300 + 10) + 10, less the 5 s the first stop has run.
        #expect(abs(band.typical - (4 * 330 + 10 - 5)) < 1)
    }

    @Test("a new kind of DAG, or too little history, is ETA unknown")
    func unknown() {
        let other = Build.dag(
            id: "78",
            name: "Brand new thing",
            nodes: ["A", "B"],
            durations: [1, 1],
            start: 0,
            finished: 0
        )
        #expect(
            DagEstimate(dag: other, target: "db1", agentTime: Build.time(1), history: Self.history()).text
                == "ETA unknown"
        )
        let running = Build.dag(
            id: "79",
            name: "Create tenant t79",
            nodes: Self.names,
            durations: [31, 5, 60],
            start: 0,
            finished: 1
        )
        #expect(
            DagEstimate(dag: running, target: "db1", agentTime: Build.time(32), history: Self.history(runs: 4))
                .remaining == nil
        )
    }

    @Test("a node reset to the epoch by RETRY counts as not started, not 56 years late")
    func retriedKeepsTimeline() throws {
        var running = Build.dag(
            id: "80",
            name: "Create tenant t80",
            nodes: Self.names,
            durations: [31, 5, 60],
            start: 0,
            finished: 1
        )
        running.startTime = ObshellTime(seconds: 0, nanoseconds: 0)
        running.nodes?[1].startTime = ObshellTime(seconds: 0, nanoseconds: 0)
        let estimate = DagEstimate(dag: running, target: "db1", agentTime: Build.time(100), history: Self.history())
        #expect(estimate.currentElapsed == nil)
        let band = try #require(estimate.remaining)
        #expect(band.typical > 60 && band.typical < 70)
    }

    @Test("past p50 the rest comes from the tail, never below a tenth of p50")
    func tail() throws {
        let statistics = try #require(DurationStatistics(seconds: [50, 55, 60, 65, 70, 75]))
        let early = DagEstimate.rest(statistics, elapsed: 10)
        #expect(abs(early.typical - (statistics.p50 - 10)) < 1e-9)
        let late = DagEstimate.rest(statistics, elapsed: 500)
        #expect(abs(late.typical - statistics.p50 * 0.1) < 1e-9)
        #expect(late.low <= late.typical && late.typical <= late.high)
    }

    @Test("the built-in threshold has a 2-minute floor and is spelled out")
    func threshold() throws {
        let statistics = try #require(DurationStatistics(seconds: [40, 41, 39, 40, 41, 40]))
        let threshold = SlowerThan.usual.threshold(statistics)
        #expect(threshold.seconds == 120)
        #expect(threshold.explain(elapsed: 192) == "usually 41s at p95; this run 3m12s, threshold 2m00s")
        let long = try #require(DurationStatistics(seconds: [600, 610, 590, 620, 605]))
        #expect(
            abs(SlowerThan.usual.threshold(long).seconds - 1.5 * long.p95) < 1e-6
                || SlowerThan.usual.threshold(long).seconds > 1.5 * long.p95
        )
    }

    @Test("slower_than: 2x, +5m and p99 parse and compute; nonsense does not parse")
    func slowerThan() throws {
        let statistics = try #require(DurationStatistics(seconds: [60, 60, 60, 60, 60]))
        #expect(abs(try #require(SlowerThan("2x")).threshold(statistics).seconds - 120) < 1e-9)
        #expect(abs(try #require(SlowerThan("+5m")).threshold(statistics).seconds - 360) < 1e-9)
        #expect(abs(try #require(SlowerThan("p99")).threshold(statistics).seconds - 60) < 1e-9)
        #expect(SlowerThan("x") == nil)
        #expect(SlowerThan("p42") == nil)
        #expect(SlowerThan("+5q") == nil)
        #expect(SlowerThan("-2x") == nil)
    }
}
