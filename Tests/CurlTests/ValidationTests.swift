import Foundation
import Testing

@testable import Curl

/// Requests refused before any transfer, and the pure helpers behind them. No network is touched.
struct ValidationTests {
    let engine = CurlEngine.shared

    @Test(arguments: [
        "file:///etc/passwd", "FILE:///etc/passwd", "gopher://127.0.0.1:70/x", "ftp://127.0.0.1/x", "dict://x/",
        "ldap://127.0.0.1/", "telnet://127.0.0.1", "smtp://127.0.0.1:25", "scp://host/file", "localhost:80/x",
    ])
    func httpRefusesOtherProtocols(url: String) async {
        let error = await #expect(throws: CurlError.self) { try await self.engine.perform(HTTPRequest(url: url)) }
        #expect(error?.code == .protocolNotAllowed)
        #expect(error?.curlCode == nil)
    }

    @Test(arguments: ["http://127.0.0.1:25", "file:///etc/passwd", "imap://127.0.0.1"])
    func mailRefusesOtherProtocols(server: String) async {
        let error = await #expect(throws: CurlError.self) { try await self.engine.send(Self.mail(server, .none)) }
        #expect(error?.code == .protocolNotAllowed)
    }

    @Test(arguments: [
        HTTPRequest(url: ""),
        HTTPRequest(url: "127.0.0.1/x"),
        HTTPRequest(url: "http:/127.0.0.1/x"),
        HTTPRequest(url: "http://127.0.0.1/a b"),
        HTTPRequest(url: "http://127.0.0.1/x\r\nX-Evil: 1"),
        HTTPRequest(url: "http://127.0.0.1/", headers: ["X-Evil": "a\r\nX-Injected: 1"]),
        HTTPRequest(url: "http://127.0.0.1/", headers: ["Bad Name": "x"]),
        HTTPRequest(url: "http://127.0.0.1/", headers: ["Content-Length": "5"]),
        HTTPRequest(method: "GE T", url: "http://127.0.0.1/"),
        HTTPRequest(method: "", url: "http://127.0.0.1/"),
        HTTPRequest(method: .head, url: "http://127.0.0.1/", body: Data()),
        HTTPRequest(url: "http://127.0.0.1/", timeout: .zero),
        HTTPRequest(target: .unixSocket("relative.sock", requestPath: "/x")),
        HTTPRequest(target: .unixSocket("/tmp/x.sock", requestPath: "x")),
        HTTPRequest(target: .unixSocket("/" + String(repeating: "s", count: 120), requestPath: "/x")),
    ])
    func malformedHTTPRequestsAreRefused(request: HTTPRequest) async {
        let error = await #expect(throws: CurlError.self) { try await self.engine.perform(request) }
        #expect(error?.code == .invalidRequest)
    }

    /// A mail request with small defaults, so each case shows only what it breaks.
    static func mail(
        _ server: String = "smtp://h:587",
        _ tls: MailTLSMode = .starttls,
        sender: String = "a@b",
        recipients: [String] = ["c@d"],
        message: String = "x"
    ) -> MailRequest {
        MailRequest(server: server, tls: tls, sender: sender, recipients: recipients, message: Data(message.utf8))
    }

    @Test(arguments: [
        "smtp://mail.example.com:25", "smtp://10.0.0.5:25", "smtp://[2001:db8::1]:25", "smtp://127.example.com:25",
    ])
    func plainMailOnlyToLoopback(server: String) async throws {
        let error = await #expect(throws: CurlError.self) { try await self.engine.send(Self.mail(server, .none)) }
        #expect(error?.code == .insecureTransport)
    }

    @Test(arguments: [
        mail("smtps://h:465", .starttls),
        mail("smtp://h:587", .implicit),
        mail("smtps://h:465", .none),
        mail(recipients: []),
        mail(recipients: [""]),
        mail(recipients: ["c@d>\r\nDATA"]),
        mail(sender: "a<b"),
        mail(message: ""),
    ])
    func malformedMailIsRefused(mail: MailRequest) async {
        let error = await #expect(throws: CurlError.self) { try await self.engine.send(mail) }
        #expect(error?.code == .invalidRequest)
    }

    @Test func unixSocketTargetsAreRedacted() {
        #expect(
            HTTPTarget.unixSocket("/run/o.sock", requestPath: "/api?sig=abc").description
                == "unix:///run/o.sock /api?<redacted>"
        )
        #expect(
            HTTPTarget.unixSocket("/run/o.sock", requestPath: "/hook/T0/secret").description
                == "unix:///run/o.sock /hook/T0/secret"
        )
    }

    @Test func passwordsNeverAppearInDescriptions() {
        let credentials = MailCredentials(username: "obwatch", password: "hunter2")
        #expect(!String(describing: credentials).contains("hunter2"))
        #expect(!"\(credentials)".contains("hunter2"))
        #expect(!String(reflecting: credentials).contains("hunter2"))
        var dumped = ""
        dump(credentials, to: &dumped)
        #expect(!dumped.contains("hunter2"))
        let mail = MailRequest(
            server: "smtp://h:587",
            tls: .starttls,
            credentials: credentials,
            sender: "a@b",
            recipients: ["c@d"],
            message: Data("x".utf8)
        )
        #expect(!String(describing: mail).contains("hunter2"))
        var dumpedMail = ""
        dump(mail, to: &dumpedMail)
        #expect(!dumpedMail.contains("hunter2"))
    }

    @Test func headersAreOrderedAndCaseInsensitive() {
        var headers: HTTPHeaders = ["Accept": "a", "X-Dup": "1", "x-dup": "2"]
        #expect(headers["ACCEPT"] == "a")
        #expect(headers.values(for: "X-DUP") == ["1", "2"])
        #expect(headers["missing"] == nil)
        headers.append(name: "Z", value: "last")
        #expect(headers.last?.name == "Z")
        headers.replaceOrAppend(name: "x-DUP", value: "3")
        #expect(headers.values(for: "x-dup") == ["3"])
        headers.removeAll(name: "accept")
        #expect(!headers.contains(name: "Accept"))
        #expect(headers.map(\.name) == ["Z", "x-DUP"])
    }

    @Test func targetsJoinBaseAndPath() {
        #expect(
            HTTPTarget(base: "http://10.0.0.5:2886/", path: "/api/v1/status")
                == .url("http://10.0.0.5:2886/api/v1/status")
        )
        #expect(HTTPTarget(base: "https://h", path: "api") == .url("https://h/api"))
        #expect(
            HTTPTarget(base: "unix:///home/admin/obshell/run/obshell.sock", path: "/api/v1/status")
                == .unixSocket("/home/admin/obshell/run/obshell.sock", requestPath: "/api/v1/status")
        )
        #expect(HTTPTarget(base: "UNIX:///s.sock", path: "/x").socketPath == "/s.sock")
        #expect(HTTPTarget.url("http://h/x").socketPath == nil)
    }

    @Test func errorDescriptionIsWordsAndURL() {
        let error = CurlError(
            code: .timedOut,
            message: "Timeout was reached",
            curlCode: 28,
            curlMessage: "Operation timed out after 300 milliseconds",
            url: "http://h/x"
        )
        #expect(
            error.description
                == "Timeout was reached (Operation timed out after 300 milliseconds) [CURLcode 28] url=http://h/x"
        )
        #expect(CurlError.Code.mailRejected.description == "mailRejected")
    }
}
