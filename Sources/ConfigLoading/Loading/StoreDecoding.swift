import ConfigModel
import Foundation
import Support
import YAML

extension ConfigDecoder {
    /// `store:`: `postgres:` with `url` or `url_file` (a secret: the URL may carry the password), `schema`,
    /// `tls: {mode, ca_file}` and `pool_size`. Absent, the state folder is the store.
    mutating func decodeStore(_ node: YAMLNode, file: String) -> StoreSettings? {
        guard var reader = self.diagnostics.collect({ () throws(YAMLError) in try node.mappingReader() }) else {
            return nil
        }
        let postgresNode = reader.optional("postgres")
        self.reportUnknownKeys(reader)
        guard let postgresNode else {
            if reader.untakenKeys.isEmpty {
                self.diagnostics.error(
                    "store needs \"postgres\" (without store:, the state folder is used)",
                    at: node.mark
                )
            }
            return nil
        }
        return self.decodePostgres(postgresNode, file: file).map { .postgres($0) }
    }

    /// `store.postgres:`.
    mutating func decodePostgres(_ node: YAMLNode, file: String) -> PostgresSettings? {
        guard var reader = self.diagnostics.collect({ () throws(YAMLError) in try node.mappingReader() }) else {
            return nil
        }
        // An inline URL is a secret only when it carries a password.
        let url = self.secret("url", in: &reader, file: file) { PostgresURL.hasPassword($0) }
        var schema = PostgresSettings.defaultSchema
        if let value = reader.optional("schema"), let text = self.expandedString(value) {
            if let problem = PostgresURL.schemaProblem(text) {
                self.diagnostics.error("invalid schema \(YAMLNode.quote(text)): \(problem)", at: value.mark)
            } else {
                schema = text
            }
        }
        var tlsMode: PostgresSettings.TLSMode?
        var caFile: String?
        if let value = reader.optional("tls") {
            (tlsMode, caFile) = self.decodePostgresTLS(value, file: file)
        }
        var poolSize = PostgresSettings.defaultPoolSize
        if let value = reader.optional("pool_size"),
            let size = self.diagnostics.collect({ () throws(YAMLError) in try value.int(in: 1...100) })
        {
            poolSize = size
        }
        self.reportUnknownKeys(reader)
        guard let (secret, mark) = url else {
            if !reader.contains("url") && !reader.contains("url_file") {
                self.diagnostics.error("store.postgres needs \"url\" (or \"url_file\")", at: node.mark)
            }
            return nil
        }
        // `replay` reads a production config where the URL's variable is not set: it keeps no state anyway.
        if secret.isEmpty && !self.secretsRequired { return nil }
        let parsed: PostgresURL
        do {
            parsed = try PostgresURL(parsing: secret.revealed)
        } catch {
            self.diagnostics.error(
                "invalid PostgreSQL url \(YAMLNode.quote(URLRedaction.redact(secret.revealed))): \(error.reason)",
                at: mark
            )
            return nil
        }
        let tls = PostgresSettings.TLS(
            mode: tlsMode ?? PostgresSettings.TLSMode.defaultMode(host: parsed.host),
            caFile: caFile
        )
        return PostgresSettings(
            host: parsed.host,
            port: parsed.port,
            user: parsed.user,
            password: parsed.password.map(Secret.init),
            database: parsed.database,
            schema: schema,
            tls: tls,
            poolSize: poolSize,
            redactedURL: URLRedaction.redact(secret.revealed),
            mark: SourcePosition(node.mark)
        )
    }

    /// `store.postgres.tls:`: `mode` and `ca_file`.
    private mutating func decodePostgresTLS(
        _ node: YAMLNode,
        file: String
    ) -> (PostgresSettings.TLSMode?, String?) {
        guard var reader = self.diagnostics.collect({ () throws(YAMLError) in try node.mappingReader() }) else {
            return (nil, nil)
        }
        var mode: PostgresSettings.TLSMode?
        if let value = reader.optional("mode") {
            let allowed = PostgresSettings.TLSMode.allCases.map(\.rawValue)
            if let text = self.diagnostics.collect({ () throws(YAMLError) in try value.string(oneOf: allowed) }) {
                mode = PostgresSettings.TLSMode(rawValue: text)
            }
        }
        let caNode = reader.optional("ca_file")
        let caFile = self.readableFile(caNode, file: file)
        if let caNode, caFile != nil, let mode, mode != .verifyFull {
            self.diagnostics.warning(
                "ca_file is used only with mode \"verify-full\" (mode is \"\(mode.rawValue)\")",
                at: caNode.mark
            )
        }
        self.reportUnknownKeys(reader)
        return (mode, caFile)
    }
}

