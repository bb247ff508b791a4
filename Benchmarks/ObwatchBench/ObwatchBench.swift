import ArgumentParser
import ConfigLoading
import ConfigModel
import Curl
import Delivery
import Foundation
import Messages
import ObshellAgent
import ObshellModel
import Pipeline
import Support
import Synchronization
import Tracker

/// The Swift half of `make bench`: each subcommand times one piece of obwatch and prints one JSON line of figures,
/// which `bench/run.py` sets against the official Python SDK (or another baseline) measured in the same run.
@main
struct ObwatchBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Times parts of obwatch; prints one JSON line per run.",
        subcommands: [DecodeBench.self, PollBench.self, ConnectionsBench.self, OutboxBench.self, ReplayBench.self]
    )
}

/// Decoding one agent answer, as the client does after the bytes arrive.
struct DecodeBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decodes an /api/v1/task/dag/unfinish answer N times."
    )

    @Option(help: "The answer's file.")
    var file: String

    @Option(help: "How many decodes are measured (a tenth as many more warm up).")
    var iterations = 1_000

    @Option(help: "obwatch (its own JSON reader, the default) or foundation (Foundation's JSONDecoder, the baseline).")
    var decoder = "obwatch"

    func run() async throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: self.file))
        let decode: (Data) throws -> Envelope<ContentList<Dag>>
        switch self.decoder {
        case "obwatch": decode = { try ObshellDecoder.envelope(ContentList<Dag>.self, from: $0) }
        case "foundation": decode = { try JSONDecoder().decode(Envelope<ContentList<Dag>>.self, from: $0) }
        default: throw ValidationError("--decoder takes obwatch or foundation")
        }
        var dags = 0
        for _ in 0..<max(1, self.iterations / 10) {
            dags = try decode(data).data?.contents.count ?? 0
        }
        let iterations = self.iterations
        let cost = try await Cost.measure {
            for _ in 0..<iterations {
                if try decode(data).data?.contents.count != dags {
                    throw ValidationError("the answer decoded differently")
                }
            }
        }
        var line = ResultLine(bench: "decode")
        line.add("decoder", self.decoder)
        line.add("iterations", iterations)
        line.add("bytes", data.count)
        line.add("dags", dags)
        line.add(cost)
        line.print()
    }
}

/// One poll end to end: the encrypted header, the request over loopback, decoding, and the tracker's step (with the
/// confirmations it asks for): the daemon's own poll cycle, as it runs for each target.
struct PollBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "poll",
        abstract: "Polls an agent's unfinished DAGs N times through the client and the tracker."
    )

    @Option(help: "The agent, e.g. http://127.0.0.1:2886.")
    var url: String

    @Option(help: "The environment variable that holds the root@sys password.")
    var passwordEnv = "OBWATCH_BENCH_PASSWORD"

    @Option(help: "How many polls are measured (20 more warm up, fetching the key first).")
    var polls = 500

    @Option(help: "How long one encrypted header is sent again, in seconds (0: a new one per request, as before).")
    var headerReuseSeconds = 30

    func run() async throws {
        let password = Password(ProcessInfo.processInfo.environment[self.passwordEnv] ?? "")
        let clock = SystemClock()
        let cycle = PollCycle(
            client: ObshellClient(
                baseURL: self.url,
                password: password,
                headerReuse: .seconds(self.headerReuseSeconds),
                exchangeTime: { clock.wallNow }
            ),
            clock: clock
        )
        let journal = TargetJournal(
            identity: TargetIdentity(name: "bench", url: self.url),
            settings: TrackerSettings(),
            record: TargetRecord()
        )
        var failed = 0
        var events = 0
        for _ in 0..<20 { _ = await cycle.run(into: journal) }
        let polls = self.polls
        // As the daemon's poll loop (`TargetPoller.run`): on the curl engine's thread from one poll to the next.
        let cost = await Cost.measure {
            await withTaskExecutorPreference(cycle.engine?.taskExecutor) {
                for _ in 0..<polls {
                    let result = await cycle.run(into: journal)
                    if case .list? = result.observed.first?.observation {
                        events += result.batches.reduce(0) { $0 + $1.events.count }
                    } else {
                        failed += 1
                    }
                }
            }
        }
        var line = ResultLine(bench: "poll")
        line.add("polls", polls)
        line.add("header_reuse_s", self.headerReuseSeconds)
        line.add("connections_opened", CurlEngine.shared.statistics.connectionsOpened)
        line.add("failed", failed)
        line.add("events", events)
        // Polls whose list repeated the last one: the tracker only moved its clocks.
        line.add("unchanged_list_steps", await journal.unchangedListSteps)
        line.add(cost)
        line.print()
    }
}

