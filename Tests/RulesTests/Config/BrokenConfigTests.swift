import ConfigLoading
import ConfigModel
import Foundation
import Testing
import YAML

/// One broken (or merely suspicious) configuration and exactly what `obwatch check` must say about it.
struct BrokenConfig: Sendable, CustomTestStringConvertible {
    /// What the case is about; also the name Swift Testing shows.
    let name: String
    /// `obwatch.yaml`.
    let yaml: String
    /// More files, by name relative to the folder: included rule files and secret files.
    var files: [String: String] = [:]
    /// Every diagnostic line, folder stripped, in order; the summary line is checked apart.
    let expected: [String]

    var testDescription: String { self.name }

    init(_ name: String, _ yaml: String, files: [String: String] = [:], _ expected: [String]) {
        self.name = name
        self.yaml = yaml
        self.files = files
        self.expected = expected
    }

    /// Whether `check` must accept the file: only warnings, or nothing at all.
    var isValid: Bool { !self.expected.contains { $0.contains(": error: ") } }
}

@Suite("Config: every broken config gets exact diagnostics")
struct BrokenConfigTests {
    /// The environment of every case. The values are secrets: no line may ever show them.
    static let environment = [
        "OBW_PW": "hunter2-not-shown",
        "SLACK_HOOK": "ftp://hooks.slack.com/services/T0/B0/PATHSECRET",
        "PD_KEY": "pd-key-not-shown",
    ]

    @Test(arguments: Self.cases)
    func check(_ broken: BrokenConfig) throws {
        let folder = try ConfigFolder()
        defer { folder.remove() }
        for (name, text) in broken.files { try folder.write(name, text) }
        let path = try folder.write("obwatch.yaml", broken.yaml)
        let report = ConfigCheck.run(contentsOfFile: path, environment: Self.environment)
        let lines = report.lines.map { $0.replacingOccurrences(of: folder.url.path + "/", with: "") }
        let diagnostics = Array(lines.dropLast())
        #expect(diagnostics == broken.expected)
        #expect(report.isValid == broken.isValid)
        #expect(lines.last?.hasPrefix(broken.isValid ? "valid: " : "invalid: ") == true)
        // The set variables are secrets, and so is the path of a Slack webhook url, whole or in part.
        for secret in Array(Self.environment.values) + ["PATHSECRET"] {
            #expect(!lines.contains { $0.contains(secret) }, "a secret shows in \(lines)")
        }
    }

