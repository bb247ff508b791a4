import Curl
import Foundation
import ObshellModel
import Simulator
import Testing

@Suite struct RealTimeTests {
    @Test func realTimeClockCannotBeAdvancedByHand() async throws {
        let simulator = try ObshellSimulator(
            scenario: try bundledScenario("scale-out.yaml"),
            configuration: ObshellSimulator.Configuration(port: 0, keyBits: 512, clock: .realTime)
        )
        let server = Task { try await simulator.run() }
        let addresses = try await simulator.addresses()
        let base = try #require(addresses.baseURL)
        #expect(base.hasPrefix("http://127.0.0.1:") && addresses.port != 0)
        await #expect(throws: SimulatorError.self) { try await simulator.advance(by: .seconds(1)) }
        // The control route exists only with a manual clock.
        let control = try await CurlEngine.shared.perform(
            HTTPRequest(method: .post, url: base + "/_simulator/advance?by=15s")
        )
        #expect(control.status == 404)
        let info = try await CurlEngine.shared.perform(HTTPRequest(url: base + "/api/v1/info"))
        #expect(info.status == 200)
        server.cancel()
        _ = await server.result
        await #expect(throws: SimulatorError.self) { try await simulator.addresses() }
    }

    @Test func keySizeMustBeObshells() {
        #expect(throws: SimulatorError.self) {
            try ObshellSimulator(
                scenario: try bundledScenario("scale-out.yaml"),
                configuration: ObshellSimulator.Configuration(keyBits: 2048)
            )
        }
    }

    @Test func busyPortIsAListenError() async throws {
        try await withSimulator(try bundledScenario("scale-out.yaml")) { agent in
            let second = try ObshellSimulator(
                scenario: try bundledScenario("scale-out.yaml"),
                configuration: ObshellSimulator.Configuration(port: agent.addresses.port ?? 0, keyBits: 512)
            )
            await #expect(throws: SimulatorError.self) { try await second.run() }
            await #expect(throws: SimulatorError.self) { try await second.addresses() }
        }
    }
}
