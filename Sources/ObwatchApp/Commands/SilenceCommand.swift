import ArgumentParser
import ConfigModel
import Curl
import Foundation
import ObshellModel
import Support
import Tracker

/// `obwatch silence add|list|expire`: run-time silences, through the running daemon's status API.
struct SilenceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "silence",
        abstract: "Add, list or expire silences of the running daemon (its status API).",
        subcommands: [SilenceAddCommand.self, SilenceListCommand.self, SilenceExpireCommand.self]
    )
}

/// Where the daemon's API is and the token to send: `--url`, else `http.listen` of the configuration (`--config`, else
/// `$OBWATCH_CONFIG`, else `/etc/obwatch/obwatch.yaml` when it exists: the daemon's own on an installed host), else the
/// default address; `--token-file`, else the configuration's write (or read) token.
struct DaemonAPIOptions: ParsableArguments {
    /// The configuration the packaged service runs with.
    static let installedConfig = "/etc/obwatch/obwatch.yaml"

    @Option(help: "The status API's base URL, e.g. http://127.0.0.1:9464 (default: http.listen of --config).")
    var url: String?

    @Option(
        help: """
            The configuration file: its http.listen, tls and tokens are used when --url/--token-file are not \
            (default: $OBWATCH_CONFIG, else /etc/obwatch/obwatch.yaml when it exists and --url is not given).
            """
    )
    var config: String?

