import ConfigModel
import Foundation
import ObshellModel
import Routing
import Testing
import Tracker

@Suite("Router: repeat reminders")
struct RouterRepeatTests {
    typealias F = RoutingFixtures

    private func repeatingRouter(silences: [Silence] = [], inhibitions: [Inhibition] = []) throws -> Router {
        F.router(
            [
                try F.rule("chat-all", notify: ["chat"]),
                try F.rule(
                    "page-hourly",
                    types: .only([.nodeFailed, .failed]),
                    notify: ["oncall"],
                    repeat: .seconds(3600)
                ),
            ],
            silences: silences,
            inhibitions: inhibitions
        )
    }

    @Test("reminders extend the original id, fall every interval at the original's offset, and use only their rule")
    func remindersEveryInterval() throws {
        let router = try self.repeatingRouter()
        var state = RouterState()
        let start = try F.time(F.baseText)
        let failed = F.event(.failed, at: start, id: "failed-1")
        _ = router.route([failed], at: start, state: &state)
        #expect(router.nextDeadline(in: state) == (try F.time("2026-12-01T11:00:00.123456789+08:00")))

        let early = router.tick(at: try F.time("2026-12-01T02:59:59Z"), state: &state)
        #expect(early.events.isEmpty && early.notifications.isEmpty)

        let first = router.tick(at: try F.time("2026-12-01T03:00:00.2Z"), state: &state)
        let reminder = try #require(first.events.first)
        #expect(first.events.count == 1)
        #expect(reminder.id == "failed-1/r1")
        #expect(reminder.at.text == "2026-12-01T11:00:00.123456789+08:00")
        #expect(reminder.type == .failed)
        #expect(reminder.status == .firing)
        #expect(reminder.incident == failed.incident)
        #expect(reminder.summary == failed.summary)
        #expect(reminder.routes == [Event.Route(rule: "page-hourly", receivers: ["oncall"])])
        #expect(first.notifications.map(\.receiver) == ["oncall"])
        #expect(first.notifications.first?.events == [reminder])
        #expect(first.notifications.first?.rule == "page-hourly")

        let second = router.tick(at: try F.time("2026-12-01T12:00:00.123456789+08:00"), state: &state)
        #expect(second.events.map(\.id) == ["failed-1/r2"])
        #expect(second.events.map(\.at.text) == ["2026-12-01T12:00:00.123456789+08:00"])
        #expect(router.nextDeadline(in: state) == (try F.time("2026-12-01T13:00:00.123456789+08:00")))
    }

