import ConfigLoading
import Foundation
import Testing
import YAML

/// SplitMix64: a tiny seeded generator, so a failing document can be made again from its seed and index.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        self.state = seed
    }

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var value = self.state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}

/// Documents for the fuzz test: token soup from the config's own vocabulary, and mutations of a valid config.
enum ConfigFuzz {
    /// The environment of every check; `UNSET` is deliberately missing.
    static let environment = ["OBW_PW": "pw-value", "DT_TOKEN": "tok", "DT_SECRET": "SECxyz"]

    /// Files next to `obwatch.yaml` that includes and `*_file` keys may name. Every path the generators write is
    /// relative and has no `..`, so nothing outside the test's folder is read.
    static let auxiliaryFiles = [
        "rules.d/paging.yaml": """
        rules:
          - name: page-on-stall
            match: { event: stalled }
            after: 2h
            notify: [oncall]
        """,
        "a.yaml": "include: b.yaml\n",
        "b.yaml": "include: [a.yaml, rules.d/*.yaml]\n",
        "secrets/pd.key": "pd-routing-key\n",
        "secrets/smtp.pw": "smtp-password\r\n",
    ]

    /// A valid config using every section; the mutations start from it.
    static let valid = """
        state_dir: ./state
        http:
          listen: 127.0.0.1:9464
          bearer_token: ${OBW_PW}
        defaults:
          poll_interval: 10s
          timeout: 5s
          down_after: 5
          confirm_within: 10m
          stall_after: 1h30m
          time_zone: Asia/Shanghai
        targets:
          - name: prod-east
            url: http://10.0.0.5:2886
            password: "pre-${OBW_PW}-$$"
            labels: { env: prod, region: east }
          - name: local
            url: unix:///run/obshell.sock
            password_file: secrets/smtp.pw
            poll_interval: 2s
        receivers:
          - name: db-chat
            webhook:
              format: dingtalk
              url: https://oapi.dingtalk.com/robot/send?access_token=${DT_TOKEN}
              secret: ${DT_SECRET}
              mentions: ["13800000000"]
            rate_limit: [20/min, 100/h]
            retry: { initial: 5s, max: 5m }
          - name: oncall
            webhook: { format: pagerduty, routing_key_file: secrets/pd.key }
          - name: hook
            webhook:
              format: generic
              url: https://hooks.example.com/x
              headers: { X-Team: dba }
            send_resolved: false
          - name: dba-mail
            email:
              smtp: smtp://relay.example.com:587
              tls: starttls
              username: obwatch
              password_file: secrets/smtp.pw
              from: obwatch@example.com
              to: [dba@example.com, "DBA <dba2@example.com>"]
          - name: audit
            syslog: { address: "udp://127.0.0.1:514", format: rfc3164, facility: local3, app_name: obw }
        rules:
          - name: failures
            match:
              event: [node_failed, failed]
              dag: "Cluster scale*"
              target: "prod-*"
              labels: { env: prod }
            notify: [db-chat, dba-mail]
            repeat: 1h
            group_wait: 0s
          - name: regex
            match: { event: stalled, dag_regex: "Cluster (scale|upgrade).*" }
            after: 45m
            notify: hook
            template:
              title: "{{dag.name}} {{type}}"
              text: |
                {{#dag}}{{name}}{{/dag}} on {{target.name}}
          - name: audit-trail
            match: { event: "*" }
            notify: [audit]
        include: rules.d/*.yaml
        silences:
          - match: { target: prod-east }
            from: 2026-12-01T02:00:00+08:00
            until: 2026-12-01T04:00:00+08:00
            comment: upgrade window
          - weekly: { days: [sat, sun, mon-fri], from: "02:00", until: "06:00", time_zone: Asia/Shanghai }
        inhibit:
          - { source: failed, suppress: [node_failed, stalled] }
        """

