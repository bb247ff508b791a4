import Cryptography
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ObshellModel
import Support
import YAML

/// The thin HTTP layer: routes a request, asks the engine for a snapshot, and writes obshell's envelope.
struct SimulatorResponder: Sendable {
    let engine: SimulatorEngine
    let agent: SimulatedAgent
    /// False on the unix socket, where obshell checks no header.
    let authenticates: Bool
    let manualClock: Bool
    let hangCap: Duration
    /// The time source: the hang cap waits on it, the envelope's duration and the header's expiry read it.
    let clock: any ObwatchClock

    private typealias Answer = SimulatorResponderAnswer

    func respond(to request: Request) async -> Response {
        let started = Stopwatch(self.clock)
        let target = request.head.path ?? "/"
        let traceID = HTTPField.Name("X-OBSHELL-Trace-ID").flatMap { request.headers[$0] }
        let answer = await self.answer(request, target: target, started: started, traceID: traceID)
        var headers = HTTPFields()
        headers[.contentType] = answer.contentType
        return Response(
            status: HTTPResponse.Status(code: answer.status),
            headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.body))
        )
    }

    private func answer(
        _ request: Request,
        target: String,
        started: Stopwatch,
        traceID: String?
    ) async
        -> Answer
    {
        let (path, query) = Self.split(target)
        let envelope = EnvelopeWriter(engine: self.engine, started: started, traceID: traceID)
        let isGet = request.method == .get
        switch path {
        case "/api/v1/info" where isGet: return await envelope.success(self.info())
        case "/api/v1/status" where isGet || request.method == .post:
            return await envelope.success(await self.status())
        case "/api/v1/secret" where isGet:
            let key = await self.engine.currentKey()
            return await envelope.success(
                AgentSecret(ip: self.agent.ip, port: self.agent.port, publicKey: key.publicKeyBase64DER)
            )
        case "/api/v1/time" where isGet:
            return await envelope.success(await self.engine.snapshot().now)
        case "/_simulator/advance" where request.method == .post && self.manualClock:
            return await self.controlAdvance(query: query, envelope: envelope)
        default:
            break
        }
        let taskPrefix = "/api/v1/task/dag/"
        // `dags/ob` and `dags/agent`: every DAG, finished ones included (what the duration history backfills from).
        let allScope = ["/api/v1/task/dags/ob": true, "/api/v1/task/dags/agent": false][path]
        guard isGet, allScope != nil || (path.hasPrefix(taskPrefix) && path.count > taskPrefix.count) else {
            return await envelope.failure(.notFound)
        }
        let id = allScope == nil ? String(path.dropFirst(taskPrefix.count)) : ""
        guard !id.contains("/") else { return await envelope.failure(.notFound) }

        if let cluster = allScope {
            // Answered before faults are taken: a scenario's faults are meant for the polls they count.
            if self.authenticates, let failure = await self.authenticate(request, target: target) {
                return await envelope.failure(failure)
            }
            let showDetails = Self.queryValue("show_details", in: query).flatMap(HeaderAuthentication.parseBool) ?? true
            // obshell answers `dags/ob` on an agent that is not a cluster agent with 500 (obshell-api.md 1.2).
            guard let dags = await self.engine.allDags(cluster: cluster) else {
                return await envelope.failure(.unexpected)
            }
            return await envelope.success(DagList(contents: dags.map { Self.detailed($0, showDetails) }))
        }
        if let fault = await self.engine.takeFault(of: [.http500, .hang, .notJSON]) {
            return await self.inject(fault, envelope: envelope)
        }
        if self.authenticates, let failure = await self.authenticate(request, target: target) {
            return await envelope.failure(failure)
        }
        let showDetails: Bool
        switch Self.queryValue("show_details", in: query) {
        case .none: showDetails = true
        case .some(let text):
            guard let parsed = HeaderAuthentication.parseBool(text) else {
                return await envelope.failure(.unexpected, emptyTraceID: true)
            }
            showDetails = parsed
        }
        if id == "unfinish" {
            let dags = await self.engine.unfinishedDags()
            return await envelope.success(DagList(contents: dags?.map { Self.detailed($0, showDetails) }))
        }
        guard Self.isValidGenericID(id) else { return await envelope.failure(.invalidGenericID(id)) }
        guard let dag = await self.engine.dag(id: id) else { return await envelope.failure(.taskNotFound) }
        return await envelope.success(Self.detailed(dag, showDetails))
    }

    private func inject(_ fault: SimulatedFault, envelope: EnvelopeWriter) async -> Answer {
        if fault.kind == .hang {
            let id = await self.engine.newHangID()
            let engine = self.engine
            let cap = self.hangCap
            let clock = self.clock
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await engine.waitHang(id) }
                group.addTask { try? await clock.sleep(for: cap) }
                await group.next()
                group.cancelAll()
            }
            return await envelope.failure(.unexpected)
        }
        if fault.kind == .notJSON {
            let page = "<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>\n"
            return Answer(status: 200, body: Data(page.utf8), contentType: "text/html")
        }
        return await envelope.failure(.unexpected)
    }

    private func authenticate(_ request: Request, target: String) async -> ObshellFailure? {
        let key = await self.engine.currentKey()
        let header = HTTPField.Name("X-OCS-Header").flatMap { request.headers[$0] }
        let agentHeader = HTTPField.Name("X-OCS-Agent-Header").flatMap { request.headers[$0] }
        let outcome = HeaderAuthentication.verify(
            header: header,
            agentHeader: agentHeader,
            requestURI: target,
            key: key,
            identity: self.agent.identity,
            now: Int64(self.clock.wallNow.timeIntervalSince1970)
        )
        switch outcome {
        case .failure(let failure):
            return failure
        case .success(.accepted):
            return nil
        case .success(.comparePassword(let auth)):
            if await self.engine.takeFault(of: [.refusePassword]) != nil {
                await self.engine.countRefusedLogin()
                return .incorrectPassword
            }
            guard auth == self.agent.password else {
                // A wrong root@sys password is a failed OceanBase login on the real agent: what lockout counts.
                await self.engine.countRefusedLogin()
                return .incorrectPassword
            }
            return nil
        }
    }

    private func controlAdvance(query: String?, envelope: EnvelopeWriter) async -> Answer {
        let by = Self.queryValue("by", in: query).flatMap { Duration(yamlText: $0) }
        let to = Self.queryValue("to", in: query).flatMap { Duration(yamlText: $0) }
        do {
            let elapsed: Duration
            if let by {
                elapsed = try await self.engine.advance(by: by)
            } else if let to {
                elapsed = try await self.engine.advance(to: to)
            } else {
                return await envelope.failure(
                    ObshellFailure(status: 400, errCode: "Common.IllegalArgument", message: "give ?by=30s or ?to=2m")
                )
            }
            return await envelope.success(["elapsed": elapsed.scenarioText])
        } catch {
            return await envelope.failure(.notFound)
        }
    }

    private func info() -> SimulatedInfo {
        SimulatedInfo(
            agent: self.agent,
            pid: Int(ProcessInfo.processInfo.processIdentifier),
            startAt: Int64(self.engineStart.timeIntervalSince1970 * 1_000_000_000)
        )
    }

    private var engineStart: Date { self.engine.startedAt }

    private func status() async -> SimulatedStatus {
        let state = await self.engine.snapshot()
        return SimulatedStatus(
            agent: self.agent,
            pid: Int(ProcessInfo.processInfo.processIdentifier),
            startAt: Int64(self.engineStart.timeIntervalSince1970 * 1_000_000_000),
            underMaintenance: state.unfinishedDags.contains { $0.isMaintenance }
        )
    }

    /// A DAG as `show_details` asks: without details obshell sends `"nodes": null, "additional_data": null`.
    static func detailed(_ dag: Dag, _ showDetails: Bool) -> Dag {
        guard !showDetails else { return dag }
        var brief = dag
        brief.nodes = nil
        brief.additionalData = nil
        return brief
    }

    /// obshell's `ConvertGenericID` checks: digits, a known prefix, and enough length for it.
    static func isValidGenericID(_ id: String) -> Bool {
        guard let first = id.first, id.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return false
        }
        switch first {
        case "1": return id.count > 1
        case "2", "4": return id.count > 16
        case "3", "5": return id.count > 45
        default: return false
        }
    }

    static func split(_ target: String) -> (path: String, query: String?) {
        guard let mark = target.firstIndex(of: "?") else { return (target, nil) }
        return (String(target[..<mark]), String(target[target.index(after: mark)...]))
    }

    /// The first value of a query parameter, decoded as Go's `url.ParseQuery` does (`+` is a space).
    static func queryValue(_ name: String, in query: String?) -> String? {
        guard let query else { return nil }
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = Self.decode(parts[0])
            guard key == name else { continue }
            return parts.count > 1 ? Self.decode(parts[1]) : ""
        }
        return nil
    }

    private static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }
}

