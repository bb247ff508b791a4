import ArgumentParser
import ConfigModel
import Foundation
import History
import ObshellModel
import Support
import Tracker
import YAML

/// `obwatch watch`: a live terminal view of every DAG of every target, with progress bars and the latest events.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "A live view of every DAG of every target, with progress bars and the latest events.",
        discussion: """
            Polls every target of the config (or the one agent of --url) and shows, per target, whether it \
            answers, and per DAG a progress bar, its state, how long it has run, how long it has gone without \
            progress and the node it is at, then the latest events. On a terminal the view is redrawn in place; \
            otherwise each event is printed as a line, with one status line per poll. The trackers keep their \
            state in a temporary folder, never in the daemon's state_dir, and nothing is delivered. Ctrl-C ends \
            it with exit status 0; an invalid config exits 1.
            """
    )

    @Option(help: "The configuration file (YAML): watch every target in it.")
    var config: String?

    @Option(help: "One obshell agent instead of a config: http://HOST:2886, https://..., or unix:///PATH.")
    var url: String?

    @OptionGroup var password: PasswordOptions

    @Option(help: "How often every target is polled, e.g. 2s or 500ms.")
    var interval: String = "2s"

    @Option(
        help: "How long to wait for the agent of --url, such as 10s (default: 5s).",
        transform: DurationArgument.parse
    )
    var timeout = DurationArgument(.seconds(5))

    func validate() throws {
        guard (self.config == nil) != (self.url == nil) else {
            throw ValidationError("give --config FILE or --url URL (one of them)")
        }
        if self.config != nil && (self.password.passwordEnv != nil || self.password.passwordFile != nil) {
            throw ValidationError("--password-env and --password-file go with --url; a config names its passwords")
        }
        guard Self.interval(self.interval) != nil else {
            throw ValidationError("--interval: \(self.interval) is not a duration such as 2s or 500ms")
        }
    }

    func run() async throws {
        let targets: [ObwatchConfig.Target]
        let settings: TrackerSettings
        var history: DurationHistory?
        if let path = self.config {
            let (config, lines) = RunCommand.checkedConfig(path, command: "watch")
            for line in lines { StandardError.write(line) }
            guard let config else { throw ExitCode(1) }
            targets = config.targets
            settings = config.trackerSettings
            // What the daemon learned of usual durations, read once (never written: the daemon owns it), so that
            // running DAGs show their ETA band. With PostgreSQL the history is in the database: none here.
            if config.store == .local {
                let file = HistoryFile(folder: URL(fileURLWithPath: config.stateDirectory)) { "watch" }
                history = file.file.load(timestamp: "watch").value
            }
        } else {
            let url = self.url ?? ""
            targets = [
                ObwatchConfig.Target(
                    name: Self.targetName(url: url),
                    url: url,
                    password: try self.password.load(),
                    pollInterval: Self.interval(self.interval) ?? .seconds(2),
                    timeout: self.timeout.duration,
                    labels: [:]
                )
            ]
            settings = TrackerSettings()
        }
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("obwatch-watch-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let session = WatchSession(
            targets: targets,
            settings: settings,
            interval: Self.interval(self.interval) ?? .seconds(2),
            stateDirectory: folder,
            history: history,
            mode: WatchTerminal.isTerminal ? .terminal : .plain,
            clock: SystemClock()
        )
        await session.run()
    }

    /// The poll interval: a positive duration as the config writes them (`2s`, `500ms`, `1m`).
    static func interval(_ text: String) -> Duration? {
        guard let written = WrittenDuration(text), written.duration > .zero else { return nil }
        return written.duration
    }

    /// The name of the one target of `--url`: its host, else the socket's file name.
    static func targetName(url: String) -> String {
        let parsed = URL(string: url)
        if let host = parsed?.host, !host.isEmpty { return host }
        if let file = parsed?.lastPathComponent, !file.isEmpty, file != "/" { return file }
        return "agent"
    }
}
