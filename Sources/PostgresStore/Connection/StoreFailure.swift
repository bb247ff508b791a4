import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Support

/// PostgresNIO's and SwiftNIO's errors in an operator's words. PostgresNIO's own description is deliberately
/// vague; the system's reason (`connection refused`) and the server's message are what an operator can act on.
enum StoreFailure {
    /// The SQLSTATE classes and codes that mean the login was refused: invalid authorization (28), an unknown
    /// database (3D000), too many connections (53300).
    private static let loginStates: Set<String> = ["3D000", "53300"]

    /// `error` as a ``StoreError``; `secrets` (the password) are scrubbed from every word of it.
    /// - Parameters:
    ///   - error: What PostgresNIO, SwiftNIO or the store threw.
    ///   - endpoint: `HOST:PORT`.
    ///   - secrets: What must never be shown.
    static func describe(_ error: any Error, endpoint: String, secrets: [String]) -> StoreError {
        let described = Self.classify(error, endpoint: endpoint)
        return StoreError(code: described.code, message: Redaction.scrub(described.message, secrets: secrets))
    }

    private static func classify(_ error: any Error, endpoint: String) -> StoreError {
        if let error = error as? StoreError { return error }
        guard let error = error as? PSQLError else {
            return StoreError(
                code: .unreachable,
                message: "cannot reach PostgreSQL at \(endpoint): \(Self.words(error))"
            )
        }
        if let info = error.serverInfo {
            let state = info[.sqlState] ?? ""
            let message = info[.message] ?? "an error without a message"
            if state.hasPrefix("28") || Self.loginStates.contains(state) {
                return StoreError(
                    code: .loginRefused,
                    message: "PostgreSQL at \(endpoint) refused the login: \(message) (SQLSTATE \(state))"
                )
            }
            if state.hasPrefix("57P") || state.hasPrefix("08") {
                // The server is shutting down or the connection broke: reachable again later.
                return StoreError(
                    code: .unreachable,
                    message: "cannot reach PostgreSQL at \(endpoint): \(message) (SQLSTATE \(state))"
                )
            }
            return StoreError(code: .failed, message: "PostgreSQL at \(endpoint): \(message) (SQLSTATE \(state))")
        }
        switch error.code {
        case .sslUnsupported:
            return StoreError(
                code: .loginRefused,
                message: "PostgreSQL at \(endpoint) does not offer TLS (store.postgres.tls.mode asks for it)"
            )
        case .authMechanismRequiresPassword:
            return StoreError(
                code: .loginRefused,
                message: "PostgreSQL at \(endpoint) asks for a password and the url has none"
            )
        case .unsupportedAuthMechanism, .saslError:
            return StoreError(
                code: .loginRefused,
                message:
                    "PostgreSQL at \(endpoint) refused the login: \(error.underlying.map(Self.words) ?? "\(error.code)")"
            )
        default:
            let why = error.underlying.map(Self.words) ?? Self.codeWords(error.code)
            return StoreError(code: .unreachable, message: "cannot reach PostgreSQL at \(endpoint): \(why)")
        }
    }

    /// A SwiftNIO or system error as the words after a colon.
    private static func words(_ error: any Error) -> String {
        if let error = error as? IOError { return SystemError.words(error.errnoCode) }
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first { return Self.words(first.error) }
            if let dns = error.dnsAError ?? error.dnsAAAAError { return "cannot resolve the host: \(dns)" }
            return "no address to connect to"
        }
        if let error = error as? ChannelError {
            switch error {
            case .connectTimeout(let amount): return "no answer within \(amount.nanoseconds / 1_000_000_000)s"
            case .ioOnClosedChannel, .alreadyClosed, .eof: return "the connection was closed"
            default: return "\(error)"
            }
        }
        if let error = error as? NIOSSLError { return "TLS: \(error)" }
        if let error = error as? BoringSSLError { return "TLS: \(error)" }
        if let error = error as? PSQLError {
            return error.underlying.map(Self.words) ?? Self.codeWords(error.code)
        }
        return "\(error)"
    }

    private static func codeWords(_ code: PSQLError.Code) -> String {
        switch code {
        case .serverClosedConnection: "the server closed the connection"
        case .clientClosedConnection: "the connection was closed"
        case .uncleanShutdown: "the connection broke"
        case .queryCancelled: "the statement was cancelled"
        default: "\(code)"
        }
    }
}
