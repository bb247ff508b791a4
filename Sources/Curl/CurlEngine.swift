import Foundation

/// Runs HTTP(S) and SMTP transfers concurrently on one dedicated thread, off Swift's cooperative pool.
///
/// The engine owns a libcurl multi handle on its own thread, which waits in `curl_multi_poll` and is woken with
/// `curl_multi_wakeup` when work arrives or is cancelled. Hundreds of transfers can be in flight at once, and
/// connections are kept in the multi handle's cache and reused by later transfers to the same peer (HTTP/1.1
/// keep-alive): a poller that asks the same agent every few seconds opens one connection, not one per request. At most
/// ``maxIdleConnections`` connections are kept; beyond that libcurl closes the one idle longest. A kept connection the
/// peer has closed is detected when it is next used, and the request goes out again on a new connection. Easy handles
/// are reset and reused too, so a request costs no handle allocation.
///
/// Cancelling the awaiting task removes its transfer from the engine at once and throws ``CurlError`` with code
/// ``CurlError/Code/cancelled``.
///
/// Using the engine sets SIGPIPE to `SIG_IGN` for the process, once: every transfer runs with `CURLOPT_NOSIGNAL`
/// (signals cannot drive timeouts in a threaded process), so libcurl no longer shields writes to a closed socket.
package final class CurlEngine: Sendable {
    /// The process-wide engine, created on first use.
    package static let shared = CurlEngine()

    /// The engines agents are polled through: one per processor, at most 4, each on its own thread. A target's poll
    /// loop runs on its engine's thread (``taskExecutor``), so one thread would cap the polls a daemon makes at one
    /// core; the connection bound is shared out among them. See ``forAgent(named:)``.
    package static let agentEngines: [CurlEngine] = {
        let count = min(max(ProcessInfo.processInfo.activeProcessorCount, 1), 4)
        let bound = min(CurlGlobal.descriptorLimit / 2, 10_000)
        return (0..<count).map { _ in CurlEngine(maxIdleConnections: max(bound / count, 1)) }
    }()

    /// The engine a target's requests go through, always the same for one name (so its connection is kept): the
    /// targets are spread over ``agentEngines`` by a hash of the name (FNV-1a, the same in every run).
    /// - Parameter name: The target's name.
    package static func forAgent(named name: String) -> CurlEngine {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return Self.agentEngines[Int(hash % UInt64(Self.agentEngines.count))]
    }

    private let core: EngineCore

    /// How many connections the engine keeps open for later requests at most.
    package var maxIdleConnections: Int { self.core.maxIdleConnections }

    /// Starts a new engine and its thread. Most code should use ``shared``; tests may want their own.
    /// - Parameter maxIdleConnections: How many connections are kept for reuse at most; by default half the process's
    ///   descriptor limit (raised to its hard limit first), at most 10,000, so that a daemon polling thousands of
    ///   agents keeps one connection to each.
    package init(maxIdleConnections: Int? = nil) {
        let bound = maxIdleConnections ?? min(CurlGlobal.descriptorLimit / 2, 10_000)
        let core = EngineCore(maxIdleConnections: max(bound, 1))
        self.core = core
        let thread = Thread { core.runLoop() }
        thread.name = "obwatch-curl"
        thread.start()
    }

    deinit {
        self.core.shutdown()
    }

    /// Performs an HTTP request and returns the response, whatever its status.
    /// - Parameter request: The request.
    /// - Returns: The final response; a 4xx or 5xx status is a response, not an error.
    /// - Throws: ``CurlError``: `protocolNotAllowed` or `invalidRequest` before anything is sent; `couldNotConnect`,
    ///   `timedOut`, `tlsFailure`, `resolveFailed`, `sendFailed`, `receiveFailed`, `responseTooLarge` or `other` when
    ///   the transfer fails; `cancelled` when the task is cancelled.
    package func perform(_ request: HTTPRequest) async throws(CurlError) -> HTTPResponse {
        let plan = try TransferPlan(http: request)
        let outcome = try await self.core.run(plan).get()
        return HTTPResponse(
            status: outcome.status,
            headers: HTTPHeaders(outcome.headers),
            body: outcome.body,
            totalTime: outcome.totalTime
        )
    }

    /// Hands one message to an SMTP server.
    /// - Parameter mail: The server, envelope and message.
    /// - Returns: The server's final reply code and the transfer's duration.
    /// - Throws: ``CurlError``: `protocolNotAllowed`, `insecureTransport` or `invalidRequest` before anything is
    ///   sent; `loginDenied`, `mailRejected`, `tlsFailure` (including a server without STARTTLS), `couldNotConnect`,
    ///   `timedOut` and the like when the transfer fails; `cancelled` when the task is cancelled.
    package func send(_ mail: MailRequest) async throws(CurlError) -> MailResponse {
        let plan = try TransferPlan(mail: mail)
        let outcome = try await self.core.run(plan).get()
        return MailResponse(replyCode: outcome.status, totalTime: outcome.totalTime)
    }

    /// The engine's thread as a task executor. A task that prefers it (`withTaskExecutorPreference`) runs on that
    /// thread between rounds of libcurl's work, so that a request it sends and the answer it awaits cost no hand-off
    /// between threads. Only short, non-blocking work belongs there: while a job runs, no transfer progresses.
    package var taskExecutor: any TaskExecutor { self.core }

    /// Sleeps until `deadline` as a timer of the engine's loop: the loop wakes for it and resumes the task there, so
    /// a task that prefers ``taskExecutor`` goes from its wait to its next request on the engine's thread, with no
    /// timer thread and no hand-off. A wait may end up to a millisecond early, with an earlier one. On an engine that
    /// has stopped, the task waits on the continuous clock instead.
    /// - Throws: `CancellationError` when the task is cancelled.
    package func sleep(until deadline: ContinuousClock.Instant) async throws {
        switch await self.core.sleep(until: deadline) {
        case .fired: return
        case .cancelled: throw CancellationError()
        case .engineStopped: try await ContinuousClock().sleep(until: deadline, tolerance: nil)
        }
    }

    /// How far ahead of its deadline a wait on the engine's loop may end, taken with an earlier one.
    package static var timerSlack: Duration { EngineCore.timerSlack }

    /// The continuous clock, with its waits as timers of the engine's loop (``sleep(until:)``).
    package var clock: LoopClock { LoopClock(engine: self) }

    /// The continuous clock whose waits are timers of an engine's loop.
    package struct LoopClock: Clock {
        /// An instant of the continuous clock.
        package typealias Instant = ContinuousClock.Instant

        fileprivate let engine: CurlEngine

        /// The continuous clock's time.
        package var now: Instant { ContinuousClock.now }
        /// The loop wakes to the millisecond.
        package var minimumResolution: Duration { .milliseconds(1) }

        /// Waits on the engine's loop; the tolerance is the loop's own (a millisecond).
        package func sleep(until deadline: Instant, tolerance: Duration?) async throws {
            try await self.engine.sleep(until: deadline)
        }
    }

    /// Whether the caller runs on the engine's thread (a task that prefers ``taskExecutor``, between its awaits).
    package var isCurrentThread: Bool { self.core.isCurrentThread }

    /// What the engine has done so far: transfers finished and connections opened for them.
    package var statistics: Statistics { self.core.statistics }

    /// Counters of an engine's work since it started.
    package struct Statistics: Sendable, Hashable {
        /// Transfers that finished, successfully or not (cancelled ones included).
        package var transfers: Int = 0
        /// New connections the transfers opened (libcurl's `CURLINFO_NUM_CONNECTS`): a reused connection counts none.
        package var connectionsOpened: Int = 0

        /// Makes counters; zero by default.
        package init(transfers: Int = 0, connectionsOpened: Int = 0) {
            self.transfers = transfers
            self.connectionsOpened = connectionsOpened
        }
    }

    /// Cancels every transfer in flight and stops the engine's thread; later calls fail with `cancelled`.
    ///
    /// The engine also shuts down when it is released. The shared engine is never shut down.
    package func shutdown() {
        self.core.shutdown()
    }
}
