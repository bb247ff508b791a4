import ConfigLoading
import Foundation
import Testing

/// `tls: none` is allowed only to a loopback relay, and `check` decides "loopback" exactly as sending does
/// (`HostClassification.isLoopback`), so a config `check` accepts is never refused at the first mail.
///
/// Before issue 17 `check` had its own test (`localhost`, `::1`, or any text starting with `127.`): it accepted
/// `127.example.com`, which sending refuses, and refused `LOCALHOST`, `localhost.` and `::ffff:127.0.0.1`, which
/// sending accepts.
@Suite("Config: a clear-text relay must be loopback, as sending decides")
struct LoopbackRelayTests {
    /// The diagnostics of a config whose only receiver sends mail without TLS to `relay`.
    func diagnostics(relay: String) throws -> [String] {
        let folder = try ConfigFolder()
        defer { folder.remove() }
        let (_, lines) = try folder.load(
            config: """
                state_dir: s
                targets: [{ name: prod-east, url: "http://10.0.0.5:2886" }]
                receivers:
                  - name: mail
                    email:
                      smtp: "smtp://\(relay):25"
                      tls: none
                      from: obwatch@example.com
                      to: dba@example.com
                rules: [{ name: r, match: { event: failed }, notify: [mail] }]
                """
        )
        return lines
    }

    @Test(arguments: ["127.0.0.1", "127.1.2.3", "localhost", "[::1]", "LOCALHOST", "localhost.", "[::ffff:127.0.0.1]"])
    func loopbackRelaysAreAccepted(relay: String) throws {
        let lines = try self.diagnostics(relay: relay)
        #expect(!lines.contains { $0.contains("tls: none") }, "\(lines)")
    }

    @Test(arguments: ["127.example.com", "127.0.0.1.example.com", "10.0.0.1", "[::2]", "relay.example.com"])
    func otherRelaysAreRefused(relay: String) throws {
        let lines = try self.diagnostics(relay: relay)
        #expect(lines.contains { $0.contains("error: tls: none sends mail and passwords in clear text") }, "\(lines)")
    }
}