    static let keys = [
        "state_dir", "http", "listen", "bearer_token", "defaults", "poll_interval", "timeout", "down_after",
        "confirm_within", "stall_after", "time_zone", "targets", "name", "url", "password", "password_file", "labels",
        "ca_file", "receivers", "webhook", "format", "secret", "url_file", "routing_key", "routing_key_file",
        "api_key", "headers", "mentions", "email", "smtp", "tls", "username", "from", "to", "syslog", "address",
        "facility", "app_name", "rate_limit", "retry", "initial", "max", "max_age", "send_resolved", "rules", "match",
        "event", "dag", "dag_regex", "target", "notify", "repeat", "after", "group_wait", "template", "title", "text",
        "silences", "weekly", "days", "until", "comment", "inhibit", "source", "suppress", "include", "env", "<<",
        "? complex", "\"quoted key\"", "pol_interval", "évènement", "",
    ]

    static let values = [
        "5s", "0s", "1h30m", "1m30h", "-5s", "99999999999999999999h", "fast", "3", "0", "-1", "1001", "true", "yes",
        "~", "null", "\"\"", "''", "prod-east", "local", "db-chat", "oncall", "audit", "hook", "failed", "stalled",
        "target_down", "succeeded", "\"*\"", "*", "[failed, \"*\"]", "[]", "{}", "[a, b", "{ a: 1", "\"unclosed",
        "'unclosed", "\"Cluster [scale\"", "\"prod-[z-a]\"", "'tail\\'", "\"(open\"", "\"a{2,1}\"", "\"[[:alpha:]]\"",
        "\"{{dag.name}}\"", "\"{{dag.nme}}\"", "\"{{#dag}}x\"", "\"{{/dag}}\"", "\"{{> partial}}\"", "\"{{=<% %>=}}\"",
        "\"{{{raw}}}\"", "\"{{\"", "\"}}\"", "\"${OBW_PW}\"", "${UNSET}", "\"${\"", "\"$x\"", "$$", "\"${A:-b}\"",
        "\"${1X}\"", "http://10.0.0.5:2886", "https://hooks.example.com/x", "ftp://x", "unix://rel", "unix:///s.sock",
        "smtp://relay:25", "smtps://relay.example.com", "smtp://:0", "udp://127.0.0.1:514", "tcp://[::1]:601",
        "udp://h", "local7", "24", "rfc5424", "rfc3164", "starttls", "none", "implicit", "a@b.c", "\"a b@c.d\"",
        "\"x\\r\\ny\"", "dingtalk", "slack", "pagerduty", "opsgenie", "feishu", "teams", "wecom", "generic",
        "Asia/Shanghai", "Mars/Olympus", "\"25:00\"", "\"24:00\"", "\"00:00\"", "mon-fri", "funday", "sat-mon",
        "2026-12-01T02:00:00+08:00", "2026-12-01T02:00:00", "0000-00-00T00:00:00Z", "20/min", "0/s", "none",
        "secrets/pd.key", "secrets/missing.pw", "rules.d/*.yaml", "a.yaml", "b.yaml", "\"*.yaml\"", "missing.yaml",
        "&anchor value", "*anchor", "&list [a, b]", "*list", "*nowhere", "!!int 5", "!!str 5", "!!bool yes", "!!null",
        "!!binary AAAA", "!custom x", "|", ">", "|-", "|+2", "é€😀", "\"\\u0000\"", "\"\\x7f\"", "\u{7}", "\u{FEFF}x",
        "\u{85}", "\u{2028}", "# comment", "a: b: c", "- - -", "? x", "@at", "`tick`", "%percent", "'it''s'",
        "\"\\\"esc\\\"\"", "127.0.0.1:9464", "localhost", "[::1]:0", ":80", "1e3", ".inf", "0x10", "0o7",
    ]

    static let junk = [
        "---", "...", "%YAML 1.2", "%TAG ! tag:x,2026:", "[", "]", "{", "}", ",", ":", "-", "?", "|", ">", "&a", "*a",
        "<<: *a", "!", "!!map", "#", "\"", "'", "{{", "}}", "${", "\t", "\r", "\u{0}", "\u{1B}", "\u{D7FF}",
        "\u{10FFFF}", "𝔘𝔫𝔦", "\\", "%", "@", "`",
    ]

