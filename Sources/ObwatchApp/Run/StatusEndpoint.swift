import ConfigModel
import Logging
import Synchronization

/// The status API of a running daemon: one ``StatusServer`` at a time, on the address `http:` gives, moved to a new
/// one when a reload changes `http:`.
///
/// Each server runs in a detached task, outside the service group's graceful shutdown: the daemon stops it after its
/// core has drained, so that the probes answer while deliveries finish, and a reload can replace it without stopping
/// anything else.
final class StatusEndpoint: Sendable {
    /// A server at work.
    private struct Running: Sendable {
        var settings: ObwatchConfig.HTTPSettings
        var server: StatusServer
        var task: Task<Void, Never>
        /// Set just before the daemon stops it, so that its end is not reported as a failure.
        var stopping: Stopping
    }

    /// Whether the daemon asked a server to stop.
    private final class Stopping: Sendable {
        let asked = Mutex(false)
    }

    /// What a call to ``apply(_:)`` did.
    enum Change: Equatable, Sendable {
        /// `http:` is as it was: nothing was touched.
        case unchanged
        /// The server listens on the new settings (`from` is `nil` when none ran, `to` when none runs now).
        case moved(from: String?, to: String?)
    }

    private let makeServer: @Sendable (ObwatchConfig.HTTPSettings) -> StatusServer
    private let logger: Logger
    private let running = Mutex<Running?>(nil)

    /// - Parameters:
    ///   - logger: Where a server that stops by itself is reported.
    ///   - makeServer: Makes a server for `http:` settings (the routes' metrics, readiness, events and DAGs).
    init(logger: Logger, makeServer: @escaping @Sendable (ObwatchConfig.HTTPSettings) -> StatusServer) {
        self.logger = logger
        self.makeServer = makeServer
    }

    /// The settings the server now runs with, `nil` when none runs.
    var settings: ObwatchConfig.HTTPSettings? { self.running.withLock { $0?.settings } }

    /// `HOST:PORT` of settings, with IPv6 hosts in brackets.
    static func address(_ settings: ObwatchConfig.HTTPSettings) -> String {
        settings.host.contains(":") ? "[\(settings.host)]:\(settings.port)" : "\(settings.host):\(settings.port)"
    }

    /// Starts serving on `settings` and waits until the server listens.
    /// - Returns: The port it listens on.
    /// - Throws: ``StatusServerError`` when it cannot listen; then nothing runs.
    @discardableResult
    func start(_ settings: ObwatchConfig.HTTPSettings) async throws(StatusServerError) -> Int {
        let (running, port) = try await self.launch(settings)
        let previous = self.running.withLock { current in
            defer { current = running }
            return current
        }
        if let previous { await Self.stop(previous) }
        return port
    }

    /// Moves the status API to `settings` (stops it for `nil`). When the new address cannot be bound, the old server
    /// keeps serving (it is started again on its own address if it had to make way) and the error is thrown.
    /// - Throws: ``StatusServerError`` when the new address cannot be bound.
    func apply(_ settings: ObwatchConfig.HTTPSettings?) async throws(StatusServerError) -> Change {
        let current = self.running.withLock { $0 }
        guard current?.settings != settings else { return .unchanged }
        let from = current.map { Self.address($0.settings) }
        guard let settings else {
            await self.stop()
            return .moved(from: from, to: nil)
        }
        guard let current, current.settings.port == settings.port, settings.port != 0 else {
            // A different port (or none before): the new server listens before the old one goes, so the API is
            // never away, and a failure leaves the old one as it was.
            try await self.start(settings)
            return .moved(from: from, to: Self.address(settings))
        }
        // The same port on another host or with another token: the old server must let go of the port first.
        await self.stop()
        do {
            try await self.start(settings)
        } catch {
            do {
                try await self.start(current.settings)
            } catch let again {
                self.logger.error(
                    "the status API is down: it could not go back to \(Self.address(current.settings))",
                    metadata: ["error": "\(again.message)"]
                )
            }
            throw error
        }
        return .moved(from: from, to: Self.address(settings))
    }

    /// Stops the server, if one runs, and waits until it has.
    func stop() async {
        let previous = self.running.withLock { current in
            defer { current = nil }
            return current
        }
        if let previous { await Self.stop(previous) }
    }

    /// Makes a server, runs it in a task of its own and waits until it listens.
    private func launch(_ settings: ObwatchConfig.HTTPSettings) async throws(StatusServerError) -> (Running, Int) {
        let server = self.makeServer(settings)
        let stopping = Stopping()
        let logger = self.logger
        let address = Self.address(settings)
        // Detached: a task of the service group would inherit its graceful shutdown and stop before the core drains.
        let task = Task.detached {
            do {
                try await server.run()
            } catch {
                guard !stopping.asked.withLock({ $0 }) else { return }
                let reason = (error as? StatusServerError)?.message ?? "\(error)"
                logger.error("the status API on \(address) stopped", metadata: ["error": "\(reason)"])
            }
        }
        do {
            let port = try await server.listeningPort()
            return (Running(settings: settings, server: server, task: task, stopping: stopping), port)
        } catch {
            stopping.asked.withLock { $0 = true }
            task.cancel()
            await task.value
            throw error
        }
    }

    private static func stop(_ running: Running) async {
        running.stopping.asked.withLock { $0 = true }
        running.task.cancel()
        await running.task.value
    }
}
