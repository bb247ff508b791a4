import ConfigModel
import ObshellModel
import Pipeline
import Support
import Tracker

/// One answer of the status API before it becomes an HTTP response.
struct StatusAnswer: Sendable {
    var status: Int
    var contentType: String
    var body: String
    /// Headers besides the content type, e.g. `WWW-Authenticate`.
    var headers: [(name: String, value: String)] = []

    static let plainText = "text/plain; charset=utf-8"
    static let prometheusText = "text/plain; version=0.0.4; charset=utf-8"
    static let json = "application/json"

    static func error(_ status: Int, _ message: String, headers: [(name: String, value: String)] = []) -> StatusAnswer {
        var object = OrderedJSONObject()
        object.string("error", message)
        return StatusAnswer(status: status, contentType: Self.json, body: object.text + "\n", headers: headers)
    }
}

/// The routes of the status API, free of HTTP plumbing so the rules (what needs the token, what answers what) are
/// plain code.
struct StatusRoutes: Sendable {
    let metrics: DaemonMetrics
    let readiness: Readiness
    let events: EventLog
    let dags: @Sendable () async -> [DagStatus]
    /// `/api/v1/cluster`'s JSON, with PostgreSQL; `nil` with the state folder.
    var cluster: (@Sendable () async throws(StorageError) -> String)? = nil
    let bearerToken: Secret?

    /// Probes answer without the token: a kubelet or systemd check has no secret to send.
    static let openPaths: Set<String> = ["/healthz", "/readyz"]
    /// Every route; anything else is 404, after the token check so that probing paths needs the token too.
    static let knownPaths = Self.openPaths.union(["/metrics", "/api/v1/dags", "/api/v1/events", "/api/v1/cluster"])

    func answer(method: String, path: String, since: String?, authorization: String?) async -> StatusAnswer {
        if let token = self.bearerToken, !Self.openPaths.contains(path),
            !Self.authorizes(authorization, token: token)
        {
            return .error(401, "unauthorized", headers: [("WWW-Authenticate", "Bearer realm=\"obwatch\"")])
        }
        guard Self.knownPaths.contains(path) else { return .error(404, "not found") }
        guard method == "GET" || method == "HEAD" else {
            return .error(405, "method not allowed", headers: [("Allow", "GET, HEAD")])
        }
        switch path {
        case "/healthz":
            return StatusAnswer(status: 200, contentType: StatusAnswer.plainText, body: "ok\n")
        case "/readyz":
            let missing = self.readiness.missing
            guard !missing.isEmpty else {
                return StatusAnswer(status: 200, contentType: StatusAnswer.plainText, body: "ready\n")
            }
            var object = OrderedJSONObject()
            object.raw("ready", "false")
            object.strings("missing", missing)
            return StatusAnswer(status: 503, contentType: StatusAnswer.json, body: object.text + "\n")
        case "/metrics":
            return StatusAnswer(status: 200, contentType: StatusAnswer.prometheusText, body: self.metrics.render())
        case "/api/v1/dags":
            let rows = await self.dags().map(\.jsonObject)
            return StatusAnswer(
                status: 200,
                contentType: StatusAnswer.json,
                body: "[" + rows.joined(separator: ",") + "]\n"
            )
        case "/api/v1/cluster":
            guard let cluster = self.cluster else {
                return .error(
                    404,
                    "no cluster: the state is in state_dir; replicas share work only with store: postgres"
                )
            }
            do {
                return StatusAnswer(status: 200, contentType: StatusAnswer.json, body: try await cluster())
            } catch {
                return .error(503, error.reason)
            }
        default:
            return await self.eventsAnswer(since: since)
        }
    }

    private func eventsAnswer(since: String?) async -> StatusAnswer {
        var cursor: EventCursor?
        if let since, !since.isEmpty {
            // An unencoded `+08:00` offset arrives as a space after query decoding: put the plus back.
            guard let parsed = EventCursor(parsing: since) ?? EventCursor(parsing: since.replacing(" ", with: "+"))
            else {
                return .error(400, "since must be a sequence number (the last answer's next) or an RFC 3339 time")
            }
            cursor = parsed
        }
        let page = await self.events.events(since: cursor)
        var object = OrderedJSONObject()
        object.raw("events", "[" + page.events.map { $0.event.jsonLine() }.joined(separator: ",") + "]")
        object.integer("next", page.next)
        return StatusAnswer(status: 200, contentType: StatusAnswer.json, body: object.text + "\n")
    }

    /// Whether `Authorization` carries the token. The comparison takes the same time wherever the first differing
    /// byte is, so response times do not reveal a prefix of the token; an empty configured token matches nothing.
    static func authorizes(_ authorization: String?, token: Secret) -> Bool {
        guard let authorization else { return false }
        // The scheme is case-insensitive (RFC 9110); the token itself is compared byte for byte.
        guard authorization.count > 7, authorization.prefix(7).lowercased() == "bearer " else { return false }
        let presented = Array(authorization.dropFirst(7).utf8)
        let expected = Array(token.revealed.utf8)
        guard !expected.isEmpty else { return false }
        var difference = presented.count == expected.count ? 0 : 1
        for index in 0..<max(presented.count, expected.count) {
            let left = index < presented.count ? presented[index] : 0
            let right = index < expected.count ? expected[index] : 0
            difference |= Int(left ^ right)
        }
        return difference == 0
    }
}
