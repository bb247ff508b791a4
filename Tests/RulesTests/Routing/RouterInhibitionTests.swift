import ConfigModel
import ObshellModel
import Routing
import Testing
import Tracker

@Suite("Router: inhibition")
struct RouterInhibitionTests {
    typealias F = RoutingFixtures

    private func failedInhibitsRouter() throws -> Router {
        F.router(
            [try F.rule("chat", notify: ["chat"])],
            inhibitions: [F.inhibition([.failed], suppress: [.nodeFailed, .stalled])]
        )
    }

    @Test("a node_failed that comes before its failed in the same observation is suppressed; the source is not")
    func sameObservation() throws {
        let router = try self.failedInhibitsRouter()
        let now = try F.time(F.baseText)
        var state = RouterState()
        let result = router.route(
            [F.event(.stageAdvanced, at: now), F.event(.nodeFailed, at: now), F.event(.failed, at: now)],
            at: now,
            state: &state
        )
        #expect(result.events.map { F.receivers(of: "chat", in: $0) } == [["chat"], [], ["chat"]])
        #expect(result.notifications.count == 1)
        #expect(result.notifications.first?.events.map(\.type) == [.stageAdvanced, .failed])
    }

    @Test("later observations of the same target and DAG stay suppressed until a resolved event of the incident")
    func laterObservationsUntilResolved() throws {
        let router = try self.failedInhibitsRouter()
        var state = RouterState()
        let start = try F.time(F.baseText)
        _ = router.route([F.event(.failed, at: start)], at: start, state: &state)

        let later = start.adding(.seconds(60))
        let suppressed = router.route(
            [F.event(.stalled, at: later), F.event(.nodeFailed, at: later), F.event(.stageAdvanced, at: later)],
            at: later,
            state: &state
        )
        #expect(suppressed.events.map { F.receivers(of: "chat", in: $0) } == [[], [], ["chat"]])

        let resolvedAt = start.adding(.seconds(120))
        let retried = router.route([F.event(.retried, at: resolvedAt)], at: resolvedAt, state: &state)
        #expect(F.receivers(of: "chat", in: try #require(retried.events.first)) == ["chat"])

        let after = start.adding(.seconds(180))
        let free = router.route([F.event(.nodeFailed, at: after)], at: after, state: &state)
        #expect(F.receivers(of: "chat", in: try #require(free.events.first)) == ["chat"])
    }

    @Test("another DAG and another target are not affected")
    func otherDagUnaffected() throws {
        let router = try self.failedInhibitsRouter()
        var state = RouterState()
        let now = try F.time(F.baseText)
        let result = router.route(
            [
                F.event(.failed, at: now, dag: "11"),
                F.event(.nodeFailed, at: now, dag: "12"),
                F.event(.nodeFailed, at: now, target: "prod-west", dag: "11"),
                F.event(.nodeFailed, at: now, dag: "11"),
            ],
            at: now,
            state: &state
        )
        #expect(result.events.map { F.receivers(of: "chat", in: $0) } == [["chat"], ["chat"], ["chat"], []])
    }

    @Test("target_down inhibits its types on every DAG of the target until target_up")
    func targetDownSource() throws {
        let router = F.router(
            [try F.rule("chat", notify: ["chat"])],
            inhibitions: [F.inhibition([.targetDown], suppress: [.failed, .stalled])]
        )
        var state = RouterState()
        let now = try F.time(F.baseText)
        let down = router.route(
            [
                F.event(.stalled, at: now, dag: "11"),
                F.event(.targetDown, at: now, dag: nil),
                F.event(.failed, at: now, target: "prod-west"),
            ],
            at: now,
            state: &state
        )
        #expect(down.events.map { F.receivers(of: "chat", in: $0) } == [[], ["chat"], ["chat"]])

        let later = now.adding(.seconds(30))
        let during = router.route(
            [F.event(.failed, at: later, dag: "12"), F.event(.nodeFailed, at: later, dag: "12")],
            at: later,
            state: &state
        )
        #expect(during.events.map { F.receivers(of: "chat", in: $0) } == [[], ["chat"]])

        let upAt = now.adding(.seconds(60))
        let up = router.route(
            [F.event(.targetUp, at: upAt, dag: nil), F.event(.failed, at: upAt, dag: "13")],
            at: upAt,
            state: &state
        )
        #expect(up.events.map { F.receivers(of: "chat", in: $0) } == [["chat"], ["chat"]])
    }

    @Test("an incident is tracked even when no rule routes its source event")
    func trackedWithoutRoute() throws {
        let router = F.router(
            [try F.rule("nodes", types: .only([.nodeFailed]), notify: ["chat"])],
            inhibitions: [F.inhibition([.failed], suppress: [.nodeFailed])]
        )
        var state = RouterState()
        let now = try F.time(F.baseText)
        let first = router.route([F.event(.failed, at: now)], at: now, state: &state)
        #expect(first.events.first?.routes == [])
        let later = now.adding(.seconds(5))
        let second = router.route([F.event(.nodeFailed, at: later)], at: later, state: &state)
        #expect(second.events.first?.routes == [Event.Route(rule: "nodes", receivers: [])])
        #expect(second.notifications.isEmpty)
    }

    @Test("sources of one incident never suppress each other; the other suppressed types of the DAG are")
    func sourceNeverSuppressesItself() throws {
        let router = F.router(
            [try F.rule("chat", notify: ["chat"])],
            inhibitions: [F.inhibition([.nodeFailed], suppress: [.nodeFailed, .failed])]
        )
        var state = RouterState()
        let now = try F.time(F.baseText)
        let result = router.route(
            [
                F.event(.nodeFailed, at: now, id: "node-14"),
                F.event(.nodeFailed, at: now, id: "node-15"),
                F.event(.failed, at: now),
            ],
            at: now,
            state: &state
        )
        #expect(result.events.map { F.receivers(of: "chat", in: $0) } == [["chat"], ["chat"], []])
    }

    @Test("a resolved event between an event and a later source means that source does not reach back")
    func resolvedInBetweenStopsLookahead() throws {
        let router = try self.failedInhibitsRouter()
        var state = RouterState()
        let now = try F.time(F.baseText)
        let result = router.route(
            [
                F.event(.nodeFailed, at: now, id: "first-episode-node"),
                F.event(.retried, at: now),
                F.event(.failed, at: now, id: "second-episode-failed"),
            ],
            at: now,
            state: &state
        )
        #expect(result.events.map { F.receivers(of: "chat", in: $0) } == [["chat"], ["chat"], ["chat"]])
        // The second episode's failed is open now.
        let later = now.adding(.seconds(5))
        let next = router.route([F.event(.nodeFailed, at: later)], at: later, state: &state)
        #expect(F.receivers(of: "chat", in: try #require(next.events.first)) == [])
    }

    @Test("the resolved event that closes a source incident is never held back by it")
    func resolvedNotSuppressedByItsOwnIncident() throws {
        let router = F.router(
            [try F.rule("chat", notify: ["chat"])],
            inhibitions: [F.inhibition([.failed], suppress: [.retried, .succeeded])]
        )
        var state = RouterState()
        let now = try F.time(F.baseText)
        _ = router.route([F.event(.failed, at: now)], at: now, state: &state)
        let later = now.adding(.seconds(5))
        let result = router.route([F.event(.retried, at: later)], at: later, state: &state)
        #expect(F.receivers(of: "chat", in: try #require(result.events.first)) == ["chat"])
    }
}
