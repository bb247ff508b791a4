import ConfigModel
import Foundation
import Logging
import ObshellModel
import ObwatchTestKit
import PeerSupport
import Pipeline
import Testing
import Tracker

@testable import ObwatchApp

@Suite("Run-time silences: the book")
struct SilenceBookTests {
    @Test("a silence ends by itself at endsAt: routing stops at once, the tick audits it to syslog, it stays listed")
    func endsByItself() async throws {
        let folder = try temporaryFolder("obwatch-silence-book")
        defer { try? FileManager.default.removeItem(at: folder) }
        let socketPath = folder.appendingPathComponent("syslog.sock").path
        try await withPeer(try SyslogSocketPeer.launch(path: socketPath)) { syslog, _ in
            let clock = ManualClock(wallStart: Date(timeIntervalSince1970: 1_800_000_000))
            let audit = AuditTrail(logger: Logger(label: "test"), hostname: "test-host")
            audit.use([
                ReceiverConfig(
                    name: "audit",
                    kind: .syslog(SyslogSettings(address: .unix(path: socketPath), format: .rfc5424, facility: 16)),
                    delivery: DeliverySettings(),
                    mark: SourcePosition(file: "test", line: 1, column: 1)
                )
            ])
            let storage = LocalSilenceFile(directory: folder, clock: clock)
            let book = SilenceBook(storage: storage, audit: audit, clock: clock, logger: Logger(label: "test"))
            let now = ObshellTime(date: clock.wallNow)
            let silence = RuntimeSilence(
                id: "s1",
                matchers: RuntimeSilence.Matchers(target: "prod-east", events: [.stalled]),
                startsAt: now,
                endsAt: now.adding(.seconds(2)),
                createdBy: "me",
                comment: "upgrade",
                createdAt: now
            )
            try await book.add(silence)
            let created = try await SyslogSocketPeer.record(containing: "silence_created", from: syslog)
            #expect(created.hasPrefix("<133>1 "), "\(created)")
            #expect(created.contains(#"matchers="target=prod-east event=stalled""#), "\(created)")
            #expect(book.routerSilences.count == 1)

            // Another book on the same folder (a restart) finds it.
            let reloaded = SilenceBook(storage: storage, audit: audit, clock: clock, logger: Logger(label: "test"))
            try await reloaded.load()
            #expect(reloaded.all.map(\.id) == ["s1"])

            clock.advance(by: .seconds(2))
            #expect(silence.state(at: ObshellTime(date: clock.wallNow)) == .expired)
            await book.tick()
            let ended = try await SyslogSocketPeer.record(containing: "silence_expired", from: syslog)
            #expect(ended.contains(#"id="s1""#) && ended.contains(#"expired_by="time""#), "\(ended)")
            #expect(book.all.map(\.id) == ["s1"])

            // A day later it is forgotten.
            clock.advance(by: SilenceBook.keptAfterEnd + .seconds(1))
            await book.tick()
            #expect(book.all.isEmpty)
            #expect(try await storage.loadSilences().isEmpty)
        }
    }

    @Test("the API refuses a write without the write token (401), with none configured (403), and bad bodies (400)")
    func writeRules() async throws {
        let folder = try temporaryFolder("obwatch-silence-api")
        defer { try? FileManager.default.removeItem(at: folder) }
        let clock = ManualClock(wallStart: Date(timeIntervalSince1970: 1_800_000_000))
        let book = SilenceBook(
            storage: LocalSilenceFile(directory: folder, clock: clock),
            audit: AuditTrail(logger: Logger(label: "test")),
            clock: clock,
            logger: Logger(label: "test")
        )
        var routes = StatusRoutes(
            metrics: DaemonMetrics(),
            readiness: Readiness(targets: []),
            events: EventLog(),
            dags: { [] },
            bearerToken: Secret("reader"),
            writeToken: Secret("writer")
        )
        routes.silences = book
        routes.clock = clock
        let body = Data(
            #"{"matchers":[{"name":"target","value":"prod-*"}],"endsAt":"2027-01-16T08:00:00Z","createdBy":"me","comment":"upgrade"}"#
                .utf8
        )
        func post(_ authorization: String?, _ body: Data) async -> StatusAnswer {
            await routes.answer(
                method: "POST",
                path: "/api/v2/silences",
                since: nil,
                authorization: authorization,
                body: body
            )
        }
        #expect(await post(nil, body).status == 401)
        #expect(await post("Bearer reader", body).status == 401)
        #expect(await post("Bearer writer", Data("{}".utf8)).status == 400)
        let noComment = Data(
            #"{"matchers":[{"name":"target","value":"x"}],"endsAt":"2027-01-16T08:00:00Z","createdBy":"me","comment":" "}"#
                .utf8
        )
        #expect(await post("Bearer writer", noComment).body.contains("comment is required"))
        let created = await post("Bearer writer", body)
        #expect(created.status == 200, "\(created.body)")
        #expect(book.all.count == 1)
        let listed = await routes.answer(
            method: "GET",
            path: "/api/v2/silences",
            since: nil,
            authorization: "Bearer reader"
        )
        #expect(listed.status == 200)
        #expect(listed.body.contains(#""status":{"state":"active"}"#), "\(listed.body)")
        #expect(
            listed.body.contains(#""matchers":[{"name":"target","value":"prod-*","isRegex":false,"isEqual":true}]"#)
        )

        routes.writeToken = nil
        #expect(await post("Bearer writer", body).status == 403)
    }
}
