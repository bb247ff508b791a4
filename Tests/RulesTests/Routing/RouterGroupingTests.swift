import ConfigModel
import Foundation
import ObshellModel
import Routing
import Testing
import Tracker

@Suite("Router: grouping and state")
struct RouterGroupingTests {
    typealias F = RoutingFixtures

    @Test("without group_wait, one call's events for a pair form one notification at once")
    func zeroGroupWait() throws {
        let router = F.router([try F.rule("chat", notify: ["chat"])])
        var state = RouterState()
        let now = try F.time(F.baseText)
        let events = [F.event(.stageAdvanced, at: now), F.event(.nodeFailed, at: now), F.event(.failed, at: now)]
        let result = router.route(events, at: now, state: &state)
        let notification = try #require(result.notifications.first)
        #expect(result.notifications.count == 1)
        #expect(notification.receiver == "chat")
        #expect(notification.rule == "chat")
        #expect(notification.status == .firing)
        #expect(notification.events == result.events)
        #expect(notification.incidents == ["prod-east/11/failed"])
        #expect(notification.id == EventID.make(["chat", "chat"] + events.map(\.id)))
        #expect(state.pendingNotificationCount == 0)
        #expect(router.nextDeadline(in: state) == nil)
    }

    @Test("a notification's status: firing over resolved over info")
    func notificationStatus() throws {
        let router = F.router([try F.rule("chat", notify: ["chat"])])
        let now = try F.time(F.baseText)
        var state = RouterState()
        let info = router.route([F.event(.started, at: now)], at: now, state: &state)
        #expect(info.notifications.map(\.status) == [.info])
        #expect(info.notifications.first?.incidents == [])
        let resolved = router.route([F.event(.started, at: now), F.event(.succeeded, at: now)], at: now, state: &state)
        #expect(resolved.notifications.map(\.status) == [.resolved])
        let firing = router.route([F.event(.succeeded, at: now), F.event(.failed, at: now)], at: now, state: &state)
        #expect(firing.notifications.map(\.status) == [.firing])
    }

    @Test("with group_wait, events gather until the deadline, across calls")
    func nonZeroGroupWait() throws {
        let router = F.router([try F.rule("chat", notify: ["chat"], groupWait: .seconds(30))])
        var state = RouterState()
        let start = try F.time(F.baseText)
        let first = router.route([F.event(.failed, at: start, dag: "11")], at: start, state: &state)
        #expect(first.notifications.isEmpty)
        #expect(first.events.first?.routes == [Event.Route(rule: "chat", receivers: ["chat"])])
        #expect(router.nextDeadline(in: state) == start.adding(.seconds(30)))

        let later = start.adding(.seconds(10))
        let second = router.route([F.event(.stalled, at: later, dag: "12")], at: later, state: &state)
        #expect(second.notifications.isEmpty)
        #expect(router.tick(at: start.adding(.milliseconds(29_999)), state: &state).notifications.isEmpty)

        let due = router.tick(at: start.adding(.seconds(30)), state: &state)
        #expect(due.events.isEmpty)
        let notification = try #require(due.notifications.first)
        #expect(due.notifications.count == 1)
        #expect(notification.events.map(\.dag?.id) == ["11", "12"])
        #expect(notification.incidents == ["prod-east/11/failed", "prod-east/12/stalled"])
        #expect(state.pendingNotificationCount == 0)
        #expect(router.nextDeadline(in: state) == nil)
    }

    @Test("a deadline compares instants, whatever the offsets of the routing times")
    func deadlineAcrossOffsets() throws {
        let router = F.router([try F.rule("chat", notify: ["chat"], groupWait: .seconds(60))])
        var state = RouterState()
        let start = try F.time("2026-12-01T10:00:00+08:00")
        _ = router.route([F.event(.failed, at: start)], at: start, state: &state)
        #expect(router.tick(at: try F.time("2026-12-01T02:00:59.999Z"), state: &state).notifications.isEmpty)
        #expect(router.tick(at: try F.time("2026-12-01T02:01:00Z"), state: &state).notifications.count == 1)
    }