/// Many targets polled at a fixed cadence through one curl engine, as the daemon polls them: how many connections
/// the engine opens (libcurl's count; `bench/run.py` also counts what the agent side accepted).
struct ConnectionsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connections",
        abstract: "Polls N targets at a fixed interval for a while and counts the connections opened."
    )

    @Option(help: "The agents, comma-separated, e.g. http://127.0.0.1:2886; target i polls the i-th (round robin).")
    var urls: String

    @Option(help: "The environment variable that holds the root@sys password.")
    var passwordEnv = "OBWATCH_BENCH_PASSWORD"

    @Option(help: "How many targets.")
    var targets = 100

    @Option(help: "The poll interval in milliseconds.")
    var intervalMs = 1000

    @Option(help: "How long the targets poll, in seconds (after one interval of warm-up).")
    var seconds = 20

    @Option(help: "The engine's bound on kept connections; 0 is libcurl's own default (4 per transfer in flight).")
    var maxIdleConnections: Int?

    func run() async throws {
        let password = Password(ProcessInfo.processInfo.environment[self.passwordEnv] ?? "")
        let engine = CurlEngine(maxIdleConnections: self.maxIdleConnections)
        let clock = SystemClock()
        let interval = Duration.milliseconds(self.intervalMs)
        let agents = self.urls.split(separator: ",").map(String.init)
        guard !agents.isEmpty else { throw ValidationError("--urls names no agent") }
        let clients = (0..<self.targets).map { index in
            ObshellClient(
                baseURL: agents[index % agents.count],
                password: password,
                transport: CurlAgentTransport(baseURL: agents[index % agents.count], engine: engine)
            )
        }
        let start = clock.now
        let warmUpEnd = start.advanced(by: interval)
        let end = warmUpEnd.advanced(by: .seconds(self.seconds))
        let tally = ConnectionsTally()
        let cost = await Cost.measure {
            await withTaskGroup(of: Void.self) { group in
                for (index, client) in clients.enumerated() {
                    // Each target at its own phase, as the daemon spreads them.
                    let phase = interval * (Double(index) / Double(clients.count))
                    group.addTask {
                        var deadline = start.advanced(by: phase)
                        while deadline < end {
                            try? await clock.sleep(until: deadline, tolerance: nil)
                            if case .failed = await client.readUnfinished().outcome {
                                tally.failures.withLock { $0 += 1 }
                            }
                            deadline = deadline.advanced(by: interval)
                        }
                    }
                }
                group.addTask {
                    try? await clock.sleep(until: warmUpEnd, tolerance: nil)
                    tally.warmUp.withLock { $0 = engine.statistics }
                }
            }
        }
        let before = tally.warmUp.withLock { $0 } ?? CurlEngine.Statistics()
        let after = engine.statistics
        var line = ResultLine(bench: "connections")
        line.add("targets", self.targets)
        line.add("interval_ms", self.intervalMs)
        line.add("seconds", self.seconds)
        line.add("max_idle_connections", self.maxIdleConnections.map(String.init) ?? "default")
        line.add("transfers", after.transfers - before.transfers)
        line.add("connections_opened", after.connectionsOpened - before.connectionsOpened)
        line.add("failed", tally.failures.withLock { $0 })
        line.add(cost)
        line.print()
        engine.shutdown()
    }
}

/// What the connections bench's targets count together.
private final class ConnectionsTally: Sendable {
    /// Polls that failed.
    let failures = Mutex(0)
    /// The engine's counters at the end of the warm-up.
    let warmUp = Mutex<CurlEngine.Statistics?>(nil)
}

/// Notifications through the durable outbox to a webhook: each accepted on its own (its journal entry on disk
/// first), delivered, and marked done.
struct OutboxBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "Sends N notifications through the outbox to a webhook and waits until all were delivered."
    )

    @Option(help: "The receiving webhook, e.g. http://127.0.0.1:9000/hook.")
    var url: String

    @Option(help: "How many notifications.")
    var count = 2_000

    @Option(help: "The state directory (journals go under outbox/); made empty first.")
    var stateDir: String

    func run() async throws {
        let directory = URL(fileURLWithPath: self.stateDir)
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let configFile = directory.appendingPathComponent("bench.yaml")
        let yaml = """
            state_dir: \(directory.path)
            targets:
              - { name: bench, url: "http://127.0.0.1:1" }
            receivers:
              - name: hook
                webhook: { url: "\(self.url)", format: generic }
                rate_limit: none
            rules:
              - { name: all, match: { event: "*" }, notify: [hook] }

            """
        try Data(yaml.utf8).write(to: configFile)
        let (config, _) = try ConfigLoader().loadValid(contentsOfFile: configFile.path)

        let count = self.count
        let (finished, finish) = AsyncStream<Void>.makeStream()
        let tally = Mutex((delivered: 0, other: 0))
        let outbox = Outbox(
            receivers: config.receivers,
            stateDirectory: directory,
            makeSender: { DeliverySenders.make(for: $0, templates: MessageTemplates(receiver: $0, config: config)) },
            onAttempt: { attempt in
                let done = tally.withLock { tally in
                    if case .delivered = attempt.outcome { tally.delivered += 1 } else { tally.other += 1 }
                    return tally.delivered == count
                }
                if done { finish.yield() }
            }
        )
        let samples = TemplateRenderer.sampleEvents()
        let notifications = (0..<count).map { index in
            var event = samples[index % samples.count]
            event.id = "bench-\(index)"
            return OutboundNotification(receiver: "hook", rule: "all", events: [event])
        }
        await outbox.start()
        let cost = try await Cost.measure {
            for notification in notifications { try await outbox.accept([notification]) }
            for await _ in finished { break }
        }
        await outbox.stop(grace: .seconds(5))
        var line = ResultLine(bench: "outbox")
        line.add("count", count)
        line.add("retries", tally.withLock { $0.other })
        line.add(cost)
        line.print()
    }
}