    /// The configuration to read: `--config`, else `$OBWATCH_CONFIG`, else the installed one when `--url` is not given.
    var configPath: String? {
        if let config = self.config { return config }
        if let fromEnvironment = ProcessInfo.processInfo.environment["OBWATCH_CONFIG"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        guard self.url == nil, FileManager.default.fileExists(atPath: Self.installedConfig) else { return nil }
        return Self.installedConfig
    }

    @Option(help: "A file holding the bearer token (the write token for add, expire and ack).")
    var tokenFile: String?

    @Option(help: "A PEM CA file to trust for an https:// API (a self-signed certificate).")
    var caFile: String?

    /// The API's base URL and the token, read once.
    func resolve(command: String, write: Bool) throws -> (base: String, token: String?) {
        var settings: ObwatchConfig.HTTPSettings?
        if let path = self.configPath {
            let (config, lines) = RunCommand.checkedConfig(path, command: command, probingStateDirectory: false)
            guard let config else {
                for line in lines { StandardError.write(line) }
                throw ExitCode(1)
            }
            settings = config.http
        }
        var base = self.url
        if base == nil, let settings {
            let host = settings.host == "0.0.0.0" ? "127.0.0.1" : settings.host == "::" ? "::1" : settings.host
            let display = host.contains(":") ? "[\(host)]" : host
            base = (settings.tls == nil ? "http://" : "https://") + "\(display):\(settings.port)"
        }
        var token: String?
        if let file = self.tokenFile {
            guard let data = FileManager.default.contents(atPath: file) else {
                StandardError.write("obwatch \(command): cannot read the token file \(file)")
                throw ExitCode(1)
            }
            token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        } else if let settings {
            token = (write ? settings.writeToken : settings.bearerToken ?? settings.writeToken)?.revealed
        }
        var trimmed = base ?? "http://127.0.0.1:9464"
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        return (trimmed, token)
    }

    /// Sends one request to the API and returns the answer's body, or exits 1 with the API's error.
    func call(
        _ method: HTTPMethod,
        _ path: String,
        body: Data? = nil,
        command: String,
        write: Bool
    ) async throws -> Data {
        let (base, token) = try self.resolve(command: command, write: write)
        var headers: HTTPHeaders = [:]
        if let token { headers.append(name: "Authorization", value: "Bearer " + token) }
        if body != nil { headers.append(name: "Content-Type", value: "application/json") }
        let response: HTTPResponse
        do {
            response = try await CurlEngine.shared.perform(
                HTTPRequest(
                    method: method,
                    target: .url(base + path),
                    headers: headers,
                    body: body,
                    timeout: .seconds(30),
                    tls: TLSOptions(caFile: self.caFile),
                    maxResponseBytes: 16 << 20
                )
            )
        } catch {
            StandardError.write("obwatch \(command): cannot reach the daemon at \(base): \(error)")
            throw ExitCode(1)
        }
        guard response.isSuccess else {
            let message =
                (try? JSONDecoder().decode([String: String].self, from: response.body))?["error"]
                ?? String(decoding: response.body.prefix(300), as: UTF8.self)
            StandardError.write("obwatch \(command): HTTP \(response.status): \(message)")
            throw ExitCode(1)
        }
        return response.body
    }
}

/// `obwatch silence add`.
struct SilenceAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Silence matching events for a while; prints the new silence's id.",
        discussion: """
            Every matcher given must hold (globs: *, ?, [a-z]); at least one is needed. The silence is kept in the \
            daemon's store (state_dir or PostgreSQL), survives restarts, ends by itself, and is audited to syslog.
            """
    )

    @OptionGroup var api: DaemonAPIOptions

    @Option(help: "A glob on the target's name.")
    var target: String?

    @Option(help: "A target label and a glob on its value, KEY=VALUE (repeatable).")
    var label: [String] = []

    @Option(help: "A glob on the whole DAG name.")
    var dag: String?

    @Option(help: "An event type (repeatable), e.g. stalled.")
    var event: [String] = []

    @Option(name: .customLong("for"), help: "How long, e.g. 2h.", transform: DurationArgument.parse)
    var duration: DurationArgument?

    @Option(help: "Until when, RFC 3339, e.g. 2026-12-01T04:00:00+08:00.")
    var until: String?

    @Option(help: "Why (required).")
    var comment: String

    @Option(help: "Who (default: your login name, as amtool does).")
    var author: String?

    func validate() throws {
        guard (self.duration == nil) != (self.until == nil) else {
            throw ValidationError("give --for DURATION or --until TIME (one of them)")
        }
        if let until = self.until, ObshellTime(until) == nil {
            throw ValidationError("--until must be an RFC 3339 time such as 2026-12-01T04:00:00+08:00")
        }
        for label in self.label where !label.contains("=") {
            throw ValidationError("--label wants KEY=VALUE, not \"\(label)\"")
        }
        for event in self.event where EventType(rawValue: event) == nil {
            throw ValidationError("unknown event type \"\(event)\"")
        }
        guard self.target != nil || self.dag != nil || !self.label.isEmpty || !self.event.isEmpty else {
            throw ValidationError("give at least one matcher: --target, --label, --dag or --event")
        }
    }

    func run() async throws {
        let now = ObshellTime(date: SystemClock().wallNow)
        let endsAt = self.until ?? now.adding(self.duration?.duration ?? .zero).text
        var matchers: [OrderedJSON] = []
        func matcher(_ name: String, _ value: String) -> OrderedJSON {
            .members(["name": .string(name), "value": .string(value), "isRegex": .bool(false), "isEqual": .bool(true)])
        }
        if let target = self.target { matchers.append(matcher("target", target)) }
        for label in self.label {
            let parts = label.split(separator: "=", maxSplits: 1)
            matchers.append(matcher("label:" + String(parts[0]), parts.count > 1 ? String(parts[1]) : ""))
        }
        if let dag = self.dag { matchers.append(matcher("dag", dag)) }
        for event in self.event { matchers.append(matcher("event", event)) }
        let body = OrderedJSON.members([
            "matchers": .array(matchers),
            "endsAt": .string(endsAt),
            "createdBy": .string(try LoginName.author(self.author)),
            "comment": .string(self.comment),
        ])
        let answer = try await self.api.call(
            .post,
            "/api/v2/silences",
            body: body.data(forJavaScript: false),
            command: "silence add",
            write: true
        )
        let id = (try? JSONDecoder().decode([String: String].self, from: answer))?["silenceID"] ?? ""
        FileHandle.standardOutput.write(Data((id + "\n").utf8))
    }
}

