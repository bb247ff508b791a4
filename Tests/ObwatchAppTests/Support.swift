import Foundation
import Simulator
import Synchronization
import Testing

/// The package root, from this file's path.
let packageRoot = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A bundled scenario from `scenarios/`.
func bundledScenario(_ name: String) throws -> Scenario {
    try Scenario.load(contentsOfFile: packageRoot.appendingPathComponent("scenarios/\(name)").path)
}

/// An in-process simulator on a free port whose clock only the test moves.
///
/// A `hang` fault is answered at once (with obshell's 500): a hung request is one failed poll, and no test waits
/// out a real timeout for it, so every poll can have a timeout no load on the machine can trip.
struct ManualSimulator {
    let simulator: ObshellSimulator
    let url: String
    private let server: Task<Void, any Error>

    /// Starts `scenario` with a 512-bit key and the given root password.
    init(_ scenario: Scenario, password: String = "root-pw") async throws {
        self.simulator = try ObshellSimulator(
            scenario: scenario,
            configuration: .init(keyBits: 512, clock: .manual, hangCap: .zero, password: password)
        )
        let simulator = self.simulator
        self.server = Task { try await simulator.run() }
        self.url = try #require(try await simulator.addresses().baseURL)
    }

    /// Stops serving.
    func stop() { self.server.cancel() }
}
