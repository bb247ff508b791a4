import Support
import Testing

@Suite("HostClassification: loopback decided from the text, one answer for check and sending")
struct HostClassificationTests {
    @Test(arguments: [
        "localhost", "LOCALHOST", "localhost.", "127.0.0.1", "127.1.2.3", "[::1]", "::1", "[::ffff:127.0.0.1]",
        "::ffff:127.0.0.1",
    ])
    func loopbackHosts(host: String) {
        #expect(HostClassification.isLoopback(host))
    }

    /// `127.example.com` and `127.0.0.1.example.com` are names, not addresses: they may resolve anywhere. The test
    /// `check` had before issue 17 (`hasPrefix("127.")`) called them loopback, while sending refused them.
    @Test(arguments: [
        "10.0.0.1", "128.0.0.1", "example.com", "localhost.example.com", "[::2]", "0.0.0.0", "",
        "127.example.com", "127.0.0.1.example.com", "[::ffff:10.0.0.1]",
    ])
    func otherHosts(host: String) {
        #expect(!HostClassification.isLoopback(host))
    }
}
