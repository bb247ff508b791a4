import CCurl
import Foundation
import Glibc
import Support

/// A request checked and translated into the settings an easy handle needs.
///
/// Plans are built on the caller's task, before anything is queued, so a forbidden scheme or a malformed header is
/// refused without a transfer ever starting. The engine thread then only applies the settings.
struct TransferPlan: Sendable {
    enum Kind: Sendable {
        case http
        case mail
    }

    var kind: Kind
    /// The URL handed to libcurl.
    var url: String
    /// What errors are rendered from. An HTTP target's redacted form and secrets are worked out only when an error
    /// needs them: doing it for every request was a tenth of a poll's CPU.
    enum ErrorRendering: Sendable {
        case http(HTTPTarget, hidesPath: Bool)
        case fixed(redactedURL: String, secrets: [String])
    }

    var errorRendering: ErrorRendering

    /// The target as shown in errors.
    var redactedURL: String {
        switch self.errorRendering {
        case .http(let target, let hidesPath): Redaction.redactedTarget(target, hidingPath: hidesPath)
        case .fixed(let redactedURL, _): redactedURL
        }
    }

    /// Strings scrubbed from libcurl's messages before they are kept.
    var secrets: [String] {
        switch self.errorRendering {
        case .http(let target, let hidesPath): Self.secrets(of: target, hidesPath: hidesPath)
        case .fixed(_, let secrets): secrets
        }
    }

    private static func secrets(of target: HTTPTarget, hidesPath: Bool) -> [String] {
        switch target.storage {
        case .url(let url): Redaction.secrets(inURL: url) + (hidesPath ? [url] : [])
        case .unixSocket(_, let requestPath): Redaction.secrets(inURL: "http://localhost" + requestPath)
        }
    }
    var unixSocketPath: String?
    var protocolNames: String
    var protocolMask: Int
    var timeoutMilliseconds: Int
    var connectTimeoutMilliseconds: Int
    var tls: TLSOptions

    // HTTP
    var method = HTTPMethod.get
    var headerLines: [String] = []
    var body: Data?
    var followRedirects = false
    var maxResponseBytes = Int.max
    /// Whether the response's header lines are collected (``HTTPRequest/keepsResponseHeaders``).
    var keepsResponseHeaders = true

    // SMTP
    var requiresTLS = false
    var credentials: MailCredentials?
    var mailFrom = ""
    var recipients: [String] = []
    var upload = Data()

    private static let httpSchemes: Set<String> = ["http", "https"]
    private static let mailSchemes: Set<String> = ["smtp", "smtps"]
    private static let httpProtocolMask = Int(CURLPROTO_HTTP) | Int(CURLPROTO_HTTPS)
    private static let mailProtocolMask = Int(CURLPROTO_SMTP) | Int(CURLPROTO_SMTPS)
    /// `sun_path` is 108 bytes including the terminating NUL.
    private static let maxSocketPathBytes = 107

    /// Checks an HTTP request and plans its transfer.
    /// - Throws: ``CurlError`` with `protocolNotAllowed` or `invalidRequest`.
    init(http request: HTTPRequest) throws(CurlError) {
        try CurlGlobal.initialise()
        var redacted: String { Redaction.redactedTarget(request.target, hidingPath: request.hidesPathInErrors) }
        func invalid(_ message: String) -> CurlError {
            CurlError(code: .invalidRequest, message: message, url: redacted)
        }

        let url: String
        var socketPath: String?
        switch request.target.storage {
        case .url(let target):
            try Self.checkURLCharacters(target, redacted: redacted)
            try Self.checkScheme(of: target, allowed: Self.httpSchemes, kind: "HTTP", redacted: redacted)
            _ = try Self.parsedHost(of: target, redacted: redacted)
            url = target
        case .unixSocket(let path, let requestPath):
            guard path.hasPrefix("/") else {
                throw invalid("the unix socket path must be absolute")
            }
            guard !path.utf8.contains(0), path.utf8.count <= Self.maxSocketPathBytes else {
                throw invalid("the unix socket path is longer than \(Self.maxSocketPathBytes) bytes or contains NUL")
            }
            guard requestPath.hasPrefix("/") else {
                throw invalid("the request path must start with /")
            }
            url = "http://localhost" + requestPath
            try Self.checkURLCharacters(url, redacted: redacted)
            _ = try Self.parsedHost(of: url, redacted: redacted)
            socketPath = path
        }

        guard Self.isToken(request.method.rawValue) else {
            throw invalid("the method is not a valid HTTP token")
        }
        if request.method == .head, request.body != nil {
            throw invalid("a HEAD request cannot have a body")
        }
        guard request.maxResponseBytes >= 0 else {
            throw invalid("maxResponseBytes must not be negative")
        }

        var lines: [String] = []
        for header in request.headers {
            guard Self.isToken(header.name) else {
                throw invalid("header name \"\(Self.printable(header.name))\" is not a valid HTTP token")
            }
            guard !header.value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
                throw invalid("the value of header \(header.name) contains CR, LF or NUL")
            }
            if HTTPHeaders.namesMatch(header.name, "Content-Length")
                || HTTPHeaders.namesMatch(header.name, "Transfer-Encoding")
            {
                throw invalid("\(header.name) is computed by libcurl and cannot be set")
            }
            let value = header.value.trimmingHTTPWhitespace
            // libcurl reads "Name:" as "remove this header" and "Name;" as "send it empty".
            lines.append(value.isEmpty ? "\(header.name);" : "\(header.name): \(value)")
        }
        let sendsBody = request.body != nil || request.method == .post
        if sendsBody, !request.headers.contains(name: "Content-Type") {
            lines.append("Content-Type:")
        }
        if !request.headers.contains(name: "Expect") {
            lines.append("Expect:")
        }

