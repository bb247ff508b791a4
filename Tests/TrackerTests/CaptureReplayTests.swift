import Foundation
import ObshellModel
import Testing

@testable import Tracker

/// The fixture captures, replayed the way `obwatch replay` does.
struct CaptureReplayTests {
    static let failureLog =
        "ERROR: [Task.Failed]: remote deploy failed on 10.10.10.2:2886\r\nline two\u{2028}sep\ttab 🚨"

    @Test func scaleOutFailureRetryAndSuccess() throws {
        let events = try Fixture.replay("scale-out-failure.jsonl")
        #expect(
            events.types == [
                .started, .stageAdvanced, .nodeFailed, .failed, .retried, .stageAdvanced, .stageAdvanced, .succeeded,
            ]
        )
        let started = events[0]
        #expect(started.observedMidRun == true)
        #expect(started.at.text == "2024-01-10T11:34:32.520371417+08:00")
        #expect(started.status == .info)

        let nodeFailed = events[2]
        #expect(nodeFailed.status == .firing && nodeFailed.severity == .critical)
        #expect(nodeFailed.incident == "prod-east/11/failed")
        #expect(nodeFailed.node?.name == "Wait remote start finish")
        let subTask = try #require(nodeFailed.subTasks?.first)
        #expect(subTask.id == "15")
        #expect(subTask.lastLog == Self.failureLog)
        #expect(subTask.lastLog?.utf8.elementsEqual(Self.failureLog.utf8) == true)

        let failed = events[3]
        #expect(failed.summary == "Cluster scale out failed at stage 5/9 (Wait remote start finish) on prod-east")
        #expect(failed.incident == "prod-east/11/failed")
        #expect(failed.at == nodeFailed.at)

        let retried = events[4]
        #expect(retried.status == .resolved)
        #expect(retried.incident == "prod-east/11/failed")
        #expect(retried.previous?.state == "FAILED")

