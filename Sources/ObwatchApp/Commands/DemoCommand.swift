import ArgumentParser
import ConfigModel
import Delivery
import Foundation
import Logging
import Messages
import ObshellAgent
import ObshellModel
import Pipeline
import Routing
import Simulator
import Support
import Synchronization
import Tracker

/// `obwatch demo`: the embedded default. A simulated cluster runs a scale-out that fails, is retried and succeeds;
/// the daemon's own pipeline (poller, tracker, router, outbox) watches it on `rules/demo.yaml` and delivers to the
/// terminal and to a JSON Lines file.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Show obwatch at work on a simulated cluster, with nothing to configure.",
        discussion: """
            Starts the simulator on the bundled scale-out-fails scenario and runs the daemon on rules/demo.yaml \
            in a temporary state folder: it polls the simulator with obshell's real authentication, tracks the \
            DAG, routes every event through the rules and delivers through the outbox to the terminal (one line \
            per notification, marked with ->) and to a JSON Lines file. Scenario time runs faster than real time, \
            so the demo ends by itself within a minute, with a summary of what was sent. The temporary folder \
            is removed at the end unless --keep is given.
            """
    )

    @Option(help: "The scenario to play (default: the bundled scenarios/scale-out-fails.yaml).")
    var scenario: String?

    @Option(help: "The rules to run on (default: the bundled rules/demo.yaml).")
    var rules: String?

    @Option(help: "Scenario seconds per poll; each poll takes a fifth of a real second.")
    var step: Int = 5

    @Flag(help: "Keep the temporary folder (the state and the JSON Lines file) instead of removing it at the end.")
    var keep = false

    func run() async throws {
        guard let path = self.scenario ?? Self.bundled("scenarios", "scale-out-fails.yaml") else {
            StandardError.write("obwatch demo: cannot find scenarios/scale-out-fails.yaml; give --scenario FILE")
            throw ExitCode(1)
        }
        guard let rulesPath = self.rules ?? Self.bundled("rules", "demo.yaml") else {
            StandardError.write("obwatch demo: cannot find rules/demo.yaml; give --rules FILE")
            throw ExitCode(1)
        }
        let scenario: Scenario
        do {
            scenario = try Scenario.load(contentsOfFile: path)
        } catch {
            for line in error.diagnostics.isEmpty ? ["\(error)"] : error.diagnostics { StandardError.write(line) }
            throw ExitCode(1)
        }
        // The demo keeps its state in a temporary folder (localized below), never in the rules' state_dir, which
        // may sit beside read-only rules (/usr/share/obwatch/rules when installed from the package).
        let (checked, lines) = RunCommand.checkedConfig(rulesPath, probingStateDirectory: false)
        guard let demoConfig = checked, !demoConfig.targets.isEmpty else {
            for line in lines { StandardError.write(line) }
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
        let keep = self.keep
        defer { if !keep { try? FileManager.default.removeItem(at: folder) } }

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await simulator.run() }
            defer { group.cancelAll() }
            guard let url = try await simulator.addresses().baseURL else { return }
            let config = Self.localized(demoConfig, folder: folder, url: url, password: password)
            print("obwatch \(ObwatchVersion.current) demo: a simulated OceanBase cluster at \(url)")
            print("playing \(path): \(scenario.dags.map(\.dag.name).joined(separator: ", "))")
            print("rules: \(rulesPath) (state in \(folder.path))\n")
            let sent = try await self.watch(
                simulator: simulator,
                config: config,
                until: scenario.lastStepTime,
                clock: SystemClock()
            )
            let files = config.receivers.compactMap { receiver -> String? in
                if case .file(let settings) = receiver.kind { return "\(receiver.name): \(settings.path)" }
                return nil
            }
            let counts = sent.keys.sorted().map { "\(sent[$0] ?? 0) to \($0)" }
            print("\nSent \(sent.values.reduce(0, +)) notifications: \(counts.joined(separator: ", ")).")
            if keep {
                for file in files { print("As JSON Lines (obwatch.notification/v1) in \(file)") }
            } else {
                print("The temporary folder \(folder.path) is removed; --keep keeps it (state and JSON Lines).")
            }
            print("Next: copy rules/default.yaml, put your agents under targets and your webhooks under receivers,")
            print("then `obwatch check --config FILE`, `obwatch test-receiver --config FILE RECEIVER`, and")
            print("`obwatch run --config FILE` (see the README for systemd).")
        }
    }

    /// The demo rules pointed at the simulator and the temporary folder.
    static func localized(_ config: ObwatchConfig, folder: URL, url: String, password: String) -> ObwatchConfig {
        var config = config
        config.stateDirectory = folder.appendingPathComponent("state").path
        config.targets = config.targets.prefix(1).map { target in
            var target = target
            target.url = url
            target.password = Password(password)
            target.timeout = .seconds(5)
            return target
        }
        config.receivers = config.receivers.map { receiver in
            var receiver = receiver
            if case .file(let settings) = receiver.kind {
                let name = URL(fileURLWithPath: settings.path).lastPathComponent
                receiver.kind = .file(FileSettings(path: folder.appendingPathComponent(name).path))
            }
            return receiver
        }
        return config
    }

    /// Polls once per scenario step through the daemon's poller, router and outbox, until the scenario is over and
    /// everything is delivered.
    /// - Parameter clock: The real time the demo is paced by (a fifth of a second per poll) and the outbox runs on.
    /// - Returns: Notifications delivered, by receiver.
    private func watch(
        simulator: ObshellSimulator,
        config: ObwatchConfig,
        until end: Duration,
        clock: any ObwatchClock
    ) async throws
        -> [String: Int]
    {
        // Observations carry scenario time, so stall clocks and event times read as the scenario's.
        let scenarioTime = Mutex(await simulator.state().now.date)
        let sent = Mutex<[String: Int]>([:])
        let stateDirectory = URL(fileURLWithPath: config.stateDirectory)
        var silent = Logger(label: "obwatch.demo")
        silent.logLevel = .error
        let outbox = Outbox(
            receivers: config.receivers,
            stateDirectory: stateDirectory,
            makeSender: { receiver in
                DeliverySenders.make(
                    for: receiver,
                    templates: MessageTemplates(receiver: receiver, config: config),
                    console: { print("  -> \($0)") }
                )
            },
            clock: clock,
            logger: silent,
            onAttempt: { attempt in
                if case .delivered = attempt.outcome { sent.withLock { $0[attempt.receiver, default: 0] += 1 } }
            }
        )
        await outbox.start()
        let clock = ScenarioTimeClock(wall: { scenarioTime.withLock { $0 } })
        let storage = LocalStateFolder(directory: stateDirectory, clock: clock)
        let routing = try await RoutingStage(
            router: Router(config: config),
            storage: storage,
            logger: silent,
            deliver: { notifications throws(DeliveryError) in try await outbox.accept(notifications) },
            output: { result in for event in result.events { print(Self.line(for: event)) } }
        )
        let routingTask = Task { try? await routing.run() }
        defer { routingTask.cancel() }
        guard let target = config.targets.first else { return [:] }
        let poller = try await TargetPoller(
            target: target,
            settings: config.trackerSettings,
            storage: storage,
            clock: clock,
            logger: silent,
            sink: { try await routing.observed($0) }
        )
        let viewer = ObshellClient(baseURL: target.url, password: target.password)
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
            _ = await poller.pollOnce()
            try await clock.sleep(for: .milliseconds(200))
        }
        // Let the outbox finish (the console and the file answer at once), within a few seconds.
        for _ in 0..<50 where await outbox.backlog().contains(where: { $0.depth > 0 }) {
            try await clock.sleep(for: .milliseconds(100))
        }
        await outbox.stop(grace: .seconds(2))
        return sent.withLock { $0 }
    }

    /// One readable line per event: time, status, type, summary.
    static func line(for event: Event) -> String {
        let time = event.at.text.split(separator: "T").last.map { String($0.prefix(8)) } ?? event.at.text
        let status = event.status.rawValue.uppercased().padding(toLength: 8, withPad: " ", startingAt: 0)
        let type = event.type.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0)
        return "\(time)  \(status) \(type) \(TerminalText.safe(event.summary))"
    }

    /// Finds a bundled file: in `./FOLDER`, beside the package the binary was built in, or installed
    /// (`PREFIX/share/obwatch/FOLDER` for a binary in `PREFIX/bin`, as the Debian package puts them).
    static func bundled(
        _ folder: String,
        _ name: String,
        executable: URL = DemoCommand.executableURL(),
        currentDirectory: String = FileManager.default.currentDirectoryPath
    ) -> String? {
        let binaryFolder = executable.deletingLastPathComponent()
        let candidates = [
            URL(fileURLWithPath: currentDirectory).appendingPathComponent(folder),
            binaryFolder.appendingPathComponent("../../../\(folder)"),
            binaryFolder.appendingPathComponent("../../\(folder)"),
            binaryFolder.appendingPathComponent("../share/obwatch/\(folder)"),
        ]
        return candidates.map { $0.appendingPathComponent(name).standardizedFileURL.path }
            .first { FileManager.default.fileExists(atPath: $0) }
    }

    /// The running binary's real path. `argv[0]` is a bare name when the shell found the binary through PATH
    /// (`obwatch demo` once installed), so Linux's `/proc/self/exe` comes first.
    static func executableURL() -> URL {
        if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return URL(fileURLWithPath: target)
        }
        return URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
    }
}
