import Foundation
import ObwatchTestKit
import PeerSupport
import PostgresStore
import Simulator
import Testing
import Tracker

#if canImport(Glibc)
import Glibc
#endif

@Suite(
    "obwatch run, migrate and check with store: postgres",
    .serialized,
    .enabled(if: PostgresServer.isAvailable, "\(PostgresServer.unavailableReason)")
)
struct PostgresRunTests {
    /// What one run of the scenario left: the events it printed and its standard error.
    struct Run {
        var events: [PrintedEvent]
        var standardError: String
    }

    /// The config of a run: the simulator as its one target, the status API on `port`, and `store` as written.
    static func config(folder: URL, url: String, port: Int, store: String) throws -> URL {
        let file = folder.appendingPathComponent("obwatch.yaml")
        try Data(
            """
            state_dir: \(folder.appendingPathComponent("state").path)
            http: { listen: "127.0.0.1:\(port)" }
            targets:
              - { name: sim, url: "\(url)", password: root-pw, poll_interval: 200ms, timeout: 30s }
            \(store)
            """.utf8
        ).write(to: file)
        return file
    }

    /// `scale-out-fails` through `obwatch run`, each step awaited before the next; `whileRunning` then runs with
    /// the status port, and the child is stopped with SIGTERM.
    static func run(
        executable: URL,
        store: String,
        environment: [String: String],
        whileRunning: (Int) async throws -> Void = { _ in }
    ) async throws -> Run {
        let running = try await ManualSimulator(try bundledScenario("scale-out-fails.yaml"))
        defer { running.stop() }
        let folder = try temporaryFolder("obwatch-pg-run")
        defer { try? FileManager.default.removeItem(at: folder) }
        let port = try DaemonLifecycleTests.freePort()
        let config = try Self.config(folder: folder, url: running.url, port: port, store: store)
        let errors = folder.appendingPathComponent("stderr.log")
        var child = try Child.launch(
            executable: executable,
            arguments: ["run", "--config", config.path],
            environment: environment,
            deadline: 120,
            standardError: errors
        )
        defer { kill(child.process.processIdentifier, SIGKILL) }
        do {
            // The first poll sees the scenario at its start: ready (every target polled once) before time moves,
            // so both runs observe the same states.
            _ = try await probeUntil("the first poll") { () async -> Bool? in
                (try? await DaemonLifecycleTests.get(port, "/readyz"))?.0 == 200 ? true : nil
            }
            _ = try await running.simulator.advance(to: .seconds(5))
            try await child.awaitEvent(.started)
            _ = try await running.simulator.advance(to: .seconds(25))
            try await child.awaitEvent(.failed)
            _ = try await running.simulator.advance(to: .seconds(100))
            try await child.awaitEvent(.succeeded)
            try await whileRunning(port)
        } catch {
            let text = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            Issue.record("\(error); printed \(child.events); standard error: \(text)")
        }
        kill(child.process.processIdentifier, SIGTERM)
        try await child.awaitExit()
        return Run(events: child.events, standardError: (try? String(contentsOf: errors, encoding: .utf8)) ?? "")
    }

