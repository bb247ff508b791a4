import Foundation
import Obshell
import Testing
import Tracker

/// Each event type: where it must fire, and where it must not.
struct TransitionTests {
    @Test func startedOnceAtStageOneIsNotMidRun() {
        var driver = Driver()
        let events = driver.list(0, [Fixture.dag(stage: 1, state: .ready)])
        #expect(events.types == [.started])
        #expect(events[0].observedMidRun == false)
        #expect(driver.list(5, [Fixture.dag(stage: 1)]).isEmpty)
        #expect(driver.types == [.started])
    }

    @Test func noEventsFromFailedPollsBeforeDownAfter() {
        var driver = Driver()
        driver.list(0, [Fixture.dag(stage: 4)])
        #expect(driver.fail(5).isEmpty)
        #expect(driver.fail(10).isEmpty)
        #expect(driver.lastConfirmations.isEmpty)
        #expect(driver.list(15, [Fixture.dag(stage: 4)]).isEmpty)
        #expect(driver.types == [.started])
    }

    @Test func targetDownFiresOnceAndFailedConfirmationsDoNotCount() {
        var driver = Driver()
        driver.list(0, [Fixture.dag(stage: 4)])
        driver.list(5, [])
        driver.confirm(6, .failed(reason: "timeout"))
        driver.confirm(7, .failed(reason: "timeout"))
        driver.confirm(8, .failed(reason: "timeout"))
        #expect(driver.fail(10).isEmpty)
        #expect(driver.fail(15).isEmpty)
        #expect(driver.fail(20).types == [.targetDown])
        for second in stride(from: 25, to: 100, by: 5) {
            #expect(driver.fail(second).isEmpty)
        }
        #expect(driver.list(100, [Fixture.dag(stage: 4)]).types == [.targetUp])
        #expect(driver.list(105, [Fixture.dag(stage: 4)]).isEmpty)
        #expect(driver.types == [.started, .targetDown, .targetUp])
        let down = driver.events[1]
        let up = driver.events[2]
        #expect(down.error == "connection refused")
        #expect(down.id != up.id)
        // A second outage is a second episode with its own ids.
        driver.fail(110)
        driver.fail(115)
        driver.fail(120)
        #expect(driver.types.last == .targetDown)
        #expect(driver.events.last?.id != down.id)
    }

    @Test func confirmedRunningMeansItNeverLeft() {
        var driver = Driver()
        driver.list(0, [Fixture.dag(stage: 4)])
        driver.list(5, [])
        #expect(driver.lastConfirmations == ["11"])
        #expect(driver.confirm(6, .found(Fixture.dag(stage: 5))).isEmpty)
        // The list reports the change it did not see yet, once.
        #expect(driver.list(10, [Fixture.dag(stage: 5)]).types == [.stageAdvanced])
        #expect(driver.types == [.started, .stageAdvanced])
    }

    @Test func nonMaintenanceFailureIsConfirmedThenRetriedNeverStartedAgain() {
        var driver = Driver()
        driver.list(0, [Fixture.dag(stage: 4)])
        driver.list(5, [])
        let confirmed = driver.confirm(6, .found(Fixture.dag(stage: 5, state: .failed, logs: ["ERROR: boom"])))
        #expect(confirmed.types == [.stageAdvanced, .nodeFailed, .failed])
        #expect(driver.list(10, []).isEmpty)
        #expect(driver.lastConfirmations.isEmpty)
        let back = driver.list(20, [Fixture.dag(stage: 5, state: .ready, nodeOperator: .retry)])
        #expect(back.types == [.retried])
        #expect(back[0].incident == "prod-east/11/failed")
        let again = driver.list(25, [Fixture.dag(stage: 5, state: .failed, nodeOperator: .retry, logs: ["x"])])
        #expect(again.types == [.nodeFailed, .failed])
        #expect(Set(driver.events.map(\.id)).count == driver.events.count)
        #expect(driver.types.filter { $0 == .started }.count == 1)
    }

    @Test func comingBackAfterAConfirmedSuccessIsRetried() {
        var driver = Driver()
        driver.list(0, [Fixture.dag(stage: 9)])
        driver.list(5, [])
        #expect(driver.confirm(6, .found(Fixture.dag(stage: 9, state: .succeed))).types == [.succeeded])
        #expect(driver.list(10, [Fixture.dag(stage: 1, state: .ready)]).types == [.stageAdvanced, .retried])
        #expect(driver.types.filter { $0 == .started }.count == 1)
    }

