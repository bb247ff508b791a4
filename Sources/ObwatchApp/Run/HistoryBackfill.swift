import ConfigModel
import Curl
import Foundation
import History
import Logging
import ObshellAgent
import ObshellModel
import Support

/// Fills the duration history from obshell's own finished DAGs (`GET /api/v1/task/dags/ob` and `/agent` with
/// details), so that estimates work on the first day: at the daemon's start and with `obwatch history backfill`.
///
/// Agents older than these routes (404), a `dags/ob` on an agent that is not a cluster agent (500), a refused password
/// or a timeout: each is noted once per target and scope, and the target is polled as usual.
enum HistoryBackfill {
    /// What one target's backfill gave.
    struct Outcome: Sendable, Hashable {
        /// The target.
        var target: String
        /// DAGs read per scope (`ob`, `agent`).
        var read: [String: Int] = [:]
        /// Why a scope could not be read, per scope.
        var problems: [String: String] = [:]
    }

    /// Reads both lists of every target, `width` targets at a time, and teaches `book` what they show. A cancelled
    /// task stops starting targets.
    static func run(
        targets: [ObwatchConfig.Target],
        book: HistoryBook,
        clock: any ObwatchClock,
        logger: Logger,
        width: Int = .max
    ) async -> [Outcome] {
        await withTaskGroup(of: Outcome.self) { group in
            var waiting = targets[...]
            var outcomes: [Outcome] = []
            for _ in 0..<max(width, 1) {
                guard let target = waiting.popFirst() else { break }
                group.addTask { await Self.backfill(target, book: book, clock: clock, logger: logger) }
            }
            while let outcome = await group.next() {
                outcomes.append(outcome)
                if !Task.isCancelled, let target = waiting.popFirst() {
                    group.addTask { await Self.backfill(target, book: book, clock: clock, logger: logger) }
                }
            }
            return outcomes.sorted { $0.target < $1.target }
        }
    }

    private static func backfill(
        _ target: ObwatchConfig.Target,
        book: HistoryBook,
        clock: any ObwatchClock,
        logger: Logger
    ) async -> Outcome {
        var logger = logger
        logger[metadataKey: "target"] = "\(target.name)"
        let client = ObshellClient(
            baseURL: target.url,
            password: target.password,
            transport: CurlAgentTransport(
                baseURL: target.url,
                timeout: target.timeout,
                tls: TLSOptions(caFile: target.caFile),
                engine: CurlEngine.forAgent(named: target.name)
            ),
            exchangeTime: { clock.wallNow },
            logger: logger
        )
        var outcome = Outcome(target: target.name)
        for scope in ObshellClient.DagScope.allCases where !Task.isCancelled {
            do {
                let dags = try await client.allDags(scope)
                outcome.read[scope.rawValue] = dags.count
                await book.learn(from: dags, target: target.name)
            } catch {
                guard !Task.isCancelled else { break }
                let reason =
                    error.code == .notFound ? "the agent has no such route (obshell before 2025-04)" : "\(error)"
                outcome.problems[scope.rawValue] = reason
                logger.notice(
                    "duration history not backfilled from GET /api/v1/task/dags/\(scope.rawValue): \(reason)"
                )
            }
        }
        return outcome
    }
}
