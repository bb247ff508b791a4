import Curl
import Foundation
import ObshellAgent
import ObshellModel
import Simulator
import Synchronization
import Testing

/// obwatch's own client (not a hand-built request) against the simulator's faults: each gives its typed error,
/// none a crash or a hang.
@Suite("The obshell client against the simulator's faults")
struct ClientAgainstSimulatorTests {
    private func client(
        _ running: RunningSimulator,
        password: String? = nil,
        timeout: Duration = .seconds(30)
    )
        -> ObshellClient
    {
        ObshellClient(
            baseURL: running.baseURL,
            password: Password(password ?? running.password),
            transport: CurlAgentTransport(baseURL: running.baseURL, timeout: timeout)
        )
    }

    @Test("flaky-agent.yaml: 500, hang, garbage, partial list, contents null, new key, refused password")
    func faults() async throws {
        try await withSimulator(try bundledScenario("flaky-agent.yaml")) { running in
            // Every request that must be answered has a timeout no load can trip; only the hung one runs into a
            // short timeout (a hang never answers, so it cannot pass in time).
            let transport = HangAwareTransport(baseURL: running.baseURL, short: .milliseconds(700))
            let client = ObshellClient(
                baseURL: running.baseURL,
                password: Password(running.password),
                transport: transport
            )
            let simulator = running.simulator
            let first = try await client.unfinishedDags().dags
            #expect(first.map(\.id) == ["1105"])

            try await simulator.advance(to: .seconds(10))
            let serverError = try await #require(throws: ObshellError.self) { try await client.unfinishedDags() }
            #expect(serverError.code == .httpStatus)
            #expect(serverError.status == 500 && serverError.errCode == "Common.Unexpected")
            _ = try? await client.unfinishedDags()  // the second of the two 500s

            try await simulator.advance(to: .seconds(30))
            transport.expectHang(true)
            let hang = try await #require(throws: ObshellError.self) { try await client.unfinishedDags() }
            transport.expectHang(false)
            #expect(hang.code == .timeout)

            try await simulator.advance(to: .seconds(40))
            let garbage = try await #require(throws: ObshellError.self) { try await client.unfinishedDags() }
            #expect(garbage.code == .undecodable)

            try await simulator.advance(to: .seconds(60))
            let partial = try await client.unfinishedDags().dags
            #expect(partial.isEmpty)
            let hidden = try await client.dag(id: "1105")
            #expect(hidden.state == .running)

            try await simulator.advance(to: .seconds(90))
            let empty = try await client.unfinishedDags().dags
            #expect(empty.isEmpty)

            // A new key: the client fetches it again by itself and the poll succeeds.
            try await simulator.advance(to: .seconds(100))
            let afterKeyChange = try await client.unfinishedDags().dags
            #expect(afterKeyChange.map(\.id) == ["1105"])

            try await simulator.advance(to: .seconds(110))
            let refused = try await #require(throws: ObshellError.self) { try await client.unfinishedDags() }
            #expect(refused.code == .wrongPassword)

            try await simulator.advance(to: .seconds(200))
            let atEnd = try await client.unfinishedDags().dags
            #expect(atEnd.isEmpty)
            let finished = try await client.dag(id: "1105")
            #expect(finished.state == .succeed)
        }
    }

    @Test("unknown ids, malformed ids and a wrong password are typed errors", arguments: [512, 1024])
    func typedErrors(keyBits: Int) async throws {
        try await withSimulator(try bundledScenario("scale-out.yaml"), keyBits: keyBits) { running in
            let client = self.client(running)
            let unknown = try await #require(throws: ObshellError.self) { try await client.dag(id: "1999") }
            #expect(unknown.code == .notFound && unknown.errCode == "Task.NotFound")
            let malformed = try await #require(throws: ObshellError.self) { try await client.dag(id: "1abc") }
            #expect(malformed.code == .httpStatus && malformed.status == 400)
            #expect(malformed.errCode == "Task.GenericID.Invalid")
            let info = try await client.info()
            #expect(info.identity == "CLUSTER AGENT")
            let wrong = try await #require(throws: ObshellError.self) {
                try await self.client(running, password: "not-it").unfinishedDags()
            }
            #expect(wrong.code == .wrongPassword && wrong.apiCode == 10008)
            #expect(!wrong.description.contains("not-it"))
        }
    }

    @Test("the unix socket needs no password")
    func unixSocket() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "obw-\(UInt32.random(in: 0...UInt32.max)).sock"
        ).path
        try await withSimulator(try bundledScenario("scale-out.yaml"), unixSocketPath: path) { _ in
            let client = ObshellClient(baseURL: "unix://" + path)
            let dags = try await client.unfinishedDags().dags
            #expect(dags.first?.name == "Cluster scale out")
        }
    }
}

/// An agent transport with a generous timeout, and a short one for the task requests sent while the test expects
/// the agent to hang: the key fetch and every request that must be answered keep the generous one.
private final class HangAwareTransport: AgentTransport {
    private let patient: CurlAgentTransport
    private let impatient: CurlAgentTransport
    private let expectingHang = Mutex(false)

    init(baseURL: String, short: Duration) {
        self.patient = CurlAgentTransport(baseURL: baseURL, timeout: .seconds(30))
        self.impatient = CurlAgentTransport(baseURL: baseURL, timeout: short)
    }

    /// Whether the next task requests are expected to hang.
    func expectHang(_ expected: Bool) { self.expectingHang.withLock { $0 = expected } }

    func send(_ request: AgentRequest) async throws(ObshellError) -> AgentResponse {
        let hangs = self.expectingHang.withLock { $0 } && request.pathAndQuery.hasPrefix("/api/v1/task/")
        return try await (hangs ? self.impatient : self.patient).send(request)
    }
}
