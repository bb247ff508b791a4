import ArgumentParser
import ConfigLoading
import ConfigModel
import Foundation
import History
import ObshellModel
import Routing
import Tracker

/// `obwatch replay`: recorded exchanges through the tracker, one JSON event per line.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay recorded agent exchanges (JSON Lines) through the tracker and print the events.",
        discussion: """
            Each capture line is one exchange with an agent (CONTRACT section 5). Events are printed as JSON, one \
            per line, with the capture's own clock; with --config, each carries the routes its rules, silences \
            and inhibitions give it, and repeat reminders come out at their time. Nothing is delivered. A bad line is reported on stderr as FILE:LINE: error: MESSAGE \
            and skipped; the rest is still replayed, and the exit status is then 1.
            """
    )

    @Option(
        help: """
            A configuration whose rules route the events, and whose targets' settings (down_after, \
            confirm_within, stall_after) and labels apply; receivers and rules alone will do.
            """
    )
    var config: String?

    @Option(
        help: """
            A duration history exported by `obwatch history export`, to start from; the replay adds every run it \
            sees succeed either way.
            """
    )
    var history: String?

    @Argument(help: "Capture files, replayed in the order given.")
    var captures: [String]

    func run() async throws {
        var replayer = Replayer()
        var router: Router?
        if let path = self.config {
            do {
                // Replay writes no state and tracks every target its captures name: receivers and rules suffice.
                let loader = ConfigLoader(secretsRequired: false, targetsRequired: false)
                let (config, _) = try loader.loadValid(contentsOfFile: path)
                replayer = Self.replayer(for: config)
                router = Router(config: config)
            } catch {
                for line in error.lines { StandardError.write(line) }
                throw ExitCode(1)
            }
        }
        if let path = self.history {
            do {
                replayer.startHistory(from: try HistoryFile.read(contentsOf: URL(fileURLWithPath: path)))
            } catch {
                StandardError.write("error: \(error)")
                throw ExitCode(1)
            }
        }
        let output = Self.replay(files: self.captures, replayer: replayer, router: router)
        for line in output.errors { StandardError.write(line) }
        if output.exitCode != 0 { throw ExitCode(output.exitCode) }
    }

    /// What a replay printed: event lines on stdout (written as they come), problems for stderr.
    struct Output {
        var events: [String] = []
        var errors: [String] = []
        var exitCode: Int32 { self.errors.isEmpty ? 0 : 1 }
    }

    /// A replayer with the configured targets' settings and identities; targets only a capture names get the
    /// configuration's defaults.
    static func replayer(for config: ObwatchConfig) -> Replayer {
        var identities: [String: TargetIdentity] = [:]
        var settings: [String: TrackerSettings] = [:]
        for target in config.targets {
            identities[target.name] = target.identity
            settings[target.name] = config.trackerSettings
        }
        return Replayer(defaultSettings: config.trackerSettings, settingsByTarget: settings, identities: identities)
    }

    /// Replays the files in order through one tracker per target and the rules.
    /// - Parameters:
    ///   - files: Capture paths.
    ///   - replayer: The trackers, with the configured targets' settings.
    ///   - router: The configured rules; without one, every event has `"routes": []`.
    ///   - write: Called with each event line as soon as it is made (stdout by default).
    static func replay(
        files: [String],
        replayer: Replayer = Replayer(),
        router: Router? = nil,
        write: (String) -> Void = { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) }
    ) -> Output {
        var replayer = replayer
        var routing = RouterState()
        var output = Output()
        func emit(_ events: [Event]) {
            for var event in events {
                event.routes = event.routes ?? []
                let line = event.jsonLine()
                output.events.append(line)
                write(line)
            }
        }
        for path in files {
            guard let data = FileManager.default.contents(atPath: path) else {
                output.errors.append("\(path): error: cannot read the file")
                continue
            }
            let reading = CaptureReader.read(data, file: path)
            output.errors += reading.diagnostics.map(\.description)
            for entry in reading.entries {
                let events = replayer.feed(entry)
                guard let router else {
                    emit(events)
                    continue
                }
                // The capture's clock drives the rules, through the daemon's own observe step.
                let batch = EventBatch(events: events, at: entry.observation.at)
                for result in router.observe(batch, state: &routing) { emit(result.events) }
            }
        }
        return output
    }
}