    @Test func maintenanceFailureStaysListedAndFiresOnce() {
        var driver = Driver()
        driver.list(0, [Fixture.dag(stage: 3, maintenance: 2)])
        let failed = Fixture.dag(stage: 3, state: .failed, logs: ["ERROR: x"], maintenance: 2)
        #expect(driver.list(5, [failed]).types == [.nodeFailed, .failed])
        for second in stride(from: 10, through: 7200, by: 300) {
            #expect(driver.list(second, [failed]).isEmpty)
        }
        // Passed: it leaves the list and the confirmation shows SUCCEED/PASS.
        driver.list(7300, [])
        #expect(driver.lastConfirmations == ["11"])
        let passed = driver.confirm(7301, .found(Fixture.dag(stage: 3, state: .succeed, operator: .pass)))
        #expect(passed.types == [.passed])
        #expect(passed[0].incident == "prod-east/11/failed")
        #expect(driver.list(7400, []).isEmpty)
    }

    @Test func rollbackStartsFailsAgainAndRollsBack() {
        var driver = Driver()
        driver.list(0, [Fixture.dag(stage: 4, maintenance: 2)])
        driver.list(5, [Fixture.dag(stage: 4, state: .failed, logs: ["e"], maintenance: 2)])
        let rolling = driver.list(10, [Fixture.dag(stage: 4, state: .ready, operator: .rollback, maintenance: 2)])
        #expect(rolling.types == [.rollbackStarted])
        #expect(rolling[0].incident == nil)
        let stepDown = driver.list(15, [Fixture.dag(stage: 3, operator: .rollback, maintenance: 2)])
        #expect(stepDown.types == [.stageAdvanced])
        let failedAgain = driver.list(
            20,
            [Fixture.dag(stage: 3, state: .failed, operator: .rollback, logs: ["r"], maintenance: 2)]
        )
        #expect(failedAgain.types == [.nodeFailed, .failed])
        #expect(failedAgain[1].summary.contains("failed to roll back"))
        let first = driver.events.filter { $0.type == .failed }
        #expect(first.count == 2 && first[0].id != first[1].id)
        // Rolling back again, then success confirmed after it left the list.
        #expect(
            driver.list(25, [Fixture.dag(stage: 3, state: .running, operator: .rollback, maintenance: 2)]).types == [
                .rollbackStarted
            ]
        )
        driver.list(30, [])
        let done = driver.confirm(31, .found(Fixture.dag(stage: 1, state: .succeed, operator: .rollback)))
        #expect(done.types == [.stageAdvanced, .rolledBack])
        #expect(done[1].incident == "prod-east/11/failed" && done[1].status == .resolved)
    }

    @Test func cancelNeverFiresFailed() {
        var driver = Driver()
        driver.list(0, [Fixture.dag(stage: 4)])
        #expect(driver.list(5, [Fixture.dag(stage: 4, state: .ready, operator: .cancel)]).isEmpty)
        let cancelled = driver.list(
            10,
            [Fixture.dag(stage: 4, state: .failed, operator: .cancel, logs: ["sub task cancelled"], maintenance: 3)]
        )
        #expect(cancelled.types == [.cancelled])
        #expect(cancelled[0].incident == nil)
        #expect(driver.list(15, [Fixture.dag(stage: 4, state: .failed, operator: .cancel, maintenance: 3)]).isEmpty)
        driver.list(20, [])
        #expect(driver.confirm(21, .found(Fixture.dag(stage: 4, state: .failed, operator: .cancel))).isEmpty)
        #expect(!driver.types.contains(.failed) && !driver.types.contains(.nodeFailed))
    }

    @Test func cancelConfirmedAfterVanishingFiresCancelled() {
        var driver = Driver()
        driver.list(0, [Fixture.dag(stage: 4)])
        driver.list(5, [])
        #expect(
            driver.confirm(6, .found(Fixture.dag(stage: 4, state: .failed, operator: .cancel))).types == [.cancelled]
        )
    }

    @Test func nodeFailedOncePerNodeAndEpisodeBeforeFailed() {
        var driver = Driver()
        driver.list(0, [Fixture.dag(stage: 4)])
        // The node shows FAILED one poll before the DAG does.
        var early = Fixture.dag(stage: 4, logs: ["ERROR: early"])
        early.nodes?[3].state = .failed
        early.nodes?[3].subTasks[0].state = .failed
        #expect(driver.list(5, [early]).types == [.nodeFailed])
        let failed = Fixture.dag(stage: 4, state: .failed, logs: ["ERROR: early"])
        #expect(driver.list(10, [failed]).types == [.failed])
        #expect(driver.list(15, [failed]).isEmpty)
        let episode = driver.events.filter { $0.status == .firing }
        #expect(episode.map(\.incident) == ["prod-east/11/failed", "prod-east/11/failed"])
    }

    @Test func unknownStatesAreKept() {
        var driver = Driver()
        driver.list(0, [Fixture.dag(stage: 4, state: TaskState(rawValue: "PAUSED"))])
        #expect(driver.list(3600, [Fixture.dag(stage: 4, state: TaskState(rawValue: "PAUSED"))]).isEmpty)
        #expect(driver.state.dags["11"]?.last.state.rawValue == "PAUSED")
    }

    @Test func listOrderAndDuplicatesAreNotProgressOrNewDags() {
        var driver = Driver()
        let a = Fixture.dag(id: "11", stage: 4)
        let b = Fixture.dag(id: "12", name: "Cluster scale in", stage: 2)
        driver.list(0, [a, b])
        #expect(driver.list(5, [b, a, b]).isEmpty)
        #expect(driver.types == [.started, .started])
    }

    @Test func succeededDagsAreForgottenFailedOnesAreNot() {
        var driver = Driver()
        driver.list(0, [Fixture.dag(id: "11", stage: 9), Fixture.dag(id: "12", stage: 3)])
        driver.list(5, [])
        driver.confirm(6, .found(Fixture.dag(id: "11", stage: 9, state: .succeed)), id: "11")
        driver.confirm(7, .found(Fixture.dag(id: "12", stage: 3, state: .failed)), id: "12")
        driver.list(86_400, [])
        #expect(driver.state.dags.keys.sorted() == ["11", "12"])
        driver.list(86_407, [])
        #expect(driver.state.dags.keys.sorted() == ["12"])
        // Months later the failed one is retried: the same DAG.
        #expect(driver.list(9_000_000, [Fixture.dag(id: "12", stage: 3, nodeOperator: .retry)]).types == [.retried])
    }

    @Test func lateNotFoundAfterTheDeadlineVanishes() {
        var driver = Driver()
        driver.list(0, [Fixture.dag(stage: 4)])
        driver.list(10, [])
        #expect(driver.confirm(609, .notFound).isEmpty)
        #expect(driver.confirm(610, .notFound).types == [.vanished])
        #expect(driver.confirm(611, .notFound).isEmpty)
        #expect(driver.list(620, []).isEmpty)
        #expect(driver.lastConfirmations.isEmpty)
        // A late answer that shows the final state is still reported.
        #expect(
            driver.confirm(700, .found(Fixture.dag(stage: 9, state: .succeed))).types == [.stageAdvanced, .succeeded]
        )
    }

    @Test func captureLinesEndingInCRLFAndBlankLinesAreRead() throws {
        let text = String(decoding: try Fixture.capture("outage.jsonl"), as: UTF8.self)
        let crlf = text.split(separator: "\n").joined(separator: "\r\n\n\n")
        let reading = CaptureReader.read(Data(crlf.utf8), file: "crlf")
        #expect(reading.diagnostics.isEmpty)
        #expect(reading.entries.map(\.line) == [1, 4, 7, 10, 13, 16])
        var replayer = Replayer()
        #expect(replayer.replay(reading.entries).types == [.started, .targetDown, .targetUp, .stageAdvanced])
    }

    @Test func retryThatFailedAgainBetweenPollsIsRetriedThenFailed() {
        var driver = Driver()
        driver.list(0, [Fixture.dag(stage: 4, maintenance: 2)])
        #expect(
            driver.list(5, [Fixture.dag(stage: 4, state: .failed, logs: ["e1"], maintenance: 2)]).types == [
                .nodeFailed, .failed,
            ]
        )
        let again = driver.list(
            600,
            [
                Fixture.dag(
                    stage: 4,
                    state: .failed,
                    nodeOperator: .retry,
                    logs: ["e1", "e2"],
                    executeTimes: 2,
                    maintenance: 2
                )
            ]
        )
        #expect(again.types == [.retried, .nodeFailed, .failed])
        #expect(again[0].incident == "prod-east/11/failed" && again[2].incident == "prod-east/11/failed")
        #expect(again[1].subTasks?.first?.lastLog == "e2")
        #expect(Set(driver.events.map(\.id)).count == driver.events.count)
    }

    @Test func vanishedDagThatComesBackIsObservedAgainNotStarted() {
        var driver = Driver()
        driver.list(0, [Fixture.dag(stage: 4)])
        driver.list(10, [])
        driver.list(610, [])
        #expect(driver.types == [.started, .vanished])
        #expect(driver.list(900, [Fixture.dag(stage: 4)]).isEmpty)
        #expect(driver.list(905, [Fixture.dag(stage: 5)]).types == [.stageAdvanced])
        // Listed again, it is confirmed again when it goes missing.
        driver.list(910, [])
        #expect(driver.lastConfirmations == ["11"])
    }
}
