package import ConfigModel
package import Logging
import NIOCore
import PostgresNIO
package import Support
import Synchronization

/// obwatch's tables in one PostgreSQL schema: the connections to the server, the schema's migrations, and the
/// operations the pipeline's storage (``PostgresPipelineStorage``) and the daemon's probe run.
///
/// Every operation runs on one connection within a deadline, so a server that stopped answering (paused, or cut
/// off by the network) fails the operation instead of holding the pipeline; a connection that failed is closed and
/// the next operation makes a new one. Errors are ``StoreError``s that name the server as `HOST:PORT` and never
/// hold the password.
package final class PostgresStore: Sendable {
    /// `store.postgres`.
    package let settings: PostgresSettings
    private let connections: StoreConnections
    private let clock: any ObwatchClock
    private let deadline: Duration
    private let logger: Logger
    private let secrets: [String]

    /// Makes a store; nothing connects until the first operation.
    /// - Parameters:
    ///   - settings: `store.postgres`.
    ///   - clock: What deadlines are measured on.
    ///   - logger: Where PostgresNIO's background messages go (they hold no password).
    ///   - connectTimeout: How long making one connection may take.
    ///   - deadline: How long one operation (connecting included) may take before it fails as unreachable.
    /// - Throws: ``StoreError`` when the TLS settings cannot be used.
    package init(
        settings: PostgresSettings,
        clock: any ObwatchClock,
        logger: Logger,
        connectTimeout: Duration = .seconds(5),
        deadline: Duration = .seconds(15)
    ) throws(StoreError) {
        self.settings = settings
        self.clock = clock
        self.deadline = deadline
        self.logger = logger
        self.secrets = [settings.password?.revealed ?? ""].filter { !$0.isEmpty }
        let connectionSettings = try ConnectionSettings(settings, connectTimeout: connectTimeout)
        self.connections = StoreConnections(settings: connectionSettings, limit: settings.poolSize, logger: logger)
    }

    /// The schema's name, quoted for SQL (``PostgresSettings/schema`` is a plain lower-case name, checked when the
    /// configuration is loaded; the quotes keep it exact all the same).
    var quotedSchema: String { "\"" + self.settings.schema.replacing("\"", with: "\"\"") + "\"" }

    /// `"schema".table`, for SQL.
    func table(_ name: String) -> String { self.quotedSchema + "." + name }

    /// Why the store cannot be used now (`cannot reach PostgreSQL at db:5432: connection refused`), or `nil` when
    /// a trivial statement succeeds: the daemon's readiness probe.
    package func problem() async -> String? {
        do {
            try await self.withConnection { connection, logger in
                _ = try await connection.query("SELECT 1", logger: logger).collect()
            }
            return nil
        } catch {
            return error.message
        }
    }

    /// Closes the connections; operations after this fail.
    package func close() async {
        await self.connections.close()
    }

    // MARK: - Running statements

    /// Runs `body` on one connection within the deadline.
    /// - Throws: ``StoreError``: what `body` threw, in words.
    func withConnection<Value: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> Value
    ) async throws(StoreError) -> Value {
        let connections = self.connections
        let logger = self.logger
        let connection: PostgresConnection
        do {
            // A connection made after the deadline is given back for the next caller.
            connection = try await self.withinDeadline(
                onTimeout: {},
                late: { connection in await connections.giveBack(connection, reusable: true) }
            ) { try await connections.lease() }
        } catch {
            throw self.describe(error)
        }
        do {
            let value = try await self.withinDeadline(
                onTimeout: { let _: EventLoopFuture<Void> = connection.close() },
                late: { _ in }
            ) {
                try await body(connection, logger)
            }
            await connections.giveBack(connection, reusable: true)
            return value
        } catch {
            // A statement the server refused (or the store's own refusal) leaves the connection usable; anything
            // else (a broken connection, a deadline) may have left it mid-answer.
            let reusable = (error as? PSQLError)?.serverInfo != nil || (error as? StoreError)?.code == .fenced
            await connections.giveBack(connection, reusable: reusable)
            throw self.describe(error)
        }
    }

    /// Runs `body` in one transaction: `BEGIN`, the body, `COMMIT`; `ROLLBACK` when the body throws.
    /// - Throws: ``StoreError``: what `body` threw, in words.
    func transaction<Value: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> Value
    ) async throws(StoreError) -> Value {
        try await self.withConnection { connection, logger in
            try await connection.query("BEGIN", logger: logger)
            do {
                let value = try await body(connection, logger)
                try await connection.query("COMMIT", logger: logger)
                return value
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    private func describe(_ error: any Error) -> StoreError {
        StoreFailure.describe(error, endpoint: self.settings.endpoint, secrets: self.secrets)
    }

    /// What `body` returns, or ``StoreError`` `.unreachable` when it has not returned within the deadline.
    ///
    /// The deadline returns even when `body` does not end (a socket nobody answers): `onTimeout` then runs (to
    /// release what `body` waits on), and `body` goes on in its own task; what it returns after the deadline is
    /// handed to `late` (a connection made too late goes back to the pool instead of being lost).
    private func withinDeadline<Value: Sendable>(
        onTimeout: @escaping @Sendable () -> Void,
        late: @escaping @Sendable (Value) async -> Void,
        _ body: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        let clock = self.clock
        let deadline = self.deadline
        let timeout = StoreError(
            code: .unreachable,
            message: "cannot reach PostgreSQL at \(self.settings.endpoint): no answer within \(deadline)"
        )
        let race = DeadlineRace<Value>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
                race.start(continuation)
                let work = Task {
                    do {
                        let value = try await body()
                        if !race.finish(.success(value)) { await late(value) }
                    } catch {
                        race.finish(.failure(error))
                    }
                }
                let timer = Task {
                    do { try await clock.sleep(for: deadline) } catch { return }
                    if race.finish(.failure(timeout)) { onTimeout() }
                }
                race.track([work, timer])
            }
        } onCancel: {
            race.finish(.failure(CancellationError()))
        }
    }
}

