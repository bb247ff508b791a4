import Foundation
import ObshellModel
import Pipeline
import PostgresStore
import Support

/// `/api/v1/cluster`: the replicas sharing the schema and every target's lease, read from the database (its own
/// clock), with which of them are this replica's. Holds no password, no URL.
enum ClusterStatus {
    /// The answer's JSON.
    /// - Parameters:
    ///   - leases: This replica's lease table.
    ///   - liveWithin: How recent a heartbeat must be for its replica to count as live.
    /// - Throws: ``StorageError`` when the database cannot be read.
    static func make(_ leases: PostgresLeases, liveWithin: Duration) async throws(StorageError) -> String {
        let view = try await leases.clusterView(liveWithin: liveWithin)
        return Self.json(view, replica: leases.holder)
    }

    /// The view as JSON: `replica` (this one's id), `now`, `replicas`, `leases`.
    static func json(_ view: ClusterView, replica: String) -> String {
        var object = OrderedJSONObject()
        object.string("replica", replica)
        object.string("now", Self.time(view.now))
        let replicas = view.replicas.map { row in
            var json = OrderedJSONObject()
            json.string("id", row.id)
            json.string("host", row.host)
            json.string("started", row.startedAt.map(Self.time))
            json.string("last_heartbeat", row.heartbeatAt.map(Self.time))
            json.string("version", row.version)
            json.raw("live", row.live ? "true" : "false")
            json.raw("self", row.id == replica ? "true" : "false")
            return json.text
        }
        object.raw("replicas", "[" + replicas.joined(separator: ",") + "]")
        let leases = view.leases.map { row in
            var json = OrderedJSONObject()
            json.string("target", row.target)
            json.string("holder", row.holder)
            json.integer("epoch", row.epoch)
            json.string("acquired", row.acquiredAt.map(Self.time))
            json.string("renewed", row.renewedAt.map(Self.time))
            json.string("expires", Self.time(row.expiresAt))
            json.raw("held", row.held ? "true" : "false")
            json.raw("mine", row.held && row.holder == replica ? "true" : "false")
            return json.text
        }
        object.raw("leases", "[" + leases.joined(separator: ",") + "]")
        return object.text + "\n"
    }

    private static func time(_ date: Date) -> String {
        ObshellTime(date: date).text
    }
}
