package import ConfigModel
package import Logging
import PostgresNIO
package import Support

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
            connection = try await self.withinDeadline(onTimeout: {}) { try await connections.lease() }
        } catch {
            throw self.describe(error)
        }
        do {
            let value = try await self.withinDeadline(onTimeout: { try? await connection.close() }) {
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

    /// What `body` returns, or ``StoreError`` `.unreachable` when it has not returned within the deadline
    /// (`onTimeout` then runs first, so that a body stuck on a socket is released).
    private func withinDeadline<Value: Sendable>(
        onTimeout: @escaping @Sendable () async -> Void,
        _ body: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        let clock = self.clock
        let deadline = self.deadline
        let endpoint = self.settings.endpoint
        return try await withThrowingTaskGroup(of: Value?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await clock.sleep(for: deadline)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else {
                throw StoreError(code: .unreachable, message: "cannot reach PostgreSQL at \(endpoint)")
            }
            if let value = first { return value }
            await onTimeout()
            throw StoreError(
                code: .unreachable,
                message: "cannot reach PostgreSQL at \(endpoint): no answer within \(deadline)"
            )
        }
    }
}
