import Foundation
import ObshellModel
import Testing
import Tracker

/// The event JSON of CONTRACT section 4.
struct EventEncodingTests {
    @Test func nodeFailedEncodesExactly() throws {
        var driver = Driver()
        driver.list(0, [Fixture.dag(stage: 4)])
        let log = "ERROR: [X]: a/b \"quoted\"\r\n\u{2028}🚨"
        let events = driver.list(5, [Fixture.dag(stage: 4, state: .failed, logs: ["first", log])])
        #expect(events.types == [.nodeFailed, .failed])
        let line = events[0].jsonLine()
        let id = events[0].id
        let expected =
            #"{"schema":"obwatch.event/v1","id":"\#(id)","type":"node_failed","status":"firing","severity":"critical","#
            + #""incident":"prod-east/11/failed","at":"2024-01-10T11:34:37.520371417+08:00","#
            + #""target":{"name":"prod-east","url":"http://10.0.0.5:2886","labels":{"env":"prod"}},"#
            + #""dag":{"id":"11","dag_id":11,"name":"Cluster scale out","stage":4,"max_stage":9,"state":"FAILED","#
            + #""operator":"RUN","start_time":"2024-01-10T11:34:22.556477+08:00","end_time":"2024-01-10T11:34:22.47652+08:00"},"#
            + #""node":{"id":"114","node_id":4,"name":"Wait remote deploy finish","state":"FAILED","operator":"RUN"},"#
            + #""sub_tasks":[{"id":"114","name":"Wait remote deploy finish","state":"FAILED","execute_times":1,"#
            + #""execute_agent":{"ip":"10.10.10.1","port":2886},"last_log":"ERROR: [X]: a/b \"quoted\"\r\n"#
            + "\u{2028}🚨\"}],"
            + #""previous":{"stage":4,"state":"RUNNING","operator":"RUN"},"#
            + #""summary":"Node Wait remote deploy finish of Cluster scale out failed at stage 4/9 on prod-east"}"#
        #expect(line == expected)
        #expect(id.count == 32 && id.allSatisfy(\.isHexDigit))
        let decoded = try JSONDecoder().decode(Event.self, from: Data(line.utf8))
        #expect(decoded == events[0])
    }

    @Test func routesAreWrittenOnlyWhenSet() throws {
        var driver = Driver()
        var event = try #require(driver.list(0, [Fixture.dag(stage: 1)]).first)
        #expect(!event.jsonLine().contains("routes"))
        #expect(event.jsonLine().contains(#""observed_mid_run":false"#))
        event.routes = []
        #expect(event.jsonLine().hasSuffix(#","routes":[]}"#))
        event.routes = [Event.Route(rule: "r", receivers: ["chat"])]
        #expect(event.jsonLine().hasSuffix(#","routes":[{"rule":"r","receivers":["chat"]}]}"#))
    }

    @Test func statusAndSeverityFollowTheTable() {
        let table: [EventType: (EventStatus, EventSeverity)] = [
            .started: (.info, .info), .stageAdvanced: (.info, .info), .nodeFailed: (.firing, .critical),
            .failed: (.firing, .critical), .stalled: (.firing, .warning), .resumed: (.resolved, .info),
            .retried: (.resolved, .info), .rollbackStarted: (.info, .warning), .succeeded: (.resolved, .info),
            .passed: (.resolved, .info), .rolledBack: (.resolved, .warning), .cancelled: (.resolved, .warning),
            .vanished: (.info, .warning), .targetDown: (.firing, .critical), .targetUp: (.resolved, .info),
            .watcherDegraded: (.firing, .critical), .watcherRecovered: (.resolved, .info), .slow: (.firing, .warning),
            .caughtUp: (.resolved, .info),
        ]
        #expect(table.count == EventType.allCases.count)
        for type in EventType.allCases {
            #expect(type.status == table[type]?.0 && type.defaultSeverity == table[type]?.1, "\(type)")
        }
    }

    @Test func labelsAreSortedAndTargetEventsHaveNoDag() throws {
        var driver = Driver(settings: TrackerSettings(downAfter: 1))
        let identity = TargetIdentity(name: "t", url: nil, labels: ["z": "1", "a": "2", "m": "3"])
        let step = Tracker.step(
            TrackerState(),
            .failedPoll(reason: "connection refused", kind: .connect, at: Fixture.time(0)),
            settings: driver.settings,
            target: identity
        )
        driver.state = step.state
        let line = try #require(step.events.first?.jsonLine())
        #expect(line.contains(#""target":{"name":"t","labels":{"a":"2","m":"3","z":"1"}}"#))
        #expect(!line.contains("\"dag\""))
        #expect(line.contains(#""error":"connection refused","error_kind":"connect","summary":"#))
    }

    @Test func newFieldsTakeTheirPlacesAndOldEventsStillDecode() throws {
        let event = Event(
            id: "x",
            type: .failed,
            at: Fixture.time(0),
            target: TargetIdentity(name: "t"),
            observedMidRun: false,
            observedLate: true,
            stalledSeconds: 5,
            error: "e",
            errorKind: "auth",
            degradedReceivers: ["a", "b"],
            summary: "s"
        )
        let line = event.jsonLine()
        #expect(
            line.contains(
                #""observed_mid_run":false,"observed_late":true,"stalled_seconds":5,"error":"e","error_kind":"auth","#
                    + #""degraded_receivers":["a","b"],"summary":"s""#
            )
        )
        #expect(try JSONDecoder().decode(Event.self, from: Data(line.utf8)) == event)
        #expect(try JSONDecoder().decode(Event.self, from: JSONEncoder().encode(event)) == event)
        // Absent, they are not written; an event queued by an older obwatch decodes without them.
        let plain = Event(
            id: "y",
            type: .targetUp,
            at: Fixture.time(0),
            target: TargetIdentity(name: "t"),
            summary: "s"
        )
        let plainLine = plain.jsonLine()
        #expect(!plainLine.contains("observed_late") && !plainLine.contains("error_kind"))
        #expect(!plainLine.contains("degraded_receivers"))
        let old =
            #"{"id":"y","type":"target_up","at":"2024-01-10T11:34:32.520371417+08:00","target":{"name":"t"},"#
            + #""summary":"s"}"#
        let decoded = try JSONDecoder().decode(Event.self, from: Data(old.utf8))
        #expect(decoded.observedLate == nil && decoded.errorKind == nil && decoded.degradedReceivers == nil)
        #expect(decoded == plain)
    }
}
