import ConfigModel
import ObshellModel
import Routing
import Testing
import Tracker

@Suite("Router: which rules match")
struct RouterMatchingTests {
    typealias F = RoutingFixtures

    private func routes(_ router: Router, _ event: Event) throws -> [Event.Route] {
        var state = RouterState()
        let result = router.route([event], at: event.at, state: &state)
        let routed = try #require(result.events.first)
        return try #require(routed.routes)
    }

    @Test("one event type")
    func oneType() throws {
        let now = try F.time(F.baseText)
        let router = F.router([try F.rule("failures", types: .only([.failed]), notify: ["chat"])])
        #expect(
            try self.routes(router, F.event(.failed, at: now)) == [Event.Route(rule: "failures", receivers: ["chat"])]
        )
        #expect(try self.routes(router, F.event(.nodeFailed, at: now)) == [])
    }

    @Test("a list of event types")
    func typeList() throws {
        let now = try F.time(F.baseText)
        let router = F.router([try F.rule("failures", types: .only([.nodeFailed, .failed]), notify: ["chat"])])
        #expect(try self.routes(router, F.event(.failed, at: now)).map(\.rule) == ["failures"])
        #expect(try self.routes(router, F.event(.nodeFailed, at: now)).map(\.rule) == ["failures"])
        #expect(try self.routes(router, F.event(.stalled, at: now)) == [])
        #expect(try self.routes(router, F.event(.started, at: now)) == [])
    }

    @Test("\"*\" takes every type, target events included", arguments: EventType.allCases)
    func allTypes(type: EventType) throws {
        let now = try F.time(F.baseText)
        let router = F.router([try F.rule("audit", notify: ["audit"])])
        let dag: String? = (type == .targetDown || type == .targetUp) ? nil : "11"
        #expect(try self.routes(router, F.event(type, at: now, dag: dag)).map(\.rule) == ["audit"])
    }

    @Test("a DAG glob matches the whole name; an event without a DAG never matches one")
    func dagGlob() throws {
        let now = try F.time(F.baseText)
        let router = F.router([try F.rule("scale", dag: .glob(try Glob("Cluster scale*")), notify: ["chat"])])
        #expect(try self.routes(router, F.event(.failed, at: now, dagName: "Cluster scale out")).count == 1)
        #expect(try self.routes(router, F.event(.failed, at: now, dagName: "Cluster scale")).count == 1)
        #expect(try self.routes(router, F.event(.failed, at: now, dagName: "Big Cluster scale out")) == [])
        #expect(try self.routes(router, F.event(.targetDown, at: now, dag: nil)) == [])
    }

    @Test("dag_regex must match the whole name")
    func dagRegex() throws {
        let now = try F.time(F.baseText)
        let regex = try WholeMatchRegex("Cluster scale (out|in)")
        let router = F.router([try F.rule("scale", dag: .regex(regex), notify: ["chat"])])
        #expect(try self.routes(router, F.event(.failed, at: now, dagName: "Cluster scale in")).count == 1)
        #expect(try self.routes(router, F.event(.failed, at: now, dagName: "Cluster scale outward")) == [])
        #expect(try self.routes(router, F.event(.failed, at: now, dagName: "My Cluster scale out")) == [])
        #expect(try self.routes(router, F.event(.targetUp, at: now, dag: nil)) == [])
    }

    @Test("a target glob")
    func targetGlob() throws {
        let now = try F.time(F.baseText)
        let router = F.router([try F.rule("prod", target: "prod-*", notify: ["chat"])])
        #expect(try self.routes(router, F.event(.failed, at: now, target: "prod-east")).count == 1)
        #expect(try self.routes(router, F.event(.targetDown, at: now, target: "prod-west", dag: nil)).count == 1)
        #expect(try self.routes(router, F.event(.failed, at: now, target: "staging-east")) == [])
        #expect(try self.routes(router, F.event(.failed, at: now, target: "xprod-east")) == [])
    }

    @Test("every listed label must be present and match")
    func labels() throws {
        let now = try F.time(F.baseText)
        let router = F.router([try F.rule("prod", labels: ["env": "prod", "region": "e*"], notify: ["chat"])])
        let both = F.event(.failed, at: now, labels: ["env": "prod", "region": "east", "team": "db"])
        #expect(try self.routes(router, both).count == 1)
        let missing = F.event(.failed, at: now, labels: ["env": "prod"])
        #expect(try self.routes(router, missing) == [])
        let wrong = F.event(.failed, at: now, labels: ["env": "dev", "region": "east"])
        #expect(try self.routes(router, wrong) == [])
        let none = F.event(.failed, at: now, labels: [:])
        #expect(try self.routes(router, none) == [])
    }

    @Test("every matching rule appears in file order; an unmatched event gets empty routes, not nil")
    func ruleOrderAndEmptyRoutes() throws {
        let now = try F.time(F.baseText)
        let router = F.router([
            try F.rule("z-first", types: .only([.failed]), notify: ["oncall", "chat", "oncall"]),
            try F.rule("a-second", target: "prod-*", notify: ["audit"]),
            try F.rule("never", target: "staging-*", notify: ["audit"]),
            try F.rule("c-third", types: .all, notify: []),
        ])
        let failed = try self.routes(router, F.event(.failed, at: now))
        #expect(
            failed == [
                Event.Route(rule: "z-first", receivers: ["oncall", "chat"]),
                Event.Route(rule: "a-second", receivers: ["audit"]),
                Event.Route(rule: "c-third", receivers: []),
            ]
        )
        let lonely = F.router([try F.rule("failures", types: .only([.failed]), notify: ["chat"])])
        var state = RouterState()
        let result = lonely.route([F.event(.started, at: now)], at: now, state: &state)
        #expect(result.events.first?.routes == [])
        #expect(result.notifications.isEmpty)
    }

    @Test("the routed events keep their input order and every other field")
    func inputOrderKept() throws {
        let now = try F.time(F.baseText)
        let router = F.router([try F.rule("audit", notify: ["audit"])])
        let events = [
            F.event(.started, at: now),
            F.event(.stageAdvanced, at: now),
            F.event(.nodeFailed, at: now),
            F.event(.failed, at: now),
        ]
        var state = RouterState()
        let result = router.route(events, at: now, state: &state)
        #expect(result.events.map(\.id) == events.map(\.id))
        for (routed, original) in zip(result.events, events) {
            var stripped = routed
            stripped.routes = nil
            #expect(stripped == original)
        }
    }

    @Test("a stalled event goes only to the rules of its threshold; a catch-all rule gets every threshold in use")
    func stalledThresholds() throws {
        let now = try F.time(F.baseText)
        let router = F.router([
            try F.rule("default-stall", types: .only([.stalled]), notify: ["chat"]),
            try F.rule("hour-stall", types: .only([.stalled]), notify: ["oncall"], after: "1h"),
            try F.rule("explicit-30m", types: .only([.stalled]), notify: ["chat"], after: "30m"),
            try F.rule("seconds-1800", types: .only([.stalled]), notify: ["chat"], after: "1800s"),
            try F.rule("audit", notify: ["audit"]),
        ])
        let defaultStall = F.event(.stalled, at: now, threshold: "30m")
        #expect(try self.routes(router, defaultStall).map(\.rule) == ["default-stall", "explicit-30m", "audit"])
        let hourStall = F.event(.stalled, at: now, threshold: "1h")
        #expect(try self.routes(router, hourStall).map(\.rule) == ["hour-stall", "audit"])
        let secondsStall = F.event(.stalled, at: now, threshold: "1800s")
        #expect(try self.routes(router, secondsStall).map(\.rule) == ["seconds-1800", "audit"])
        // A threshold no rule uses (a stalled event from before a reload) reaches only whoever matches it exactly.
        let unusedStall = F.event(.stalled, at: now, threshold: "2h")
        #expect(try self.routes(router, unusedStall) == [])
        // Other types ignore `after:`.
        #expect(try self.routes(router, F.event(.failed, at: now)).map(\.rule) == ["audit"])
    }

    @Test("a rule's default threshold follows the router's defaults.stall_after")
    func customDefaultThreshold() throws {
        let now = try F.time(F.baseText)
        let rule = try F.rule("stalls", types: .only([.stalled]), notify: ["chat"])
        let router = Router(
            rules: [rule],
            silences: [],
            inhibitions: [],
            defaultStallThreshold: try #require(StallThreshold("45m"))
        )
        #expect(try self.routes(router, F.event(.stalled, at: now, threshold: "45m")).count == 1)
        #expect(try self.routes(router, F.event(.stalled, at: now, threshold: "30m")) == [])
    }

    @Test("each receiver of a rule gets its own notification, in the rule's order")
    func notificationPerReceiver() throws {
        let now = try F.time(F.baseText)
        let router = F.router([try F.rule("failures", types: .only([.failed]), notify: ["oncall", "chat"])])
        var state = RouterState()
        let failed = F.event(.failed, at: now)
        let result = router.route([failed], at: now, state: &state)
        #expect(result.notifications.map(\.receiver) == ["oncall", "chat"])
        #expect(result.notifications.allSatisfy { $0.rule == "failures" && $0.status == .firing })
        #expect(result.notifications.first?.events == result.events)
        #expect(result.notifications.first?.incidents == ["prod-east/11/failed"])
    }
}
