import ConfigModel
import Foundation
import ObshellModel
import Pipeline
import Routing
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
    /// The token writes need (`http.write_token_file`); without one every write is refused with 403.
    var writeToken: Secret? = nil
    /// The run-time silences, for `/api/v2/silences`; `nil` (404) outside the daemon.
    var silences: SilenceBook? = nil
    /// Acknowledges an open incident (`POST /api/v2/acks`); `nil` (404) outside the daemon.
    var acknowledge: (@Sendable (_ incident: String, _ author: String) async -> AcknowledgeAnswer)? = nil
    /// The router's open incidents, for `/api/v1/incidents`; `nil` (404) outside the daemon.
    var incidents: (@Sendable () async -> [OpenIncident])? = nil
    /// The wall time of new silences.
    var clock: any ObwatchClock = SystemClock()

    /// What an acknowledgement did, for its answer.
    enum AcknowledgeAnswer: Sendable {
        /// The incident is not open.
        case notOpen
        /// It was acknowledged before.
        case already
        /// Acknowledged now; these paging receivers are told.
        case acknowledged(notified: [String])
        /// The routing stage could not take it (stopped, or the outbox refused); the words say why.
        case failed(String)
    }

    /// Probes answer without the token: a kubelet or systemd check has no secret to send. The web console's page,
    /// style and script hold no data (a browser's navigation cannot send a token); what they read needs it.
    static let openPaths: Set<String> = Set(["/healthz", "/readyz"]).union(ConsoleAssets.paths)
    /// Every route; anything else is 404, after the token check so that probing paths needs the token too.
    static let knownPaths = Self.openPaths.union([
        "/metrics", "/api/v1/dags", "/api/v1/events", "/api/v1/cluster", "/api/v1/targets", "/api/v1/incidents",
    ])

    func answer(
        method: String,
        path: String,
        since: String?,
        authorization: String?,
        body: Data = Data(),
        author: String? = nil
    ) async -> StatusAnswer {
        if Self.isWrite(method: method, path: path) {
            guard let token = self.writeToken else {
                return .error(403, "writes are off: set http.write_token_file to a file holding the write token")
            }
            guard Self.authorizes(authorization, token: token) else {
                return .error(
                    401,
                    "unauthorized: writes need Authorization: Bearer WRITE_TOKEN",
                    headers: [("WWW-Authenticate", "Bearer realm=\"obwatch\"")]
                )
            }
            return await self.writeAnswer(method: method, path: path, body: body, author: author)
        }
        if let token = self.bearerToken, !Self.openPaths.contains(path),
            !Self.authorizes(authorization, token: token)
        {
            return .error(401, "unauthorized", headers: [("WWW-Authenticate", "Bearer realm=\"obwatch\"")])
        }
        if path == "/api/v2/silences", method == "GET" || method == "HEAD" {
            guard let silences = self.silences else { return .error(404, "not found") }
            let now = ObshellTime(date: self.clock.wallNow)
            let list = OrderedJSON.array(silences.all.map { SilenceJSON.object($0, now: now) })
            return StatusAnswer(
                status: 200,
                contentType: StatusAnswer.json,
                body: list.text(forJavaScript: false) + "\n"
            )
        }
        if Self.writePaths(path) {
            return .error(
                405,
                "method not allowed",
                headers: [("Allow", path == "/api/v2/silences" ? "GET, HEAD, POST" : "POST, DELETE")]
            )
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
        case "/api/v1/targets":
            return StatusAnswer(status: 200, contentType: StatusAnswer.json, body: self.targetsJSON() + "\n")
        case "/api/v1/dags":
            var statuses = await self.dags()
            if statuses.contains(where: { $0.failedNode != nil }) {
                statuses = DagStatus.withFailureLogs(statuses, events: await self.events.events(since: nil).events)
            }
            let rows = statuses.map(\.jsonObject)
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
        case "/api/v1/events":
            return await self.eventsAnswer(since: since)
        case "/api/v1/incidents":
            guard let incidents = self.incidents else { return .error(404, "not found") }
            let rows = await incidents().map(Self.incidentJSON)
            return StatusAnswer(
                status: 200,
                contentType: StatusAnswer.json,
                body: "[" + rows.joined(separator: ",") + "]\n"
            )
        default:
            return ConsoleAssets.answer(path: path) ?? .error(404, "not found")
        }
    }

    /// `/api/v1/targets`: each configured target in config order, whether it was polled once, and how its polls go
    /// (`last_poll` `ok` or `failed`, `consecutive_failures`, `polls`; absent before the first poll).
    private func targetsJSON() -> String {
        let polls = self.metrics.targetPolls
        let rows = self.readiness.targets.map { target -> String in
            var object = OrderedJSONObject()
            object.string("name", target.name)
            object.raw("polled", target.polled ? "true" : "false")
            if let record = polls[target.name] {
                object.string("last_poll", record.lastResult)
                object.integer("consecutive_failures", Int64(record.consecutiveFailures))
                object.integer("polls", Int64(record.count))
            }
            return object.text
        }
        return "[" + rows.joined(separator: ",") + "]"
    }

    /// One row of `/api/v1/incidents`: `incident`, `target`, `acknowledged`, `inhibiting`, `receivers`, and when
    /// known `next_reminder` and `event` (the latest firing event sent for it, as in `/api/v1/events`).
    static func incidentJSON(_ incident: OpenIncident) -> String {
        var object = OrderedJSONObject()
        object.string("incident", incident.incident)
        object.string("target", incident.target)
        object.raw("acknowledged", incident.acknowledged ? "true" : "false")
        object.raw("inhibiting", incident.inhibiting ? "true" : "false")
        object.strings("receivers", incident.receivers)
        if let due = incident.nextReminder { object.string("next_reminder", due.description) }
        if let latest = incident.latest { object.raw("event", latest.jsonLine()) }
        return object.text
    }

    /// `POST /api/v2/silences`, `DELETE /api/v2/silence/ID` (Alertmanager's path) or `/api/v2/silences/ID`, and
    /// `POST /api/v2/acks`.
    static func isWrite(method: String, path: String) -> Bool {
        switch method {
        case "POST": path == "/api/v2/silences" || path == "/api/v2/acks"
        case "DELETE": Self.silenceID(inPath: path) != nil
        default: false
        }
    }

    /// The paths writes go to, for 405 with another method.
    static func writePaths(_ path: String) -> Bool {
        path == "/api/v2/silences" || path == "/api/v2/acks" || Self.silenceID(inPath: path) != nil
    }

    /// The id of `/api/v2/silence/ID` or `/api/v2/silences/ID`.
    static func silenceID(inPath path: String) -> String? {
        for prefix in ["/api/v2/silence/", "/api/v2/silences/"] where path.hasPrefix(prefix) {
            let id = String(path.dropFirst(prefix.count))
            if !id.isEmpty, !id.contains("/") { return id }
        }
        return nil
    }

    private func writeAnswer(method: String, path: String, body: Data, author: String?) async -> StatusAnswer {
        if path == "/api/v2/acks" { return await self.acknowledgeAnswer(body: body) }
        guard let silences = self.silences else { return .error(404, "not found") }
        let now = ObshellTime(date: self.clock.wallNow)
        if method == "POST" {
            let silence: RuntimeSilence
            do {
                silence = try SilenceJSON.silence(from: body, id: UUID().uuidString.lowercased(), now: now)
            } catch {
                return .error(400, error.message)
            }
            do {
                try await silences.add(silence)
            } catch {
                return .error(503, "the silence was not stored, so it does not silence: \(error.reason)")
            }
            var object = OrderedJSONObject()
            object.string("silenceID", silence.id)
            return StatusAnswer(status: 200, contentType: StatusAnswer.json, body: object.text + "\n")
        }
        guard let id = Self.silenceID(inPath: path) else { return .error(404, "not found") }
        do {
            switch try await silences.expire(id: id, by: author) {
            case .unknown:
                return .error(404, "no silence \(id)")
            case .alreadyExpired(let silence), .expired(let silence):
                return StatusAnswer(
                    status: 200,
                    contentType: StatusAnswer.json,
                    body: SilenceJSON.object(silence, now: now).text(forJavaScript: false) + "\n"
                )
            }
        } catch {
            return .error(503, "the expiry was not stored, so the silence still holds: \(error.reason)")
        }
    }

    private func acknowledgeAnswer(body: Data) async -> StatusAnswer {
        guard let acknowledge = self.acknowledge else { return .error(404, "not found") }
        guard let request = try? JSONDecoder().decode(SilenceJSON.Acknowledgement.self, from: body),
            !request.incident.isEmpty, !request.author.trimmingCharacters(in: .whitespaces).isEmpty
        else {
            return .error(400, "the body must be {\"incident\":\"TARGET/DAG/KIND\",\"author\":\"...\"}")
        }
        var object = OrderedJSONObject()
        object.string("incident", request.incident)
        switch await acknowledge(request.incident, request.author) {
        case .notOpen:
            return .error(404, "incident \(request.incident) is not open")
        case .already:
            object.raw("acknowledged", "true")
            object.raw("already", "true")
        case .acknowledged(let notified):
            object.raw("acknowledged", "true")
            object.strings("notified", notified)
        case .failed(let reason):
            return .error(503, "not acknowledged: \(reason)")
        }
        return StatusAnswer(status: 200, contentType: StatusAnswer.json, body: object.text + "\n")
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
