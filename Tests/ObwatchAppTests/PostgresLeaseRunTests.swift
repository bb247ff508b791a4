import Foundation
import ObwatchTestKit
import PeerSupport
import Simulator
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite(
    "obwatch run with store: postgres holds targets by lease",
    .serialized,
    .enabled(if: PostgresServer.isAvailable, "\(PostgresServer.unavailableReason)")
)
struct PostgresLeaseRunTests {
    /// Runs SQL with the server's own `psql` (what another replica or an operator does); the rows, one per line.
    static func psql(_ server: PostgresServer, _ sql: String) throws -> [String] {
        guard let folder = PostgresServer.binaryFolder else { return [] }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: folder + "/psql")
        process.arguments = [
            "-h", server.host, "-p", "\(server.port)", "-U", server.user, "-d", server.database, "-At",
            "-v", "ON_ERROR_STOP=1", "-c", sql,
        ]
        process.environment = ["PGPASSWORD": server.password, "PATH": "/usr/bin:/bin"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ChildWaitError(description: "psql failed (\(process.terminationStatus)) on: \(sql)")
        }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// The `obwatch_polls_total` lines of a target in a `/metrics` text.
    static func polls(_ metrics: String, target: String) -> [Substring] {
        metrics.split(separator: "\n").filter {
            $0.hasPrefix("obwatch_polls_total") && $0.contains("target=\"\(target)\"")
        }
    }

    @Test(
        "only held targets are polled; an expired lease is taken over; a stop releases every lease and leaves the set"
    )
    func pollsOnlyHeldTargets() async throws {
        guard let executable = KillRestartTests.executableForTests() else {
            Issue.record("no built obwatch executable next to the tests or under .build-run/.build; build it first")
            return
        }
        let server = try await PostgresServer.shared()
        let running = try await ManualSimulator(try bundledScenario("scale-out-fails.yaml"))
        defer { running.stop() }
        let folder = try temporaryFolder("obwatch-pg-lease")
        defer { try? FileManager.default.removeItem(at: folder) }
        let schema = PostgresServer.uniqueSchema()
        let port = try DaemonLifecycleTests.freePort()
        let config = folder.appendingPathComponent("obwatch.yaml")
        try Data(
            """
            state_dir: \(folder.appendingPathComponent("state").path)
            http: { listen: "127.0.0.1:\(port)" }
            targets:
              - { name: east, url: "\(running.url)", password: root-pw, poll_interval: 1s, timeout: 30s }
              - { name: west, url: "\(running.url)", password: root-pw, poll_interval: 1s, timeout: 30s }
            store: { postgres: { url: "${OBWATCH_TEST_PG_URL}", schema: \(schema) } }
            """.utf8
        ).write(to: config)
        let environment = ["OBWATCH_TEST_PG_URL": server.url]
        let migrated = try await PostgresRunTests.output(executable, ["migrate", "--config", config.path], environment)
        #expect(migrated.status == 0)
        // Another replica, live for the next hour, holds `west`: the fair share of this one is 1 of 2.
        try Self.psql(
            server,
            """
            INSERT INTO \(schema).replica VALUES ('other-replica', 'elsewhere', now(), now() + interval '1 hour', 'x');
            INSERT INTO \(schema).target_lease VALUES ('west', 'other-replica', 7, now(), now(), now() + interval '1 hour');
            """
        )

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
            let metrics = try await probeUntil("polls of east") { () async -> String? in
                guard let (status, body) = try? await DaemonLifecycleTests.get(port, "/metrics"), status == 200,
                    Self.polls(body, target: "east").count > 0
                else { return nil }
                return body
            }
            #expect(Self.polls(metrics, target: "west").isEmpty, "west is another replica's")
            #expect(metrics.contains("obwatch_leases_held 1"))
            // Ready: every target it holds was polled; the one it does not hold is not waited for.
            _ = try await probeUntil("ready") { () async -> Bool? in
                (try? await DaemonLifecycleTests.get(port, "/readyz"))?.0 == 200 ? true : nil
            }
            let (status, cluster) = try await DaemonLifecycleTests.get(port, "/api/v1/cluster")
            #expect(status == 200)
            let view = try #require(
                try JSONSerialization.jsonObject(with: Data(cluster.utf8)) as? [String: Any]
            )
            let me = try #require(view["replica"] as? String)
            let leases = try #require(view["leases"] as? [[String: Any]])
            let east = try #require(leases.first { $0["target"] as? String == "east" })
            let west = try #require(leases.first { $0["target"] as? String == "west" })
            #expect(east["holder"] as? String == me && east["mine"] as? Bool == true)
            #expect(west["holder"] as? String == "other-replica" && west["mine"] as? Bool == false)
            let replicas = try #require(view["replicas"] as? [[String: Any]])
            #expect(Set(replicas.compactMap { $0["id"] as? String }) == [me, "other-replica"])
            #expect(!cluster.contains(server.password))

            // The other replica dies: its heartbeat and its lease are past (set by SQL, nobody sleeps). This one's
            // share grows to 2, and it takes `west` over with the next epoch.
            try Self.psql(
                server,
                """
                UPDATE \(schema).replica SET heartbeat_at = now() - interval '1 hour' WHERE replica_id = 'other-replica';
                UPDATE \(schema).target_lease SET expires_at = now() - interval '1 second' WHERE target = 'west';
                """
            )
            let after = try await probeUntil("polls of west, both leases held") { () async -> String? in
                guard let (status, body) = try? await DaemonLifecycleTests.get(port, "/metrics"), status == 200,
                    Self.polls(body, target: "west").count > 0, body.contains("obwatch_leases_held 2")
                else { return nil }
                return body
            }
            #expect(after.contains("obwatch_lease_takeovers_total "))
            #expect(
                try Self.psql(server, "SELECT holder || ':' || epoch FROM \(schema).target_lease WHERE target = 'west'")
                    .first.map { $0.hasPrefix("\(me):") && (Int($0.split(separator: ":").last ?? "") ?? 0) >= 8 }
                    == true
            )
        } catch {
            let text = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            Issue.record("\(error); standard error: \(text)")
        }
        kill(child.process.processIdentifier, SIGTERM)
        try await child.awaitExit()
        // A graceful stop: every lease expired at once, and the replica left the live set.
        #expect(
            try Self.psql(server, "SELECT count(*) FROM \(schema).target_lease WHERE expires_at > now()") == ["0"]
        )
        // It left; the other, silent for an hour (more than ten lease lengths), was pruned by its surveys.
        #expect(try Self.psql(server, "SELECT replica_id FROM \(schema).replica").isEmpty)
        let text = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
        #expect(text.contains("lease acquired"))
        #expect(text.contains("leases released"))
        #expect(!text.contains(server.password))
    }
}
