import Foundation
import ObshellModel
import Testing
import Tracker

/// `watcher_degraded` and `watcher_recovered`: obwatch's own health, as problems come and go.
struct WatcherHealthTests {
    static let obwatch = TargetIdentity(name: "obwatch", labels: ["host": "mon-1"])
    static let unsaved = WatcherProblem(
        kind: .stateUnsaved,
        detail: "state cannot be saved in /var/lib/obwatch (read-only file system)"
    )
    static let chatStuck = WatcherProblem(
        kind: .receiverStuck("db-chat"),
        detail: "receiver db-chat has had a notification undelivered for 12m"
    )
    static let pagerStuck = WatcherProblem(
        kind: .receiverStuck("pager"),
        detail: "receiver pager has had a notification undelivered for 10m"
    )
    static let blind = WatcherProblem(kind: .allTargetsFailing, detail: "the polls of all 3 targets fail")

    @Test func healthyStaysQuiet() {
        var health = WatcherHealth()
        #expect(health.update(problems: [], at: Fixture.time(0), identity: Self.obwatch).isEmpty)
        #expect(!health.isDegraded && health.episodes == 0)
    }

    @Test func degradedOnceThenRecovered() throws {
        var health = WatcherHealth()
        let degraded = health.update(
            problems: [Self.unsaved, Self.chatStuck],
            at: Fixture.time(0),
            identity: Self.obwatch
        )
        #expect(degraded.types == [.watcherDegraded])
        let event = try #require(degraded.first)
        #expect(event.status == .firing && event.severity == .critical)
        #expect(event.incident == "obwatch/watcher/degraded")
        #expect(event.target.name == "obwatch" && event.target.labels == ["host": "mon-1"])
        #expect(event.dag == nil && event.at == Fixture.time(0))
        #expect(event.id == EventID.make(["obwatch", "", "watcher_degraded", "1"]))
        #expect(
            event.summary
                == "obwatch is degraded: state cannot be saved in /var/lib/obwatch (read-only file system); "
                + "receiver db-chat has had a notification undelivered for 12m"
        )
        #expect(event.degradedReceivers == ["db-chat"])
        #expect(event.jsonLine().contains(#""degraded_receivers":["db-chat"],"summary":"#))

        // The same problems, with details that moved on, are no news.
        let later = WatcherProblem(kind: .receiverStuck("db-chat"), detail: "undelivered for 20m")
        #expect(health.update(problems: [Self.unsaved, later], at: Fixture.time(60), identity: Self.obwatch).isEmpty)
        // One clears while the other remains: still no news.
        #expect(health.update(problems: [later], at: Fixture.time(120), identity: Self.obwatch).isEmpty)
        #expect(health.isDegraded)

        let recovered = health.update(problems: [], at: Fixture.time(180), identity: Self.obwatch)
        #expect(recovered.types == [.watcherRecovered])
        let end = try #require(recovered.first)
        #expect(end.status == .resolved && end.severity == .info)
        #expect(end.incident == "obwatch/watcher/degraded" && end.at == Fixture.time(180))
        #expect(end.id == EventID.make(["obwatch", "", "watcher_recovered", "1"]))
        #expect(end.degradedReceivers == nil)
        #expect(!end.jsonLine().contains("degraded_receivers"))
        #expect(health.update(problems: [], at: Fixture.time(240), identity: Self.obwatch).isEmpty)
    }

    @Test func aNewKindWhileDegradedFiresAgainInTheSameIncident() throws {
        var health = WatcherHealth()
        let first = health.update(problems: [Self.blind], at: Fixture.time(0), identity: Self.obwatch)
        #expect(first.first?.degradedReceivers == nil)
        let second = health.update(problems: [Self.blind, Self.chatStuck], at: Fixture.time(5), identity: Self.obwatch)
        let third = health.update(
            problems: [Self.blind, Self.chatStuck, Self.pagerStuck],
            at: Fixture.time(10),
            identity: Self.obwatch
        )
        #expect(second.types == [.watcherDegraded] && third.types == [.watcherDegraded])
        #expect(second.first?.id == EventID.make(["obwatch", "", "watcher_degraded", "1/2"]))
        #expect(third.first?.id == EventID.make(["obwatch", "", "watcher_degraded", "1/3"]))
        #expect(Set((first + second + third).map(\.incident)) == ["obwatch/watcher/degraded"])
        #expect(third.first?.degradedReceivers == ["db-chat", "pager"])
        // A kind that cleared and comes back within the episode is news again.
        #expect(health.update(problems: [Self.chatStuck], at: Fixture.time(15), identity: Self.obwatch).isEmpty)
        let back = health.update(problems: [Self.chatStuck, Self.blind], at: Fixture.time(20), identity: Self.obwatch)
        #expect(back.first?.id == EventID.make(["obwatch", "", "watcher_degraded", "1/4"]))
    }

    @Test func aSecondEpisodeHasItsOwnIdsAndSurvivesARestart() throws {
        var health = WatcherHealth()
        let firstDown = health.update(problems: [Self.unsaved], at: Fixture.time(0), identity: Self.obwatch)
        let firstUp = health.update(problems: [], at: Fixture.time(5), identity: Self.obwatch)
        // Saved and restored between the episodes, as the daemon keeps it.
        health = try JSONDecoder().decode(WatcherHealth.self, from: JSONEncoder().encode(health))
        let secondDown = health.update(
            problems: [Self.unsaved, Self.unsaved],
            at: Fixture.time(10),
            identity: Self.obwatch
        )
        let secondUp = health.update(problems: [], at: Fixture.time(15), identity: Self.obwatch)
        let all = firstDown + firstUp + secondDown + secondUp
        #expect(all.types == [.watcherDegraded, .watcherRecovered, .watcherDegraded, .watcherRecovered])
        #expect(Set(all.map(\.id)).count == 4)
        #expect(secondDown.first?.id == EventID.make(["obwatch", "", "watcher_degraded", "2"]))
        // A kind given twice counts once.
        #expect(secondDown.first?.summary == "obwatch is degraded: " + Self.unsaved.detail)
        #expect(health.episodes == 2)
    }

    @Test func problemsKeepTheirOrderAndStuckReceiversAreSorted() throws {
        var health = WatcherHealth()
        let events = health.update(
            problems: [Self.pagerStuck, Self.chatStuck],
            at: Fixture.time(0),
            identity: Self.obwatch
        )
        let event = try #require(events.first)
        #expect(event.summary == "obwatch is degraded: " + Self.pagerStuck.detail + "; " + Self.chatStuck.detail)
        #expect(event.degradedReceivers == ["db-chat", "pager"])
        #expect(health.problems.map(\.kind) == [.receiverStuck("pager"), .receiverStuck("db-chat")])
    }
}