    @Test(
        "the same scenario with the state folder and with PostgreSQL: the same events and ids; an outage of the store"
    )
    func sameEventsAndIDs() async throws {
        guard let executable = KillRestartTests.executableForTests() else {
            Issue.record("no built obwatch executable next to the tests or under .build-run/.build; build it first")
            return
        }
        let server = try await PostgresServer.start(label: "postgres-run")
        let local = try await Self.run(executable: executable, store: "", environment: [:])
        let stored = try await Self.run(
            executable: executable,
            store: "store: { postgres: { url: \"${OBWATCH_TEST_PG_URL}\", schema: run_test } }",
            environment: ["OBWATCH_TEST_PG_URL": server.url]
        ) { port in
            // The store goes away: /readyz says why within a few probes; back, ready again without a restart.
            #expect(try await DaemonLifecycleTests.get(port, "/readyz").0 == 200)
            await server.stop()
            let refused = "cannot reach PostgreSQL at 127.0.0.1:\(server.port): connection refused"
            let body = try await probeUntil("/readyz naming the store") { () async -> String? in
                guard let (status, body) = try? await DaemonLifecycleTests.get(port, "/readyz"), status == 503,
                    body.contains(refused)
                else { return nil }
                return body
            }
            #expect(body.contains("state cannot be saved"))
            try await server.restart()
            _ = try await probeUntil("/readyz ready again") { () async -> Bool? in
                (try? await DaemonLifecycleTests.get(port, "/readyz"))?.0 == 200 ? true : nil
            }
        }
        #expect(!local.events.isEmpty)
        // The scenario's events first; then the store's outage is the watcher's own incident, opened and closed.
        let scenario = Array(stored.events.prefix(local.events.count))
        #expect(scenario.map(\.type) == local.events.map(\.type))
        // No id holds the time its event was seen (EventID): the same changes give the same ids in both runs.
        #expect(scenario.map(\.id) == local.events.map(\.id))
        #expect(local.events.filter { $0.type == "stage_advanced" }.count >= 2)
        #expect(
            stored.events.dropFirst(local.events.count).map(\.type) == ["watcher_degraded", "watcher_recovered"],
            "\(stored.standardError)"
        )
        #expect(stored.standardError.contains("applied migration 1"))
        #expect(stored.standardError.contains("cannot reach PostgreSQL at 127.0.0.1:\(server.port)"))
        #expect(!stored.standardError.contains(server.password))
        await server.remove()
    }

    @Test("migrate creates the schema and says what it did; again, nothing to do; check names the store; no password")
    func migrateAndCheck() async throws {
        guard let executable = KillRestartTests.executableForTests() else {
            Issue.record("no built obwatch executable next to the tests or under .build-run/.build; build it first")
            return
        }
        let server = try await PostgresServer.shared()
        let folder = try temporaryFolder("obwatch-pg-migrate")
        defer { try? FileManager.default.removeItem(at: folder) }
        let schema = PostgresServer.uniqueSchema()
        let config = try Self.config(
            folder: folder,
            url: "http://127.0.0.1:1",
            port: 0,
            store: "store: { postgres: { url: \"${OBWATCH_TEST_PG_URL}\", schema: \(schema) } }"
        )
        let environment = ["OBWATCH_TEST_PG_URL": server.url]

        let first = try await Self.output(executable, ["migrate", "--config", config.path], environment)
        #expect(first.status == 0)
        #expect(
            first.lines.first
                == "PostgreSQL at 127.0.0.1:\(server.port), database postgres, schema \(schema) (tls disable)"
        )
        #expect(first.lines.contains("created schema \(schema)"))
        #expect(first.lines.contains { $0.hasPrefix("applied migration 1: ") })
        #expect(first.lines.last == "schema \(schema) migrated from version 0 to \(SchemaMigrations.latestVersion)")

        let again = try await Self.output(executable, ["migrate", "--config", config.path], environment)
        #expect(again.status == 0)
        #expect(
            again.lines.last
                == "schema \(schema) is at version \(SchemaMigrations.latestVersion), the newest this obwatch knows;"
                + " nothing to do"
        )

        let check = try await Self.output(executable, ["check", "--config", config.path], environment)
        #expect(check.status == 0)
        #expect(check.lines.last?.contains("state in PostgreSQL at 127.0.0.1:\(server.port)") == true)

        let wrong = try await Self.output(
            executable,
            ["migrate", "--config", config.path],
            ["OBWATCH_TEST_PG_URL": "postgres://\(server.user):wrong-pass-1234@127.0.0.1:\(server.port)/postgres"]
        )
        #expect(wrong.status == 1)
        #expect(wrong.errors.contains("refused the login"))
        for text in [first.all, again.all, check.all, wrong.all] {
            #expect(!text.contains(server.password) && !text.contains("wrong-pass-1234"))
        }
    }

    /// Runs a command to its end: exit status, standard output's lines, standard error.
    static func output(
        _ executable: URL,
        _ arguments: [String],
        _ environment: [String: String]
    ) async throws -> (status: Int32, lines: [String], errors: String, all: String) {
        let folder = try temporaryFolder("obwatch-pg-command")
        defer { try? FileManager.default.removeItem(at: folder) }
        let errors = folder.appendingPathComponent("stderr.log")
        var child = try Child.launch(
            executable: executable,
            arguments: arguments,
            environment: environment,
            deadline: 60,
            standardError: errors
        )
        // Both the exit and the end of output: the last lines may still be in the pipe when the exit is seen.
        var (exited, ended) = (false, false)
        var lines: [String] = []
        while !(exited && ended) {
            switch await child.output.next() ?? .deadline {
            case .line(let line): lines.append(line)
            case .endOfOutput: ended = true
            case .exited: exited = true
            case .deadline: throw ChildWaitError(description: "\(arguments) did not end before the deadline")
            }
        }
        let text = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
        return (child.process.terminationStatus, lines, text, lines.joined(separator: "\n") + text)
    }
}
