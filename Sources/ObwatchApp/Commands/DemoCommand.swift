import ArgumentParser
import Foundation
import Logging
import Obshell
import Rules
import Simulator
import Synchronization
import Tracker

/// `obwatch demo`: the embedded default. A simulated cluster runs a scale-out that fails, is retried and succeeds;
/// obwatch polls it as it would a real agent (authentication included), tracks the DAG, and shows each event.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Show obwatch at work on a simulated cluster, with nothing to configure.",
        discussion: """
            Starts the simulator on the bundled scale-out-fails scenario, polls it with obshell's real \
            authentication, runs every answer through the tracker, prints each event as a line, and writes the \
            events as JSON Lines to a file in a temporary folder. Scenario time runs faster than real time so the \
            demo ends within a minute.
            """
    )

    @Option(help: "The scenario to play (default: the bundled scenarios/scale-out-fails.yaml).")
    var scenario: String?

    @Option(help: "Scenario seconds per poll; each poll takes a fifth of a real second.")
    var step: Int = 5

    func run() async throws {
        guard let path = self.scenario ?? Self.bundledScenario("scale-out-fails.yaml") else {
            StandardError.write("obwatch demo: cannot find scenarios/scale-out-fails.yaml; give --scenario FILE")
            throw ExitCode(1)
        }
        let scenario: Scenario
        do {
            scenario = try Scenario.load(contentsOfFile: path)
        } catch {
            for line in error.diagnostics.isEmpty ? ["\(error)"] : error.diagnostics { StandardError.write(line) }
            throw ExitCode(1)
        }
        let password = "demo-\(UInt32.random(in: 0...UInt32.max))"
        var quiet = Logger(label: "obwatch.simulator")
        quiet.logLevel = .warning
        let simulator = try ObshellSimulator(
            scenario: scenario,
            configuration: .init(keyBits: 1024, clock: .manual, password: password, logger: quiet)
        )
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("obwatch-demo-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let eventsFile = folder.appendingPathComponent("events.jsonl")
        guard FileManager.default.createFile(atPath: eventsFile.path, contents: nil) else {
            StandardError.write("obwatch demo: cannot create \(eventsFile.path)")
            throw ExitCode(1)
        }
        let events = try FileHandle(forWritingTo: eventsFile)
        defer { try? events.close() }

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await simulator.run() }
            defer { group.cancelAll() }
            guard let url = try await simulator.addresses().baseURL else { return }
            print("obwatch \(ObwatchVersion.current) demo: a simulated OceanBase cluster at \(url)")
            print("playing \(path): \(scenario.dags.map(\.dag.name).joined(separator: ", "))\n")
            let counts = try await self.watch(
                simulator: simulator,
                url: url,
                password: Password(password),
                stateDirectory: folder.appendingPathComponent("state"),
                until: scenario.lastStepTime,
                events: events
            )
            print("\nSummary: \(counts.map { "\($0.value) \($0.key)" }.sorted().joined(separator: ", ")).")
            print("The events as JSON Lines: \(eventsFile.path)")
            print("Next: look at a real cluster with `obwatch tasks --url http://HOST:2886 --password-env VAR`,")
            print("or replay a recording with `obwatch replay CAPTURE.jsonl`.")
        }
    }

    /// Polls once per scenario step, through the daemon's own poller, until the scenario is over.
    private func watch(
        simulator: ObshellSimulator,
        url: String,
        password: Password,
        stateDirectory: URL,
        until end: Duration,
        events: FileHandle
    ) async throws -> [String: Int] {
        // Observations carry scenario time, so stall clocks and event times read as the scenario's.
        let scenarioTime = Mutex(await simulator.state().now.date)
        let target = ObwatchConfig.Target(
            name: "demo",
            url: url,
            password: password,
            pollInterval: .seconds(self.step),
            timeout: .seconds(5),
            labels: [:]
        )
        let poller = TargetPoller(
            target: target,
            settings: TrackerSettings(),
            store: StateStore(directory: stateDirectory),
            now: { scenarioTime.withLock { $0 } },
            sink: { _ in }
        )
        let viewer = ObshellClient(baseURL: url, password: password)
        var counts: [String: Int] = [:]
        var lastView: [String] = []
        var elapsed = Duration.zero
        while elapsed <= end + .seconds(self.step * 2) {
            elapsed = try await simulator.advance(by: .seconds(max(1, self.step)))
            let now = await simulator.state().now.date
            scenarioTime.withLock { $0 = now }
            if let answer = try? await viewer.unfinishedDags() {
                let lines = TaskListView().lines(for: answer.dags, agentTime: answer.agentTime)
                if lines != lastView {
                    for line in lines { print("  \(line)") }
                    lastView = lines
                }
            }
            for event in await poller.pollOnce() {
                counts[event.type.rawValue, default: 0] += 1
                print(Self.line(for: event))
                events.write(Data((event.jsonLine() + "\n").utf8))
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        return counts
    }

    /// One readable line per event: time, status, type, summary.
    static func line(for event: Event) -> String {
        let time = event.at.text.split(separator: "T").last.map { String($0.prefix(8)) } ?? event.at.text
        let status = event.status.rawValue.uppercased().padding(toLength: 8, withPad: " ", startingAt: 0)
        let type = event.type.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0)
        return "\(time)  \(status) \(type) \(TerminalText.safe(event.summary))"
    }

    /// Finds a bundled scenario: in `./scenarios`, beside the package the binary was built in, or installed.
    static func bundledScenario(_ name: String) -> String? {
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
        let candidates = [
            URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("scenarios"),
            executable.deletingLastPathComponent().appendingPathComponent("../../../scenarios"),
            executable.deletingLastPathComponent().appendingPathComponent("../../scenarios"),
            executable.deletingLastPathComponent().appendingPathComponent("../share/obwatch/scenarios"),
        ]
        return candidates.map { $0.appendingPathComponent(name).standardizedFileURL.path }
            .first { FileManager.default.fileExists(atPath: $0) }
    }
}
