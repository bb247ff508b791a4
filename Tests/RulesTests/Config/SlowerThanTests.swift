import ConfigModel
import Testing
import Tracker

@Suite("slower_than: per rule, like after:")
struct SlowerThanTests {
    static let config = """
        state_dir: s
        targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
        receivers: [{ name: chat, webhook: { format: generic, url: "https://hooks.example.com/a" } }]
        rules:
          - name: twice
            match: { event: slow }
            slower_than: 2x
            notify: [chat]
          - name: margin
            match: { event: [slow, caught_up] }
            slower_than: +5m
            notify: [chat]
          - name: usual
            match: { event: slow }
            notify: [chat]
          - name: audit
            match: { event: "*" }
            notify: [chat]
        """

    @Test("each distinct slower_than is a threshold after the built-in one, and routes only to its rules")
    func thresholds() throws {
        let folder = try ConfigFolder()
        defer { folder.remove() }
        _ = try folder.write("obwatch.yaml", Self.config)
        let (loaded, diagnostics) = folder.load()
        let config = try #require(loaded, "\(diagnostics)")
        #expect(config.trackerSettings.slowThresholds.map(\.text) == ["usual", "2x", "+5m"])
        let rules = Dictionary(uniqueKeysWithValues: config.rules.map { ($0.name, $0) })
        #expect(rules["twice"]?.receivesSlow(threshold: "2x") == true)
        #expect(rules["twice"]?.receivesSlow(threshold: "usual") == false)
        #expect(rules["margin"]?.receivesSlow(threshold: "+5m") == true)
        #expect(rules["usual"]?.receivesSlow(threshold: "usual") == true)
        #expect(rules["usual"]?.receivesSlow(threshold: "2x") == false)
        #expect(rules["audit"]?.receivesSlow(threshold: "2x") == true)
    }
}
