import Cryptography
import Curl
import Foundation
import ObshellModel
import Simulator
import Testing

/// The package root, from this file's real path (the scratch package reaches it through symlinks).
let packageRoot: URL = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A running in-process simulator with a manual clock, and helpers to call it as a client would.
struct RunningSimulator {
    let simulator: ObshellSimulator
    let addresses: ObshellSimulator.Addresses
    let password: String

    var baseURL: String { self.addresses.baseURL ?? "" }

    /// Builds an `X-OCS-Header` value the way obshell's SDKs do.
    func header(auth: String? = nil, ts: String? = nil, uri: String, lowerCaseKeys: Bool = false) async throws -> String
    {
        let expiry = ts ?? String(Int64(Date().timeIntervalSince1970) + 60)
        let names = lowerCaseKeys ? ["auth", "ts", "uri"] : ["Auth", "Ts", "Uri"]
        let object = [names[0]: auth ?? self.password, names[1]: expiry, names[2]: uri]
        let json = try JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes, .sortedKeys])
        return try await self.simulator.publicKey().encryptToBase64(json)
    }

    /// A GET with a good header unless `headers` are given.
    func get(_ uri: String, headers: HTTPHeaders? = nil, timeout: Duration = .seconds(20)) async throws -> HTTPResponse
    {
        var sent: HTTPHeaders
        if let headers {
            sent = headers
        } else {
            sent = ["X-OCS-Header": try await self.header(uri: uri)]
        }
        return try await CurlEngine.shared.perform(
            HTTPRequest(url: self.baseURL + uri, headers: sent, timeout: timeout)
        )
    }

    func unfinished(_ query: String = "?show_details=true") async throws -> [Dag] {
        let response = try await self.get("/api/v1/task/dag/unfinish" + query)
        #expect(response.status == 200)
        return try ObshellDecoder.envelope(ContentList<Dag>.self, from: response.body).data?.contents ?? []
    }

    func dag(_ id: String) async throws -> Dag? {
        let response = try await self.get("/api/v1/task/dag/" + id)
        return try ObshellDecoder.envelope(Dag.self, from: response.body).data
    }
}

/// Runs `body` against a simulator playing `scenario`, then stops the simulator.
func withSimulator(
    _ scenario: Scenario,
    keyBits: Int = 512,
    unixSocketPath: String? = nil,
    _ body: (RunningSimulator) async throws -> Void
) async throws {
    let configuration = ObshellSimulator.Configuration(
        host: "127.0.0.1",
        port: 0,
        unixSocketPath: unixSocketPath,
        keyBits: keyBits,
        clock: .manual
    )
    let simulator = try ObshellSimulator(scenario: scenario, configuration: configuration)
    let server = Task { try await simulator.run() }
    do {
        let addresses = try await simulator.addresses()
        try await body(RunningSimulator(simulator: simulator, addresses: addresses, password: scenario.agent.password))
    } catch {
        server.cancel()
        _ = await server.result
        throw error
    }
    server.cancel()
    _ = await server.result
}

/// A bundled scenario.
func bundledScenario(_ name: String) throws -> Scenario {
    try Scenario.load(contentsOfFile: packageRoot.appendingPathComponent("scenarios/\(name)").path)
}

/// A failed answer's envelope, as raw JSON.
struct FailureBody: Decodable {
    var successful: Bool
    var status: Int
    var traceId: String
    var error: APIError
}

func failure(_ response: HTTPResponse) throws -> FailureBody {
    try JSONDecoder().decode(FailureBody.self, from: response.body)
}

extension HTTPResponse {
    var text: String { String(decoding: self.body, as: UTF8.self) }
}