        // The DAG left the list and the confirmation's own observation advanced it before the final event.
        #expect(events[6].previous?.stage == 6 && events[6].dag?.stage == 9)
        let succeeded = events[7]
        #expect(succeeded.status == .resolved)
        #expect(succeeded.incident == nil)
        #expect(succeeded.at == events[6].at)
    }

    @Test func partialListIsConfirmedThenVanishes() throws {
        let events = try Fixture.replay("partial-list.jsonl")
        #expect(events.types == [.started, .vanished])
        // The first poll that missed the DAG was at +100 s; confirm_within is 10 minutes.
        #expect(events[1].at == Fixture.time(700))
        #expect(!events.types.contains(.failed))
    }

    @Test func partialListRequestsConfirmationOnEveryGoodPoll() {
        var driver = Driver()
        driver.list(0, [Fixture.dag(stage: 4)])
        for minute in 1...9 {
            #expect(driver.list(minute * 60 + 30, []).isEmpty)
            #expect(driver.lastConfirmations == ["11"])
            #expect(driver.confirm(minute * 60 + 31, .notFound).isEmpty)
            #expect(driver.confirm(minute * 60 + 32, .failed(reason: "timeout")).isEmpty)
        }
        // A failed poll in between is not an observation and requests nothing.
        driver.fail(600)
        #expect(driver.lastConfirmations.isEmpty)
        let last = driver.list(90 + 600, [])
        #expect(last.types == [.vanished])
        #expect(driver.lastConfirmations.isEmpty)
        #expect(driver.list(700, []).isEmpty)
        #expect(driver.types == [.started, .vanished])
    }

    @Test func outageJumpIsOneStageAdvanced() throws {
        let events = try Fixture.replay("outage.jsonl")
        #expect(events.types == [.started, .targetDown, .targetUp, .stageAdvanced])
        let down = events[1]
        #expect(down.at == Fixture.time(15))
        #expect(down.error == "HTTP 500 Common.Unexpected: Unexpected error: Internal Server Error")
        #expect(down.errorKind == "http")
        #expect(down.incident == "prod-east/target_down")
        #expect(down.dag == nil)
        #expect(events[2].incident == down.incident && events[2].status == .resolved)
        #expect(events[3].previous?.stage == 4 && events[3].dag?.stage == 6)
    }

    @Test func badLinesAreReportedAndSkipped() throws {
        let name = "bad-lines.jsonl"
        let reading = CaptureReader.read(try Fixture.capture(name), file: name)
        #expect(reading.diagnostics.map(\.line) == [2, 3, 4])
        for diagnostic in reading.diagnostics {
            #expect(diagnostic.description.hasPrefix("\(name):\(diagnostic.line ?? 0): error: "))
        }
        #expect(reading.diagnostics[1].description.contains("request"))
        var replayer = Replayer()
        #expect(replayer.replay(reading.entries).types == [.started, .stageAdvanced])
    }

    @Test func firstSeenFailedAndCancelled() throws {
        let events = try Fixture.replay("first-seen-failed-and-cancel.jsonl")
        #expect(events.types == [.started, .nodeFailed, .failed, .started, .cancelled])
        #expect(events[0].dag?.id == "11" && events[0].observedMidRun == true)
        #expect(events[3].dag?.id == "12")
        #expect(events[4].dag?.id == "12" && events[4].severity == .warning)
        // Cancel never fires failed, and a DAG kept listed FAILED fires once.
        #expect(events.filter { $0.type == .failed }.count == 1)
    }

    static let captures = [
        "scale-out-failure.jsonl", "partial-list.jsonl", "outage.jsonl", "bad-lines.jsonl",
        "first-seen-failed-and-cancel.jsonl", "stall.jsonl", "progress-by-logs.jsonl", "rollback-then-pass.jsonl",
        "rollback.jsonl",
    ]

    /// Recorded by `obwatch run --record` against `obwatch simulate --scenario scenarios/rollback.yaml`.
    @Test func aConfirmedRollbackFiresRolledBackNeverSucceeded() throws {
        let events = try Fixture.replay("rollback.jsonl")
        let types = events.map(\.type)
        #expect(
            types == [
                .started, .stageAdvanced, .stageAdvanced, .nodeFailed, .failed, .rollbackStarted, .stageAdvanced,
                .stageAdvanced, .rolledBack,
            ]
        )
        let rolledBack = try #require(events.last)
        #expect(rolledBack.status == .resolved && rolledBack.severity == .warning)
        #expect(rolledBack.dag?.operator == "ROLLBACK" && rolledBack.dag?.state == "SUCCEED")
        #expect(rolledBack.incident == events[4].incident)
        #expect(!types.contains(.succeeded))
    }

    @Test(arguments: Self.captures)
    func replayingTwiceGivesIdenticalIds(name: String) throws {
        let data = try Fixture.capture(name)
        var first = Replayer()
        var second = Replayer()
        let once = first.replay(CaptureReader.read(data, file: name).entries)
        let twice = second.replay(CaptureReader.read(data, file: name).entries)
        #expect(!once.isEmpty)
        #expect(once.map { $0.jsonLine() } == twice.map { $0.jsonLine() })
        #expect(Set(once.map(\.id)).count == once.count, "ids are unique in \(name)")
    }

    @Test(arguments: Self.captures)
    func restartAnywhereFiresNoSecondStarted(name: String) throws {
        let reading = CaptureReader.read(try Fixture.capture(name), file: name)
        var whole = Replayer()
        let expected = whole.replay(reading.entries)
        for split in 1..<reading.entries.count {
            var first = Replayer()
            var events = first.replay(Array(reading.entries[..<split]))
            let saved = try JSONEncoder().encode(first.states)
            let restored = try JSONDecoder().decode([String: TrackerState].self, from: saved)
            var second = Replayer(states: restored)
            events += second.replay(Array(reading.entries[split...]))
            #expect(events == expected, "\(name) split at \(split)")
            #expect(events.filter { $0.type == .started }.count == expected.filter { $0.type == .started }.count)
        }
    }

    @Test func capturesNamingSeveralTargetsAreTrackedApart() {
        let writer = CaptureWriter()
        let body = #"{"successful":true,"status":200,"data":{"contents":null}}"#
        let lines = [
            writer.line(
                at: Fixture.time(0),
                target: "a",
                request: "GET /api/v1/task/dag/unfinish?show_details=false",
                status: 200,
                body: Data(body.utf8)
            ),
            writer.line(at: Fixture.time(1), target: "b", request: "/api/v1/task/dag/unfinish", error: "refused"),
            writer.line(at: Fixture.time(2), target: "b", request: "POST /api/v1/task/dag/unfinish", error: "x"),
            writer.line(at: Fixture.time(3), target: "b", request: "GET /api/v1/task/dag/ob/unfinish", error: "x"),
            writer.line(at: Fixture.time(4), target: "b", request: "GET /api/v1/secret", status: 200),
        ]
        let reading = CaptureReader.read(Data(lines.joined(separator: "\n").utf8), file: "x")
        #expect(reading.diagnostics.isEmpty)
        #expect(reading.entries.map(\.target) == ["a", "b"])
        #expect(reading.entries[0].observation == .list([], at: Fixture.time(0)))
        var replayer = Replayer(defaultSettings: TrackerSettings(downAfter: 1))
        let events = replayer.replay(reading.entries)
        #expect(events.types == [.targetDown])
        #expect(events[0].target.name == "b" && events[0].target.url == nil)
    }

    @Test func aKeyRejectionRetriedWithAFreshKeyIsOneObservation() {
        let writer = CaptureWriter()
        let poll = "GET /api/v1/task/dag/unfinish?show_details=true"
        let good = Data(#"{"successful":true,"status":200,"data":{"contents":null}}"#.utf8)
        let rejected = Data(
            #"{"successful":false,"status":401,"error":{"code":1,"errCode":"Security.Authentication.Header.DecryptFailed","message":"Failed to decrypt the request header"}}"#
                .utf8
        )
        func lines(_ items: [String]) -> Data { Data(items.joined(separator: "\n").utf8) }
        // Rejected, key fetched, retried: the retry alone is the poll, as the client saw it.
        let retried = CaptureReader.read(
            lines([
                writer.line(at: Fixture.time(0), target: "a", request: poll, status: 401, body: rejected),
                writer.line(at: Fixture.time(0), target: "a", request: "GET /api/v1/secret", status: 200),
                writer.line(at: Fixture.time(0), target: "a", request: poll, status: 200, body: good),
                writer.line(at: Fixture.time(5), target: "a", request: poll, status: 200, body: good),
            ]),
            file: "x"
        )
        #expect(retried.entries.map(\.line) == [3, 4])
        // Rejected and the key fetch failed: no retry came, and the poll failed with the fetch's error.
        let unfetched = CaptureReader.read(
            lines([
                writer.line(at: Fixture.time(0), target: "a", request: poll, status: 401, body: rejected),
                writer.line(at: Fixture.time(0), target: "a", request: "GET /api/v1/secret", error: "refused"),
                writer.line(at: Fixture.time(5), target: "a", request: poll, status: 200, body: good),
            ]),
            file: "x"
        )
        #expect(unfetched.entries.map(\.line) == [2, 3])
        #expect(
            unfetched.entries.first?.observation == .failedPoll(reason: "refused", kind: .connect, at: Fixture.time(0))
        )
        // The first poll's key fetch failed: no poll request was sent, yet that poll failed, as it did live.
        let keyless = CaptureReader.read(
            lines([
                writer.line(at: Fixture.time(0), target: "a", request: "GET /api/v1/secret", error: "timed out"),
                writer.line(at: Fixture.time(5), target: "a", request: "GET /api/v1/secret", status: 503),
                writer.line(at: Fixture.time(10), target: "a", request: "GET /api/v1/secret", status: 200),
                writer.line(at: Fixture.time(10), target: "a", request: poll, status: 200, body: good),
            ]),
            file: "x"
        )
        #expect(
            keyless.entries.map(\.observation) == [
                .failedPoll(reason: "timed out", kind: .timeout, at: Fixture.time(0)),
                .failedPoll(reason: "HTTP 503 when fetching the agent's key", kind: .http, at: Fixture.time(5)),
                .list([], at: Fixture.time(10)),
            ]
        )
        // Rejected twice: the client retries once only, so the second rejection is the failed poll; the next
        // cycle's poll (no key fetch before it) does not hide it.
        let twice = CaptureReader.read(
            lines([
                writer.line(at: Fixture.time(0), target: "a", request: poll, status: 401, body: rejected),
                writer.line(at: Fixture.time(0), target: "a", request: "GET /api/v1/secret", status: 200),
                writer.line(at: Fixture.time(0), target: "a", request: poll, status: 401, body: rejected),
                writer.line(at: Fixture.time(5), target: "a", request: poll, status: 200, body: good),
            ]),
            file: "x"
        )
        #expect(twice.entries.map(\.line) == [3, 4])
        guard case .failedPoll = twice.entries.first?.observation else {
            Issue.record("the second rejection should be a failed poll")
            return
        }
    }

    @Test func stallCaptureFiresOnceAfterCountedTimeThenResumes() throws {
        let events = try Fixture.replay("stall.jsonl")
        #expect(events.types == [.started, .targetDown, .targetUp, .stalled, .resumed])
        let stalled = events[3]
        // 25 minutes counted before the outage, the outage not counted, then 5 more minutes from 50m.
        #expect(stalled.at == Fixture.time(55 * 60))
        #expect(stalled.threshold == "30m" && stalled.stalledSeconds == 1800)
        #expect(events[4].incident == stalled.incident && events[4].at == Fixture.time(75 * 60))
    }

    @Test func growingLogsNeverStall() throws {
        #expect(try Fixture.replay("progress-by-logs.jsonl").types == [.started])
    }

    @Test func rollbackThatFailsThenPassed() throws {
        let events = try Fixture.replay("rollback-then-pass.jsonl")
        #expect(
            events.types == [
                .started, .nodeFailed, .failed, .rollbackStarted, .stageAdvanced, .nodeFailed, .failed, .passed,
            ]
        )
        #expect(events[7].incident == "prod-east/11/failed" && events[7].status == .resolved)
        #expect(events[6].subTasks?.first?.lastLog == "ERROR: [X]: rollback")
        #expect(Set(events.map(\.id)).count == events.count)
    }
}

@Suite("Capture lines")
struct CaptureLineRangeTests {
    @Test("lines split on LF only, with the empty line a trailing newline leaves, in a slice too")
    func ranges() {
        #expect(CaptureReader.lineRanges(of: Data("a\nbc\n".utf8)) == [0..<1, 2..<4, 5..<5])
        #expect(CaptureReader.lineRanges(of: Data()) == [0..<0])
        #expect(CaptureReader.lineRanges(of: Data("x\r\ny".utf8)) == [0..<2, 3..<4])
        let slice = Data("zz\nab\ncd".utf8).dropFirst(3)
        #expect(CaptureReader.lineRanges(of: slice) == [3..<5, 6..<8])
    }
}
