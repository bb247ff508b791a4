import ConfigModel
import ObshellModel
import Routing
import Testing
import Tracker

@Suite("Router: a catch-all rule sees every stall and its resumption")
struct RouterCatchAllStallTests {
    typealias F = RoutingFixtures

    private func auditRouter() throws -> Router {
        F.router([
            try F.rule("fast-stalls", types: .only([.stalled]), notify: ["oncall"], after: "20s"),
            try F.rule("default-stalls", types: .only([.stalled]), notify: ["chat"]),
            try F.rule("audit", notify: ["audit-log"]),
        ])
    }

    @Test("thresholds in use: the default first, then each rule's after:, each once")
    func thresholdsInUse() throws {
        let router = F.router([
            try F.rule("a", types: .only([.stalled]), notify: ["x"], after: "20s"),
            try F.rule("b", notify: ["x"], after: "30m"),
            try F.rule("c", types: .only([.stalled]), notify: ["x"], after: "20s"),
            try F.rule("d", types: .only([.stalled]), notify: ["x"], after: "1h"),
        ])
        #expect(router.thresholdsInUse.map(\.text) == ["30m", "20s", "1h"])
    }

    @Test("which rule receives stalled at which threshold")
    func receivesStalled() throws {
        let router = try self.auditRouter()
        let rules = Dictionary(uniqueKeysWithValues: router.rules.map { ($0.name, $0) })
        let fast = try #require(rules["fast-stalls"])
        let explicit = try #require(rules["default-stalls"])
        let audit = try #require(rules["audit"])
        #expect(router.receivesStalled(rule: fast, threshold: "20s"))
        #expect(!router.receivesStalled(rule: fast, threshold: "30m"))
        #expect(router.receivesStalled(rule: explicit, threshold: "30m"))
        #expect(!router.receivesStalled(rule: explicit, threshold: "20s"))
        #expect(router.receivesStalled(rule: audit, threshold: "30m"))
        #expect(router.receivesStalled(rule: audit, threshold: "20s"))
        #expect(!router.receivesStalled(rule: audit, threshold: "2h"))
        #expect(audit.acceptsEveryEventType && !fast.acceptsEveryEventType)

        let hourlyAudit = try F.rule("hourly-audit", notify: ["audit-log"], after: "1h")
        #expect(!router.receivesStalled(rule: hourlyAudit, threshold: "30m"))
        #expect(!router.receivesStalled(rule: hourlyAudit, threshold: "20s"))
        #expect(router.receivesStalled(rule: hourlyAudit, threshold: "1h"))
    }

    @Test("a catch-all rule gets the 20s and the 30m stalled, and the resumed once")
    func catchAllGetsEveryStallAndTheResumed() throws {
        let router = try self.auditRouter()
        var state = RouterState()
        let start = try F.time(F.baseText)

        let fastStall = F.event(.stalled, at: start, threshold: "20s")
        let first = router.route([fastStall], at: start, state: &state)
        #expect(
            first.events.first?.routes == [
                Event.Route(rule: "fast-stalls", receivers: ["oncall"]),
                Event.Route(rule: "audit", receivers: ["audit-log"]),
            ]
        )
        #expect(first.notifications.map(\.receiver) == ["oncall", "audit-log"])

        let halfHour = start.adding(.seconds(1780))
        let defaultStall = F.event(.stalled, at: halfHour, threshold: "30m")
        let second = router.route([defaultStall], at: halfHour, state: &state)
        #expect(
            second.events.first?.routes == [
                Event.Route(rule: "default-stalls", receivers: ["chat"]),
                Event.Route(rule: "audit", receivers: ["audit-log"]),
            ]
        )
        #expect(second.notifications.map(\.receiver) == ["chat", "audit-log"])

        let later = halfHour.adding(.seconds(60))
        let third = router.route([F.event(.resumed, at: later)], at: later, state: &state)
        #expect(
            third.events.first?.routes == [
                Event.Route(rule: "fast-stalls", receivers: ["oncall"]),
                Event.Route(rule: "default-stalls", receivers: ["chat"]),
                Event.Route(rule: "audit", receivers: ["audit-log"]),
            ]
        )
        #expect(third.notifications.map(\.receiver) == ["oncall", "chat", "audit-log"])
        #expect(third.notifications.allSatisfy { $0.status == .resolved && $0.events.count == 1 })

        let audited = (first.notifications + second.notifications + third.notifications)
            .filter { $0.receiver == "audit-log" }
            .flatMap(\.events)
        #expect(audited.map(\.type) == [.stalled, .stalled, .resumed])
        #expect(audited.map(\.threshold) == ["20s", "30m", nil])
        #expect(state.isEmpty)
    }

    @Test("a catch-all rule that also names the receiver of a threshold rule sends each stall there once")
    func catchAllAndThresholdRuleShareAReceiver() throws {
        let router = F.router([
            try F.rule("fast-stalls", types: .only([.stalled]), notify: ["oncall"], after: "20s"),
            try F.rule("audit", notify: ["oncall"]),
        ])
        var state = RouterState()
        let start = try F.time(F.baseText)
        let first = router.route([F.event(.stalled, at: start, threshold: "20s")], at: start, state: &state)
        #expect(first.notifications.map(\.rules) == [["fast-stalls", "audit"]])
        let halfHour = start.adding(.seconds(1780))
        let second = router.route([F.event(.stalled, at: halfHour, threshold: "30m")], at: halfHour, state: &state)
        #expect(second.notifications.map(\.rules) == [["audit"]])
        let later = halfHour.adding(.seconds(60))
        let third = router.route([F.event(.resumed, at: later)], at: later, state: &state)
        #expect(third.notifications.map(\.receiver) == ["oncall"])
        #expect(third.notifications.map(\.rules) == [["fast-stalls", "audit"]])
    }
}