/// A `postgres://USER:PASSWORD@HOST:PORT/DATABASE` URL taken apart. Its reasons never hold the password.
struct PostgresURL {
    /// Why a URL cannot be used, in words that hold no part of it.
    struct Invalid: Error {
        var reason: String
    }

    var host: String
    var port: Int
    var user: String
    var password: String?
    var database: String

    /// Parses a URL (`postgres://` or `postgresql://`); user information and the database are percent-decoded.
    init(parsing url: String) throws(Invalid) {
        let lowered = url.lowercased()
        guard let scheme = ["postgres://", "postgresql://"].first(where: { lowered.hasPrefix($0) }) else {
            throw Invalid(reason: "expected postgres://USER:PASSWORD@HOST:PORT/DATABASE")
        }
        var rest = Substring(url.dropFirst(scheme.count))
        if rest.contains("?") || rest.contains("#") {
            throw Invalid(
                reason: "parameters after \"?\" are not read; give TLS under \"tls:\" (mode, ca_file) and the "
                    + "schema under \"schema:\""
            )
        }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        rest = rest[authorityEnd...].dropFirst()
        guard let at = authority.lastIndex(of: "@") else {
            throw Invalid(reason: "the url needs a user: postgres://USER:PASSWORD@HOST:PORT/DATABASE")
        }
        let userInfo = authority[..<at]
        authority = authority[authority.index(after: at)...]
        let colon = userInfo.firstIndex(of: ":")
        guard let user = String(userInfo[..<(colon ?? userInfo.endIndex)]).removingPercentEncoding, !user.isEmpty
        else {
            throw Invalid(reason: "the url needs a user: postgres://USER:PASSWORD@HOST:PORT/DATABASE")
        }
        if let colon {
            guard let password = String(userInfo[userInfo.index(after: colon)...]).removingPercentEncoding else {
                throw Invalid(reason: "the password is not valid percent-encoding")
            }
            self.password = password
        }
        self.user = user
        (self.host, self.port) = try Self.hostAndPort(authority)
        guard let database = String(rest).removingPercentEncoding else {
            throw Invalid(reason: "the database name is not valid percent-encoding")
        }
        self.database = database.isEmpty ? user : database
    }

    private static func hostAndPort(_ authority: Substring) throws(Invalid) -> (String, Int) {
        var host = authority
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw Invalid(reason: "an IPv6 host is written in brackets: [::1]")
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                portText = after.dropFirst()
            } else if !after.isEmpty {
                throw Invalid(reason: "expected \":PORT\" after the host")
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        }
        guard !host.isEmpty else { throw Invalid(reason: "the url needs a host") }
        var port = 5432
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else {
                throw Invalid(reason: "the port must be a number from 1 to 65535")
            }
            port = value
        }
        return (String(host), port)
    }

    /// Whether a URL as written carries a password (`user:password@`): only then is an inline URL a secret.
    static func hasPassword(_ url: String) -> Bool {
        guard let schemeEnd = url.range(of: "://") else { return false }
        let rest = url[schemeEnd.upperBound...]
        let authority = rest[..<(rest.firstIndex(of: "/") ?? rest.endIndex)]
        guard let at = authority.lastIndex(of: "@") else { return false }
        guard let colon = authority[..<at].firstIndex(of: ":") else { return false }
        return authority.index(after: colon) < at
    }

    /// Why `name` cannot be a schema obwatch creates, or `nil`: a plain lower-case SQL name, so that it needs no
    /// quoting anywhere (psql, logs, grants).
    static func schemaProblem(_ name: String) -> String? {
        guard let first = name.unicodeScalars.first else { return "it is empty" }
        let isStart = ("a"..."z").contains(first) || first == "_"
        let rest = name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
        guard isStart, rest else {
            return "use lower-case letters, digits and _, starting with a letter or _"
        }
        guard name.utf8.count <= 63 else { return "PostgreSQL names are at most 63 bytes" }
        guard !name.hasPrefix("pg_") else { return "names starting with pg_ are reserved by PostgreSQL" }
        return nil
    }
}
