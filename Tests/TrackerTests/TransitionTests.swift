import Foundation
import ObshellModel
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

    // MARK: - Failures obwatch did not see

    /// The scale-out DAG at stage 4 whose current sub-task has run `times` times, its last log saying which.
    static func attempt(_ times: Int, state: TaskState = .running, nodeOperator: TaskOperator = .run) -> Dag {
        var dag = Fixture.dag(stage: 4, state: state, nodeOperator: nodeOperator, logs: ["attempt \(times)"])
        dag.nodes?[3].subTasks[0].executeTimes = times
        return dag
    }

    @Test func aFailureRetriedWhileAwayIsReportedLateThenRetried() throws {
        func run() -> Driver {
            var driver = Driver()
            driver.list(0, [Self.attempt(1)])
            // obwatch was stopped for an hour: the node failed and was retried meanwhile; it runs again.
            driver.list(3600, [Self.attempt(2)])
            return driver
        }
        var driver = run()
        let back = Array(driver.events.dropFirst())
        #expect(back.types == [.nodeFailed, .failed, .retried])
        #expect(back.map(\.observedLate) == [true, true, nil])
        #expect(back.allSatisfy { $0.incident == "prod-east/11/failed" && $0.at == Fixture.time(3600) })
        #expect(back[2].status == .resolved)
        let node = try #require(back[0].node)
        #expect(node.name == "Wait remote deploy finish" && back[1].node?.id == node.id)
        #expect(back[0].subTasks?.map(\.executeTimes) == [2] && back[0].subTasks?.first?.lastLog == "attempt 2")
        #expect(
            back[0].summary
                == "Node Wait remote deploy finish of Cluster scale out failed at stage 4/9 on prod-east"
                + " while obwatch was not watching"
        )
        #expect(
            back[1].summary
                == "Cluster scale out failed at stage 4/9 (Wait remote deploy finish) on prod-east"
                + " while obwatch was not watching"
        )
        #expect(
            back[1].jsonLine().contains(
                #""previous":{"stage":4,"state":"RUNNING","operator":"RUN"},"observed_late":true,"#
            )
        )
        #expect(!back[2].jsonLine().contains("observed_late"))
        // Each once: the same list again is nothing new, and replaying gives the same ids.
        #expect(driver.list(3605, [Self.attempt(2)]).isEmpty)
        #expect(run().events.map(\.id) == Array(driver.events.prefix(4)).map(\.id))
        #expect(Set(driver.events.map(\.id)).count == driver.events.count)
    }

    @Test func aNodeSeenUnderRetryAfterFailedPollsWasAFailure() {
        var driver = Driver()
        driver.list(0, [Fixture.dag(stage: 4)])
        driver.fail(5)
        driver.fail(10)
        let back = driver.list(15, [Fixture.dag(stage: 4, state: .ready, nodeOperator: .retry)])
        #expect(back.types == [.nodeFailed, .failed, .retried])
        #expect(back.map(\.observedLate) == [true, true, nil])
        #expect(back[2].incident == "prod-east/11/failed")
    }

    @Test func aRetryThatFailedAgainWhileAwayIsReportedLateThenSeen() {
        var driver = Driver()
        driver.list(0, [Self.attempt(1)])
        let back = driver.list(600, [Self.attempt(2, state: .failed, nodeOperator: .retry)])
        #expect(back.types == [.nodeFailed, .failed, .retried, .nodeFailed, .failed])
        #expect(back.map(\.observedLate) == [true, true, nil, nil, nil])
        #expect(Set(back.map(\.incident)) == ["prod-east/11/failed"])
        #expect(Set(driver.events.map(\.id)).count == driver.events.count)
        #expect(driver.list(605, [Self.attempt(2, state: .failed, nodeOperator: .retry)]).isEmpty)
    }

    @Test func aNormalRunShowsNoLateFailure() {
        var driver = Driver()
        for stage in 1...9 {
            var dag = Fixture.dag(stage: stage)
            // As obshell sends them: sub-tasks not run yet have run 0 times, and go to 1 when they start.
            for index in stage..<9 { dag.nodes?[index].subTasks[0].executeTimes = 0 }
            driver.list(stage * 60, [dag])
            driver.list(stage * 60 + 5, [dag])
        }
        driver.list(600, [])
        driver.confirm(601, .found(Fixture.dag(stage: 9, state: .succeed)))
        #expect(!driver.types.contains(.nodeFailed) && !driver.types.contains(.failed))
        #expect(!driver.types.contains(.retried))
        #expect(driver.types.last == .succeeded)
        #expect(driver.events.allSatisfy { $0.observedLate == nil })

        // A rollback raises execute_times too: it is a rollback, not a missed failure to report.
        var rolling = Driver()
        rolling.list(0, [Self.attempt(1)])
        var back = Fixture.dag(stage: 4, operator: .rollback)
        back.nodes?[3].subTasks[0].executeTimes = 2
        #expect(rolling.list(600, [back]).types == [.rollbackStarted])
    }

    @Test func aFailureAlreadySeenIsRetriedWithoutALateCopy() {
        var driver = Driver()
        driver.list(0, [Self.attempt(1)])
        #expect(driver.list(5, [Self.attempt(1, state: .failed)]).types == [.nodeFailed, .failed])
        #expect(driver.list(10, [Self.attempt(2, state: .ready, nodeOperator: .retry)]).types == [.retried])
        // Within the retry the sub-task runs again (rolled back, then run): no new failure.
        #expect(driver.list(15, [Self.attempt(3, nodeOperator: .retry)]).isEmpty)
        #expect(driver.list(20, [Self.attempt(4, nodeOperator: .retry)]).isEmpty)
        #expect(driver.types == [.started, .nodeFailed, .failed, .retried])
        #expect(driver.events.allSatisfy { $0.observedLate == nil })
    }

    @Test func aRetryThatSucceededWhileAwayIsConfirmedWithTheFailureItHid() {
        var driver = Driver()
        driver.list(0, [Self.attempt(1)])
        driver.list(600, [])
        #expect(driver.lastConfirmations == ["11"])
        var done = Fixture.dag(stage: 9, state: .succeed)
        done.nodes?[3].operator = .retry
        done.nodes?[3].subTasks[0].executeTimes = 2
        let confirmed = driver.confirm(601, .found(done))
        #expect(confirmed.types == [.stageAdvanced, .nodeFailed, .failed, .retried, .succeeded])
        #expect(confirmed.map(\.observedLate) == [nil, true, true, nil, nil])
        #expect(confirmed[2].summary.hasPrefix("Cluster scale out failed at stage 4/9 (Wait remote deploy finish)"))
        #expect(confirmed[3].incident == "prod-east/11/failed" && confirmed[4].incident == nil)
        #expect(driver.list(700, []).isEmpty)
    }
}
