import Support

/// `store:`: where the pipeline keeps what must survive a restart (each target's tracker state and the router's
/// memory).
package enum StoreSettings: Sendable, Hashable {
    /// The local state folder (`state_dir`), the default: one JSON file per target and `routing.state`.
    case local
    /// `store: {postgres: ...}`: tables in a PostgreSQL schema that obwatch creates and migrates itself.
    case postgres(PostgresSettings)

    /// Whether `other` is the same store with the same settings, wherever each is written in its file (a reload
    /// that only moved lines keeps its store).
    package func isSame(as other: StoreSettings) -> Bool {
        switch (self, other) {
        case (.local, .local):
            return true
        case (.postgres(var mine), .postgres(var theirs)):
            mine.mark = .unknown
            theirs.mark = .unknown
            return mine == theirs
        default:
            return false
        }
    }

    /// The store in words for `obwatch check` and logs, without a secret: `the state folder` or
    /// `PostgreSQL at db.example:5432, database obwatch, schema obwatch (tls verify-full)`.
    package var summary: String {
        switch self {
        case .local: "the state folder"
        case .postgres(let settings): settings.summary
        }
    }
}

/// `store.postgres`: how to reach the database and where obwatch's tables are.
///
/// The URL is parsed when the configuration is loaded: its parts are kept here, the password as a ``Secret``.
package struct PostgresSettings: Sendable, Hashable {
    /// How the connection is protected: `tls.mode`.
    package enum TLSMode: String, Sendable, Hashable, CaseIterable {
        /// No TLS (the default for a loopback host).
        case disable
        /// TLS without checking the server's certificate: the traffic is encrypted, the server is not verified.
        case require
        /// TLS with the certificate checked against the system's roots (or `ca_file`) and the host name (the
        /// default for any other host).
        case verifyFull = "verify-full"

        /// The mode when `tls.mode` is not given: `disable` for a loopback host, `verify-full` elsewhere.
        package static func defaultMode(host: String) -> TLSMode {
            HostClassification.isLoopback(host) ? .disable : .verifyFull
        }
    }

    /// `tls:`.
    package struct TLS: Sendable, Hashable {
        /// `mode:`.
        package var mode: TLSMode
        /// `ca_file:`: a PEM file of CA certificates trusted for `verify-full` besides the system's.
        package var caFile: String?

        /// Makes TLS settings.
        package init(mode: TLSMode, caFile: String? = nil) {
            self.mode = mode
            self.caFile = caFile
        }
    }

    /// The schema obwatch uses when `schema:` is not given.
    package static let defaultSchema = "obwatch"
    /// Connections held at most when `pool_size:` is not given.
    package static let defaultPoolSize = 4

    /// The server's host name or address (without brackets for IPv6).
    package var host: String
    /// The server's port; 5432 when the URL names none.
    package var port: Int
    /// The user obwatch logs in as.
    package var user: String
    /// The user's password; `nil` when the URL has none (trust or peer authentication).
    package var password: Secret?
    /// The database.
    package var database: String
    /// `schema:`: where obwatch's tables are; created by the first migration.
    package var schema: String
    /// `tls:`.
    package var tls: TLS
    /// `pool_size:`: how many connections obwatch holds at most.
    package var poolSize: Int
    /// The URL as written, its user information replaced by `<redacted>`: safe in logs and messages.
    package var redactedURL: String
    /// Where `store:` is written.
    package var mark: SourcePosition

    /// Makes settings.
    package init(
        host: String,
        port: Int = 5432,
        user: String,
        password: Secret?,
        database: String,
        schema: String = PostgresSettings.defaultSchema,
        tls: TLS? = nil,
        poolSize: Int = PostgresSettings.defaultPoolSize,
        redactedURL: String? = nil,
        mark: SourcePosition = .unknown
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.schema = schema
        self.tls = tls ?? TLS(mode: TLSMode.defaultMode(host: host))
        self.poolSize = poolSize
        let shownHost = host.contains(":") ? "[\(host)]" : host
        self.redactedURL = redactedURL ?? "postgres://\(shownHost):\(port)/\(database)"
        self.mark = mark
    }

    /// `HOST:PORT` (`[::1]:5432` for IPv6), how messages name the server.
    package var endpoint: String {
        (self.host.contains(":") ? "[\(self.host)]" : self.host) + ":\(self.port)"
    }

    /// The store in words, without a secret.
    package var summary: String {
        "PostgreSQL at \(self.endpoint), database \(self.database), schema \(self.schema) (tls \(self.tls.mode.rawValue))"
    }
}