/// `obwatch silence list`.
struct SilenceListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the run-time silences (active, pending and recently expired)."
    )

    @OptionGroup var api: DaemonAPIOptions

    @Flag(help: "Print the API's JSON instead of a table.")
    var json = false

    func run() async throws {
        let answer = try await self.api.call(.get, "/api/v2/silences", command: "silence list", write: false)
        if self.json {
            FileHandle.standardOutput.write(answer)
            return
        }
        struct Row: Decodable {
            struct Status: Decodable { var state: String }
            struct Matcher: Decodable {
                var name: String
                var value: String
            }
            var id: String
            var status: Status
            var matchers: [Matcher]
            var endsAt: String
            var createdBy: String
            var comment: String
        }
        guard let rows = try? JSONDecoder().decode([Row].self, from: answer) else {
            StandardError.write("obwatch silence list: the daemon's answer is not a list of silences")
            throw ExitCode(1)
        }
        var lines = ["ID\tSTATE\tENDS\tBY\tMATCHERS\tCOMMENT"]
        for row in rows {
            let matchers = row.matchers.map { "\($0.name)=\($0.value)" }.joined(separator: " ")
            lines.append(
                [row.id, row.status.state, row.endsAt, row.createdBy, matchers, row.comment]
                    .map(TerminalText.safe).joined(separator: "\t")
            )
        }
        FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    }
}

/// `obwatch silence expire`.
struct SilenceExpireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "expire",
        abstract: "End silences now (audited to syslog)."
    )

    @OptionGroup var api: DaemonAPIOptions

    @Option(help: "Who ends them, for the audit record (default: $USER).")
    var author: String?

    @Argument(help: "The silences' ids (from `silence add` or `silence list`).")
    var ids: [String]

    func run() async throws {
        let author = try LoginName.author(self.author)
        let query = "?author=" + (author.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "unknown")
        for id in self.ids {
            guard let path = id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"]))
            else { continue }
            _ = try await self.api.call(
                .delete,
                "/api/v2/silence/" + path + query,
                command: "silence expire",
                write: true
            )
            FileHandle.standardOutput.write(Data("expired \(id)\n".utf8))
        }
    }
}

/// `obwatch ack INCIDENT`.
struct AckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ack",
        abstract: "Acknowledge an open incident: its repeat reminders stop; PagerDuty and Opsgenie are told.",
        discussion: """
            The incident is the event's `incident` field, e.g. prod-east/1234/failed. Its later events are still \
            sent; a resolution closes it as usual. Audited to syslog.
            """
    )

    @OptionGroup var api: DaemonAPIOptions

    @Option(help: "Who acknowledges (default: $USER).")
    var author: String?

    @Argument(help: "The incident, e.g. prod-east/1234/failed.")
    var incident: String

    func run() async throws {
        let author = try LoginName.author(self.author)
        let body = OrderedJSON.members(["incident": .string(self.incident), "author": .string(author)])
        let answer = try await self.api.call(
            .post,
            "/api/v2/acks",
            body: body.data(forJavaScript: false),
            command: "ack",
            write: true
        )
        FileHandle.standardOutput.write(answer)
    }
}

/// Who a silence, an expiry or an acknowledgement is recorded as: `--author`, else the login name (`$USER`,
/// `$LOGNAME`, else the password database's name of the user), as amtool does.
enum LoginName {
    /// `given` when set, else the login name.
    /// - Throws: `ValidationError` when neither is known (no `--author`, and a user without a name).
    static func author(_ given: String?) throws -> String {
        if let given {
            guard !given.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ValidationError("--author must name someone")
            }
            return given
        }
        let environment = ProcessInfo.processInfo.environment
        for key in ["USER", "LOGNAME"] {
            if let name = environment[key], !name.isEmpty { return name }
        }
        if let entry = getpwuid(getuid()), let name = entry.pointee.pw_name {
            return String(cString: name)
        }
        throw ValidationError("give --author WHO: the login name is not known")
    }
}