/// `data` of a list answer: `{"contents": [...]}`, or `{"contents": null}`.
struct DagList: Encodable, Sendable {
    var contents: [Dag]?

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        if let contents = self.contents {
            try container.encode(contents, forKey: .contents)
        } else {
            try container.encodeNil(forKey: .contents)
        }
    }

    enum CodingKeys: String, CodingKey { case contents }
}

/// `GET /api/v1/info`: ``AgentInfo``'s fields plus the rest of obshell's `meta.AgentStatus`.
struct SimulatedInfo: Encodable, Sendable {
    var agent: SimulatedAgent
    var pid: Int
    var startAt: Int64

    enum CodingKeys: String, CodingKey {
        case ip, port, zone, identity, version, pid, state, startAt, homePath, obVersion, architecture
        case isObproxyAgent, security, supportedAuth
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        let info = AgentInfo(
            ip: self.agent.ip,
            port: self.agent.port,
            zone: self.agent.zone,
            identity: self.agent.identity.rawValue,
            version: self.agent.version,
            supportedAuth: ["v2"],
            security: false
        )
        try container.encode(info.ip, forKey: .ip)
        try container.encode(info.port, forKey: .port)
        try container.encode(info.zone, forKey: .zone)
        try container.encode(info.identity, forKey: .identity)
        try container.encode(info.version, forKey: .version)
        try container.encode(self.pid, forKey: .pid)
        try container.encode(2, forKey: .state)
        try container.encode(self.startAt, forKey: .startAt)
        try container.encode("/home/admin/oceanbase", forKey: .homePath)
        try container.encode(self.agent.version, forKey: .obVersion)
        try container.encode("x86_64", forKey: .architecture)
        try container.encode(false, forKey: .isObproxyAgent)
        try container.encode(info.security, forKey: .security)
        try container.encode(info.supportedAuth, forKey: .supportedAuth)
    }
}

/// `GET /api/v1/status` (obshell-api.md 8).
struct SimulatedStatus: Encodable, Sendable {
    var agent: SimulatedAgent
    var pid: Int
    var startAt: Int64
    var underMaintenance: Bool

    enum CodingKeys: String, CodingKey {
        case agent, state, version, pid, startAt, port, obState, sqlPort, underMaintenance
    }

    enum AgentKeys: String, CodingKey { case ip, port, identity }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        var agent = container.nestedContainer(keyedBy: AgentKeys.self, forKey: .agent)
        try agent.encode(self.agent.ip, forKey: .ip)
        try agent.encode(self.agent.port, forKey: .port)
        try agent.encode(self.agent.identity.rawValue, forKey: .identity)
        try container.encode(2, forKey: .state)
        try container.encode("\(self.agent.version)-simulated", forKey: .version)
        try container.encode(self.pid, forKey: .pid)
        try container.encode(self.startAt, forKey: .startAt)
        try container.encode(self.agent.port, forKey: .port)
        try container.encode(3, forKey: .obState)
        try container.encode(2881, forKey: .sqlPort)
        try container.encode(self.underMaintenance, forKey: .underMaintenance)
    }
}