    @Test("a slack or feishu webhook's shown url hides the path, where their token is")
    func redactedWebhookPath() throws {
        let folder = try ConfigFolder()
        defer { folder.remove() }
        let (config, lines) = try folder.load(
            config: """
                state_dir: s
                targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
                receivers:
                  - { name: chat, webhook: { format: slack, url: "https://hooks.slack.com/services/T0/B0/PATHSECRET" } }
                  - { name: fs, webhook: { format: feishu, url: "https://open.feishu.cn/open-apis/bot/v2/hook/PATHSECRET" } }
                  - { name: ding, webhook: { format: dingtalk, url: "https://oapi.dingtalk.com/robot/send?access_token=t" } }
                rules: [{ name: r, match: { event: failed }, notify: [chat, fs, ding] }]
                """,
            mode: 0o600
        )
        #expect(lines == [])
        let shown = try #require(config).receivers.map { receiver -> String in
            guard case .webhook(let settings) = receiver.kind else { return "" }
            return settings.redactedURL
        }
        #expect(shown[0].hasPrefix("https://hooks.slack.com"))
        #expect(shown[1].hasPrefix("https://open.feishu.cn"))
        #expect(!shown.contains { $0.contains("PATHSECRET") }, "\(shown)")
        #expect(shown[2].hasPrefix("https://oapi.dingtalk.com/robot/send"))
    }

    static let cases: [BrokenConfig] =
        types + names + patterns + files + receivers + schedules + unknownKeys + heartbeats + warnings + resumed
        + howToFix

    // MARK: - Types and keys

    static let types: [BrokenConfig] = [
        BrokenConfig("empty file", "", ["obwatch.yaml: error: the file is empty; it needs targets"]),
        BrokenConfig(
            "root is a list",
            """
            - state_dir
            - targets
            """,
            [
                "obwatch.yaml:1:1: error: expected a mapping, found a list"
            ]
        ),
        BrokenConfig(
            "state_dir is a list",
            """
            state_dir: [a, b]
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            """,
            [
                "obwatch.yaml:1:12: error: expected a string, found a list"
            ]
        ),
        BrokenConfig(
            "http.tls without key_file, a certificate that cannot be read, an empty write token",
            """
            state_dir: s
            http: { write_token: "", tls: { cert_file: /nonexistent/cert.pem } }
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            """,
            [
                "obwatch.yaml:2:22: error: the write token is empty",
                "obwatch.yaml:2:31: error: http.tls needs \"key_file\": give the PEM certificate chain and its private key",
                "obwatch.yaml:2:44: error: cannot read cert_file \"/nonexistent/cert.pem\": no such file or directory",
            ]
        ),
        BrokenConfig(
            "targets is a string",
            """
            state_dir: s
            targets: prod-east
            """,
            [
                "obwatch.yaml:2:10: error: expected a list, found \"prod-east\""
            ]
        ),
        BrokenConfig(
            "targets is missing",
            """
            state_dir: s
            """,
            [
                "obwatch.yaml:1:1: error: missing required key \"targets\""
            ]
        ),
        BrokenConfig(
            "defaults is a duration, not a mapping",
            """
            state_dir: s
            defaults: 5s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            """,
            [
                "obwatch.yaml:2:11: error: expected a mapping, found \"5s\""
            ]
        ),
        BrokenConfig(
            "down_after is a word",
            """
            state_dir: s
            defaults: { down_after: three }
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            """,
            [
                "obwatch.yaml:2:25: error: expected an integer, found \"three\""
            ]
        ),
        BrokenConfig(
            "down_after is zero",
            """
            state_dir: s
            defaults:
              down_after: 0
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            """,
            [
                "obwatch.yaml:3:15: error: expected an integer from 1 to 1000, found 0"
            ]
        ),
        BrokenConfig(
            "a target name is a mapping and labels a list",
            """
            state_dir: s
            targets:
              - name: { first: prod }
                url: http://10.0.0.5:2886
              - name: prod-west
                url: http://10.0.0.6:2886
                labels: [env, prod]
            """,
            [
                "obwatch.yaml:3:11: error: expected a string, found a mapping",
                "obwatch.yaml:7:13: error: expected a mapping, found a list",
            ]
        ),
        BrokenConfig(
            "send_resolved is a quoted string",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers:
              - name: chat
                webhook: { format: generic, url: "https://hooks.example.com/x" }
                send_resolved: "true"
            rules: [{ name: r, match: { event: failed }, notify: [chat] }]
            """,
            [
                "obwatch.yaml:6:20: error: expected a boolean (true or false), found the quoted string \"true\""
            ]
        ),
        BrokenConfig(
            "notify is a mapping",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers: [{ name: chat, webhook: { format: generic, url: "https://hooks.example.com/x" } }]
            rules:
              - name: r
                match: { event: failed }
                notify: { chat: yes }
            """,
            [
                "obwatch.yaml:7:13: error: expected a string, found a mapping"
            ]
        ),
        BrokenConfig(
            "unknown keys are errors with a suggestion",
            """
            state_dir: s
            targets:
              - name: prod-east
                url: http://10.0.0.5:2886
                pol_interval: 5s
            recievers: []
            """,
            [
                "obwatch.yaml:5:5: error: unknown key \"pol_interval\" (did you mean \"poll_interval\"?)",
                "obwatch.yaml:6:1: error: unknown key \"recievers\" (did you mean \"receivers\"?)",
            ]
        ),
        BrokenConfig(
            "bad durations",
            """
            state_dir: s
            defaults:
              poll_interval: 5 seconds
              stall_after: 1m30h
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886", timeout: fast }]
            """,
            [
                "obwatch.yaml:3:18: error: invalid duration \"5 seconds\": write 5s",
                "obwatch.yaml:4:16: error: invalid duration \"1m30h\": write units from the largest to the smallest, each at most once",
                "obwatch.yaml:5:68: error: invalid duration \"fast\": expected a number at \"f\"",
            ]
        ),
        BrokenConfig(
            "zero durations",
            """
            state_dir: s
            defaults: { timeout: 0s, confirm_within: 0m }
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            """,
            [
                "obwatch.yaml:2:22: error: \"0s\" must be longer than zero",
                "obwatch.yaml:2:42: error: \"0m\" must be longer than zero",
            ]
        ),
        BrokenConfig(
            "bad listen address",
            """
            state_dir: s
            http: { listen: localhost }
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            """,
            [
                "obwatch.yaml:2:17: error: invalid listen address \"localhost\": expected HOST:PORT such as 127.0.0.1:9464"
            ]
        ),
        BrokenConfig(
            "an empty bearer token and a ca_file that cannot be read",
            """
            state_dir: s
            http: { listen: "127.0.0.1:9464", bearer_token: "" }
            targets: [{ name: prod-east, url: "https://10.0.0.5:2886", ca_file: ca.pem }]
            """,
            [
                "obwatch.yaml:2:49: error: the bearer token is empty",
                "obwatch.yaml:3:69: error: cannot read the file \"ca.pem\": no such file or directory (a relative path is taken from the config file's folder)",
            ]
        ),
        BrokenConfig(
            "bad target url",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "ftp://10.0.0.5:2886" }]
            """,
            [
                "obwatch.yaml:2:35: error: invalid url \"ftp://10.0.0.5:2886\": expected http://HOST:PORT, https://HOST:PORT or unix:///PATH"
            ]
        ),
    ]

    // MARK: - Names

    static let names: [BrokenConfig] = [
        BrokenConfig(
            "duplicate target name",
            """
            state_dir: s
            targets:
              - { name: prod-east, url: "http://10.0.0.5:2886" }
              - { name: prod-east, url: "http://10.0.0.6:2886" }
            """,
            [
                "obwatch.yaml:4:13: error: duplicate target name \"prod-east\" (first defined at line 3, column 13)"
            ]
        ),
        BrokenConfig(
            "duplicate receiver name",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers:
              - { name: chat, webhook: { format: generic, url: "https://hooks.example.com/a" } }
              - { name: chat, webhook: { format: generic, url: "https://hooks.example.com/b" } }
            rules: [{ name: r, match: { event: failed }, notify: [chat] }]
            """,
            [
                "obwatch.yaml:5:5: error: duplicate receiver name \"chat\" (first defined at line 4, column 5)"
            ]
        ),
        BrokenConfig(
            "duplicate rule name",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers: [{ name: chat, webhook: { format: generic, url: "https://hooks.example.com/a" } }]
            rules:
              - { name: r, match: { event: failed }, notify: [chat] }
              - { name: r, match: { event: stalled }, notify: [chat] }
            """,
            [
                "obwatch.yaml:6:13: error: duplicate rule name \"r\" (first defined at line 5, column 13)"
            ]
        ),
        BrokenConfig(
            "unknown receiver with a suggestion",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers: [{ name: db-chat, webhook: { format: generic, url: "https://hooks.example.com/a" } }]
            rules: [{ name: r, match: { event: failed }, notify: [db-chat, db-caht] }]
            """,
            [
                "obwatch.yaml:4:64: error: unknown receiver \"db-caht\" (did you mean \"db-chat\"?); the one receiver is \"db-chat\""
            ]
        ),
        BrokenConfig(
            "unknown event types",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers: [{ name: chat, webhook: { format: generic, url: "https://hooks.example.com/a" } }]
            rules:
              - name: r
                match: { event: [faild, exploded] }
                notify: [chat]
            """,
            [
                "obwatch.yaml:6:22: error: unknown event type \"faild\" (did you mean \"failed\"?)",
                "obwatch.yaml:6:29: error: unknown event type \"exploded\"; known: started, stage_advanced, node_failed, failed, stalled, resumed, retried, rollback_started, succeeded, passed, rolled_back, cancelled, vanished, target_down, target_up, watcher_degraded, watcher_recovered, slow, caught_up",
            ]
        ),
        BrokenConfig(
            "a slower_than that is no factor, margin or percentile",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers: [{ name: chat, webhook: { format: generic, url: "https://hooks.example.com/a" } }]
            rules:
              - name: r
                match: { event: slow }
                slower_than: twice
                notify: [chat]
            """,
            [
                "obwatch.yaml:7:18: error: \"slower_than\" is \"twice\": write a factor of the usual duration (2x), a margin"
                    + " over it (+5m) or a percentile of the history (p90, p95, p99)"
            ]
        ),
        BrokenConfig(
            "a star inside an event list",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers: [{ name: chat, webhook: { format: generic, url: "https://hooks.example.com/a" } }]
            rules: [{ name: r, match: { event: [failed, "*"] }, notify: [chat] }]
            """,
            [
                "obwatch.yaml:4:45: error: \"*\" stands alone: write event: \"*\" for every event"
            ]
        ),
        BrokenConfig(
            "an empty notify",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers: [{ name: chat, webhook: { format: generic, url: "https://hooks.example.com/a" } }]
            rules: [{ name: r, match: { event: failed }, notify: [] }]
            """,
            [
                "obwatch.yaml:4:54: error: \"notify\" lists no receiver"
            ]
        ),
        BrokenConfig(
            "a missing environment variable next to a set one",
            """
            state_dir: s
            targets:
              - { name: prod-east, url: "http://10.0.0.5:2886", password: "${OBW_PW}" }
              - { name: prod-west, url: "http://10.0.0.6:2886", password: "${OBW_PASSWORD}" }
            """,
            [
                "obwatch.yaml:4:63: error: the environment variable \"OBW_PASSWORD\" is not set"
            ]
        ),
    ]

    // MARK: - Patterns

    static let patterns: [BrokenConfig] = [
        BrokenConfig(
            "globs: unclosed bracket, reversed range, trailing backslash",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers: [{ name: chat, webhook: { format: generic, url: "https://hooks.example.com/a" } }]
            rules:
              - name: r
                match:
                  dag: "Cluster [scale"
                  target: "prod-[z-a]"
                  labels: { env: 'prod\\' }
                notify: [chat]
            """,
            [
                "obwatch.yaml:7:12: error: invalid glob \"Cluster [scale\": a \"[\" set is not closed by \"]\"",
                "obwatch.yaml:8:15: error: invalid glob \"prod-[z-a]\": the range \"z-a\" in a [...] set is reversed",
                "obwatch.yaml:9:22: error: invalid glob \"prod\\\\\": a \"\\\" at the end of the pattern escapes nothing",
            ]
        ),
        BrokenConfig(
            "a bad regular expression",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers: [{ name: chat, webhook: { format: generic, url: "https://hooks.example.com/a" } }]
            rules: [{ name: r, match: { dag_regex: "(Cluster" }, notify: [chat] }]
            """,
            [
                "obwatch.yaml:4:40: error: invalid regular expression: expected ')' in \"(Cluster\""
            ]
        ),
        BrokenConfig(
            "dag and dag_regex together",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers: [{ name: chat, webhook: { format: generic, url: "https://hooks.example.com/a" } }]
            rules:
              - name: r
                match: { dag: "Cluster*", dag_regex: "Cluster.*" }
                notify: [chat]
            """,
            [
                "obwatch.yaml:6:42: error: give \"dag\" (a glob) or \"dag_regex\", not both"
            ]
        ),
        BrokenConfig(
            "template variables: plain, quoted and block",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers: [{ name: chat, webhook: { format: generic, url: "https://hooks.example.com/a" } }]
            rules:
              - name: plain
                match: { event: failed }
                notify: [chat]
                template:
                  title: DAG {{dag.nme}} failed
              - name: quoted
                match: { event: failed }
                notify: [chat]
                template:
                  title: "{{type}} of {{dag.nam}}"
              - name: block
                match: { event: failed }
                notify: [chat]
                template:
                  text: |
                    first line
                      {{target.nme}} second
            """,
            [
                "obwatch.yaml:9:18: error: unknown variable \"dag.nme\" (did you mean \"dag.name\"?)",
                "obwatch.yaml:14:27: error: unknown variable \"dag.nam\" (did you mean \"dag.name\"?)",
                "obwatch.yaml:22:11: error: unknown variable \"target.nme\" (did you mean \"target.name\"?)",
            ]
        ),
    ]

    // MARK: - Files

    static let files: [BrokenConfig] = [
        BrokenConfig(
            "an include cycle",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            include: a.yaml
            """,
            files: [
                "a.yaml": "include: b.yaml\n",
                "b.yaml": "include: a.yaml\n",
            ],
            [
                "b.yaml:1:10: error: include cycle: a.yaml -> b.yaml -> a.yaml"
            ]
        ),
        BrokenConfig(
            "diagnostics come file by file, in reading order",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            include: rules.d/*.yaml
            receivers:
              - { name: chat, webhook: { format: generic, url: "https://hooks.example.com/a" } }
            rules: [{ name: r, match: { event: failed }, notify: [chat], repaet: 1h }]
            """,
            files: [
                "rules.d/paging.yaml": """
                receivers:
                  - { name: chat, syslog: { address: "unix:///dev/log" } }
                rules:
                  - { name: r, match: { event: stalled }, notify: [chta] }
                """
            ],
            [
                "obwatch.yaml:6:62: error: unknown key \"repaet\" (did you mean \"repeat\"?)",
                "rules.d/paging.yaml:2:5: error: duplicate receiver name \"chat\" (first defined at obwatch.yaml:5:5)",
                "rules.d/paging.yaml:4:13: error: duplicate rule name \"r\" (first defined at obwatch.yaml:6:17)",
                "rules.d/paging.yaml:4:52: error: unknown receiver \"chta\" (did you mean \"chat\"?); the one receiver is \"chat\"",
            ]
        ),
        BrokenConfig(
            "an include pattern that matches no file",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            include: rules.d/*.yaml
            """,
            files: ["rules.d/README": "rule files go here\n"],
            [
                "obwatch.yaml:3:10: warning: the include pattern \"rules.d/*.yaml\" matches no file"
            ]
        ),
        BrokenConfig(
            "include patterns in a missing folder and with a bad glob",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            include: [missing.d/*.yaml, "rules.d/[*.yaml"]
            """,
            [
                "obwatch.yaml:3:11: error: the folder \"missing.d\" of the include pattern \"*.yaml\" does not exist",
                "obwatch.yaml:3:29: error: invalid include pattern \"rules.d/[*.yaml\": a \"[\" set is not closed by \"]\"",
            ]
        ),
        BrokenConfig(
            "a missing included file",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            include: [rules.d/paging.yaml]
            """,
            [
                "obwatch.yaml:3:11: error: the included file \"rules.d/paging.yaml\" does not exist"
            ]
        ),
        BrokenConfig(
            "an included file with a root key it may not hold",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            include: more.yaml
            """,
            files: ["more.yaml": "targets: []\n"],
            [
                "more.yaml:1:1: error: unknown key \"targets\" (an included file may hold \"receivers\", \"rules\", \"silences\", \"inhibit\", \"include\")"
            ]
        ),
        BrokenConfig(
            "tab indentation",
            "state_dir: s\ntargets:\n\t- { name: prod-east, url: \"http://10.0.0.5:2886\" }\n",
            [
                "obwatch.yaml:3:1: error: found character that cannot start any token (while scanning for the next token); YAML does not allow tabs for indentation, use spaces"
            ]
        ),
        BrokenConfig(
            "an unclosed quote",
            """
            state_dir: "s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            """,
            [
                "obwatch.yaml:2:36: error: did not find expected key (while parsing a block mapping at line 1, column 1); the quoted value at line 1, column 12 runs on to line 2: is its closing quote missing?"
            ]
        ),
        BrokenConfig(
            "an unclosed quote on the last line",
            """
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            state_dir: "s
            """,
            [
                "obwatch.yaml:2:14: error: found unexpected end of stream (while scanning a quoted scalar at line 2, column 12); the quote at line 2, column 12 is never closed"
            ]
        ),
        BrokenConfig(
            "duplicate keys",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            state_dir: t
            """,
            [
                "obwatch.yaml:3:1: error: duplicate key \"state_dir\" (first defined at line 1, column 1)"
            ]
        ),
        BrokenConfig(
            "a secret file that cannot be read",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886", password_file: secrets/missing.pw }]
            """,
            [
                "obwatch.yaml:2:74: error: cannot read the secret file \"secrets/missing.pw\": no such file or directory (a relative path is taken from the config file's folder)"
            ]
        ),
        BrokenConfig(
            "password and password_file together",
            """
            state_dir: s
            targets:
              - name: prod-east
                url: http://10.0.0.5:2886
                password: ${OBW_PW}
                password_file: prod.pw
            """,
            files: ["prod.pw": "x\n"],
            [
                "obwatch.yaml:6:20: error: give \"password\" or \"password_file\", not both"
            ]
        ),
    ]

    // MARK: - Receivers

    static let receivers: [BrokenConfig] = [
        BrokenConfig(
            "a generic webhook without url, and no second error where a rule names it",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers:
              - name: hook
                webhook: { format: generic }
            rules: [{ name: r, match: { event: failed }, notify: [hook] }]
            """,
            [
                "obwatch.yaml:5:14: error: a generic webhook needs \"url\" (or \"url_file\")"
            ]
        ),
        BrokenConfig(
            "an unknown webhook format",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers:
              - name: hook
                webhook: { format: slak, url: "https://hooks.example.com/a" }
            rules: [{ name: r, match: { event: failed }, notify: [hook] }]
            """,
            [
                "obwatch.yaml:5:24: error: expected one of \"generic\", \"slack\", \"dingtalk\", \"feishu\", \"wecom\", \"teams\", \"pagerduty\", \"opsgenie\", found \"slak\" (did you mean \"slack\"?)"
            ]
        ),
        BrokenConfig(
            "a webhook url with a bad scheme never shows its secret path",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers:
              - name: hook
                webhook: { format: slack, url: "${SLACK_HOOK}" }
            rules: [{ name: r, match: { event: failed }, notify: [hook] }]
            """,
            [
                "obwatch.yaml:5:36: error: invalid webhook url \"ftp://hooks.slack.com/<redacted>\": expected http:// or https://"
            ]
        ),
        BrokenConfig(
            "pagerduty without routing_key",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers:
              - name: oncall
                webhook: { format: pagerduty }
            rules: [{ name: r, match: { event: failed }, notify: [oncall] }]
            """,
            [
                "obwatch.yaml:5:14: error: a pagerduty webhook needs \"routing_key\" (or \"routing_key_file\")"
            ]
        ),
        BrokenConfig(
            "opsgenie without api_key",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers:
              - name: genie
                webhook:
                  format: opsgenie
            rules: [{ name: r, match: { event: failed }, notify: [genie] }]
            """,
            [
                "obwatch.yaml:6:7: error: an opsgenie webhook needs \"api_key\" (or \"api_key_file\")"
            ]
        ),
        BrokenConfig(
            "a signing secret on a slack webhook",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers:
              - name: chat
                webhook:
                  format: slack
                  url: https://hooks.slack.com/services/T0/B0/X
                  secret: ${OBW_PW}
            rules: [{ name: r, match: { event: failed }, notify: [chat] }]
            """,
            [
                "obwatch.yaml:7:12: warning: \"url\" holds a secret in a file that others can read (mode 644): give it as ${VARIABLE} from the environment or in \"url_file\", or run chmod o-r on the file",
                "obwatch.yaml:8:15: error: \"secret\" signs dingtalk and feishu messages only; slack has no signing",
            ]
        ),
        BrokenConfig(
            "a routing key on a slack webhook and an api key on pagerduty",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers:
              - name: chat
                webhook: { format: slack, url: "https://hooks.slack.com/services/T0/B0/X", routing_key: abc }
              - name: oncall
                webhook: { format: pagerduty, routing_key: "${PD_KEY}", api_key: abc }
            rules: [{ name: r, match: { event: failed }, notify: [chat, oncall] }]
            """,
            [
                "obwatch.yaml:5:36: warning: \"url\" holds a secret in a file that others can read (mode 644): give it as ${VARIABLE} from the environment or in \"url_file\", or run chmod o-r on the file",
                "obwatch.yaml:5:93: warning: \"routing_key\" holds a secret in a file that others can read (mode 644): give it as ${VARIABLE} from the environment or in \"routing_key_file\", or run chmod o-r on the file",
                "obwatch.yaml:5:93: error: \"routing_key\" is for pagerduty webhooks only",
                "obwatch.yaml:7:70: warning: \"api_key\" holds a secret in a file that others can read (mode 644): give it as ${VARIABLE} from the environment or in \"api_key_file\", or run chmod o-r on the file",
                "obwatch.yaml:7:70: error: \"api_key\" is for opsgenie webhooks only",
            ]
        ),
        BrokenConfig(
            "a header value with a line break",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers:
              - name: hook
                webhook:
                  format: generic
                  url: https://hooks.example.com/a
                  headers:
                    X-Team: "dba\\r\\nX-Injected: 1"
                    "Bad Name": x
            rules: [{ name: r, match: { event: failed }, notify: [hook] }]
            """,
            [
                "obwatch.yaml:9:17: error: a header value must not hold a line break",
                "obwatch.yaml:10:9: error: invalid header name \"Bad Name\"",
            ]
        ),
        BrokenConfig(
            "email without from and to",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers:
              - name: mail
                email:
                  smtp: smtp://relay.example.com:587
            rules: [{ name: r, match: { event: failed }, notify: [mail] }]
            """,
            [
                "obwatch.yaml:6:7: error: missing required key \"from\"",
                "obwatch.yaml:6:7: error: missing required key \"to\"",
            ]
        ),
        BrokenConfig(
            "bad mail addresses",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers:
              - name: mail
                email:
                  smtp: smtp://relay.example.com:587
                  from: obwatch
                  to: [dba@example.com, "a b@example.com", "x@y@example.com"]
            rules: [{ name: r, match: { event: failed }, notify: [mail] }]
            """,
            [
                "obwatch.yaml:7:13: error: invalid mail address \"obwatch\": expected name@example.com",
                "obwatch.yaml:8:29: error: invalid mail address \"a b@example.com\": expected name@example.com",
                "obwatch.yaml:8:48: error: invalid mail address \"x@y@example.com\": expected name@example.com",
            ]
        ),
        BrokenConfig(
            "tls none to a relay that is not loopback",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers:
              - name: mail
                email:
                  smtp: smtp://relay.example.com:25
                  tls: none
                  from: obwatch@example.com
                  to: dba@example.com
            rules: [{ name: r, match: { event: failed }, notify: [mail] }]
            """,
            [
                "obwatch.yaml:7:12: error: tls: none sends mail and passwords in clear text; it is allowed only to a loopback relay (127.0.0.1, ::1, localhost), not \"relay.example.com\""
            ]
        ),
        BrokenConfig(
            "a relay with a bad scheme, a bad tls mode and a password without user",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers:
              - name: mail
                email:
                  smtp: https://relay.example.com
                  tls: startls
                  password: ${OBW_PW}
                  from: obwatch@example.com
                  to: dba@example.com
            rules: [{ name: r, match: { event: failed }, notify: [mail] }]
            """,
            [
                "obwatch.yaml:6:13: error: invalid relay \"https://relay.example.com\": expected smtp://HOST:PORT or smtps://HOST:PORT",
                "obwatch.yaml:7:12: error: expected one of \"starttls\", \"implicit\", \"none\", found \"startls\" (did you mean \"starttls\"?)",
                "obwatch.yaml:8:17: error: a password needs a \"username\"",
            ]
        ),
        BrokenConfig(
            "syslog with a bad address, facility and format",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers:
              - name: audit
                syslog:
                  address: udp://127.0.0.1
                  facility: local9
                  format: rfc5425
              - name: audit2
                syslog: { address: "unix://dev/log", facility: 24 }
            rules: [{ name: r, match: { event: failed }, notify: [audit, audit2] }]
            """,
            [
                "obwatch.yaml:6:16: error: invalid syslog address \"udp://127.0.0.1\": expected unix:///dev/log, udp://HOST:PORT or tcp://HOST:PORT",
                "obwatch.yaml:7:17: error: expected one of \"kern\", \"user\", \"mail\", \"daemon\", \"auth\", \"syslog\", \"lpr\", \"news\", \"uucp\", \"cron\", \"authpriv\", \"ftp\", \"ntp\", \"security\", \"console\", \"solaris-cron\", \"local0\", \"local1\", \"local2\", \"local3\", \"local4\", \"local5\", \"local6\", \"local7\", found \"local9\" (did you mean \"local0\"?)",
                "obwatch.yaml:8:15: error: expected one of \"rfc5424\", \"rfc3164\", found \"rfc5425\" (did you mean \"rfc5424\"?)",
                "obwatch.yaml:10:24: error: invalid syslog address \"unix://dev/log\": expected unix:///dev/log, udp://HOST:PORT or tcp://HOST:PORT",
                "obwatch.yaml:10:52: error: a facility number is 0 to 23, not 24",
            ]
        ),
        BrokenConfig(
            "a receiver with two kinds and one with none",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers:
              - name: both
                webhook: { format: generic, url: "https://hooks.example.com/a" }
                syslog: { address: "unix:///dev/log" }
              - name: neither
                timeout: 5s
            rules: [{ name: r, match: { event: failed }, notify: [both, neither] }]
            """,
            [
                "obwatch.yaml:6:13: error: a receiver has one kind; this one has both \"webhook\" and \"syslog\"",
                "obwatch.yaml:7:5: error: a receiver needs one of \"webhook\", \"email\", \"syslog\", \"file\", \"console\" or \"alertmanager\"",
            ]
        ),
        BrokenConfig(
            "retry.max shorter than retry.initial",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers:
              - name: chat
                webhook: { format: generic, url: "https://hooks.example.com/a" }
                retry: { initial: 1m, max: 30s }
            rules: [{ name: r, match: { event: failed }, notify: [chat] }]
            """,
            [
                "obwatch.yaml:6:12: error: retry.max must not be shorter than retry.initial"
            ]
        ),
        BrokenConfig(
            "bad rate limits",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers:
              - name: chat
                webhook: { format: generic, url: "https://hooks.example.com/a" }
                rate_limit: [fast, 0/min, 10/0s]
            rules: [{ name: r, match: { event: failed }, notify: [chat] }]
            """,
            [
                "obwatch.yaml:6:18: error: invalid rate limit \"fast\": expected COUNT/s, COUNT/min, COUNT/h, COUNT/DURATION or none",
                "obwatch.yaml:6:24: error: invalid rate limit \"0/min\": expected COUNT/s, COUNT/min, COUNT/h, COUNT/DURATION or none",
                "obwatch.yaml:6:31: error: invalid rate limit \"10/0s\": expected COUNT/s, COUNT/min, COUNT/h, COUNT/DURATION or none",
            ]
        ),
        BrokenConfig(
            "an inhibition whose source opens no incident",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            inhibit:
              - source: [failed, succeeded]
                suppress: [node_failed]
            """,
            [
                "obwatch.yaml:4:13: error: an inhibition starts from an incident; succeeded opens none (use one of node_failed, failed, stalled, target_down, watcher_degraded, slow)"
            ]
        ),
    ]

    // MARK: - Silences

    static let schedules: [BrokenConfig] = [
        BrokenConfig(
            "a bad time zone with a suggestion",
            """
            state_dir: s
            defaults: { time_zone: Asia/Shangai }
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            """,
            [
                "obwatch.yaml:2:24: error: unknown time zone \"Asia/Shangai\" (did you mean \"Asia/Shanghai\"?)"
            ]
        ),
        BrokenConfig(
            "a bad weekday and a bad time of day",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            silences:
              - weekly:
                  days: [mon, funday]
                  from: "25:00"
                  until: "6"
                  time_zone: UTC
            """,
            [
                "obwatch.yaml:5:19: error: invalid weekday \"funday\": expected mon, tue, wed, thu, fri, sat, sun or a range such as mon-fri",
                "obwatch.yaml:6:13: error: invalid time of day \"25:00\": expected HH:MM such as 02:00",
                "obwatch.yaml:7:14: error: invalid time of day \"6\": expected HH:MM such as 02:00",
            ]
        ),
        BrokenConfig(
            "until before from",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            silences:
              - from: 2026-12-01T04:00:00+08:00
                until: 2026-12-01T02:00:00+08:00
            """,
            [
                "obwatch.yaml:5:12: error: \"until\" must be after \"from\""
            ]
        ),
        BrokenConfig(
            "a silence with neither window, one with half, one with both",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            silences:
              - match: { target: prod-east }
              - from: 2026-12-01T04:00:00+08:00
              - from: 2026-12-01T04:00:00+08:00
                until: 2026-12-01T05:00:00+08:00
                weekly: { from: "02:00", until: "03:00", time_zone: UTC }
            """,
            [
                "obwatch.yaml:4:5: error: a silence needs \"from\" and \"until\" (RFC 3339 instants) or \"weekly\" hours",
                "obwatch.yaml:5:11: error: a silence needs both \"from\" and \"until\"",
                "obwatch.yaml:8:13: error: a silence has \"weekly\" hours or \"from\"/\"until\" instants, not both",
            ]
        ),
        BrokenConfig(
            "a silence with a time without offset",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            silences:
              - from: 2026-12-01T04:00:00
                until: tomorrow
            """,
            [
                "obwatch.yaml:4:11: error: invalid time \"2026-12-01T04:00:00\": expected RFC 3339 with an offset, such as 2026-12-01T02:00:00+08:00",
                "obwatch.yaml:5:12: error: invalid time \"tomorrow\": expected RFC 3339 with an offset, such as 2026-12-01T02:00:00+08:00",
            ]
        ),
    ]

    // MARK: - Unknown keys: an error in every mapping but the free-form ones

    static let unknownKeys: [BrokenConfig] = [
        BrokenConfig(
            "a misspelt key in a rule, its match and its template",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers: [{ name: chat, webhook: { format: generic, url: "https://hooks.example.com/a" } }]
            rules:
              - name: r
                match:
                  evnt: [failed]
                  tagret: prod-*
                afer: 20s
                notify: [chat]
                template: { titel: "{{type}}" }
              - { name: s, match: { event: stalled }, target: prod-east, tagret: x, notify: [chat] }
            """,
            [
                "obwatch.yaml:7:7: error: unknown key \"evnt\" (did you mean \"event\"?)",
                "obwatch.yaml:8:7: error: unknown key \"tagret\" (did you mean \"target\"?)",
                "obwatch.yaml:9:5: error: unknown key \"afer\" (did you mean \"after\"?)",
                "obwatch.yaml:11:17: error: unknown key \"titel\" (did you mean \"title\"?)",
                "obwatch.yaml:12:43: error: unknown key \"target\" (it goes under \"match\")",
                "obwatch.yaml:12:62: error: unknown key \"tagret\" (did you mean \"target\" under \"match\"?)",
            ]
        ),
        BrokenConfig(
            "a misspelt key in each receiver kind and in delivery settings",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers:
              - name: chat
                webhook: { format: generic, url: "https://hooks.example.com/a", header: { X-A: b } }
                retry: { initial: 1s, maxx: 1m }
                send_resolve: true
              - name: mail
                email: { smtp: "smtp://relay.example.com:587", from: a@example.com, to: b@example.com, cc: c@example.com }
              - name: log
                syslog: { address: "unix:///dev/log", facilty: local0 }
              - name: out
                console: { colour: true }
            rules: [{ name: r, match: { event: failed }, notify: [chat, mail, log, out] }]
            """,
            [
                "obwatch.yaml:5:69: error: unknown key \"header\" (did you mean \"headers\"?)",
                "obwatch.yaml:6:27: error: unknown key \"maxx\" (did you mean \"max\"?)",
                "obwatch.yaml:7:5: error: unknown key \"send_resolve\" (did you mean \"send_resolved\"?)",
                "obwatch.yaml:9:92: error: unknown key \"cc\"",
                "obwatch.yaml:11:43: error: unknown key \"facilty\" (did you mean \"facility\"?)",
                "obwatch.yaml:13:16: error: unknown key \"colour\"",
            ]
        ),
        BrokenConfig(
            "a misspelt key in defaults, http, a target, a silence and an inhibition",
            """
            state_dir: s
            http: { listen: "127.0.0.1:9464", bearer_tokn: x }
            defaults: { stuck_afer: 5m }
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886", label: { env: prod } }]
            receivers: [{ name: chat, webhook: { format: generic, url: "https://hooks.example.com/a" } }]
            rules: [{ name: r, match: { event: failed }, notify: [chat] }]
            silences:
              - { match: { target: prod-east }, weekly: { from: "01:00", until: "02:00", time_zone: UTC, day: [sat] } }
            inhibit:
              - { source: failed, suppress: [stalled], sources: [failed] }
            """,
            [
                "obwatch.yaml:2:35: error: unknown key \"bearer_tokn\" (did you mean \"bearer_token\"?)",
                "obwatch.yaml:3:13: error: unknown key \"stuck_afer\" (did you mean \"stuck_after\"?)",
                "obwatch.yaml:4:59: error: unknown key \"label\" (did you mean \"labels\"?)",
                "obwatch.yaml:8:94: error: unknown key \"day\" (did you mean \"days\"?)",
                "obwatch.yaml:10:44: error: unknown key \"sources\" (did you mean \"source\"?)",
            ]
        ),
        BrokenConfig(
            "labels and headers take any key",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886", labels: { evnt: x, zone: a } }]
            receivers:
              - name: chat
                webhook: { format: generic, url: "https://hooks.example.com/a", headers: { X-Evnt: b } }
            rules: [{ name: r, match: { event: failed, labels: { evnt: x } }, notify: [chat] }]
            """,
            []
        ),
    ]

    // MARK: - heartbeat:

    static let heartbeats: [BrokenConfig] = [
        BrokenConfig(
            "a heartbeat with url and url_file, a zero every, a wrong method and a misspelt key",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            heartbeat:
              url: "https://hc-ping.example.com/PATHSECRET"
              url_file: ping.url
              every: 0s
              method: PUT
              timout: 5s
            """,
            files: ["ping.url": "https://hc-ping.example.com/PATHSECRET\n"],
            [
                "obwatch.yaml:5:13: error: give \"url\" or \"url_file\", not both",
                "obwatch.yaml:6:10: error: \"0s\" must be longer than zero",
                "obwatch.yaml:7:11: error: expected one of \"GET\", \"POST\", found \"PUT\"",
                "obwatch.yaml:8:3: error: unknown key \"timout\" (did you mean \"timeout\"?)",
            ]
        ),
        BrokenConfig(
            "a heartbeat without a url, and one whose url is not http",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            heartbeat: { every: 1m }
            """,
            [
                "obwatch.yaml:3:12: error: a heartbeat needs \"url\" (or \"url_file\")"
            ]
        ),
        BrokenConfig(
            "a heartbeat url that is no http url shows neither its path nor its query",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            heartbeat: { url: "${SLACK_HOOK}" }
            """,
            [
                "obwatch.yaml:3:19: error: invalid heartbeat url \"ftp://hooks.slack.com/<redacted>\": expected http:// or https://"
            ]
        ),
        BrokenConfig(
            "a heartbeat whose url_file cannot be read",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            heartbeat: { url_file: missing.url }
            """,
            [
                "obwatch.yaml:3:24: error: cannot read the secret file \"missing.url\": no such file or directory (a relative path is taken from the config file's folder)"
            ]
        ),
    ]

    // MARK: - Warnings only: check still says valid

    static let warnings: [BrokenConfig] = [
        BrokenConfig(
            "a dag condition on target_down only",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers: [{ name: chat, webhook: { format: generic, url: "https://hooks.example.com/a" } }]
            rules:
              - name: down
                match: { event: target_down, dag: "Cluster*" }
                notify: [chat]
            """,
            [
                "obwatch.yaml:6:12: warning: rule \"down\" can never match: target_down and target_up carry no DAG, so a \"dag\" condition never holds"
            ]
        ),
        BrokenConfig(
            "a target glob that matches no target",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers: [{ name: chat, webhook: { format: generic, url: "https://hooks.example.com/a" } }]
            rules:
              - name: west
                match: { event: failed, target: "prod-west*" }
                notify: [chat]
            """,
            [
                "obwatch.yaml:6:12: warning: rule \"west\" can never match: no configured target has that name and those labels"
            ]
        ),
        BrokenConfig(
            "a receiver no rule uses",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers:
              - { name: chat, webhook: { format: generic, url: "https://hooks.example.com/a" } }
              - { name: spare, webhook: { format: generic, url: "https://hooks.example.com/b" } }
            rules: [{ name: r, match: { event: failed }, notify: [chat] }]
            """,
            [
                "obwatch.yaml:5:5: warning: receiver \"spare\" is not used by any rule"
            ]
        ),
        BrokenConfig(
            "after on a rule that does not match stalled",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers: [{ name: chat, webhook: { format: generic, url: "https://hooks.example.com/a" } }]
            rules:
              - name: r
                match: { event: failed }
                after: 30m
                notify: [chat]
            """,
            [
                "obwatch.yaml:7:12: warning: \"after\" sets the stall threshold of stalled events, but this rule does not match \"stalled\""
            ]
        ),
        BrokenConfig(
            "mentions of all",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers:
              - name: chat
                webhook: { format: dingtalk, url: "https://oapi.dingtalk.com/robot/send?access_token=t", mentions: ["@all"] }
            rules: [{ name: r, match: { event: failed }, notify: [chat] }]
            """,
            [
                "obwatch.yaml:5:14: warning: \"mentions\" never sends @all: agent text cannot page a whole group; list people instead",
                "obwatch.yaml:5:39: warning: \"url\" holds a secret in a file that others can read (mode 644): give it as ${VARIABLE} from the environment or in \"url_file\", or run chmod o-r on the file",
            ]
        ),
    ]

    // MARK: - resumed for stalls a rule is not sent (a warning)

    static let resumed: [BrokenConfig] = [
        BrokenConfig(
            "a rule that takes resumed but no stalled",
            """
            state_dir: s
            defaults: { stall_after: 20s }
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers: [{ name: chat, webhook: { format: generic, url: "https://hooks.example.com/a" } }]
            rules:
              - { name: r, match: { event: [resumed, failed] }, notify: [chat] }
            """,
            [
                "obwatch.yaml:6:32: warning: rule \"r\" receives resumed events for stalls it is not sent (thresholds 20s); add stalled to its events or use event: \"*\""
            ]
        ),
        BrokenConfig(
            "a rule that takes resumed and stalled at a threshold above another rule's",
            """
            state_dir: s
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers: [{ name: chat, webhook: { format: generic, url: "https://hooks.example.com/a" } }]
            rules:
              - { name: early, match: { event: stalled }, after: 10m, notify: [chat] }
              - { name: late, match: { event: [stalled, resumed] }, notify: [chat] }
              - { name: later, match: { event: "*" }, after: 1h, notify: [chat] }
            """,
            [
                "obwatch.yaml:6:35: warning: rule \"late\" receives resumed events for stalls it is not sent (thresholds 10m); give it the shortest after, or use event: \"*\" without after",
                "obwatch.yaml:7:36: warning: rule \"later\" receives resumed events for stalls it is not sent (thresholds 10m, 30m); give it the shortest after, or use event: \"*\" without after",
            ]
        ),
        BrokenConfig(
            "rules that take resumed with every stall that opens it: no warning",
            """
            state_dir: s
            defaults: { stall_after: 20m }
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers: [{ name: chat, webhook: { format: generic, url: "https://hooks.example.com/a" } }]
            rules:
              - { name: warn, match: { event: [stalled, resumed] }, notify: [chat] }
              - { name: page, match: { event: stalled }, after: 1h, notify: [chat] }
              - { name: all, match: { event: "*" }, notify: [chat] }
              - { name: bare, match: {}, notify: [chat] }
            """,
            []
        ),
    ]

    // MARK: - Each message says how to fix it

    static let howToFix: [BrokenConfig] = [
        BrokenConfig(
            "a webhook key at the wrong indentation names the block it belongs to",
            """
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers:
              - name: chat
                webhook:
                  format: generic
                    url: "https://hooks.example.com/a"
            """,
            [
                "obwatch.yaml:6:12: error: mapping values are not allowed in this context; a key at the wrong indentation: keys of \"receivers[0].webhook\" start at column 7"
            ]
        ),
        BrokenConfig(
            "a rule's key at the column of the list's dashes",
            """
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            rules:
              - name: r
                match: { event: failed }
              notify: [chat]
            """,
            [
                "obwatch.yaml:5:3: error: did not find expected '-' indicator (while parsing a block collection at line 3, column 3); a key at the wrong indentation: keys of \"rules[0]\" start at column 5, keys of the top level at column 1"
            ]
        ),
        BrokenConfig(
            "a duration in words",
            """
            defaults: { stall_after: 5 minutes, poll_interval: 1 hour 30 min }
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            """,
            [
                "obwatch.yaml:1:26: error: invalid duration \"5 minutes\": write 5m",
                "obwatch.yaml:1:52: error: invalid duration \"1 hour 30 min\": write 1h30m",
            ]
        ),
        BrokenConfig(
            "an unknown receiver far from every name lists them all, the nearest first",
            """
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
            receivers:
              - { name: audit, syslog: { address: "udp://127.0.0.1:514" } }
              - { name: db-chat, webhook: { format: generic, url: "https://hooks.example.com/a" } }
              - { name: oncall, webhook: { format: generic, url: "https://hooks.example.com/b" } }
            rules: [{ name: r, match: { event: failed }, notify: [audit, db-chat, oncall, dbchatroom] }]
            """,
            [
                "obwatch.yaml:6:79: error: unknown receiver \"dbchatroom\"; the receivers are \"db-chat\", \"oncall\", \"audit\""
            ]
        ),
        BrokenConfig(
            "a secret file that is a folder, given by an absolute path",
            """
            targets: [{ name: prod-east, url: "http://10.0.0.5:2886", password_file: /tmp }]
            """,
            [
                "obwatch.yaml:1:74: error: cannot read the secret file \"/tmp\": is a directory"
            ]
        ),
        BrokenConfig(
            "inline secrets in a file others can read; environment references and plain urls are no secrets",
            """
            targets:
              - { name: prod-east, url: "http://10.0.0.5:2886", password: hunter2 }
              - { name: prod-west, url: "http://10.0.0.6:2886", password: "${OBW_PW}" }
            receivers:
              - { name: plain, webhook: { format: generic, url: "https://hooks.example.com/a" } }
              - { name: ding, webhook: { format: dingtalk, url: "https://oapi.dingtalk.com/robot/send?access_token=t" } }
              - { name: pd, webhook: { format: pagerduty, routing_key: "${PD_KEY}" } }
            rules: [{ name: r, match: { event: failed }, notify: [plain, ding, pd] }]
            """,
            [
                "obwatch.yaml:2:63: warning: \"password\" holds a secret in a file that others can read (mode 644): give it as ${VARIABLE} from the environment or in \"password_file\", or run chmod o-r on the file",
                "obwatch.yaml:6:53: warning: \"url\" holds a secret in a file that others can read (mode 644): give it as ${VARIABLE} from the environment or in \"url_file\", or run chmod o-r on the file",
            ]
        ),
    ]

    @Test("an inline secret in a file only its owner can read gets no warning")
    func inlineSecretInAPrivateFile() throws {
        let folder = try ConfigFolder()
        defer { folder.remove() }
        let (config, lines) = try folder.load(
            config: """
                targets: [{ name: prod-east, url: "http://10.0.0.5:2886", password: hunter2 }]
                """,
            mode: 0o600
        )
        #expect(config != nil)
        #expect(lines == [])
    }
}
