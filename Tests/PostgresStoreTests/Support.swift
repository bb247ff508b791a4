import ConfigModel
import Foundation
import Logging
import PeerSupport
import PostgresNIO
import PostgresStore
import Support

/// What a test gets when it asks for PostgreSQL: a store in a schema of its own, on the shared server (or one it
/// started itself).
struct StoreFixture {
    let server: PostgresServer
    let settings: PostgresSettings
    let store: PostgresStore

    /// A store in a fresh schema.
    /// - Parameters:
    ///   - server: The server; the process's shared one by default.
    ///   - schema: The schema; a fresh name by default.
    ///   - deadline: How long one operation may take.
    static func make(
        server: PostgresServer? = nil,
        schema: String = PostgresServer.uniqueSchema(),
        deadline: Duration = .seconds(30)
    ) async throws -> StoreFixture {
        let server = if let server { server } else { try await PostgresServer.shared() }
        let settings = Self.settings(server, schema: schema)
        let store = try PostgresStore(
            settings: settings,
            clock: SystemClock(),
            logger: Logger(label: "test.postgres"),
            deadline: deadline
        )
        return StoreFixture(server: server, settings: settings, store: store)
    }

    /// A second store over the same schema: another replica.
    func another() throws -> PostgresStore {
        try PostgresStore(settings: self.settings, clock: SystemClock(), logger: Logger(label: "test.postgres"))
    }

    /// `store.postgres` for a test server.
    static func settings(_ server: PostgresServer, schema: String) -> PostgresSettings {
        PostgresSettings(
            host: server.host,
            port: server.port,
            user: server.user,
            password: Secret(server.password),
            database: server.database,
            schema: schema,
            tls: PostgresSettings.TLS(mode: .disable),
            poolSize: 2
        )
    }

    /// Runs SQL the store has no operation for (what another replica or an operator does), on a connection of
    /// its own; returns the first column of every row as text.
    @discardableResult
    func sql(_ text: String) async throws -> [String?] {
        var configuration = PostgresConnection.Configuration(
            host: self.server.host,
            port: self.server.port,
            username: self.server.user,
            password: self.server.password,
            database: self.server.database,
            tls: .disable
        )
        configuration.options.connectTimeout = .seconds(10)
        let logger = Logger(label: "test.sql")
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        do {
            let rows = try await connection.query(PostgresQuery(unsafeSQL: text), logger: logger).collect()
            try await connection.close()
            return try rows.map { row in try row.first?.decode(String?.self) ?? nil }
        } catch {
            try? await connection.close()
            throw error
        }
    }
}
