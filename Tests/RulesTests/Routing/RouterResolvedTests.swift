import ConfigModel
import ObshellModel
import Routing
import Testing
import Tracker

@Suite("Router: resolved events go where their incident was sent")
struct RouterResolvedTests {
    typealias F = RoutingFixtures

    private func pagingRouter(silences: [Silence] = [], inhibitions: [Inhibition] = []) throws -> Router {
        F.router(
            [
                try F.rule("page-failures", types: .only([.failed]), notify: ["oncall", "pager-2"]),
                try F.rule("node-failures", types: .only([.nodeFailed]), notify: ["nodes"]),
                try F.rule("chat-all", types: .only([.failed, .retried, .succeeded]), notify: ["chat"]),
            ],
            silences: silences,
            inhibitions: inhibitions
        )
    }

    @Test("a resolved event also goes to every rule and receiver that was sent its incident, in rule order")
    func resolvedToSenders() throws {
        let router = try self.pagingRouter()
        var state = RouterState()
        let start = try F.time(F.baseText)
        _ = router.route([F.event(.nodeFailed, at: start), F.event(.failed, at: start)], at: start, state: &state)

        let later = start.adding(.seconds(90))
        let result = router.route([F.event(.succeeded, at: later)], at: later, state: &state)
        let routed = try #require(result.events.first)
        #expect(
            routed.routes == [
                Event.Route(rule: "page-failures", receivers: ["oncall", "pager-2"]),
                Event.Route(rule: "node-failures", receivers: ["nodes"]),
                Event.Route(rule: "chat-all", receivers: ["chat"]),
            ]
        )
        #expect(result.notifications.map(\.receiver) == ["oncall", "pager-2", "nodes", "chat"])
        #expect(result.notifications.allSatisfy { $0.status == .resolved })
    }

    @Test("after routing a resolved event its incident is closed: a second one goes only where rules send it")
    func incidentClosedAfterResolve() throws {
        let router = try self.pagingRouter()
        var state = RouterState()
        let start = try F.time(F.baseText)
        _ = router.route([F.event(.failed, at: start)], at: start, state: &state)
        let later = start.adding(.seconds(60))
        _ = router.route([F.event(.retried, at: later)], at: later, state: &state)
        #expect(state.openIncidents == [])
        let end = start.adding(.seconds(120))
        let result = router.route([F.event(.succeeded, at: end)], at: end, state: &state)
        #expect(result.events.first.flatMap(F.ruleNames) == ["chat-all"])
    }

    @Test("merging into a rule that also matches adds no duplicate receivers")
    func mergeWithoutDuplicates() throws {
        let router = F.router([
            try F.rule("failures", types: .only([.failed, .retried]), notify: ["chat", "oncall"])
        ])
        var state = RouterState()
        let start = try F.time(F.baseText)
        _ = router.route([F.event(.failed, at: start)], at: start, state: &state)
        let later = start.adding(.seconds(60))
        let result = router.route([F.event(.retried, at: later)], at: later, state: &state)
        #expect(result.events.first?.routes == [Event.Route(rule: "failures", receivers: ["chat", "oncall"])])
    }

    @Test("a receiver whose firing event was silenced does not get the resolved one")
    func notAfterSilence() throws {
        let silence = Silence(
            matcher: EventMatcher(types: .only([.failed])),
            window: .absolute(
                from: try F.time("2026-12-01T09:00:00+08:00"),
                until: try F.time("2026-12-01T11:00:00+08:00")
            ),
            mark: F.mark
        )
        let router = try self.pagingRouter(silences: [silence])
        var state = RouterState()
        let start = try F.time(F.baseText)
        let first = router.route([F.event(.failed, at: start)], at: start, state: &state)
        #expect(first.notifications.isEmpty)
        let later = try F.time("2026-12-01T12:00:00+08:00")
        let result = router.route([F.event(.succeeded, at: later)], at: later, state: &state)
        #expect(result.events.first?.routes == [Event.Route(rule: "chat-all", receivers: ["chat"])])
    }

    @Test("a receiver whose firing event was inhibited does not get the resolved one")
    func notAfterInhibition() throws {
        let router = try self.pagingRouter(inhibitions: [F.inhibition([.failed], suppress: [.nodeFailed])])
        var state = RouterState()
        let start = try F.time(F.baseText)
        _ = router.route([F.event(.nodeFailed, at: start), F.event(.failed, at: start)], at: start, state: &state)
        let later = start.adding(.seconds(60))
        let result = router.route([F.event(.retried, at: later)], at: later, state: &state)
        #expect(result.events.first.flatMap(F.ruleNames) == ["page-failures", "chat-all"])
    }

    @Test("resumed goes to everyone who got a stalled, whatever its threshold")
    func resumedToEveryThreshold() throws {
        let router = F.router([
            try F.rule("stall-30m", types: .only([.stalled]), notify: ["chat"]),
            try F.rule("stall-1h", types: .only([.stalled]), notify: ["oncall"], after: "1h"),
        ])
        var state = RouterState()
        let start = try F.time(F.baseText)
        _ = router.route([F.event(.stalled, at: start, threshold: "30m")], at: start, state: &state)
        let hour = start.adding(.seconds(1800))
        _ = router.route([F.event(.stalled, at: hour, threshold: "1h")], at: hour, state: &state)
        let later = start.adding(.seconds(2000))
        let result = router.route([F.event(.resumed, at: later)], at: later, state: &state)
        #expect(
            result.events.first?.routes == [
                Event.Route(rule: "stall-30m", receivers: ["chat"]),
                Event.Route(rule: "stall-1h", receivers: ["oncall"]),
            ]
        )
        #expect(result.notifications.map(\.status) == [.resolved, .resolved])
    }

    @Test("target_up goes to everyone who got target_down")
    func targetUpToSenders() throws {
        let router = F.router([
            try F.rule("down-pages", types: .only([.targetDown]), notify: ["oncall"])
        ])
        var state = RouterState()
        let start = try F.time(F.baseText)
        _ = router.route([F.event(.targetDown, at: start, dag: nil)], at: start, state: &state)
        let later = start.adding(.seconds(60))
        let result = router.route([F.event(.targetUp, at: later, dag: nil)], at: later, state: &state)
        #expect(result.events.first?.routes == [Event.Route(rule: "down-pages", receivers: ["oncall"])])
        #expect(result.notifications.first?.incidents == ["prod-east/target_down"])
    }

    @Test("a silenced resolved event is sent nowhere and still closes its incident")
    func silencedResolvedStillCloses() throws {
        let silence = Silence(
            matcher: EventMatcher(types: .only([.succeeded])),
            window: .absolute(
                from: try F.time("2026-12-01T11:00:00+08:00"),
                until: try F.time("2026-12-01T13:00:00+08:00")
            ),
            mark: F.mark
        )
        let router = try self.pagingRouter(silences: [silence])
        var state = RouterState()
        let start = try F.time(F.baseText)
        _ = router.route([F.event(.failed, at: start)], at: start, state: &state)
        let later = try F.time("2026-12-01T12:00:00+08:00")
        let result = router.route([F.event(.succeeded, at: later)], at: later, state: &state)
        #expect(result.events.first?.routes == [Event.Route(rule: "chat-all", receivers: [])])
        #expect(result.notifications.isEmpty)
        #expect(state.isEmpty)
    }

    @Test("after a reload removed a rule, the resolved event still reaches what that rule sent, listed last")
    func removedRuleStillResolved() throws {
        var state = RouterState()
        let start = try F.time(F.baseText)
        _ = try self.pagingRouter().route([F.event(.failed, at: start)], at: start, state: &state)
        let reloaded = F.router([
            try F.rule("chat-all", types: .only([.failed, .retried, .succeeded]), notify: ["chat"])
        ])
        let later = start.adding(.seconds(60))
        let result = reloaded.route([F.event(.retried, at: later)], at: later, state: &state)
        #expect(
            result.events.first?.routes == [
                Event.Route(rule: "chat-all", receivers: ["chat"]),
                Event.Route(rule: "page-failures", receivers: ["oncall", "pager-2"]),
            ]
        )
        #expect(result.notifications.map(\.receiver) == ["chat", "oncall", "pager-2"])
    }
}
