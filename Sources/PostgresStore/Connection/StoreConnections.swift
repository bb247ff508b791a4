import Logging
import PostgresNIO

/// At most `limit` connections to the server, made when needed and kept for the next caller.
///
/// PostgresNIO's own pool queues a request for up to a minute while the server refuses connections; the pipeline
/// must hear at once that the store cannot be reached (readiness, a save that fails and is tried again), so each
/// lease here makes a connection itself and fails with the system's reason.
actor StoreConnections {
    private let settings: ConnectionSettings
    private let limit: Int
    private let logger: Logger
    private var idle: [PostgresConnection] = []
    /// Connections open or being made.
    private var open = 0
    /// Callers waiting for a connection to be given back.
    private var waiting: [CheckedContinuation<Void, Never>] = []
    private var nextID = 0
    private var closed = false

    /// Makes an empty set of connections.
    /// - Parameters:
    ///   - settings: How to connect.
    ///   - limit: How many connections may be open at once (`pool_size`).
    ///   - logger: PostgresNIO's background logger for each connection.
    init(settings: ConnectionSettings, limit: Int, logger: Logger) {
        self.settings = settings
        self.limit = max(limit, 1)
        self.logger = logger
    }

    deinit {
        // Dropped without `close()`: the idle connections are closed all the same, each kept alive until it is.
        for connection in self.idle {
            connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
        }
    }

    /// A connection for one caller: an idle one, a new one, or the next one given back.
    /// - Throws: What connecting threw (PostgresNIO's error), or ``StoreError`` once closed.
    func lease() async throws -> PostgresConnection {
        while true {
            guard !self.closed else {
                throw StoreError(code: .unreachable, message: "the PostgreSQL store is closed")
            }
            if let connection = self.idle.popLast() {
                if connection.isClosed {
                    self.open -= 1
                    continue
                }
                return connection
            }
            if self.open < self.limit {
                self.open += 1
                self.nextID += 1
                do {
                    return try await PostgresConnection.connect(
                        configuration: self.settings.configuration,
                        id: self.nextID,
                        logger: self.logger
                    )
                } catch {
                    self.open -= 1
                    self.wakeOne()
                    throw error
                }
            }
            await withCheckedContinuation { self.waiting.append($0) }
        }
    }

    /// Takes a connection back: kept for the next caller when `reusable`, closed otherwise.
    func giveBack(_ connection: PostgresConnection, reusable: Bool) async {
        if reusable && !self.closed && !connection.isClosed {
            self.idle.append(connection)
        } else {
            self.open -= 1
            try? await connection.close()
        }
        self.wakeOne()
    }

    /// Closes every idle connection and refuses new leases; connections in use are closed when given back.
    func close() async {
        self.closed = true
        let connections = self.idle
        self.idle = []
        self.open -= connections.count
        for connection in connections { try? await connection.close() }
        let waiters = self.waiting
        self.waiting = []
        for waiter in waiters { waiter.resume() }
    }

    private func wakeOne() {
        guard !self.waiting.isEmpty else { return }
        self.waiting.removeFirst().resume()
    }
}