        self.kind = .http
        self.url = url
        self.errorRendering = .http(request.target, hidesPath: request.hidesPathInErrors)
        self.unixSocketPath = socketPath
        self.protocolNames = "http,https"
        self.protocolMask = Self.httpProtocolMask
        self.timeoutMilliseconds = try Self.milliseconds(request.timeout, name: "timeout", redacted: redacted)
        self.connectTimeoutMilliseconds = try Self.milliseconds(
            request.connectTimeout,
            name: "connectTimeout",
            redacted: redacted
        )
        self.tls = request.tls
        self.method = request.method
        self.headerLines = lines
        self.body = sendsBody ? (request.body ?? Data()) : nil
        self.followRedirects = request.followRedirects
        self.maxResponseBytes = request.maxResponseBytes
        self.keepsResponseHeaders = request.keepsResponseHeaders
    }

    /// Checks a mail transfer and plans it.
    /// - Throws: ``CurlError`` with `protocolNotAllowed`, `insecureTransport` or `invalidRequest`.
    init(mail request: MailRequest) throws(CurlError) {
        try CurlGlobal.initialise()
        let redacted = Redaction.redactedURL(request.server)
        func invalid(_ message: String) -> CurlError {
            CurlError(code: .invalidRequest, message: message, url: redacted)
        }

        try Self.checkURLCharacters(request.server, redacted: redacted)
        let scheme = try Self.checkScheme(
            of: request.server,
            allowed: Self.mailSchemes,
            kind: "mail",
            redacted: redacted
        )
        let host = try Self.parsedHost(of: request.server, redacted: redacted)
        switch request.tls {
        case .starttls:
            guard scheme == "smtp" else {
                throw invalid("STARTTLS needs an smtp:// URL; smtps:// is implicit TLS")
            }
        case .implicit:
            guard scheme == "smtps" else {
                throw invalid("implicit TLS needs an smtps:// URL; use starttls for smtp://")
            }
        case .none:
            guard scheme == "smtp" else {
                throw invalid("tls none needs an smtp:// URL")
            }
            guard HostClassification.isLoopback(host) else {
                throw CurlError(
                    code: .insecureTransport,
                    message: "mail without TLS is only allowed to a loopback host; use starttls or implicit",
                    url: redacted
                )
            }
        }

        for address in [request.sender] + request.recipients {
            guard Self.isPlausibleAddress(address) else {
                throw invalid("mail address \"\(Self.printable(address))\" contains a control character or <>")
            }
        }
        guard !request.recipients.isEmpty, !request.recipients.contains(where: \.isEmpty) else {
            throw invalid("a mail needs at least one recipient, and no recipient may be empty")
        }
        guard !request.message.isEmpty else {
            throw invalid("the message is empty")
        }
        var secrets = Redaction.secrets(inURL: request.server)
        if let credentials = request.credentials {
            guard !credentials.username.utf8.contains(0), !credentials.password.utf8.contains(0) else {
                throw invalid("the user name or password contains NUL")
            }
            secrets.append(credentials.password)
        }

        self.kind = .mail
        self.url = request.server
        self.errorRendering = .fixed(redactedURL: redacted, secrets: secrets)
        self.unixSocketPath = nil
        self.protocolNames = "smtp,smtps"
        self.protocolMask = Self.mailProtocolMask
        self.timeoutMilliseconds = try Self.milliseconds(request.timeout, name: "timeout", redacted: redacted)
        self.connectTimeoutMilliseconds = try Self.milliseconds(
            request.connectTimeout,
            name: "connectTimeout",
            redacted: redacted
        )
        self.tls = request.tlsOptions
        self.requiresTLS = request.tls != .none
        self.credentials = request.credentials
        self.mailFrom = "<\(request.sender)>"
        self.recipients = request.recipients.map { "<\($0)>" }
        self.upload = request.message
    }

    // MARK: - Checks

    /// Rejects whitespace and control characters, which libcurl would either refuse or pass on to the wire.
    private static func checkURLCharacters(_ url: String, redacted: @autoclosure () -> String) throws(CurlError) {
        guard !url.isEmpty else {
            throw CurlError(code: .invalidRequest, message: "the URL is empty", url: redacted())
        }
        guard !url.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) else {
            throw CurlError(
                code: .invalidRequest,
                message: "the URL contains whitespace or a control character",
                url: redacted()
            )
        }
    }

    /// Reads the scheme ourselves, before libcurl parses anything, so `file:`, `gopher:` and friends are refused
    /// whatever else is wrong with the URL.
    @discardableResult
    private static func checkScheme(
        of url: String,
        allowed: Set<String>,
        kind: String,
        redacted: @autoclosure () -> String
    ) throws(CurlError) -> String {
        // Worked out only for an error: sorting and joining on every request showed in the poll's profile.
        var allowedList: String { allowed.sorted().joined(separator: ", ") }
        guard let colon = url.firstIndex(of: ":") else {
            throw CurlError(
                code: .invalidRequest,
                message: "the URL has no scheme; \(kind) allows \(allowedList)",
                url: redacted()
            )
        }
        let scheme = url[..<colon].lowercased()
        guard Self.isSchemeSyntax(scheme) else {
            throw CurlError(
                code: .invalidRequest,
                message: "the URL has no scheme; \(kind) allows \(allowedList)",
                url: redacted()
            )
        }
        guard allowed.contains(scheme) else {
            throw CurlError(
                code: .protocolNotAllowed,
                message: "scheme \(scheme) is not allowed; \(kind) allows \(allowedList)",
                url: redacted()
            )
        }
        guard url[colon...].hasPrefix("://") else {
            throw CurlError(
                code: .invalidRequest,
                message: "the URL must have the form \(scheme)://host",
                url: redacted()
            )
        }
        return scheme
    }

    /// Parses the URL with libcurl's own parser, so the host we check is the host libcurl will connect to.
    private static func parsedHost(of url: String, redacted: @autoclosure () -> String) throws(CurlError) -> String {
        guard let handle = curl_url() else {
            throw CurlError(code: .other, message: "libcurl could not allocate a URL parser", url: redacted())
        }
        defer { curl_url_cleanup(handle) }
        let setCode = curl_url_set(handle, CURLUPART_URL, url, 0)
        guard setCode == CURLUE_OK else {
            let reason = curl_url_strerror(setCode).map { String(cString: $0) } ?? "malformed URL"
            throw CurlError(
                code: .invalidRequest,
                message: "the URL is malformed: \(reason)",
                curlCode: Int(setCode.rawValue),
                url: redacted()
            )
        }
        var host: UnsafeMutablePointer<CChar>?
        let getCode = curl_url_get(handle, CURLUPART_HOST, &host, 0)
        defer { curl_free(host) }
        guard getCode == CURLUE_OK, let host else {
            throw CurlError(code: .invalidRequest, message: "the URL has no host", url: redacted())
        }
        return String(cString: host)
    }

    /// An RFC 9110 token: the syntax of method and header names.
    static func isToken(_ text: String) -> Bool {
        !text.isEmpty
            && text.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"):
                    return true
                default:
                    return "!#$%&'*+-.^_`|~".utf8.contains(byte)
                }
            }
    }

    /// Addresses go inside `<...>` on the SMTP command line, so brackets and line breaks would forge commands.
    private static func isPlausibleAddress(_ address: String) -> Bool {
        !address.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F || $0 == "<" || $0 == ">" }
    }

    private static func isSchemeSyntax(_ scheme: String) -> Bool {
        guard let first = scheme.unicodeScalars.first, first.isASCIILetter else {
            return false
        }
        return scheme.unicodeScalars.allSatisfy {
            $0.isASCIILetter || ("0"..."9").contains($0) || "+-.".unicodeScalars.contains($0)
        }
    }

    private static func printable(_ text: String) -> String {
        String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
    }

    /// libcurl treats a zero timeout as "none", so durations are rounded up to at least one millisecond.
    private static func milliseconds(
        _ duration: Duration,
        name: String,
        redacted: @autoclosure () -> String
    ) throws(CurlError) -> Int {
        guard duration > .zero else {
            throw CurlError(code: .invalidRequest, message: "\(name) must be positive", url: redacted())
        }
        let (seconds, attoseconds) = duration.components
        let limit: Int64 = 365 * 24 * 3600
        guard seconds < limit else { return Int(limit * 1000) }
        let millis = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int(max(millis, 1))
    }
}

extension Unicode.Scalar {
    fileprivate var isASCIILetter: Bool {
        ("a"..."z").contains(self) || ("A"..."Z").contains(self)
    }
}
