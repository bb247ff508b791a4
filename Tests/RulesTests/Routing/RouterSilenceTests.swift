import ConfigModel
import Foundation
import ObshellModel
import Routing
import Testing
import Tracker

@Suite("Router: silences")
struct RouterSilenceTests {
    typealias F = RoutingFixtures

    /// Routes one `failed` at `now` and returns its route through the `chat` rule and the notification count.
    private func send(_ router: Router, at text: String, target: String = "prod-east") throws -> ([String], Int) {
        let now = try F.time(text)
        var state = RouterState()
        let result = router.route([F.event(.failed, at: now, target: target)], at: now, state: &state)
        let routed = try #require(result.events.first)
        return (try #require(F.receivers(of: "chat", in: routed)), result.notifications.count)
    }

    @Test("an absolute window compares instants whatever their offsets: from inclusive, until exclusive")
    func absoluteWindowWithOffsets() throws {
        let router = F.router(
            [try F.rule("chat", notify: ["chat"])],
            silences: [
                try F.silence(
                    target: "prod-east",
                    from: "2026-12-01T02:00:00+08:00",
                    until: "2026-12-01T04:00:00+08:00"
                )
            ]
        )
        // 2026-12-01T02:00:00+08:00 is 2026-11-30T18:00:00Z.
        #expect(try self.send(router, at: "2026-11-30T17:59:59.999999999Z") == (["chat"], 1))
        #expect(try self.send(router, at: "2026-11-30T18:00:00Z") == ([], 0))
        #expect(try self.send(router, at: "2026-12-01T03:30:00+08:00") == ([], 0))
        #expect(try self.send(router, at: "2026-11-30T15:59:59.999999999-04:00") == ([], 0))
        #expect(try self.send(router, at: "2026-11-30T20:00:00Z") == (["chat"], 1))
        #expect(try self.send(router, at: "2026-12-01T04:00:00+08:00") == (["chat"], 1))
        // The silence matches only its target.
        #expect(try self.send(router, at: "2026-11-30T18:30:00Z", target: "prod-west") == (["chat"], 1))
    }

    @Test("the silence is read at the routing instant, not at the event's own time")
    func silenceReadAtNow() throws {
        let router = F.router(
            [try F.rule("chat", notify: ["chat"])],
            silences: [
                try F.silence(target: "*", from: "2026-12-01T02:00:00+08:00", until: "2026-12-01T04:00:00+08:00")
            ]
        )
        let eventTime = try F.time("2026-12-01T01:00:00+08:00")
        let now = try F.time("2026-12-01T02:30:00+08:00")
        var state = RouterState()
        let result = router.route([F.event(.failed, at: eventTime)], at: now, state: &state)
        #expect(result.events.first?.routes == [Event.Route(rule: "chat", receivers: [])])
        #expect(result.notifications.isEmpty)
    }

    @Test("a weekly window keeps its local hours across the March 2026 daylight-saving change in New York")
    func weeklyWindowAcrossDST() throws {
        let zone = try #require(TimeZone(identifier: "America/New_York"))
        let window = WeeklyWindow(weekdays: [1], startMinute: 60, endMinute: 180, timeZone: zone)
        let router = F.router(
            [try F.rule("chat", notify: ["chat"])],
            silences: [Silence(matcher: EventMatcher(), window: .weekly(window), mark: F.mark)]
        )
        // Sunday 1 March 2026, EST (UTC-5): the window is 06:00Z to 08:00Z.
        #expect(try self.send(router, at: "2026-03-01T05:59:59Z") == (["chat"], 1))
        #expect(try self.send(router, at: "2026-03-01T06:00:00Z") == ([], 0))
        #expect(try self.send(router, at: "2026-03-01T07:59:59Z") == ([], 0))
        #expect(try self.send(router, at: "2026-03-01T08:00:00Z") == (["chat"], 1))
        // Sunday 8 March 2026: clocks jump from 02:00 EST to 03:00 EDT, so the window closes at 07:00Z.
        #expect(try self.send(router, at: "2026-03-08T06:30:00Z") == ([], 0))
        #expect(try self.send(router, at: "2026-03-08T07:00:00Z") == (["chat"], 1))
        // Sunday 15 March 2026, EDT (UTC-4): still local 01:00 to 03:00, now 05:00Z to 07:00Z.
        #expect(try self.send(router, at: "2026-03-15T04:59:59Z") == (["chat"], 1))
        #expect(try self.send(router, at: "2026-03-15T05:00:00Z") == ([], 0))
        #expect(try self.send(router, at: "2026-03-15T01:30:00-04:00") == ([], 0))
        #expect(try self.send(router, at: "2026-03-15T06:59:59Z") == ([], 0))
        #expect(try self.send(router, at: "2026-03-15T07:00:00Z") == (["chat"], 1))
        // Not on a Monday.
        #expect(try self.send(router, at: "2026-03-16T05:30:00Z") == (["chat"], 1))
    }

    @Test("a weekly window that crosses midnight belongs to the day it starts on")
    func weeklyWindowAcrossMidnight() throws {
        let zone = try #require(TimeZone(identifier: "Asia/Shanghai"))
        // Saturday 22:00 to Sunday 02:00, Shanghai time.
        let window = WeeklyWindow(weekdays: [7], startMinute: 22 * 60, endMinute: 2 * 60, timeZone: zone)
        let router = F.router(
            [try F.rule("chat", notify: ["chat"])],
            silences: [Silence(matcher: EventMatcher(), window: .weekly(window), mark: F.mark)]
        )
        // 5 December 2026 is a Saturday.
        #expect(try self.send(router, at: "2026-12-05T21:59:59+08:00") == (["chat"], 1))
        #expect(try self.send(router, at: "2026-12-05T22:00:00+08:00") == ([], 0))
        #expect(try self.send(router, at: "2026-12-05T23:59:59+08:00") == ([], 0))
        #expect(try self.send(router, at: "2026-12-06T00:00:00+08:00") == ([], 0))
        #expect(try self.send(router, at: "2026-12-05T17:30:00Z") == ([], 0))
        #expect(try self.send(router, at: "2026-12-06T02:00:00+08:00") == (["chat"], 1))
        // Sunday evening is not a Saturday window, and Saturday morning is not a Friday one.
        #expect(try self.send(router, at: "2026-12-06T23:00:00+08:00") == (["chat"], 1))
        #expect(try self.send(router, at: "2026-12-05T01:00:00+08:00") == (["chat"], 1))
    }

    @Test("a silence matching some events leaves the others alone, in the same observation")
    func silencePerEvent() throws {
        let now = try F.time("2026-12-01T03:00:00+08:00")
        let silence = Silence(
            matcher: EventMatcher(types: .only([.nodeFailed])),
            window: .absolute(
                from: try F.time("2026-12-01T02:00:00+08:00"),
                until: try F.time("2026-12-01T04:00:00+08:00")
            ),
            mark: F.mark
        )
        let router = F.router([try F.rule("chat", notify: ["chat"])], silences: [silence])
        var state = RouterState()
        let result = router.route(
            [F.event(.nodeFailed, at: now), F.event(.failed, at: now)],
            at: now,
            state: &state
        )
        #expect(result.events.map { F.receivers(of: "chat", in: $0) } == [[], ["chat"]])
        #expect(result.notifications.count == 1)
        #expect(result.notifications.first?.events.map(\.type) == [.failed])
    }
}
