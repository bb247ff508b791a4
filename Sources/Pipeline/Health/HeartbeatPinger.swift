package import ConfigModel
package import Curl
import Foundation
package import Logging
package import Support
import Synchronization

/// The dead man's switch: pings an external checker (Healthchecks.io, an Opsgenie heartbeat, Uptime Kuma, Cronitor)
/// every `heartbeat.every`, but only while the pipeline is healthy. When obwatch dies, hangs or degrades, the pings
/// stop and that service pages: the one failure obwatch cannot report itself is reported by their silence.
///
/// The daemon's one-second ticker calls ``tick(healthy:why:)`` after the router has answered, so a stuck router or
/// a stopped process (SIGSTOP) stops the pings as surely as a crash.
package final class HeartbeatPinger: Sendable {
    /// The result of one ping, for tests and `test-heartbeat`.
    package struct Ping: Sendable, Hashable {
        /// Whether the checker answered 2xx.
        package var ok: Bool
        /// What it answered, or why there was no answer; never the URL.
        package var detail: String
    }

    private struct State {
        /// When the next ping is due, on ``stopwatch``.
        var nextPing: Duration?
        var inFlight = false
        var paused: String?
    }

    private let settings: ObwatchConfig.HeartbeatSettings
    private let engine: CurlEngine
    private let logger: Logger
    private let onPing: @Sendable (_ result: String) -> Void
    private let userAgent: String
    private let stopwatch: Stopwatch
    private let state = Mutex(State())

    /// Makes a pinger.
    /// - Parameters:
    ///   - settings: `heartbeat:` of the config.
    ///   - userAgent: The `User-Agent` of the pings (`obwatch/VERSION`).
    ///   - clock: What the pings are timed on.
    ///   - engine: Where requests go.
    ///   - logger: Where pauses and failures are logged (never the URL).
    ///   - onPing: Told `ok`, `failed` or `skipped` for every due ping (the metric).
    package init(
        settings: ObwatchConfig.HeartbeatSettings,
        userAgent: String,
        clock: any ObwatchClock,
        engine: CurlEngine = .shared,
        logger: Logger = Logger(label: "obwatch.heartbeat"),
        onPing: @escaping @Sendable (_ result: String) -> Void = { _ in }
    ) {
        self.settings = settings
        self.userAgent = userAgent
        self.stopwatch = Stopwatch(clock)
        self.engine = engine
        self.logger = logger
        self.onPing = onPing
    }

    /// Pings when one is due and the pipeline is healthy; a due ping while unhealthy is skipped (and the pause
    /// logged once, with why).
    /// - Parameters:
    ///   - healthy: Whether polls are happening, state is being saved and no receiver is stuck.
    ///   - why: What is wrong when not healthy.
    package func tick(healthy: Bool, why: String) {
        let now = self.stopwatch.elapsed
        enum Action { case none, skip, ping, pause(String), resume }
        let action: Action = self.state.withLock { state in
            if let next = state.nextPing, now < next { return .none }
            state.nextPing = now + self.settings.every
            guard healthy else {
                if state.paused == nil {
                    state.paused = why
                    return .pause(why)
                }
                return .skip
            }
            guard !state.inFlight else { return .none }
            state.inFlight = true
            if state.paused != nil {
                state.paused = nil
                return .resume
            }
            return .ping
        }
        switch action {
        case .none:
            return
        case .skip:
            self.onPing("skipped")
            return
        case .pause(let why):
            self.onPing("skipped")
            self.logger.warning(
                "heartbeat paused: the checker will page unless this clears",
                metadata: ["why": "\(why)"]
            )
            return
        case .resume:
            self.logger.notice("heartbeat resumed")
        case .ping:
            break
        }
        Task {
            let result = await self.ping()
            self.state.withLock { $0.inFlight = false }
            self.onPing(result.ok ? "ok" : "failed")
            if !result.ok { self.logger.warning("heartbeat ping failed", metadata: ["answer": "\(result.detail)"]) }
        }
    }

    /// Sends one ping now, whatever the health (`obwatch test-heartbeat`).
    package func ping() async -> Ping {
        var headers: HTTPHeaders = ["User-Agent": self.userAgent]
        if let authorization = self.settings.authorization {
            headers.append(name: "Authorization", value: authorization.revealed)
        }
        let isPost = self.settings.method == .post
        let body: Data? = isPost ? Data("{\"source\":\"obwatch\",\"status\":\"healthy\"}".utf8) : nil
        if isPost { headers.append(name: "Content-Type", value: "application/json") }
        do {
            let response = try await self.engine.perform(
                HTTPRequest(
                    method: HTTPMethod(self.settings.method.rawValue),
                    target: .url(self.settings.url.revealed),
                    headers: headers,
                    body: body,
                    timeout: self.settings.timeout,
                    connectTimeout: min(self.settings.timeout, .seconds(10)),
                    tls: TLSOptions(caFile: self.settings.caFile),
                    maxResponseBytes: 64 << 10,
                    hidesPathInErrors: true
                )
            )
            let text = String(decoding: response.body.prefix(200), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let detail = "HTTP \(response.status)" + (text.isEmpty ? "" : ": " + text)
            return Ping(ok: response.isSuccess, detail: detail)
        } catch {
            return Ping(ok: false, detail: error.message)
        }
    }
}
