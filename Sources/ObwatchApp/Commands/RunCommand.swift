import ArgumentParser
import Foundation
import Logging
import Synchronization
import Tracker

/// `obwatch run`: the daemon. This stage polls every target, tracks every DAG and prints the events; rules and
/// delivery come later.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Poll every configured target, track every DAG, and print each event as a JSON line.",
        discussion: """
            Reads state_dir, defaults and targets from the config file (http, receivers, rules, silences, inhibit \
            and include are accepted and not used yet). Each event goes to standard output as one JSON line; logs \
            go to standard error. The tracker state is saved after every change, so a restart resumes. Exits 1 \
            when the config is invalid, printing one FILE:LINE:COL: error: line per problem.
            """
    )

    @Option(help: "The configuration file (YAML).")
    var config: String

    @Option(help: "Append every exchange with every agent to this file, in the capture format `replay` reads.")
    var record: String?

    func run() async throws {
        let config: DaemonConfig
        do {
            config = try DaemonConfig.load(
                contentsOfFile: self.config,
                environment: ProcessInfo.processInfo.environment
            )
        } catch {
            for line in error.lines { StandardError.write(line) }
            throw ExitCode(1)
        }
        var recorder: CaptureRecorder?
        if let path = self.record {
            do {
                recorder = try CaptureRecorder(path: path)
            } catch {
                StandardError.write("obwatch run: \(error)")
                throw ExitCode(1)
            }
        }
        defer { recorder?.close() }
        let output = EventOutput()
        let store = StateStore(directory: URL(fileURLWithPath: config.stateDirectory))
        let settings = config.trackerSettings
        let pollers = config.targets.map { target in
            TargetPoller(
                target: target,
                settings: settings,
                store: store,
                recorder: recorder,
                sink: { output.write($0) }
            )
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for poller in pollers {
                group.addTask { try await poller.run() }
            }
            try await group.waitForAll()
        }
    }
}

/// Standard output for events: one whole line per write, unbuffered so that a pipe sees each event at once.
final class EventOutput: Sendable {
    private let lock = Mutex(())

    /// Writes an event as one JSON line.
    func write(_ event: Event) {
        let data = Data((event.jsonLine() + "\n").utf8)
        self.lock.withLock { _ in FileHandle.standardOutput.write(data) }
    }
}
