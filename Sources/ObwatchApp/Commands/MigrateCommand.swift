import ArgumentParser
import ConfigModel
import Foundation
import Logging
import PostgresStore
import Support

/// `obwatch migrate`: brings the PostgreSQL schema of `store:` to the version this obwatch needs.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create or upgrade the PostgreSQL schema the config's store: names, and say what was done.",
        discussion: """
            Reads the config as `obwatch check` does, connects to store.postgres and applies the migrations the \
            schema lacks, in one transaction under a lock, so that replicas starting at the same time migrate \
            once. Running it again does nothing. `obwatch run` does the same when it starts; this command is for \
            doing it ahead of a rollout. A schema a newer obwatch migrated is refused (exit 1) and left as it is. \
            A config without store: keeps its state in state_dir: there is nothing to migrate. The password is \
            never printed.
            """
    )

    @Option(help: "The configuration file (YAML).")
    var config: String

    func run() async throws {
        let (config, lines) = RunCommand.checkedConfig(self.config, command: "migrate", probingStateDirectory: false)
        for line in lines { StandardError.write(line) }
        guard let config else { throw ExitCode(1) }
        guard case .postgres(let settings) = config.store else {
            Self.print("\(self.config) keeps its state in state_dir (no store: postgres); nothing to migrate")
            return
        }
        do {
            let store = try PostgresStore(settings: settings, clock: SystemClock(), logger: RunCommand.storeLogger)
            let report = try await store.migrate(appliedBy: RunCommand.migratedBy)
            Self.print("\(settings.summary)")
            for line in report.lines { Self.print(line) }
            await store.close()
        } catch {
            StandardError.write("obwatch migrate: \(error.message)")
            throw ExitCode(1)
        }
    }

    private static func print(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