    @Test("route() sends older groups whose deadline passed, before this call's, in first-routed order")
    func notificationOrder() throws {
        let router = F.router([
            try F.rule("slow", types: .only([.failed]), notify: ["chat"], groupWait: .seconds(30)),
            try F.rule("fast", notify: ["audit"]),
        ])
        var state = RouterState()
        let start = try F.time(F.baseText)
        let first = router.route([F.event(.failed, at: start, id: "f1")], at: start, state: &state)
        #expect(first.notifications.map(\.rule) == ["fast"])

        let later = start.adding(.seconds(45))
        let result = router.route(
            [F.event(.started, at: later, id: "s2"), F.event(.failed, at: later, id: "f2")],
            at: later,
            state: &state
        )
        // The waiting group went out as it was; the new failed opened the next one.
        #expect(result.notifications.map(\.rule) == ["slow", "fast"])
        #expect(result.notifications.map { $0.events.map(\.id) } == [["f1"], ["s2", "f2"]])
        #expect(state.pendingNotificationCount == 1)
        #expect(router.nextDeadline(in: state) == later.adding(.seconds(30)))
    }

    @Test("a pending group survives a JSON round trip of the state and goes out after the restart")
    func pendingGroupSurvivesRestart() throws {
        let router = F.router([try F.rule("chat", notify: ["chat", "oncall"], groupWait: .seconds(120))])
        var state = RouterState()
        let start = try F.time(F.baseText)
        _ = router.route([F.event(.nodeFailed, at: start), F.event(.failed, at: start)], at: start, state: &state)

        var uninterrupted = state
        let expected = router.tick(at: start.adding(.seconds(120)), state: &uninterrupted)
        #expect(expected.notifications.map(\.receiver) == ["chat", "oncall"])

        let data = try JSONEncoder().encode(state)
        var restored = try JSONDecoder().decode(RouterState.self, from: data)
        #expect(restored == state)
        #expect(restored.pendingNotificationCount == 2)
        #expect(router.nextDeadline(in: restored) == start.adding(.seconds(120)))
        let result = router.tick(at: start.adding(.seconds(120)), state: &restored)
        #expect(result == expected)
        #expect(restored == uninterrupted)
    }

    @Test("RouterState round-trips through JSON with every kind of memory in it")
    func stateCodableRoundTrip() throws {
        let router = F.router(
            [
                try F.rule("page", types: .only([.failed, .targetDown]), notify: ["oncall"], repeat: .seconds(600)),
                try F.rule("digest", notify: ["chat"], groupWait: .seconds(300)),
            ],
            inhibitions: [F.inhibition([.failed, .targetDown], suppress: [.nodeFailed])]
        )
        var state = RouterState()
        let start = try F.time(F.baseText)
        _ = router.route(
            [
                F.event(.failed, at: start),
                F.event(.targetDown, at: start, target: "prod-west", dag: nil),
                F.event(.stalled, at: start, dag: "12"),
            ],
            at: start,
            state: &state
        )
        #expect(state.version == RouterState.currentVersion)
        #expect(state.openIncidents == ["prod-east/11/failed", "prod-east/12/stalled", "prod-west/target_down"])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(state)
        let decoded = try JSONDecoder().decode(RouterState.self, from: data)
        #expect(decoded == state)
        #expect(try encoder.encode(decoded) == data)
        #expect(RouterState().isEmpty)
        #expect(try JSONDecoder().decode(RouterState.self, from: encoder.encode(RouterState())) == RouterState())
    }

    @Test("a state written by another layout version is refused, not misread")
    func otherVersionRefused() throws {
        let data = Data(#"{"version": 2, "inhibitors": [], "senders": [], "reminders": [], "pendingGroups": []}"#.utf8)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(RouterState.self, from: data)
        }
        let garbage = Data(#"{"nothing": true}"#.utf8)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(RouterState.self, from: garbage)
        }
    }

    @Test("routing is deterministic: the same calls give the same results and states")
    func deterministic() throws {
        let router = F.router(
            [
                try F.rule("page", types: .only([.failed]), notify: ["oncall", "chat"], repeat: .seconds(60)),
                try F.rule("all", labels: ["env": "prod", "region": "*"], notify: ["audit"], groupWait: .seconds(5)),
            ],
            inhibitions: [F.inhibition([.failed], suppress: [.nodeFailed])]
        )
        let start = try F.time(F.baseText)
        func run() -> ([RoutingResult], RouterState) {
            var state = RouterState()
            var results: [RoutingResult] = []
            for step in 0..<5 {
                let now = start.adding(.seconds(Int64(step) * 40))
                results.append(router.tick(at: now, state: &state))
                let events = [
                    F.event(.nodeFailed, at: now, dag: String(10 + step)),
                    F.event(.failed, at: now, dag: String(10 + step)),
                    F.event(.retried, at: now, dag: String(9 + step)),
                ]
                results.append(router.route(events, at: now, state: &state))
            }
            return (results, state)
        }
        let (firstResults, firstState) = run()
        let (secondResults, secondState) = run()
        #expect(firstResults == secondResults)
        #expect(firstState == secondState)
    }
}