    /// Token soup: even documents follow the config's grammar with wrong shapes, stray keys and junk mixed in, so
    /// they reach the decoder; odd ones are lines of keys, values and YAML punctuation at random indentation, for
    /// the parser.
    static func soup(seed: UInt64, index: Int) -> Data {
        var random = SplitMix64(seed: seed &* 1_000_003 &+ UInt64(index))
        if index % 2 == 0 {
            var lines: [String] = []
            self.mapping("root", indentation: 0, depth: 0, random: &random, into: &lines)
            return Data(lines.joined(separator: "\n").utf8)
        }
        var lines: [String] = []
        for _ in 0..<Int.random(in: 1...28, using: &random) {
            var line = String(repeating: " ", count: Int.random(in: 0...3, using: &random) * 2)
            if Int.random(in: 0..<25, using: &random) == 0 { line += "\t" }
            if Int.random(in: 0..<4, using: &random) == 0 { line += "- " }
            let key = self.keys.randomElement(using: &random) ?? "name"
            let value = self.values.randomElement(using: &random) ?? ""
            switch Int.random(in: 0..<10, using: &random) {
            case 0: line += "\(key):"
            case 1: line += "\(key): { \(key): \(value), \(self.keys.randomElement(using: &random) ?? ""): [\(value)] }"
            case 2: line += "\(key): [\(value), \(self.values.randomElement(using: &random) ?? "")]"
            case 3: line += value
            case 4:
                var tokens: [String] = []
                for _ in 0..<Int.random(in: 1...6, using: &random) {
                    let pool = [self.junk, self.keys, self.values].randomElement(using: &random) ?? self.junk
                    tokens.append(pool.randomElement(using: &random) ?? "")
                }
                line += tokens.joined(separator: Bool.random(using: &random) ? " " : "")
            case 5:
                line += "\(key): |"
                lines.append(line)
                line = "  " + (self.values.randomElement(using: &random) ?? "") + " {{dag.name}}"
            default: line += "\(key): \(value)"
            }
            lines.append(line)
        }
        var data = Data(lines.joined(separator: Bool.random(using: &random) ? "\n" : "\r\n").utf8)
        if Int.random(in: 0..<10, using: &random) == 0, !data.isEmpty {
            data[Int.random(in: 0..<data.count, using: &random)] = UInt8.random(in: 0x80...0xFF, using: &random)
        }
        return data
    }

    /// What a key holds.
    enum Shape {
        case scalar, scalars
        case mapping(String)
        case mappings(String)
    }

    /// The keys of each kind of mapping in CONTRACT section 3 (and a few more the loader reads).
    static let grammar: [String: [(String, Shape)]] = [
        "root": [
            ("state_dir", .scalar), ("http", .mapping("http")), ("defaults", .mapping("defaults")),
            ("targets", .mappings("target")), ("receivers", .mappings("receiver")), ("rules", .mappings("rule")),
            ("silences", .mappings("silence")), ("inhibit", .mappings("inhibit")), ("include", .scalars),
        ],
        "http": [("listen", .scalar), ("bearer_token", .scalar), ("bearer_token_file", .scalar)],
        "defaults": [
            ("poll_interval", .scalar), ("timeout", .scalar), ("down_after", .scalar), ("confirm_within", .scalar),
            ("stall_after", .scalar), ("time_zone", .scalar),
        ],
        "target": [
            ("name", .scalar), ("url", .scalar), ("password", .scalar), ("password_file", .scalar),
            ("poll_interval", .scalar), ("timeout", .scalar), ("labels", .mapping("labels")), ("ca_file", .scalar),
        ],
        "labels": [("env", .scalar), ("region", .scalar)],
        "receiver": [
            ("name", .scalar), ("webhook", .mapping("webhook")), ("email", .mapping("email")),
            ("syslog", .mapping("syslog")), ("timeout", .scalar), ("rate_limit", .scalars),
            ("retry", .mapping("retry")), ("max_age", .scalar), ("send_resolved", .scalar),
        ],
        "webhook": [
            ("format", .scalar), ("url", .scalar), ("url_file", .scalar), ("secret", .scalar),
            ("routing_key", .scalar), ("api_key_file", .scalar), ("headers", .mapping("headers")),
            ("mentions", .scalars), ("ca_file", .scalar),
        ],
        "headers": [("X-Team", .scalar), ("Bad Name", .scalar)],
        "retry": [("initial", .scalar), ("max", .scalar)],
        "email": [
            ("smtp", .scalar), ("tls", .scalar), ("username", .scalar), ("password", .scalar),
            ("password_file", .scalar), ("from", .scalar), ("to", .scalars),
        ],
        "syslog": [("address", .scalar), ("format", .scalar), ("facility", .scalar), ("app_name", .scalar)],
        "rule": [
            ("name", .scalar), ("match", .mapping("match")), ("notify", .scalars), ("repeat", .scalar),
            ("after", .scalar), ("group_wait", .scalar), ("template", .mapping("template")),
        ],
        "match": [
            ("event", .scalars), ("dag", .scalar), ("dag_regex", .scalar), ("target", .scalar),
            ("labels", .mapping("labels")),
        ],
        "template": [("title", .scalar), ("text", .scalar)],
        "silence": [
            ("match", .mapping("match")), ("from", .scalar), ("until", .scalar), ("weekly", .mapping("weekly")),
            ("comment", .scalar),
        ],
        "weekly": [("days", .scalars), ("from", .scalar), ("until", .scalar), ("time_zone", .scalar)],
        "inhibit": [("source", .scalars), ("suppress", .scalars)],
    ]