    @Test("a tick that jumps several intervals yields every missed reminder once, in time order")
    func missedRemindersOnce() throws {
        let router = try self.repeatingRouter()
        var state = RouterState()
        let start = try F.time(F.baseText)
        _ = router.route([F.event(.failed, at: start, id: "failed-1")], at: start, state: &state)
        let late = router.tick(at: start.adding(.seconds(3 * 3600 + 1800)), state: &state)
        #expect(late.events.map(\.id) == ["failed-1/r1", "failed-1/r2", "failed-1/r3"])
        #expect(
            late.events.map(\.at.text) == [
                "2026-12-01T11:00:00.123456789+08:00",
                "2026-12-01T12:00:00.123456789+08:00",
                "2026-12-01T13:00:00.123456789+08:00",
            ]
        )
        // Without group_wait, the reminders of one tick for one receiver and rule form one notification.
        #expect(late.notifications.count == 1)
        #expect(late.notifications.first?.events.count == 3)
        let again = router.tick(at: start.adding(.seconds(3 * 3600 + 1800)), state: &state)
        #expect(again.events.isEmpty)
    }

    @Test("reminders of several incidents come out in time order")
    func remindersOfSeveralIncidents() throws {
        let router = try self.repeatingRouter()
        var state = RouterState()
        let start = try F.time(F.baseText)
        _ = router.route([F.event(.failed, at: start, dag: "11", id: "a")], at: start, state: &state)
        let later = start.adding(.seconds(1200))
        _ = router.route([F.event(.failed, at: later, dag: "12", id: "b")], at: later, state: &state)
        let result = router.tick(at: start.adding(.seconds(2 * 3600 + 1300)), state: &state)
        #expect(result.events.map(\.id) == ["a/r1", "b/r1", "a/r2", "b/r2"])
        // One notification per (receiver, rule) pair, its events in routing order.
        #expect(result.notifications.count == 1)
        #expect(result.notifications.first?.incidents == ["prod-east/11/failed", "prod-east/12/failed"])
    }

    @Test("a newer firing event of the incident restarts the reminders from itself")
    func latestFiringEventIsReminded() throws {
        let router = try self.repeatingRouter()
        var state = RouterState()
        let start = try F.time(F.baseText)
        _ = router.route([F.event(.nodeFailed, at: start, id: "node")], at: start, state: &state)
        let later = start.adding(.seconds(600))
        _ = router.route([F.event(.failed, at: later, id: "dag")], at: later, state: &state)
        #expect(router.tick(at: start.adding(.seconds(3600)), state: &state).events.isEmpty)
        let result = router.tick(at: later.adding(.seconds(3600)), state: &state)
        #expect(result.events.map(\.id) == ["dag/r1"])
        #expect(result.events.first?.type == .failed)
    }

    @Test("reminders stop when the incident is resolved")
    func stopOnResolve() throws {
        let router = try self.repeatingRouter()
        var state = RouterState()
        let start = try F.time(F.baseText)
        _ = router.route([F.event(.failed, at: start, id: "failed-1")], at: start, state: &state)
        #expect(router.tick(at: start.adding(.seconds(3600)), state: &state).events.count == 1)
        let resolvedAt = start.adding(.seconds(5000))
        let resolved = router.route([F.event(.retried, at: resolvedAt)], at: resolvedAt, state: &state)
        #expect(resolved.events.first.flatMap(F.ruleNames) == ["chat-all", "page-hourly"])
        #expect(router.nextDeadline(in: state) == nil)
        #expect(router.tick(at: start.adding(.seconds(10 * 3600)), state: &state).events.isEmpty)
    }

    @Test("a silence or an inhibition at the reminder's time holds that reminder back, not the next ones")
    func silenceAndInhibitionAtReminderTime() throws {
        let silence = Silence(
            matcher: EventMatcher(),
            window: .absolute(
                from: try F.time("2026-12-01T11:30:00+08:00"),
                until: try F.time("2026-12-01T12:30:00+08:00")
            ),
            mark: F.mark
        )
        let router = try self.repeatingRouter(
            silences: [silence],
            inhibitions: [F.inhibition([.targetDown], suppress: [.failed])]
        )
        var state = RouterState()
        let start = try F.time(F.baseText)
        _ = router.route([F.event(.failed, at: start, id: "f")], at: start, state: &state)
        let result = router.tick(at: start.adding(.seconds(2 * 3600)), state: &state)
        #expect(result.events.map(\.id) == ["f/r1", "f/r2"])
        #expect(result.events.map { F.receivers(of: "page-hourly", in: $0) } == [["oncall"], []])
        #expect(result.notifications.first?.events.map(\.id) == ["f/r1"])

        let downAt = start.adding(.seconds(2 * 3600 + 60))
        _ = router.route([F.event(.targetDown, at: downAt, dag: nil)], at: downAt, state: &state)
        let inhibited = router.tick(at: start.adding(.seconds(3 * 3600)), state: &state)
        #expect(inhibited.events.map { F.receivers(of: "page-hourly", in: $0) } == [[]])
        #expect(inhibited.notifications.isEmpty)
    }

    @Test("nothing is reminded when the firing event was not really sent")
    func noReminderWithoutSend() throws {
        let silence = Silence(
            matcher: EventMatcher(),
            window: .absolute(
                from: try F.time("2026-12-01T09:00:00+08:00"),
                until: try F.time("2026-12-01T11:00:00+08:00")
            ),
            mark: F.mark
        )
        let router = try self.repeatingRouter(silences: [silence])
        var state = RouterState()
        let start = try F.time(F.baseText)
        _ = router.route([F.event(.failed, at: start)], at: start, state: &state)
        #expect(router.nextDeadline(in: state) == nil)
        #expect(router.tick(at: start.adding(.seconds(5 * 3600)), state: &state).events.isEmpty)
    }

    @Test("a reload that drops the rule's repeat ends its reminders")
    func reloadWithoutRepeat() throws {
        var state = RouterState()
        let start = try F.time(F.baseText)
        _ = try self.repeatingRouter().route([F.event(.failed, at: start)], at: start, state: &state)
        let reloaded = F.router([try F.rule("page-hourly", types: .only([.failed]), notify: ["oncall"])])
        #expect(reloaded.nextDeadline(in: state) == nil)
        #expect(reloaded.tick(at: start.adding(.seconds(7200)), state: &state).events.isEmpty)
    }

    @Test("a tiny repeat after a long gap yields at most maximumCatchUpReminders, the latest ones")
    func catchUpIsBounded() throws {
        let router = F.router([try F.rule("noisy", notify: ["chat"], repeat: .seconds(1))])
        var state = RouterState()
        let start = try F.time("2026-12-01T00:00:00Z")
        _ = router.route([F.event(.failed, at: start, id: "f")], at: start, state: &state)
        let result = router.tick(at: start.adding(.seconds(86_400)), state: &state)
        #expect(result.events.count == Router.maximumCatchUpReminders)
        #expect(result.events.first?.id == "f/r86301")
        #expect(result.events.last?.id == "f/r86400")
        #expect(result.events.last?.at.text == "2026-12-02T00:00:00Z")
        #expect(router.nextDeadline(in: state) == (try F.time("2026-12-02T00:00:01Z")))
    }

    @Test("reminders survive a JSON round trip of the state")
    func remindersSurviveRestart() throws {
        let router = try self.repeatingRouter()
        var state = RouterState()
        let start = try F.time(F.baseText)
        _ = router.route([F.event(.failed, at: start, id: "failed-1")], at: start, state: &state)
        _ = router.tick(at: start.adding(.seconds(3600)), state: &state)
        let data = try JSONEncoder().encode(state)
        var restored = try JSONDecoder().decode(RouterState.self, from: data)
        #expect(restored == state)
        let result = router.tick(at: start.adding(.seconds(7200)), state: &restored)
        #expect(result.events.map(\.id) == ["failed-1/r2"])
    }

    @Test("a reminder of a rule with group_wait opens a group counted from the reminder's own time")
    func reminderWithGroupWait() throws {
        let router = F.router([
            try F.rule("page", notify: ["oncall"], repeat: .seconds(3600), groupWait: .seconds(30))
        ])
        var state = RouterState()
        let start = try F.time(F.baseText)
        #expect(router.route([F.event(.failed, at: start, id: "f")], at: start, state: &state).notifications.isEmpty)
        #expect(router.tick(at: start.adding(.seconds(30)), state: &state).notifications.count == 1)
        let due = router.tick(at: start.adding(.seconds(3600)), state: &state)
        #expect(due.events.map(\.id) == ["f/r1"])
        #expect(due.notifications.isEmpty)
        #expect(router.nextDeadline(in: state) == start.adding(.seconds(3630)))
        let sent = router.tick(at: start.adding(.seconds(3630)), state: &state)
        #expect(sent.events.isEmpty)
        #expect(sent.notifications.map { $0.events.map(\.id) } == [["f/r1"]])
        // A tick long after both deadlines sends the reminder's group in the same call that makes it.
        let late = router.tick(at: start.adding(.seconds(7300)), state: &state)
        #expect(late.events.map(\.id) == ["f/r2"])
        #expect(late.notifications.map { $0.events.map(\.id) } == [["f/r2"]])
    }
}
