import ConfigModel
import Foundation
import ObshellModel
import Routing
import Testing
import Tracker

@Suite("Router: acknowledgements and run-time silences")
struct RouterAcknowledgeTests {
    typealias F = RoutingFixtures

    private func router() throws -> Router {
        F.router([
            try F.rule("chat-all", notify: ["chat"]),
            try F.rule("page-hourly", types: .only([.nodeFailed, .failed]), notify: ["pager"], repeat: .seconds(3600)),
        ])
    }

    @Test("ack stops the reminders, tells the paging receivers only, and later events still route")
    func acknowledgeStopsReminders() throws {
        let router = try self.router()
        var state = RouterState()
        let start = try F.time(F.baseText)
        let failed = F.event(.failed, at: start, id: "failed-1")
        _ = router.route([failed], at: start, state: &state)
        let incident = try #require(failed.incident)
        let at = start.adding(.seconds(60))

        let outcome = router.acknowledge(
            incident: incident,
            by: "me",
            at: at,
            pagingReceivers: ["pager"],
            state: &state
        )
        guard case .acknowledged(let result) = outcome else {
            Issue.record("not acknowledged: \(outcome)")
            return
        }
        #expect(result.notifications.map(\.receiver) == ["pager"])
        #expect(result.notifications.first?.acknowledgedBy == "me")
        #expect(result.notifications.first?.events.map(\.id) == ["failed-1/ack"])
        #expect(result.notifications.first?.incidents == [incident])
        #expect(router.nextDeadline(in: state) == nil)
        let later = router.tick(at: start.adding(.seconds(3 * 3600)), state: &state)
        #expect(later.events.isEmpty)

        // A later firing event of the incident is still sent, without restarting the reminders.
        let again = start.adding(.seconds(4 * 3600))
        let routed = router.route([F.event(.failed, at: again, id: "failed-2")], at: again, state: &state)
        #expect(routed.notifications.map(\.receiver) == ["chat", "pager"])
        #expect(router.nextDeadline(in: state) == nil)
        #expect(
            router.acknowledge(incident: incident, by: "me", at: again, pagingReceivers: [], state: &state)
                == .alreadyAcknowledged
        )

        // The state survives a save and a load.
        let saved = try JSONEncoder().encode(state)
        #expect(try JSONDecoder().decode(RouterState.self, from: saved) == state)

        // A resolution closes it: acknowledging it now says it is not open.
        let end = start.adding(.seconds(5 * 3600))
        _ = router.route([F.event(.retried, at: end)], at: end, state: &state)
        #expect(
            router.acknowledge(incident: incident, by: "me", at: end, pagingReceivers: [], state: &state) == .notOpen
        )
        #expect(state.acknowledged.isEmpty)
    }

    @Test("open incident details: latest event, receivers, the reminder due, and acknowledgement; gone once resolved")
    func openIncidentDetails() throws {
        let router = try self.router()
        var state = RouterState()
        let start = try F.time(F.baseText)
        let failed = F.event(.failed, at: start, id: "failed-1")
        _ = router.route([failed], at: start, state: &state)
        let incident = try #require(failed.incident)

        let open = try #require(state.openIncidentDetails.first { $0.incident == incident })
        #expect(open.latest?.id == "failed-1")
        #expect(open.latest?.routes == nil)
        #expect(open.receivers == ["chat", "pager"])
        #expect(open.target == failed.target.name)
        #expect(open.acknowledged == false)
        #expect(open.nextReminder == start.adding(.seconds(3600)))

        _ = router.acknowledge(incident: incident, by: "me", at: start, pagingReceivers: ["pager"], state: &state)
        let acknowledged = try #require(state.openIncidentDetails.first { $0.incident == incident })
        #expect(acknowledged.acknowledged)
        #expect(acknowledged.nextReminder == nil)

        let end = start.adding(.seconds(600))
        _ = router.route([F.event(.retried, at: end)], at: end, state: &state)
        #expect(state.openIncidentDetails.contains { $0.incident == incident } == false)
    }

    @Test("a run-time silence holds from startsAt until its end or its expiry, and no longer")
    func runtimeSilenceWindow() throws {
        let router = try self.router()
        let start = try F.time(F.baseText)
        var silence = RuntimeSilence(
            id: "s1",
            matchers: RuntimeSilence.Matchers(target: F.event(.failed, at: start).target.name),
            startsAt: start,
            endsAt: start.adding(.seconds(3600)),
            createdBy: "me",
            comment: "upgrade",
            createdAt: start
        )
        func receivers(at instant: ObshellTime, _ silence: RuntimeSilence) throws -> [String] {
            var state = RouterState()
            let silenced = router.adding(silences: [try silence.asSilence()])
            let result = silenced.route([F.event(.failed, at: instant)], at: instant, state: &state)
            return result.notifications.map(\.receiver)
        }
        #expect(try receivers(at: start.adding(.seconds(60)), silence).isEmpty)
        #expect(try receivers(at: start.adding(.seconds(3600)), silence) == ["chat", "pager"])
        silence.expiredAt = start.adding(.seconds(120))
        #expect(silence.state(at: start.adding(.seconds(60))) == .active)
        #expect(silence.state(at: start.adding(.seconds(120))) == .expired)
        #expect(try receivers(at: start.adding(.seconds(121)), silence) == ["chat", "pager"])
        #expect(router.silences.isEmpty)
    }
}
