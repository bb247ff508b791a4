import ConfigLoading
import ConfigModel
import Foundation
import Testing
import YAML

@Suite("Config: heartbeat and defaults.stuck_after")
struct HeartbeatAndDefaultsTests {
    static let head = """
        state_dir: s
        targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]

        """

    @Test("a heartbeat url from the environment, with every default; it never shows")
    func inlineURL() throws {
        let folder = try ConfigFolder()
        defer { folder.remove() }
        let (config, lines) = try folder.load(
            config: Self.head + "heartbeat: { url: \"https://hc-ping.example.com/${PING_ID}?k=v\" }\n",
            environment: ["PING_ID": "uuid-secret"]
        )
        #expect(lines == [])
        let heartbeat = try #require(config?.heartbeat)
        #expect(heartbeat.url.revealed == "https://hc-ping.example.com/uuid-secret?k=v")
        #expect(heartbeat.every == .seconds(60))
        #expect(heartbeat.method == .get)
        #expect(heartbeat.timeout == .seconds(10))
        #expect(heartbeat.caFile == nil)
        #expect("\(heartbeat.url)" == "<redacted>")
        #expect("\(heartbeat)".contains("uuid-secret") == false)
        #expect(heartbeat.redactedURL.hasPrefix("https://hc-ping.example.com"))
        #expect(!heartbeat.redactedURL.contains("uuid-secret"))
        #expect(heartbeat.mark.line == 3)
    }

    @Test("a heartbeat url read from a file (trailing newline removed), POST, its own every, timeout and ca_file")
    func fromFile() throws {
        let folder = try ConfigFolder()
        defer { folder.remove() }
        try folder.write("ping.url", "https://hc-ping.example.com/from-file\n")
        try folder.write("ca.pem", "-----BEGIN CERTIFICATE-----\n")
        let (config, lines) = try folder.load(
            config: Self.head
                + """
                heartbeat:
                  url_file: ping.url
                  every: 30s
                  method: POST
                  timeout: 3s
                  ca_file: ca.pem
                """
        )
        #expect(lines == [])
        let heartbeat = try #require(config?.heartbeat)
        #expect(heartbeat.url.revealed == "https://hc-ping.example.com/from-file")
        #expect(heartbeat.every == .seconds(30))
        #expect(heartbeat.method == .post)
        #expect(heartbeat.timeout == .seconds(3))
        #expect(heartbeat.caFile == folder.url.appendingPathComponent("ca.pem").path)
    }

    @Test("no heartbeat: key, no heartbeat; replay reads one whose url is not set")
    func absentAndLenient() throws {
        let folder = try ConfigFolder()
        defer { folder.remove() }
        let (none, _) = try folder.load(config: Self.head)
        #expect(none != nil)
        #expect(none?.heartbeat == nil)
        let path = try folder.write("obwatch.yaml", Self.head + "heartbeat: { url: \"${UNSET_PING}\" }\n")
        #expect(ConfigLoader(environment: [:]).load(contentsOfFile: path).config == nil)
        let lenient = ConfigLoader(environment: [:], secretsRequired: false).load(contentsOfFile: path)
        #expect(lenient.diagnostics.entries.map(\.description) == [])
        #expect(lenient.config?.heartbeat != nil)
    }

    @Test("defaults.stuck_after: 10m unless set, and above zero")
    func stuckAfter() throws {
        let folder = try ConfigFolder()
        defer { folder.remove() }
        let (plain, _) = try folder.load(config: Self.head)
        #expect(plain?.defaults.stuckAfter == .seconds(600))
        let (set, lines) = try folder.load(config: Self.head + "defaults: { stuck_after: 15m }\n")
        #expect(lines == [])
        #expect(set?.defaults.stuckAfter == .seconds(900))
        let (zero, zeroLines) = try folder.load(config: Self.head + "defaults: { stuck_after: 0s }\n")
        #expect(zero == nil)
        #expect(zeroLines == ["obwatch.yaml:3:26: error: \"0s\" must be longer than zero"])
    }
}
