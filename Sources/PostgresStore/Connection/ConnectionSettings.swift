import ConfigModel
import NIOCore
import NIOSSL
import PostgresNIO

/// How connections to the configured server are made: the endpoint, the login and TLS of ``PostgresSettings`` as
/// PostgresNIO's configuration.
struct ConnectionSettings: Sendable {
    /// The configuration each connection is made with.
    let configuration: PostgresConnection.Configuration
    /// `HOST:PORT`, how messages name the server.
    let endpoint: String

    /// Makes connection settings.
    /// - Parameters:
    ///   - settings: `store.postgres`.
    ///   - connectTimeout: How long making one connection (TCP, TLS and login) may take.
    /// - Throws: ``StoreError`` when the TLS settings cannot be used (an unreadable `ca_file`).
    init(_ settings: PostgresSettings, connectTimeout: Duration) throws(StoreError) {
        let tls: PostgresConnection.Configuration.TLS
        do {
            switch settings.tls.mode {
            case .disable:
                tls = .disable
            case .require:
                var configuration = TLSConfiguration.makeClientConfiguration()
                configuration.certificateVerification = .none
                tls = .require(try NIOSSLContext(configuration: configuration))
            case .verifyFull:
                var configuration = TLSConfiguration.makeClientConfiguration()
                configuration.certificateVerification = .fullVerification
                if let caFile = settings.tls.caFile {
                    configuration.additionalTrustRoots = [.file(caFile)]
                }
                tls = .require(try NIOSSLContext(configuration: configuration))
            }
        } catch {
            throw StoreError(
                code: .failed,
                message: "cannot set up TLS for PostgreSQL at \(settings.endpoint): \(error)"
            )
        }
        var configuration = PostgresConnection.Configuration(
            host: settings.host,
            port: settings.port,
            username: settings.user,
            password: settings.password?.revealed,
            database: settings.database,
            tls: tls
        )
        let milliseconds =
            connectTimeout.components.seconds * 1000 + connectTimeout.components.attoseconds / 1_000_000_000_000_000
        configuration.options.connectTimeout = .milliseconds(milliseconds)
        // Shown in pg_stat_activity: whose connections these are.
        configuration.options.additionalStartupParameters = [("application_name", "obwatch")]
        self.configuration = configuration
        self.endpoint = settings.endpoint
    }
}
