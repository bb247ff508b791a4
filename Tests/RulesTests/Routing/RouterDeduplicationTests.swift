import ConfigModel
import Foundation
import ObshellModel
import Routing
import Testing
import Tracker

@Suite("Router: one notification per event and receiver")
struct RouterDeduplicationTests {
    typealias F = RoutingFixtures

    @Test("two rules naming one receiver: one notification that names both, routes list both")
    func twoRulesOneReceiver() throws {
        let router = F.router([
            try F.rule("page-failures", types: .only([.failed]), notify: ["oncall"]),
            try F.rule("everything", notify: ["oncall"]),
        ])
        var state = RouterState()
        let now = try F.time(F.baseText)
        let failed = F.event(.failed, at: now)
        let result = router.route([failed], at: now, state: &state)
        #expect(
            result.events.first?.routes == [
                Event.Route(rule: "page-failures", receivers: ["oncall"]),
                Event.Route(rule: "everything", receivers: ["oncall"]),
            ]
        )
        let notification = try #require(result.notifications.first)
        #expect(result.notifications.count == 1)
        #expect(notification.receiver == "oncall")
        #expect(notification.rule == "page-failures")
        #expect(notification.rules == ["page-failures", "everything"])
        #expect(notification.events.map(\.id) == [failed.id])
        // The id is the one a notification of the first rule alone always had.
        #expect(notification.id == EventID.make(["oncall", "page-failures", failed.id]))
    }

    @Test("different receivers each get their own notification, naming only the rules that sent them")
    func differentReceivers() throws {
        let router = F.router([
            try F.rule("chat-failures", types: .only([.failed]), notify: ["chat"]),
            try F.rule("everything", notify: ["chat", "oncall"]),
        ])
        var state = RouterState()
        let now = try F.time(F.baseText)
        let result = router.route([F.event(.failed, at: now)], at: now, state: &state)
        #expect(result.notifications.map(\.receiver) == ["chat", "oncall"])
        #expect(result.notifications.map(\.rules) == [["chat-failures", "everything"], ["everything"]])
        #expect(result.notifications.map(\.rule) == ["chat-failures", "everything"])
    }

    @Test("one call's events: each reaches the receiver once, the notification names the union of rules")
    func severalEventsOneCall() throws {
        let router = F.router([
            try F.rule("failures", types: .only([.nodeFailed, .failed]), notify: ["chat"]),
            try F.rule("stages", types: .only([.stageAdvanced, .failed]), notify: ["chat"]),
        ])
        var state = RouterState()
        let now = try F.time(F.baseText)
        let events = [F.event(.stageAdvanced, at: now), F.event(.nodeFailed, at: now), F.event(.failed, at: now)]
        let result = router.route(events, at: now, state: &state)
        // stage_advanced goes through `stages` only: its own notification; node_failed and failed through `failures`.
        #expect(result.notifications.map(\.rule) == ["stages", "failures"])
        #expect(result.notifications.map { $0.events.map(\.type) } == [[.stageAdvanced], [.nodeFailed, .failed]])
        #expect(result.notifications.map(\.rules) == [["stages"], ["failures", "stages"]])
        let delivered = result.notifications.flatMap { $0.events.map(\.id) }
        #expect(delivered.count == Set(delivered).count)
    }

    @Test("the resolution goes once to each receiver that got the firing side through two rules")
    func resolvedOncePerReceiver() throws {
        let router = F.router([
            try F.rule("page-failures", types: .only([.failed]), notify: ["oncall", "chat"]),
            try F.rule("node-and-failures", types: .only([.nodeFailed, .failed]), notify: ["oncall"]),
            try F.rule("successes", types: .only([.succeeded]), notify: ["chat"]),
        ])
        var state = RouterState()
        let start = try F.time(F.baseText)
        let opened = router.route(
            [F.event(.nodeFailed, at: start), F.event(.failed, at: start)],
            at: start,
            state: &state
        )
        // Each event reaches oncall once, in the group of the first rule that sends it there.
        #expect(opened.notifications.map(\.receiver) == ["oncall", "oncall", "chat"])
        #expect(opened.notifications.map { $0.events.map(\.type) } == [[.nodeFailed], [.failed], [.failed]])
        #expect(
            opened.notifications.map(\.rules) == [
                ["node-and-failures"], ["page-failures", "node-and-failures"], ["page-failures"],
            ]
        )

        let later = start.adding(.seconds(90))
        let result = router.route([F.event(.succeeded, at: later)], at: later, state: &state)
        #expect(
            result.events.first?.routes == [
                Event.Route(rule: "page-failures", receivers: ["oncall", "chat"]),
                Event.Route(rule: "node-and-failures", receivers: ["oncall"]),
                Event.Route(rule: "successes", receivers: ["chat"]),
            ]
        )
        #expect(result.notifications.map(\.receiver) == ["oncall", "chat"])
        #expect(
            result.notifications.map(\.rules) == [
                ["page-failures", "node-and-failures"], ["page-failures", "successes"],
            ]
        )
        #expect(result.notifications.allSatisfy { $0.status == .resolved && $0.events.count == 1 })
        #expect(state.isEmpty)
    }

    @Test("an event already waiting in an earlier rule's group is not sent again by a later rule without group_wait")
    func laterRuleJoinsTheWaitingGroup() throws {
        let router = F.router([
            try F.rule("digest", types: .only([.failed]), notify: ["chat"], groupWait: .seconds(30)),
            try F.rule("everything", notify: ["chat"]),
        ])
        var state = RouterState()
        let start = try F.time(F.baseText)
        let first = router.route([F.event(.failed, at: start, id: "f1")], at: start, state: &state)
        #expect(first.notifications.isEmpty)
        #expect(state.pendingNotificationCount == 1)

        let later = start.adding(.seconds(10))
        let second = router.route([F.event(.started, at: later, id: "s2")], at: later, state: &state)
        #expect(second.notifications.map(\.rules) == [["everything"]])
        #expect(second.notifications.map { $0.events.map(\.id) } == [["s2"]])

        // The waiting group keeps its rules across a restart.
        let data = try JSONEncoder().encode(state)
        var restored = try JSONDecoder().decode(RouterState.self, from: data)
        #expect(restored == state)
        let due = router.tick(at: start.adding(.seconds(30)), state: &restored)
        let notification = try #require(due.notifications.first)
        #expect(due.notifications.count == 1)
        #expect(notification.rule == "digest")
        #expect(notification.rules == ["digest", "everything"])
        #expect(notification.events.map(\.id) == ["f1"])
    }

    @Test("a group lists its rules in file order, whatever order its events brought them in")
    func groupRulesInFileOrder() throws {
        let router = F.router([
            try F.rule("digest", types: .only([.failed, .stalled]), notify: ["chat"], groupWait: .seconds(30)),
            try F.rule("stalls", types: .only([.stalled]), notify: ["chat"]),
            try F.rule("failures", types: .only([.failed]), notify: ["chat"]),
        ])
        var state = RouterState()
        let start = try F.time(F.baseText)
        _ = router.route([F.event(.failed, at: start, dag: "11")], at: start, state: &state)
        let later = start.adding(.seconds(5))
        _ = router.route([F.event(.stalled, at: later, dag: "12")], at: later, state: &state)
        let due = router.tick(at: start.adding(.seconds(30)), state: &state)
        #expect(due.notifications.map(\.rules) == [["digest", "stalls", "failures"]])
        #expect(due.notifications.first?.events.map(\.dag?.id) == ["11", "12"])
    }

    @Test("routing the same events again after a restart gives the same notification ids")
    func stableIDs() throws {
        let router = F.router([
            try F.rule("page-failures", types: .only([.failed]), notify: ["oncall"]),
            try F.rule("everything", notify: ["oncall", "chat"]),
        ])
        let now = try F.time(F.baseText)
        let events = [F.event(.nodeFailed, at: now), F.event(.failed, at: now)]
        var state = RouterState()
        let first = router.route(events, at: now, state: &state)
        var fresh = RouterState()
        let again = router.route(events, at: now, state: &fresh)
        #expect(first.notifications.map(\.id) == again.notifications.map(\.id))
        #expect(Set(first.notifications.map(\.id)).count == first.notifications.count)
    }

    @Test("a reminder goes only through its own rule, once per receiver")
    func reminderThroughItsRule() throws {
        let router = F.router([
            try F.rule("page", types: .only([.failed]), notify: ["oncall"], repeat: .seconds(600)),
            try F.rule("everything", notify: ["oncall"]),
        ])
        var state = RouterState()
        let start = try F.time(F.baseText)
        _ = router.route([F.event(.failed, at: start, id: "f")], at: start, state: &state)
        let reminded = router.tick(at: start.adding(.seconds(600)), state: &state)
        #expect(reminded.notifications.map(\.rules) == [["page"]])
        #expect(reminded.notifications.first?.events.map(\.id) == ["f/r1"])
    }

    @Test("a notification journaled before `rules` existed decodes with its rule as the only one")
    func decodesOldJournalLines() throws {
        let now = try F.time(F.baseText)
        let notification = OutboundNotification(
            receiver: "oncall",
            rule: "page",
            otherRules: ["audit", "page", "audit"],
            events: [F.event(.failed, at: now)]
        )
        #expect(notification.rules == ["page", "audit"])
        let data = try JSONEncoder().encode(notification)
        #expect(try JSONDecoder().decode(OutboundNotification.self, from: data) == notification)

        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["rules"] as? [String] == ["page", "audit"])
        object.removeValue(forKey: "rules")
        let old = try JSONSerialization.data(withJSONObject: object)
        let decoded = try JSONDecoder().decode(OutboundNotification.self, from: old)
        #expect(decoded.rules == ["page"])
        #expect(decoded.id == notification.id)
        #expect(decoded.events == notification.events)
    }

    @Test("a router state saved before groups had `rules` decodes each group with its rule")
    func decodesOldRouterState() throws {
        let router = F.router([try F.rule("digest", notify: ["chat"], groupWait: .seconds(30))])
        var state = RouterState()
        let start = try F.time(F.baseText)
        _ = router.route([F.event(.failed, at: start)], at: start, state: &state)
        let data = try JSONEncoder().encode(state)
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var groups = try #require(object["pendingGroups"] as? [[String: Any]])
        #expect(groups.first?["rules"] as? [String] == ["digest"])
        groups = groups.map { group in group.filter { $0.key != "rules" } }
        object["pendingGroups"] = groups
        let old = try JSONSerialization.data(withJSONObject: object)
        var restored = try JSONDecoder().decode(RouterState.self, from: old)
        #expect(restored == state)
        let due = router.tick(at: start.adding(.seconds(30)), state: &restored)
        #expect(due.notifications.map(\.rules) == [["digest"]])
    }

    @Test("with(events:) keeps the receiver and rules, and derives the rest from the new events")
    func withEvents() throws {
        let now = try F.time(F.baseText)
        let events = [F.event(.nodeFailed, at: now), F.event(.failed, at: now)]
        let notification = OutboundNotification(receiver: "r", rule: "a", otherRules: ["b"], events: events)
        let single = notification.with(events: [events[1]])
        #expect(single.receiver == "r")
        #expect(single.rules == ["a", "b"])
        #expect(single.events == [events[1]])
        #expect(single.id == EventID.make(["r", "a", events[1].id]))
    }
}