    /// Values that fit a key, so names resolve and types parse often enough to reach the checks behind them.
    static func value(for key: String, random: inout SplitMix64) -> String {
        let fitting: [String]
        switch key {
        case "name", "notify", "target", "env", "region":
            fitting = ["prod-east", "local", "db-chat", "oncall", "audit", "hook", "r1", "\"prod-*\""]
        case "event", "source", "suppress":
            fitting = ["failed", "node_failed", "stalled", "target_down", "succeeded", "\"*\"", "faild"]
        case "format":
            fitting = ["generic", "slack", "dingtalk", "feishu", "pagerduty", "opsgenie", "rfc5424", "slak"]
        case "title", "text":
            fitting = ["\"{{dag.name}} {{type}}\"", "x {{dag.nme}}", "\"{{#dag}}{{name}}\"", "'{{{target.name}}}'"]
        case "from", "until":
            fitting = ["\"02:00\"", "2026-12-01T02:00:00+08:00", "2026-12-01T04:00:00Z", "\"6\""]
        default:
            fitting = ["5s", "30m", "0s", "1h30m", "3"]
        }
        let pool = Int.random(in: 0..<3, using: &random) == 0 ? self.values : fitting
        return pool.randomElement(using: &random) ?? ""
    }

    /// Appends the block lines of one mapping of kind `kind`, its first key at `indentation`.
    static func mapping(
        _ kind: String,
        indentation: Int,
        depth: Int,
        random: inout SplitMix64,
        into lines: inout [String]
    ) {
        let pad = String(repeating: " ", count: indentation)
        var entries = (self.grammar[kind] ?? []).shuffled(using: &random)
        entries = Array(entries.prefix(Int.random(in: 1...max(1, entries.count), using: &random)))
        if kind == "root", Int.random(in: 0..<4, using: &random) != 0 {
            lines.append("state_dir: s")
            lines.append("targets: [{ name: prod-east, url: \"http://h:1\", labels: { env: prod } }]")
            entries.removeAll { $0.0 == "state_dir" || $0.0 == "targets" }
        }
        if Int.random(in: 0..<8, using: &random) == 0 {
            entries.append((self.keys.randomElement(using: &random) ?? "x", .scalar))
        }
        for (key, written) in entries {
            var shape = written
            if Int.random(in: 0..<12, using: &random) == 0 {
                shape =
                    [Shape.scalar, .scalars, .mapping(kind), .mappings(kind)].randomElement(using: &random) ?? shape
            }
            if depth > 5 { shape = .scalar }
            switch shape {
            case .scalar:
                if (key == "text" || key == "title"), Bool.random(using: &random) {
                    lines.append(pad + "\(key): |")
                    lines.append(pad + "  first {{target.name}}")
                    lines.append(pad + "    " + self.value(for: key, random: &random))
                } else {
                    lines.append(pad + "\(key): " + self.value(for: key, random: &random))
                }
            case .scalars:
                let items = (0..<Int.random(in: 0...3, using: &random)).map { _ in
                    self.value(for: key, random: &random)
                }
                if Bool.random(using: &random) {
                    lines.append(pad + "\(key): [" + items.joined(separator: ", ") + "]")
                } else {
                    lines.append(pad + "\(key):")
                    for item in items { lines.append(pad + "  - " + item) }
                }
            case .mapping(let inner):
                lines.append(pad + "\(key):")
                self.mapping(inner, indentation: indentation + 2, depth: depth + 1, random: &random, into: &lines)
            case .mappings(let inner):
                lines.append(pad + "\(key):")
                for _ in 0..<Int.random(in: 0...3, using: &random) {
                    let first = lines.count
                    self.mapping(inner, indentation: indentation + 4, depth: depth + 1, random: &random, into: &lines)
                    if first < lines.count {
                        lines[first] = pad + "  - " + lines[first].dropFirst(indentation + 4)
                    }
                }
            }
            if Int.random(in: 0..<40, using: &random) == 0, let last = lines.indices.last {
                lines[last] += " " + (self.junk.randomElement(using: &random) ?? "")
            }
        }
    }

