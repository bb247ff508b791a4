import Foundation
import Simulator
import Synchronization
import Testing
import Tracker

/// The package root, from this file's path.
let packageRoot = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A bundled scenario from `scenarios/`.
func bundledScenario(_ name: String) throws -> Scenario {
    try Scenario.load(contentsOfFile: packageRoot.appendingPathComponent("scenarios/\(name)").path)
}

/// An in-process simulator on a free port whose clock only the test moves.
struct ManualSimulator {
    let simulator: ObshellSimulator
    let url: String
    private let server: Task<Void, any Error>

    /// Starts `scenario` with a 512-bit key and the given root password.
    init(_ scenario: Scenario, password: String = "root-pw") async throws {
        self.simulator = try ObshellSimulator(
            scenario: scenario,
            configuration: .init(keyBits: 512, clock: .manual, password: password)
        )
        let simulator = self.simulator
        self.server = Task { try await simulator.run() }
        self.url = try #require(try await simulator.addresses().baseURL)
    }

    /// Stops serving.
    func stop() { self.server.cancel() }
}

/// A fresh folder under the temporary directory.
func temporaryFolder(_ prefix: String) throws -> URL {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder
}

/// Collects what a poller hands its sink.
final class EventBox: Sendable {
    private let events = Mutex<[Event]>([])

    func append(_ events: [Event]) { self.events.withLock { $0 += events } }
    var all: [Event] { self.events.withLock { $0 } }
}
