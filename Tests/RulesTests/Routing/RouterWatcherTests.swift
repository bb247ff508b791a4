import ConfigModel
import Foundation
import ObshellModel
import Routing
import Testing
import Tracker

@Suite("Router: the watcher's own events")
struct RouterWatcherTests {
    typealias F = RoutingFixtures

    @Test("a stuck receiver is never asked to carry the news of its own failure; another rule's receiver is")
    func stuckReceiverIsSpared() throws {
        let router = F.router([
            try F.rule("watcher", types: .only([.watcherDegraded, .watcherRecovered]), notify: ["chat", "mail"])
        ])
        var state = RouterState()
        let now = try F.time(F.baseText)
        var health = WatcherHealth()
        let identity = TargetIdentity(name: "obwatch")
        let degraded = health.update(
            problems: [WatcherProblem(kind: .receiverStuck("chat"), detail: "receiver chat is stuck")],
            at: now,
            identity: identity
        )
        #expect(degraded.first?.degradedReceivers == ["chat"])
        let result = router.route(degraded, at: now, state: &state)
        #expect(result.events.first?.routes == [Event.Route(rule: "watcher", receivers: ["mail"])])
        #expect(result.notifications.map(\.receiver) == ["mail"])

        // Recovered: it goes where the degraded event went, and to the rules' receivers (chat works again).
        let later = now.adding(.seconds(60))
        let recovered = health.update(problems: [], at: later, identity: identity)
        let closing = router.route(recovered, at: later, state: &state)
        #expect(closing.events.first?.type == .watcherRecovered)
        #expect(Set(closing.notifications.map(\.receiver)) == ["chat", "mail"])
    }
}
