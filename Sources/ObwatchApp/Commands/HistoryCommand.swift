import ArgumentParser
import ConfigModel
import Foundation
import History
import Logging
import ObshellAgent
import PostgresStore
import Support

/// `obwatch history show|export`: what obwatch has learned about usual durations.
struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Show or export the duration history behind ETAs and slow events.",
        subcommands: [HistoryShowCommand.self, HistoryExportCommand.self, HistoryBackfillCommand.self]
    )

    /// The history the config's store holds: `history.json` in `state_dir`, or the `history` table with
    /// `store: postgres`.
    static func load(configPath: String, command: String) async throws -> DurationHistory {
        let (config, lines) = RunCommand.checkedConfig(configPath, command: command, probingStateDirectory: false)
        for line in lines { StandardError.write(line) }
        guard let config else { throw ExitCode(1) }
        switch config.store {
        case .postgres(let settings):
            let store: PostgresStore
            do {
                store = try PostgresStore(settings: settings, clock: SystemClock(), logger: RunCommand.storeLogger)
            } catch {
                StandardError.write("obwatch \(command): \(error.message)")
                throw ExitCode(1)
            }
            let loaded: Result<DurationHistory, HistoryStoreError>
            do {
                loaded = .success(try await PostgresHistoryStore(store: store).load())
            } catch {
                loaded = .failure(error)
            }
            await store.close()
            switch loaded {
            case .success(let history): return history
            case .failure(let error):
                StandardError.write("obwatch \(command): \(error)")
                throw ExitCode(1)
            }
        default:
            let folder = URL(fileURLWithPath: config.stateDirectory)
            let url = folder.appendingPathComponent(HistoryFile.fileName)
            guard FileManager.default.fileExists(atPath: url.path) else { return DurationHistory() }
            do {
                return try HistoryFile.read(contentsOf: url)
            } catch {
                StandardError.write("obwatch \(command): \(error)")
                throw ExitCode(1)
            }
        }
    }

    static func print(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}

/// `obwatch history show`: per template and node, how many runs, p50 and p95, and whose history an estimate uses.
struct HistoryShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print what obwatch has learned: runs, p50 and p95 per DAG template and node.",
        discussion: """
            One line per target, DAG template, node template and parallel width (sub-tasks), whole DAGs first. \
            "uses" says what an estimate for that key draws on: the target's own runs (5 needed), every \
            target's (10 needed), or nothing yet.
            """
    )

    @Option(help: "The configuration file (YAML); its state_dir or store: holds the history.")
    var config: String?

    @Option(help: "A file written by `obwatch history export` instead of the config's store.")
    var file: String?

    @Option(help: "Only this target.")
    var target: String?

    @Option(help: "Only DAG templates matching this glob, e.g. 'Create tenant*'.")
    var dag: String?

    func run() async throws {
        let history: DurationHistory
        if let file = self.file {
            do {
                history = try HistoryFile.read(contentsOf: URL(fileURLWithPath: file))
            } catch {
                StandardError.write("obwatch history show: \(error)")
                throw ExitCode(1)
            }
        } else if let config = self.config {
            history = try await HistoryCommand.load(configPath: config, command: "history show")
        } else {
            StandardError.write("obwatch history show: give --config FILE or --file FILE")
            throw ExitCode(1)
        }
        var glob: Glob?
        if let pattern = self.dag {
            do {
                glob = try Glob(pattern)
            } catch {
                StandardError.write("obwatch history show: --dag \(pattern): \(error)")
                throw ExitCode(1)
            }
        }
        for line in Self.lines(history, target: self.target, dag: glob) { HistoryCommand.print(line) }
    }

    /// The table `show` prints.
    static func lines(_ history: DurationHistory, target: String?, dag: Glob?) -> [String] {
        let keys = history.keys.filter { key in
            (target == nil || key.target == target) && (dag.map { $0.matches(key.dagTemplate) } ?? true)
        }
        guard !keys.isEmpty else { return ["no history yet"] }
        var lines = ["TARGET\tDAG\tNODE\tWIDTH\tRUNS\tP50\tP95\tUSES"]
        for key in keys {
            let own = history.samples[key] ?? []
            let statistics = DurationStatistics(seconds: own.map(\.seconds))
            let pool = history.pool(for: key)
            let format = HistoryDurationText.format
            lines.append(
                [
                    key.target, key.dagTemplate, key.nodeTemplate ?? "(whole DAG)", String(key.width),
                    String(own.count), statistics.map { format($0.p50) } ?? "-",
                    statistics.map { format($0.p95) } ?? "-",
                    pool.map { "\($0.scope.rawValue) (\($0.statistics.count))" } ?? "too few runs",
                ].joined(separator: "\t")
            )
        }
        return lines
    }
}

/// `obwatch history export`: the history as JSON, for `replay --history` or another obwatch.
struct HistoryExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the duration history as JSON (for `obwatch replay --history FILE`)."
    )

    @Option(help: "The configuration file (YAML); its state_dir or store: holds the history.")
    var config: String

    @Option(help: "Write here instead of standard output.")
    var output: String?

    func run() async throws {
        let history = try await HistoryCommand.load(configPath: self.config, command: "history export")
        let file = StateFile<DurationHistory>(url: URL(fileURLWithPath: self.output ?? "/dev/stdout"))
        do {
            let data = try file.encoded(history)
            if let output = self.output {
                try AtomicFile.store(data, at: URL(fileURLWithPath: output))
            } else {
                FileHandle.standardOutput.write(data + Data("\n".utf8))
            }
        } catch {
            StandardError.write("obwatch history export: \(error)")
            throw ExitCode(1)
        }
    }
}

/// `obwatch history backfill`: fills the history from every target's finished DAGs, as `run` does at its start.
struct HistoryBackfillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backfill",
        abstract: "Read every target's finished DAGs (GET /api/v1/task/dags/ob and /agent) into the history.",
        discussion: """
            Prints per target how many DAGs each list gave, or why it could not be read (an agent older than \
            these routes answers 404; one that is not a cluster agent answers dags/ob with an error). Only the \
            state folder's history.json is written; with store: postgres, `obwatch run` backfills at its start.
            """
    )

    @Option(help: "The configuration file (YAML).")
    var config: String

    func run() async throws {
        let (config, lines) = RunCommand.checkedConfig(
            self.config,
            command: "history backfill",
            probingStateDirectory: false
        )
        for line in lines { StandardError.write(line) }
        guard let config else { throw ExitCode(1) }
        if case .postgres = config.store {
            StandardError.write("obwatch history backfill: the history is in PostgreSQL; `obwatch run` backfills it")
            throw ExitCode(1)
        }
        let clock = SystemClock()
        let file = HistoryFile(folder: URL(fileURLWithPath: config.stateDirectory)) {
            String(Int64(clock.wallNow.timeIntervalSince1970))
        }
        let book = HistoryBook(history: try await file.load(), store: file)
        let outcomes = await HistoryBackfill.run(
            targets: config.targets,
            book: book,
            clock: clock,
            logger: Logger(label: "obwatch.history")
        )
        for outcome in outcomes {
            for scope in ObshellClient.DagScope.allCases.map(\.rawValue) {
                if let count = outcome.read[scope] {
                    HistoryCommand.print("\(outcome.target): dags/\(scope): \(count) DAGs read")
                } else if let problem = outcome.problems[scope] {
                    HistoryCommand.print("\(outcome.target): dags/\(scope): not read: \(problem)")
                }
            }
        }
        if let error = await book.lastError {
            StandardError.write("obwatch history backfill: \(error)")
            throw ExitCode(1)
        }
    }
}
