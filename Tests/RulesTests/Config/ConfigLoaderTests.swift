import ConfigLoading
import ConfigModel
import Foundation
import ObshellModel
import Testing
import Tracker
import YAML

@Suite("Config: loading the whole of CONTRACT section 3")
struct ConfigLoaderTests {
    @Test("a full config: every section, interpolation, secrets from files, includes")
    func full() throws {
        let folder = try ConfigFolder()
        defer { folder.remove() }
        try folder.write("secrets/pd.key", "pd-routing-key\n")
        try folder.write(
            "rules.d/paging.yaml",
            """
            rules:
              - name: page-on-stall
                match: { event: stalled }
                after: 2h
                notify: [oncall]
            """
        )
        let (config, lines) = try folder.load(
            config: """
                state_dir: ./state
                http: { listen: 127.0.0.1:9464 }
                defaults:
                  poll_interval: 10s
                  down_after: 5
                  stall_after: 1h30m
                  time_zone: Asia/Shanghai
                targets:
                  - name: prod-east
                    url: http://10.0.0.5:2886
                    password: "pre-${OBW_PW}-$$"
                    labels: { env: prod, region: east }
                  - name: local
                    url: unix:///run/obshell.sock
                    poll_interval: 2s
                    timeout: 1s
                receivers:
                  - name: db-chat
                    webhook:
                      format: dingtalk
                      url: https://oapi.dingtalk.com/robot/send?access_token=${DT_TOKEN}
                      secret: ${DT_SECRET}
                  - name: oncall
                    webhook: { format: pagerduty, routing_key_file: secrets/pd.key }
                  - name: dba-mail
                    email:
                      smtp: smtp://relay.example.com:587
                      username: obwatch
                      password: ${SMTP_PW:-fallback}
                      from: obwatch@example.com
                      to: [dba@example.com]
                  - name: audit
                    syslog: { address: "udp://127.0.0.1:514", format: rfc3164, facility: local3 }
                rules:
                  - name: failures
                    match: { event: [node_failed, failed], dag: "Cluster scale*", target: "prod-*", labels: { env: prod } }
                    notify: [db-chat, dba-mail]
                    repeat: 1h
                  - name: audit-trail
                    match: { event: "*" }
                    notify: audit
                    template: { title: "{{dag.name}} {{type}}" }
                include: rules.d/*.yaml
                silences:
                  - match: { target: prod-east }
                    from: 2026-12-01T02:00:00+08:00
                    until: 2026-12-01T04:00:00+08:00
                  - weekly: { days: [sat, sun], from: "02:00", until: "06:00", time_zone: Asia/Shanghai }
                inhibit:
                  - { source: failed, suppress: [node_failed, stalled] }
                """,
            environment: ["OBW_PW": "secret", "DT_TOKEN": "tok", "DT_SECRET": "SECxyz"]
        )
        #expect(lines == [])
        let loaded = try #require(config)
        #expect(loaded.stateDirectory == folder.url.appendingPathComponent("state").path)
        #expect(loaded.defaults.pollInterval == .seconds(10))
        #expect(loaded.defaults.timeZone?.identifier == "Asia/Shanghai")
        #expect(loaded.targets.map(\.name) == ["prod-east", "local"])
        #expect(loaded.targets[0].password.reveal() == "pre-secret-$")
        #expect(loaded.targets[1].password.isEmpty)
        #expect(loaded.receivers.map(\.formatName) == ["dingtalk", "pagerduty", "email", "syslog"])
        guard case .webhook(let chat) = loaded.receivers[0].kind, case .webhook(let page) = loaded.receivers[1].kind,
            case .email(let mail) = loaded.receivers[2].kind, case .syslog(let audit) = loaded.receivers[3].kind
        else {
            Issue.record("receiver kinds")
            return
        }
        #expect(chat.url.revealed == "https://oapi.dingtalk.com/robot/send?access_token=tok")
        #expect(!chat.redactedURL.contains("tok"))
        #expect(chat.signingSecret?.revealed == "SECxyz")
        #expect(loaded.receivers[0].delivery.rateLimits.map(\.text) == ["20/min"])
        #expect(page.routingKey?.revealed == "pd-routing-key")
        #expect(page.url.revealed == "https://events.pagerduty.com/v2/enqueue")
        #expect(mail.tls == .starttls)
        #expect(mail.password?.revealed == "fallback")
        #expect(audit.facility == 19)
        #expect(audit.format == .rfc3164)
        #expect(loaded.rules.map(\.name) == ["failures", "audit-trail", "page-on-stall"])
        #expect(loaded.rules[1].receivers == ["audit"])
        #expect(loaded.rules[0].repeatInterval == .seconds(3600))
        #expect(loaded.trackerSettings.stallThresholds.map(\.text) == ["1h30m", "2h"])
        #expect(loaded.silences.count == 2)
        #expect(loaded.inhibitions.first?.sources == [.failed])
        #expect("\(chat.signingSecret!)" == "<redacted>")
    }

    @Test("a replay loader reads a config whose secrets are not set")
    func lenientSecrets() throws {
        let folder = try ConfigFolder()
        defer { folder.remove() }
        let path = try folder.write(
            "obwatch.yaml",
            """
            state_dir: s
            targets: [{ name: a, url: "http://h:1", password: "${UNSET_PW}" }]
            receivers:
              - { name: chat, webhook: { format: slack, url: "${UNSET_HOOK}" } }
            rules: [{ name: r, match: { event: failed }, notify: [chat] }]
            """
        )
        #expect(ConfigLoader(environment: [:]).load(contentsOfFile: path).config == nil)
        let lenient = ConfigLoader(environment: [:], secretsRequired: false).load(contentsOfFile: path)
        #expect(lenient.diagnostics.entries.map(\.description) == [])
        #expect(lenient.config?.targets.first?.password.isEmpty == true)
    }
}
