package import Cryptography
import Foundation
import Hummingbird
package import Logging
import NIOCore
import ServiceLifecycle
package import Support

/// A simulated obshell agent: serves obshell's task API (with its real authentication and quirks) from a
/// ``Scenario`` on a TCP port and/or a unix socket.
///
/// ```swift
/// let simulator = try ObshellSimulator(scenario: try Scenario.load(contentsOfFile: "scenarios/scale-out.yaml"))
/// let server = Task { try await simulator.run() }
/// let address = try await simulator.addresses()   // address.baseURL == "http://127.0.0.1:PORT"
/// server.cancel()
/// ```
///
/// With ``ClockMode/manual`` the scenario clock only moves through ``advance(by:)`` and ``advance(to:)`` (and the
/// `POST /_simulator/advance?by=30s` route); with ``ClockMode/realTime`` it is the time since ``run()`` started.
package final class ObshellSimulator: Sendable {
    /// What drives the scenario clock.
    package enum ClockMode: Sendable, Hashable {
        /// Scenario time is the time elapsed since ``ObshellSimulator/run()`` started.
        case realTime
        /// Scenario time moves only when asked, for tests.
        case manual
    }

    /// Where the simulator listens and how it behaves.
    package struct Configuration: Sendable {
        /// The TCP host to listen on, or `nil` for no TCP listener.
        package var host: String?
        /// The TCP port; 0 picks a free one (see ``ObshellSimulator/addresses()``).
        package var port: Int
        /// A unix socket path to listen on too (no authentication there, like obshell's local socket).
        package var unixSocketPath: String?
        /// The RSA key size: 512 (obshell up to 4.4.1) or 1024 (4.4.2 and later).
        package var keyBits: Int
        /// What drives the scenario clock.
        package var clock: ClockMode
        /// The longest a `hang` fault holds a request, on ``timeSource``.
        package var hangCap: Duration
        /// Where real time is read and waited for: the ``ClockMode/realTime`` scenario clock, the hang cap,
        /// `startAt`, the envelope's `duration` and the expiry of authentication headers.
        package var timeSource: any ObwatchClock
        /// Replaces the scenario's root password when set.
        package var password: String?
        /// Where the server logs (never a header or a password).
        package var logger: Logger

        /// Makes a configuration.
        package init(
            host: String? = "127.0.0.1",
            port: Int = 0,
            unixSocketPath: String? = nil,
            keyBits: Int = 1024,
            clock: ClockMode = .realTime,
            hangCap: Duration = .seconds(600),
            password: String? = nil,
            logger: Logger = Logger(label: "obwatch.simulator"),
            timeSource: any ObwatchClock = SystemClock()
        ) {
            self.host = host
            self.port = port
            self.unixSocketPath = unixSocketPath
            self.keyBits = keyBits
            self.clock = clock
            self.hangCap = hangCap
            self.password = password
            self.logger = logger
            self.timeSource = timeSource
        }
    }

    /// Where the simulator listens once it runs.
    package struct Addresses: Sendable, Hashable {
        /// The TCP host, when there is a TCP listener.
        package var host: String?
        /// The bound TCP port (the real one when 0 was asked).
        package var port: Int?
        /// The unix socket path, when there is one.
        package var unixSocketPath: String?

        /// Makes an address set.
        package init(host: String? = nil, port: Int? = nil, unixSocketPath: String? = nil) {
            self.host = host
            self.port = port
            self.unixSocketPath = unixSocketPath
        }

        /// `http://HOST:PORT`, when there is a TCP listener.
        package var baseURL: String? {
            guard let host = self.host, let port = self.port else { return nil }
            return host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)"
        }
    }

    /// The scenario being played (with the configured password, if one replaced it).
    package let scenario: Scenario
    /// The configuration it was made with.
    package let configuration: Configuration
    let engine: SimulatorEngine

    /// Makes a simulator and its RSA key; nothing listens until ``run()``.
    /// - Parameters:
    ///   - scenario: The scenario to play.
    ///   - configuration: Where to listen and how to behave.
    /// - Throws: ``SimulatorError`` with code ``SimulatorError/Code/keyGenerationFailed`` for a key size other than
    ///   512 or 1024, or when OpenSSL fails; ``SimulatorError/Code/listenFailed`` with neither a host nor a socket.
    package init(scenario: Scenario, configuration: Configuration = Configuration()) throws(SimulatorError) {
        var scenario = scenario
        if let password = configuration.password { scenario.agent.password = password }
        guard configuration.host != nil || configuration.unixSocketPath != nil else {
            throw SimulatorError(
                code: .listenFailed,
                message: "nothing to listen on: give a host or a unix socket path"
            )
        }
        self.scenario = scenario
        self.configuration = configuration
        self.engine = try SimulatorEngine(
            scenario: scenario,
            clockMode: configuration.clock,
            keyBits: configuration.keyBits,
            expectTCP: configuration.host != nil,
            expectUnix: configuration.unixSocketPath != nil,
            clock: configuration.timeSource
        )
    }

    /// Serves until the calling task is cancelled, then releases held requests and stops.
    /// - Throws: ``SimulatorError`` with code ``SimulatorError/Code/listenFailed`` when a listener cannot be bound
    ///   or fails.
    package func run() async throws {
        await self.engine.markStarted()
        let engine = self.engine
        var services: [any Service] = []
        if let host = self.configuration.host {
            services.append(
                self.application(address: .hostname(host, port: self.configuration.port), authenticates: true) {
                    await engine.didListen(tcpHost: host, tcpPort: $0.localAddress?.port ?? 0)
                }
            )
        }
        if let path = self.configuration.unixSocketPath {
            Self.removeStaleSocket(at: path)
            services.append(
                self.application(address: .unixDomainSocket(path: path), authenticates: false) { _ in
                    await engine.didListen(unixSocketPath: path)
                }
            )
        }
        let group = ServiceGroup(
            services: services,
            gracefulShutdownSignals: [],
            cancellationSignals: [],
            logger: Self.lifecycleLogger(self.configuration.logger)
        )
        // The group runs outside the caller's cancellation so that cancelling the caller shuts the listeners down
        // gracefully (held requests released first) instead of tearing connections down mid-answer.
        let runner = Task { try await group.run() }
        do {
            try await withTaskCancellationHandler {
                try await runner.value
            } onCancel: {
                Task {
                    await engine.stop()
                    await group.triggerGracefulShutdown()
                }
            }
        } catch {
            let failure = SimulatorError(
                code: .listenFailed,
                message: "the simulator stopped: \(Self.plain(error))",
                cause: error
            )
            await engine.stop()
            await engine.didFail(failure)
            throw failure
        }
        await engine.stop()
        await engine.didFail(SimulatorError(code: .notRunning, message: "the simulator has stopped"))
    }

    private func application(
        address: BindAddress,
        authenticates: Bool,
        onRunning: @escaping @Sendable (any Channel) async -> Void
    ) -> some Service {
        let responder = SimulatorResponder(
            engine: self.engine,
            agent: self.scenario.agent,
            authenticates: authenticates,
            manualClock: self.configuration.clock == .manual,
            hangCap: self.configuration.hangCap,
            clock: self.configuration.timeSource
        )
        var logger = self.configuration.logger
        logger[metadataKey: "simulator.listener"] = authenticates ? "tcp" : "unix"
        return Application(
            responder: CallbackResponder { (request: Request, _: BasicRequestContext) in
                await responder.respond(to: request)
            },
            configuration: ApplicationConfiguration(address: address, serverName: nil),
            onServerRunning: onRunning,
            logger: logger
        )
    }

    /// A system error as the system words it (`address already in use`), not NIO's description, which names the
    /// Swift function that failed.
    private static func plain(_ error: any Error) -> String {
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)).lowercased() }
        return "\(error)"
    }

    /// The service lifecycle's logger: `obwatch.lifecycle` (the command line keeps its debug lines out of
    /// `--log-level debug`), at the configured logger's level, so that a quietened simulator stays quiet.
    private static func lifecycleLogger(_ configured: Logger) -> Logger {
        var logger = Logger(label: "obwatch.lifecycle")
        logger.logLevel = max(logger.logLevel, configured.logLevel)
        return logger
    }

    /// obshell removes a socket file left by an earlier run before it listens; so does the simulator, but only a
    /// socket, never another kind of file.
    private static func removeStaleSocket(at path: String) {
        let type = (try? FileManager.default.attributesOfItem(atPath: path))?[.type] as? FileAttributeType
        if type == .typeSocket { try? FileManager.default.removeItem(atPath: path) }
    }

    /// Waits until every listener is bound and returns where they are.
    /// - Throws: ``SimulatorError`` when the simulator failed to listen or has stopped.
    package func addresses() async throws -> Addresses {
        try await self.engine.addresses()
    }

    /// Moves the manual scenario clock forward by `amount`, applying every step that falls due.
    /// - Returns: The scenario time now.
    /// - Throws: ``SimulatorError`` with code ``SimulatorError/Code/notManualClock`` in real-time mode.
    @discardableResult
    package func advance(by amount: Duration) async throws(SimulatorError) -> Duration {
        try await self.engine.advance(by: amount)
    }

    /// Moves the manual scenario clock to `time` (never backwards), applying every step that falls due.
    /// - Returns: The scenario time now.
    /// - Throws: ``SimulatorError`` with code ``SimulatorError/Code/notManualClock`` in real-time mode.
    @discardableResult
    package func advance(to time: Duration) async throws(SimulatorError) -> Duration {
        try await self.engine.advance(to: time)
    }

    /// The scenario state now: every DAG as `/dag/{id}` would show it, and the elapsed scenario time.
    package func state() async -> ScenarioState {
        await self.engine.snapshot()
    }

    /// How many requests were refused for a wrong password (each a failed root@sys login on a real agent).
    package func refusedLogins() async -> Int {
        await self.engine.refusedLogins
    }

    /// The agent's current public key (it changes after a `key_change` fault).
    package func publicKey() async -> RSAPublicKey {
        await self.engine.currentKey().publicKey
    }
}