    /// The valid config with one to four random edits: lines deleted, duplicated, swapped, re-indented or replaced,
    /// bytes flipped, or the whole cut short.
    static func mutation(seed: UInt64, index: Int) -> Data {
        var random = SplitMix64(seed: seed &* 1_000_003 &+ UInt64(index))
        var lines = self.valid.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var truncateAt: Int?
        var flips: [(Double, UInt8)] = []
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            guard !lines.isEmpty else { break }
            let at = Int.random(in: 0..<lines.count, using: &random)
            switch Int.random(in: 0..<9, using: &random) {
            case 0: lines.remove(at: at)
            case 1: lines.insert(lines[at], at: at)
            case 2: lines.swapAt(at, Int.random(in: 0..<lines.count, using: &random))
            case 3: lines[at] = String(repeating: " ", count: Int.random(in: 1...4, using: &random)) + lines[at]
            case 4: lines[at] = String(lines[at].drop { $0 == " " })
            case 5:
                let indentation = String(lines[at].prefix { $0 == " " })
                let key = self.keys.randomElement(using: &random) ?? "name"
                lines[at] = indentation + "\(key): " + (self.values.randomElement(using: &random) ?? "")
            case 6:
                let indentation = String(lines[at].prefix { $0 == " " })
                lines[at] =
                    indentation + (self.junk.randomElement(using: &random) ?? "")
                    + lines[at].dropFirst(indentation.count)
            case 7: truncateAt = Int.random(in: 0..<self.valid.utf8.count, using: &random)
            default:
                let replacement: [UInt8] = [
                    0x09, 0x0D, 0x00, 0x22, 0x27, 0x3A, 0x2D, 0x5B, 0x7B, 0x2A, 0x26, 0x24, 0xC3, 0xFF,
                ]
                flips.append((Double.random(in: 0..<1, using: &random), replacement.randomElement(using: &random) ?? 0))
            }
        }
        var bytes = Array(lines.joined(separator: "\n").utf8)
        for (position, byte) in flips where !bytes.isEmpty {
            bytes[min(bytes.count - 1, Int(position * Double(bytes.count)))] = byte
        }
        if let truncateAt { bytes = Array(bytes.prefix(truncateAt)) }
        return Data(bytes)
    }

    /// What is wrong with `check`'s lines for one document, or `nil` when every line has the promised shape.
    static func problem(in report: ConfigCheckReport, folder: String) -> String? {
        let lines = report.lines
        guard let summary = lines.last else { return "no summary line" }
        guard summary.hasPrefix(report.isValid ? "valid: " : "invalid: ") else {
            return "the summary \"\(summary)\" disagrees with isValid = \(report.isValid)"
        }
        for line in lines {
            if line.contains(where: { $0 == "\n" || $0 == "\r" }) { return "a line break inside \"\(line)\"" }
        }
        for line in lines.dropLast() {
            switch self.severity(of: line, folder: folder) {
            case .failure(let problem): return problem.description
            case .success(let severity):
                if report.isValid && severity == "error" { return "an error in a valid report: \(line)" }
            }
        }
        return nil
    }

    /// Why a line is not a diagnostic.
    struct ShapeProblem: Error {
        var description: String
    }

    /// The severity of `FILE:LINE:COL: SEVERITY: MESSAGE` (LINE and COL from 1) or `FILE: SEVERITY: MESSAGE`, FILE
    /// in the folder; the first `: error: ` or `: warning: ` ends the place, since a message may quote either.
    static func severity(of line: String, folder: String) -> Result<String, ShapeProblem> {
        guard line.hasPrefix(folder + "/") else {
            return .failure(ShapeProblem("not about a file in the folder", line))
        }
        let rest = line.dropFirst(folder.count + 1)
        let found = ["error", "warning"].compactMap { severity in
            rest.range(of: ": \(severity): ").map { (severity, $0) }
        }
        guard let (severity, range) = found.min(by: { $0.1.lowerBound < $1.1.lowerBound }) else {
            return .failure(ShapeProblem("no severity", line))
        }
        let place = rest[..<range.lowerBound].split(separator: ":", omittingEmptySubsequences: false)
        guard !rest[range.upperBound...].isEmpty, !place.isEmpty, !place[0].isEmpty else {
            return .failure(ShapeProblem("an empty part", line))
        }
        if place.count == 1 { return .success(severity) }
        guard place.count == 3, let row = Int(place[1]), let column = Int(place[2]), row >= 1, column >= 1 else {
            return .failure(ShapeProblem("a bad position", line))
        }
        return .success(severity)
    }
}

