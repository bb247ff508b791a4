import ConfigModel
import Curl
import Foundation
import Logging
import ObshellModel
import Pipeline
import Synchronization
import Tracker

#if canImport(StatusSupport)
import StatusSupport
#else
import ObwatchApp
#endif

/// A status server on a free loopback port with its own metrics, readiness, event log and DAG rows.
struct StatusHarness {
    let metrics = DaemonMetrics()
    let readiness: Readiness
    let events = EventLog(capacity: 5)
    let rows: StatusRows
    let server: StatusServer
    let baseURL: String
    private let running: Task<Void, any Error>

    /// Starts a server; `token` makes it ask for `Authorization: Bearer`.
    /// `cluster` answers `/api/v1/cluster` (as with PostgreSQL); `nil` is the state folder's 404.
    init(
        targets: [String] = ["east", "west"],
        token: String? = nil,
        cluster: (@Sendable () async throws(StorageError) -> String)? = nil
    ) async throws {
        self.readiness = Readiness(targets: targets)
        let rows = StatusRows()
        self.rows = rows
        self.server = StatusServer(
            configuration: .init(
                host: "127.0.0.1",
                port: 0,
                bearerToken: token.map(Secret.init),
                logger: StatusHarness.quietLogger
            ),
            metrics: self.metrics,
            readiness: self.readiness,
            events: self.events,
            dags: { rows.all },
            cluster: cluster
        )
        let server = self.server
        self.running = Task { try await server.run() }
        self.baseURL = try await server.baseURL()
    }

    /// Cancelling a test server makes Hummingbird log an error about its child channels: noise, not a finding.
    static let quietLogger = Logger(label: "obwatch.status.test") { _ in SwiftLogNoOpLogHandler() }

    /// Stops serving.
    func stop() { self.running.cancel() }

    /// One GET over loopback through libcurl.
    func get(_ path: String, token: String? = nil, method: HTTPMethod = .get) async throws -> StatusReply {
        var headers: HTTPHeaders = [:]
        if let token { headers.append(name: "Authorization", value: "Bearer \(token)") }
        let response = try await CurlEngine.shared.perform(
            HTTPRequest(method: method, url: self.baseURL + path, headers: headers, timeout: .seconds(20))
        )
        return StatusReply(
            status: response.status,
            headers: response.headers,
            body: String(decoding: response.body, as: UTF8.self)
        )
    }
}

/// What the server answered.
struct StatusReply {
    var status: Int
    var headers: HTTPHeaders
    var body: String

    /// The body parsed as JSON.
    func json() throws -> Any {
        try JSONSerialization.jsonObject(with: Data(self.body.utf8), options: [.fragmentsAllowed])
    }
}

/// The DAG rows the test hands the server.
final class StatusRows: Sendable {
    private let rows = Mutex<[DagStatus]>([])

    func set(_ rows: [DagStatus]) { self.rows.withLock { $0 = rows } }
    var all: [DagStatus] { self.rows.withLock { $0 } }
}

/// Builders of events and DAGs for the status tests.
enum StatusFixtures {
    static func time(_ text: String) throws -> ObshellTime {
        guard let time = ObshellTime(text) else { throw FixtureError(message: "not RFC 3339: \(text)") }
        return time
    }

    static func event(_ id: String, _ type: EventType, at: String, target: String = "east") throws -> Event {
        Event(
            id: id,
            type: type,
            at: try Self.time(at),
            target: TargetIdentity(name: target, url: "http://127.0.0.1:2886"),
            summary: "\(type.rawValue) \(id)"
        )
    }

    static func dag(id: String, stage: Int, state: TaskState, nodes: Bool = true) -> Dag {
        let names = ["Prepare", "Deploy", "Finish"]
        return Dag(
            id: id,
            dagID: Int64(id) ?? 0,
            name: "Cluster scale out",
            stage: stage,
            maxStage: names.count,
            state: state,
            operator: .run,
            nodes: nodes
                ? names.enumerated().map { index, name in
                    DagNode(
                        id: "\(id)\(index + 1)",
                        nodeID: Int64(index + 1),
                        name: name,
                        state: index + 1 < stage ? .succeed : (index + 1 == stage ? state : .pending),
                        operator: .run
                    )
                } : nil
        )
    }

    struct FixtureError: Error, CustomStringConvertible {
        var message: String
        var description: String { self.message }
    }
}
