import Support
import Testing

@Suite("Redaction: URLs and messages safe to show")
struct RedactionTests {
    @Test func urlsAreRedacted() {
        #expect(Redaction.redactedURL("http://u:p@h:1/a/b?t=1#f") == "http://<redacted>@h:1/a/b?<redacted>")
        #expect(Redaction.redactedURL("https://h/a#frag") == "https://h/a#<redacted>")
        #expect(Redaction.redactedURL("https://h/a") == "https://h/a")
        #expect(Redaction.redactedURL("https://a@b@h/x") == "https://<redacted>@h/x")
        #expect(Redaction.redactedURL("http://h/x\n2026 fake log line") == "http://h/x%0A2026 fake log line")
        #expect(
            Redaction.redactedURL("https://hooks.example.com/services/T0/B0/secret?x=1", hidingPath: true)
                == "https://hooks.example.com/<redacted>?<redacted>"
        )
        #expect(URLRedaction.redact("https://u:p@h/x?token=1") == "https://<redacted>@h/x?<redacted>")
        #expect(URLRedaction.redact("https://h/T0/secret", hidingPath: true) == "https://h/<redacted>")
    }

    @Test func secretsAreScrubbedFromMessages() {
        let secrets = Redaction.secrets(inURL: "http://user:pa%73s@h/x?token=abcdef&page=1")
        let scrubbed = Redaction.scrub("auth pass for user:pa%73s failed, token abcdef, page 1", secrets: secrets)
        #expect(!scrubbed.contains("pass for"))
        #expect(!scrubbed.contains("abcdef"))
        #expect(!scrubbed.contains("pa%73s"))
        #expect(scrubbed.contains("page 1"))
    }
}