extension ConfigFuzz.ShapeProblem {
    init(_ what: String, _ line: String) {
        self.description = "\(what): \(line)"
    }
}

@Suite("Config: no document crashes or hangs check", .timeLimit(.minutes(2)))
struct ConfigFuzzTests {
    static let documentsPerSeed = 500

    @Test("the valid config the mutations start from is valid")
    func validBase() throws {
        let folder = try Self.folder()
        defer { folder.remove() }
        let path = try folder.write("obwatch.yaml", ConfigFuzz.valid)
        let report = ConfigCheck.run(contentsOfFile: path, environment: ConfigFuzz.environment)
        #expect(report.isValid)
        #expect(report.lines.count == 1, "\(report.lines)")
    }

    @Test("the shape check accepts diagnostics and refuses anything else")
    func shapeCheck() {
        func severity(_ line: String) -> String? { try? ConfigFuzz.severity(of: line, folder: "/f").get() }
        #expect(severity("/f/obwatch.yaml:3:1: error: x") == "error")
        #expect(severity("/f/a.yaml: warning: unknown key \"a: error: b\"") == "warning")
        #expect(severity("/f/obwatch.yaml:0:1: error: x") == nil)
        #expect(severity("/f/obwatch.yaml:3: error: x") == nil)
        #expect(severity("/g/obwatch.yaml:3:1: error: x") == nil)
        #expect(severity("error: x") == nil)
        #expect(severity("/f/obwatch.yaml:3:1: note: x") == nil)
    }

    @Test("token soup", arguments: [UInt64(11), 12, 13, 14])
    func soup(seed: UInt64) throws {
        try Self.run(seed: seed, generator: "soup", document: ConfigFuzz.soup)
    }

    @Test("mutations of a valid config", arguments: [UInt64(21), 22, 23, 24])
    func mutations(seed: UInt64) throws {
        try Self.run(seed: seed, generator: "mutation", document: ConfigFuzz.mutation)
    }

    static func folder() throws -> ConfigFolder {
        let folder = try ConfigFolder()
        for (name, text) in ConfigFuzz.auxiliaryFiles { try folder.write(name, text) }
        return folder
    }

    static func run(seed: UInt64, generator: String, document: (UInt64, Int) -> Data) throws {
        let folder = try Self.folder()
        defer { folder.remove() }
        let path = folder.url.appendingPathComponent("obwatch.yaml").path
        for index in 0..<Self.documentsPerSeed {
            let data = document(seed, index)
            try data.write(to: URL(fileURLWithPath: path))
            let report = ConfigCheck.run(contentsOfFile: path, environment: ConfigFuzz.environment)
            if let problem = ConfigFuzz.problem(in: report, folder: folder.url.path) {
                Issue.record(
                    """
                    \(generator) seed \(seed) document \(index): \(problem)
                    --- document (ConfigFuzz.\(generator)(seed: \(seed), index: \(index))) ---
                    \(String(decoding: data, as: UTF8.self))
                    ---
                    """
                )
                return
            }
        }
    }
}