/// The first of an operation's result, its deadline and a cancellation, delivered once; the losers' tasks are
/// cancelled (the timer at once; the operation is left to end by itself, its late result handed on).
private final class DeadlineRace<Value: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Value, any Error>?
        var outcome: Result<Value, any Error>?
        var tasks: [Task<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Takes the continuation; resumes it at once when the race was already decided (a cancellation first).
    func start(_ continuation: CheckedContinuation<Value, any Error>) {
        let decided = self.state.withLock { state -> Result<Value, any Error>? in
            guard let outcome = state.outcome else {
                state.continuation = continuation
                return nil
            }
            return outcome
        }
        if let decided { continuation.resume(with: decided) }
    }

    /// Keeps the tasks, to cancel the timer when the race is decided; cancels them at once if it already was.
    func track(_ tasks: [Task<Void, Never>]) {
        let decided = self.state.withLock { state in
            state.tasks = tasks
            return state.outcome != nil
        }
        if decided { tasks.last?.cancel() }
    }

    /// Decides the race with `outcome`, unless it was decided already.
    /// - Returns: Whether this call decided it.
    @discardableResult
    func finish(_ outcome: Result<Value, any Error>) -> Bool {
        let (continuation, tasks, won) = self.state.withLock {
            state -> (CheckedContinuation<Value, any Error>?, [Task<Void, Never>], Bool) in
            guard state.outcome == nil else { return (nil, [], false) }
            state.outcome = outcome
            defer { state.continuation = nil }
            return (state.continuation, state.tasks, true)
        }
        // The timer is the last task: it has nothing left to do. The operation ends by itself.
        tasks.last?.cancel()
        continuation?.resume(with: outcome)
        return won
    }
}
