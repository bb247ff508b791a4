package import ConfigModel
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
package import Logging
import NIOCore
import NIOSSL
package import Pipeline
import Routing
package import ServiceLifecycle
import Support
import Tracker

/// obwatch's status API over HTTP: `/healthz`, `/readyz`, `/metrics`, `/api/v1/dags`, `/api/v1/events`,
/// `/api/v1/targets`, the run-time silences and acknowledgements, and the web console at `/`.
///
/// A swift-service-lifecycle `Service`: the daemon puts it in its `ServiceGroup`, which stops it on graceful shutdown.
/// Tests call ``run()`` in a task, await ``listeningPort()`` and cancel the task when done.
///
/// ```swift
/// let server = StatusServer(configuration: .init(host: "127.0.0.1", port: 0), metrics: metrics,
///                           readiness: readiness, events: log, dags: { await tracker.dagStatuses() })
/// let running = Task { try await server.run() }
/// let url = try await server.baseURL()   // "http://127.0.0.1:PORT"
/// ```
package final class StatusServer: Service, Sendable {
    /// Where the server listens and who may read it.
    package struct Configuration: Sendable {
        /// The host to listen on; loopback unless the configuration says otherwise.
        package var host: String
        /// The port; 0 picks a free one (see ``StatusServer/listeningPort()``).
        package var port: Int
        /// When set, every route but `/healthz` and `/readyz` needs `Authorization: Bearer <token>`.
        package var bearerToken: Secret?
        /// When set, writes (silences, acknowledgements) need `Authorization: Bearer <token>`; without it they are
        /// refused with 403.
        package var writeToken: Secret?
        /// When set, the server speaks HTTPS with this PEM certificate chain and key.
        package var tls: ObwatchConfig.HTTPSettings.TLSFiles?
        /// Where the server (Hummingbird and its service lifecycle) logs, never the token or a request's headers;
        /// `obwatch.http` by default, a library's logger that `--log-level debug` keeps at info.
        package var logger: Logger

        /// Makes a configuration.
        /// - Parameters:
        ///   - host: The host to listen on.
        ///   - port: The port, or 0 for any free one.
        ///   - bearerToken: The token readers must send, if any.
        ///   - logger: Where the server logs.
        package init(
            host: String = "127.0.0.1",
            port: Int = 9464,
            bearerToken: Secret? = nil,
            logger: Logger = Logger(label: "obwatch.http")
        ) {
            self.host = host
            self.port = port
            self.bearerToken = bearerToken
            self.logger = logger
        }

        /// The configuration's `http:` section.
        /// - Parameters:
        ///   - settings: `http.listen` and the token read from `bearer_token_file`.
        ///   - logger: Where the server logs.
        package init(_ settings: ObwatchConfig.HTTPSettings, logger: Logger = Logger(label: "obwatch.http")) {
            self.init(host: settings.host, port: settings.port, bearerToken: settings.bearerToken, logger: logger)
            self.writeToken = settings.writeToken
            self.tls = settings.tls
        }
    }

    /// The configuration it was made with.
    package let configuration: Configuration
    private let routes: StatusRoutes
    private let listener = StatusListener()

    /// Makes a server; nothing listens until ``run()``.
    /// - Parameters:
    ///   - configuration: Where to listen and the token.
    ///   - metrics: What `/metrics` renders.
    ///   - readiness: What `/readyz` reports.
    ///   - events: What `/api/v1/events` reads.
    ///   - dags: The tracked DAGs now, for `/api/v1/dags`.
    ///   - cluster: With PostgreSQL, the JSON of `/api/v1/cluster` (replicas and leases); `nil` answers 404 there.
    package init(
        configuration: Configuration,
        metrics: DaemonMetrics,
        readiness: Readiness,
        events: EventLog,
        dags: @escaping @Sendable () async -> [DagStatus],
        cluster: (@Sendable () async throws(StorageError) -> String)? = nil
    ) {
        self.configuration = configuration
        self.routes = Self.readRoutes(configuration, metrics, readiness, events, dags, cluster)
    }

    /// The routes every server has: probes, metrics and the read API, with the configuration's tokens.
    private static func readRoutes(
        _ configuration: Configuration,
        _ metrics: DaemonMetrics,
        _ readiness: Readiness,
        _ events: EventLog,
        _ dags: @escaping @Sendable () async -> [DagStatus],
        _ cluster: (@Sendable () async throws(StorageError) -> String)?
    ) -> StatusRoutes {
        StatusRoutes(
            metrics: metrics,
            readiness: readiness,
            events: events,
            dags: dags,
            cluster: cluster,
            bearerToken: configuration.bearerToken,
            writeToken: configuration.writeToken
        )
    }

    /// A server that also serves run-time silences and acknowledgements (the daemon's).
    /// - Parameters:
    ///   - silences: The daemon's silences, for `/api/v2/silences`.
    ///   - acknowledge: Acknowledges an open incident, for `POST /api/v2/acks`.
    ///   - incidents: The router's open incidents, for `/api/v1/incidents`.
    init(
        configuration: Configuration,
        metrics: DaemonMetrics,
        readiness: Readiness,
        events: EventLog,
        dags: @escaping @Sendable () async -> [DagStatus],
        cluster: (@Sendable () async throws(StorageError) -> String)? = nil,
        silences: SilenceBook,
        acknowledge: @escaping @Sendable (String, String) async -> StatusRoutes.AcknowledgeAnswer,
        incidents: @escaping @Sendable () async -> [OpenIncident]
    ) {
        self.configuration = configuration
        var routes = Self.readRoutes(configuration, metrics, readiness, events, dags, cluster)
        routes.silences = silences
        routes.acknowledge = acknowledge
        routes.incidents = incidents
        self.routes = routes
    }

    /// Serves until graceful shutdown (in a `ServiceGroup`) or until the calling task is cancelled.
    /// - Throws: ``StatusServerError`` with code ``StatusServerError/Code/listenFailed`` when the address cannot be
    ///   bound or the server fails.
    package func run() async throws {
        let routes = self.routes
        let listener = self.listener
        let host = self.configuration.host
        let address = Self.display(host: host, port: self.configuration.port)
        let server: HTTPServerBuilder
        do {
            server = try self.configuration.tls.map(Self.tlsServer) ?? .http1()
        } catch {
            let failure = StatusServerError(
                code: .listenFailed,
                message: "cannot use http.tls: \(Self.plain(error))",
                address: address,
                cause: error
            )
            await listener.didStop(failure)
            throw failure
        }
        let application = Application(
            responder: CallbackResponder { (request: Request, _: BasicRequestContext) in
                await Self.respond(to: request, routes: routes)
            },
            server: server,
            configuration: ApplicationConfiguration(
                address: .hostname(host, port: self.configuration.port),
                serverName: nil
            ),
            onServerRunning: { channel in
                await listener.didListen(port: channel.localAddress?.port ?? 0)
            },
            logger: self.configuration.logger
        )
        do {
            try await application.run()
        } catch {
            let failure = StatusServerError(
                code: .listenFailed,
                message: "the status server stopped: \(Self.plain(error))",
                address: address,
                cause: error
            )
            await listener.didStop(failure)
            throw failure
        }
        await listener.didStop(StatusServerError(code: .notRunning, message: "the status server has stopped"))
    }

    /// Waits until the server listens and returns its port (the real one when port 0 was asked).
    /// - Throws: ``StatusServerError`` when the server failed to listen or has stopped.
    package func listeningPort() async throws(StatusServerError) -> Int {
        try await self.listener.port()
    }

    /// Waits until the server listens and returns `http://HOST:PORT`.
    /// - Throws: ``StatusServerError`` when the server failed to listen or has stopped.
    package func baseURL() async throws(StatusServerError) -> String {
        let port = try await self.listener.port()
        return "http://" + Self.display(host: self.configuration.host, port: port)
    }

    /// HTTP/1.1 over TLS with the configured PEM files (TLS 1.2 at least).
    private static func tlsServer(_ files: ObwatchConfig.HTTPSettings.TLSFiles) throws -> HTTPServerBuilder {
        let chain = try NIOSSLCertificate.fromPEMFile(files.certificateFile).map {
            NIOSSLCertificateSource.certificate($0)
        }
        let key = try NIOSSLPrivateKey(file: files.keyFile, format: .pem)
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        return try .tls(.http1(), tlsConfiguration: tls)
    }

    /// A listener's failure in plain words: `address already in use`, not NIO's `bind(descriptor:ptr:bytes:)`.
    private static func plain(_ error: any Error) -> String {
        if let error = error as? IOError { return SystemError.words(error.errnoCode) }
        return "\(error)"
    }

    private static func display(host: String, port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// The largest request body read (a silence or an acknowledgement is a few hundred bytes).
    static let maximumBodyBytes = 65_536

    private static func respond(to request: Request, routes: StatusRoutes) async -> Response {
        let since = request.uri.queryParameters["since"].map(String.init)
        var body = Data()
        if request.method == .post {
            var request = request
            guard let buffer = try? await request.collectBody(upTo: Self.maximumBodyBytes) else {
                return Self.response(StatusAnswer.error(413, "the body is over 64 KiB"), head: false)
            }
            body = Data(buffer.readableBytesView)
        }
        let answer = await routes.answer(
            method: request.method.rawValue,
            path: request.uri.path,
            since: since,
            authorization: request.headers[.authorization],
            body: body,
            author: request.uri.queryParameters["author"].map(String.init)
        )
        return Self.response(answer, head: request.method == .head)
    }

    private static func response(_ answer: StatusAnswer, head: Bool) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = answer.contentType
        headers[.cacheControl] = "no-store"
        // No answer is ever read as another type than it says (a JSON answer holding markup stays JSON).
        headers[.xContentTypeOptions] = "nosniff"
        for header in answer.headers {
            if let name = HTTPField.Name(header.name) { headers.append(HTTPField(name: name, value: header.value)) }
        }
        let body = head ? ByteBuffer() : ByteBuffer(string: answer.body)
        if head { headers[.contentLength] = String(answer.body.utf8.count) }
        return Response(
            status: HTTPResponse.Status(code: answer.status),
            headers: headers,
            body: ResponseBody(byteBuffer: body)
        )
    }
}

/// Where the server listens, for callers that wait until it does.
private actor StatusListener {
    private var boundPort: Int?
    private var failure: StatusServerError?
    private var waiters: [CheckedContinuation<Int, any Error>] = []

    func didListen(port: Int) {
        self.boundPort = port
        self.failure = nil
        let waiters = self.waiters
        self.waiters.removeAll()
        for waiter in waiters { waiter.resume(returning: port) }
    }

    func didStop(_ failure: StatusServerError) {
        self.boundPort = nil
        self.failure = failure
        let waiters = self.waiters
        self.waiters.removeAll()
        for waiter in waiters { waiter.resume(throwing: failure) }
    }

    func port() async throws(StatusServerError) -> Int {
        if let port = self.boundPort { return port }
        if let failure = self.failure { throw failure }
        do {
            return try await withCheckedThrowingContinuation { continuation in
                self.waiters.append(continuation)
            }
        } catch let error as StatusServerError {
            throw error
        } catch {
            throw StatusServerError(code: .notRunning, message: "waiting for the listener failed", cause: error)
        }
    }
}
