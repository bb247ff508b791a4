import ArgumentParser
import ConfigModel
import Foundation
import Pipeline
import Support

/// `obwatch test-heartbeat`: one heartbeat ping now, and what the checker answered.
struct TestHeartbeatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test-heartbeat",
        abstract: "Send one heartbeat ping (the config's heartbeat:) and print what the checker answered.",
        discussion: """
            Pings exactly as `run` does (method, authorization, TLS, timeout), once, whatever the pipeline's \
            health. The URL is a secret and is never printed. Exits 0 when the checker answered 2xx, 1 when not or \
            when the config has no heartbeat.
            """
    )

    @Option(help: "The configuration file (YAML).")
    var config: String

    func run() async throws {
        let (loaded, lines) = RunCommand.checkedConfig(self.config, command: "test-heartbeat")
        guard let config = loaded else {
            for line in lines { StandardError.write(line) }
            throw ExitCode(1)
        }
        guard let settings = config.heartbeat else {
            StandardError.write("obwatch test-heartbeat: \(self.config) has no heartbeat: block")
            throw ExitCode(1)
        }
        let result = await HeartbeatPinger(
            settings: settings,
            userAgent: "obwatch/\(ObwatchVersion.current)",
            clock: SystemClock()
        ).ping()
        let output =
            "heartbeat (\(settings.method.rawValue) \(settings.redactedURL)): "
            + (result.ok ? "the checker took the ping" : "the ping failed") + "; it answered: \(result.detail)"
        FileHandle.standardOutput.write(Data((output + "\n").utf8))
        if !result.ok { throw ExitCode(1) }
    }
}
