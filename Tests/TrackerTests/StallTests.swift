import Foundation
import ObshellModel
import Testing
import Tracker

/// `stalled` and `resumed`: progress exactly as CONTRACT section 4 defines it.
struct StallTests {
    static let hour = TrackerSettings(
        stallThresholds: [TrackerSettings.defaultStallAfter, StallThreshold("1h")!, StallThreshold("30m")!]
    )

    @Test func stalledFiresPerThresholdThenResumed() {
        var driver = Driver(settings: Self.hour)
        let dag = Fixture.dag(stage: 4, logs: ["one"])
        driver.list(0, [dag])
        for minute in stride(from: 5, through: 120, by: 5) {
            driver.list(minute * 60, [dag])
        }
        #expect(driver.types == [.started, .stalled, .stalled])
        let stalled = driver.events.filter { $0.type == .stalled }
        #expect(stalled.map(\.threshold) == ["30m", "1h"])
        #expect(stalled.map(\.stalledSeconds) == [1800, 3600])
        #expect(stalled.map(\.at) == [Fixture.time(1800), Fixture.time(3600)])
        #expect(stalled.allSatisfy { $0.incident == "prod-east/11/stalled" && $0.severity == .warning })
        #expect(stalled[0].id != stalled[1].id)

        let resumed = driver.list(7500, [Fixture.dag(stage: 4, logs: ["one", "two"])])
        #expect(resumed.types == [.resumed])
        #expect(resumed[0].incident == "prod-east/11/stalled" && resumed[0].status == .resolved)
        // A second stall is a second episode with new ids.
        driver.list(7500 + 1800, [Fixture.dag(stage: 4, logs: ["one", "two"])])
        let second = driver.events.filter { $0.type == .stalled }
        #expect(second.count == 3 && Set(second.map(\.id)).count == 3)
    }

    @Test func noStalledWhenLogLinesAreAdded() {
        var driver = Driver()
        var logs: [String] = []
        for minute in stride(from: 0, through: 240, by: 5) {
            if minute % 20 == 0 { logs.append("progress \(minute)") }
            driver.list(minute * 60, [Fixture.dag(stage: 4, logs: logs)])
        }
        #expect(driver.types == [.started])
    }

    @Test func executeTimesAndSubTaskStateAreProgress() {
        // The current sub-task is set READY (execute_times 0 to 1) long after its node started.
        func dag(executeTimes: Int) -> Dag {
            var dag = Fixture.dag(stage: 4)
            dag.nodes?[3].subTasks[0].executeTimes = executeTimes
            return dag
        }
        var driver = Driver()
        driver.list(0, [dag(executeTimes: 0)])
        driver.list(1500, [dag(executeTimes: 1)])
        driver.list(3000, [dag(executeTimes: 1)])
        #expect(driver.types == [.started])
        driver.list(3300, [dag(executeTimes: 1)])
        #expect(driver.types == [.started, .stalled])
    }

    @Test func envelopeFieldsAndListOrderAreNotProgress() {
        var driver = Driver()
        let a = Fixture.dag(id: "11", stage: 4)
        var b = Fixture.dag(id: "12", stage: 2)
        driver.list(0, [a, b])
        b.additionalData = .object([("x", .integer(1))])
        b.startTime = Fixture.time(5)
        driver.list(900, [b, a])
        driver.list(1800, [a, b])
        #expect(driver.types == [.started, .started, .stalled, .stalled])
    }

    @Test func failedPollsDoNotCountTowardAStall() {
        var driver = Driver()
        let dag = Fixture.dag(stage: 4)
        driver.list(0, [dag])
        driver.list(600, [dag])
        for second in stride(from: 900, through: 3000, by: 300) {
            driver.fail(second)
        }
        // 10 minutes counted before the outage; the gap with failed polls is not counted.
        driver.list(3300, [dag])
        #expect(!driver.types.contains(.stalled))
        driver.list(3300 + 1199, [dag])
        #expect(!driver.types.contains(.stalled))
        driver.list(3300 + 1200, [dag])
        #expect(driver.types == [.started, .targetDown, .targetUp, .stalled])
        #expect(driver.events.last?.stalledSeconds == 1800)
    }

    @Test func onlyReadyOrRunningDagsStall() {
        var driver = Driver()
        let failed = Fixture.dag(stage: 4, state: .failed, maintenance: 2)
        driver.list(0, [failed])
        for second in stride(from: 600, through: 14_400, by: 600) {
            driver.list(second, [failed])
        }
        #expect(!driver.types.contains(.stalled))
    }

    @Test func stallClockRunsAcrossARestart() throws {
        var driver = Driver()
        let dag = Fixture.dag(stage: 4)
        driver.list(0, [dag])
        driver.list(1200, [dag])
        let saved = try JSONEncoder().encode(driver.state)
        var restarted = Driver()
        restarted.state = try JSONDecoder().decode(TrackerState.self, from: saved)
        #expect(restarted.list(1800, [dag]).types == [.stalled])
        #expect(restarted.events.allSatisfy { $0.type != .started })
    }

    @Test func firstSeenMidRunStartsTheClockAtFirstObservation() {
        var driver = Driver()
        let dag = Fixture.dag(stage: 6)
        driver.list(0, [dag])
        driver.list(1799, [dag])
        #expect(driver.types == [.started])
        driver.list(1800, [dag])
        #expect(driver.types == [.started, .stalled])
    }

    @Test func thresholdTextParses() {
        #expect(StallThreshold("30m")?.duration == .seconds(1800))
        #expect(StallThreshold("1h30m")?.duration == .seconds(5400))
        #expect(StallThreshold("500ms")?.duration == .milliseconds(500))
        #expect(StallThreshold("1.5h")?.duration == .seconds(5400))
        #expect(StallThreshold("") == nil)
        #expect(StallThreshold("30") == nil)
        #expect(StallThreshold("0s") == nil)
        #expect(StallThreshold("-5m") == nil)
        #expect(StallThreshold("5 m") == nil)
    }
}
