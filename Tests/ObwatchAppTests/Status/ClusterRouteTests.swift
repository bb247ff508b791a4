import Foundation
import Pipeline
import Testing

#if canImport(StatusSupport)
import StatusSupport
#else
import ObwatchApp
#endif

@Suite("/api/v1/cluster: the replicas and leases with PostgreSQL, 404 with the state folder")
struct ClusterRouteTests {
    @Test("without a store on a server it answers 404 saying why")
    func localStore() async throws {
        let harness = try await StatusHarness()
        defer { harness.stop() }
        let reply = try await harness.get("/api/v1/cluster")
        #expect(reply.status == 404)
        #expect(reply.body.contains("store: postgres"))
    }

    @Test("with one: the view's JSON behind the token; a database that does not answer is 503 with the reason")
    func postgresStore() async throws {
        let harness = try await StatusHarness(token: "t0ken-1234") { () async throws(StorageError) -> String in
            #"{"replica":"db-1-42-0000abcd","replicas":[],"leases":[]}"# + "\n"
        }
        defer { harness.stop() }
        #expect(try await harness.get("/api/v1/cluster").status == 401)
        let reply = try await harness.get("/api/v1/cluster", token: "t0ken-1234")
        #expect(reply.status == 200)
        let view = try #require(try reply.json() as? [String: Any])
        #expect(view["replica"] as? String == "db-1-42-0000abcd")

        let down = try await StatusHarness { () async throws(StorageError) -> String in
            throw StorageError(
                reason: "cannot read the cluster view: cannot reach PostgreSQL at db:5432",
                kind: .unreachable
            )
        }
        defer { down.stop() }
        let failed = try await down.get("/api/v1/cluster")
        #expect(failed.status == 503)
        #expect(failed.body.contains("cannot reach PostgreSQL at db:5432"))
    }
}
