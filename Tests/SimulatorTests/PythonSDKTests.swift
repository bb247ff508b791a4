import Foundation
import ObshellModel
import Simulator
import Testing

/// obshell's official Python SDK (obshell 0.0.9 from PyPI) reads the simulator: the wire format, the header
/// encryption with 512- and 1024-bit keys, and the password refusal must all be what the SDK expects.
@Suite struct PythonSDKTests {
    private struct Summary: Decodable, Equatable {
        var id: String
        var name: String
        var stage: Int
        var max_stage: Int
        var state: String
        var `operator`: String
        var nodes: [String]

        init(id: String, name: String, stage: Int, max_stage: Int, state: String, operator: String, nodes: [String]) {
            self.id = id
            self.name = name
            self.stage = stage
            self.max_stage = max_stage
            self.state = state
            self.operator = `operator`
            self.nodes = nodes
        }

        init(_ dag: Dag) {
            self.init(
                id: dag.id,
                name: dag.name,
                stage: dag.stage,
                max_stage: dag.maxStage,
                state: dag.state.rawValue,
                operator: dag.operator.rawValue,
                nodes: dag.nodes?.map(\.name) ?? []
            )
        }
    }

    /// The SDK's virtualenv is not there: the test fails and says how to make it.
    private struct SDKMissing: Error, CustomStringConvertible {
        var python: String
        var description: String {
            "obshell's Python SDK is missing: run scripts/sdk-venv.sh (it creates \(self.python))"
        }
    }

    private struct Output: Decodable {
        var unfinished: [Summary]?
        var dags: [Summary]?
        var error: APIError?
    }

    private static let python = packageRoot.appendingPathComponent(".build/sdk-venv/bin/python").path
    private static let script = packageRoot.appendingPathComponent("Tests/SimulatorTests/Peers/sdk_read.py").path

    /// Runs the SDK script and waits for it to exit (no polling: the termination handler resumes the test).
    private func runSDK(_ arguments: [String]) async throws -> Output {
        guard FileManager.default.isExecutableFile(atPath: Self.python) else {
            throw SDKMissing(python: Self.python)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python)
        process.arguments = [Self.script] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(status == 0, "the SDK script failed: \(stderr)")
        return try JSONDecoder().decode(Output.self, from: stdout)
    }

    @Test(arguments: [512, 1024])
    func sdkReadsExactlyTheScenarioDags(keyBits: Int) async throws {
        try await withSimulator(try bundledScenario("scale-out-fails.yaml"), keyBits: keyBits) { agent in
            try await agent.simulator.advance(to: .seconds(30))
            let state = await agent.simulator.state()
            let expected = state.unfinishedDags.map(Summary.init)
            #expect(expected.first?.state == "FAILED")
            let port = String(agent.addresses.port ?? 0)
            let output = try await self.runSDK(["127.0.0.1", port, agent.password, "11"])
            #expect(output.error == nil)
            #expect(output.unfinished == expected)
            #expect(output.dags == state.dag(id: "11").map { [Summary($0)] })
        }
    }

    @Test func sdkSeesAWrongPasswordRefusedAsObshellRefusesIt() async throws {
        try await withSimulator(try bundledScenario("scale-out.yaml"), keyBits: 1024) { agent in
            let port = String(agent.addresses.port ?? 0)
            let output = try await self.runSDK(["127.0.0.1", port, "wrong-password"])
            #expect(output.unfinished == nil)
            #expect(output.error?.code == 10008)
            #expect(output.error?.errCode == "Security.Authentication.IncorrectOceanbasePassword")
        }
    }
}
