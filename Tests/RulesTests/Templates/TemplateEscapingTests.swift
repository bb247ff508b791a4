import ConfigModel
import Foundation
import Messages
import Testing
import Tracker

@Suite struct TemplateEscapingTests {
    /// What no chat message may contain once agent text is in it.
    static let forbiddenInChat = [
        "\r", "\n", "<!channel>", "@all", "@here", "<at", "<@", "*bold*", "[x](http://evil)", "_it_", "`code`",
    ]

    /// The forbidden texts of one escaping: Slack's links are `<url|text>`, so a markdown link is only text there.
    static func forbidden(in escaping: TemplateEscaping) -> [String] {
        escaping == .slack ? Self.forbiddenInChat.filter { $0 != "[x](http://evil)" } : Self.forbiddenInChat
    }

    @Test func formatsChooseTheirEscaping() {
        #expect(TemplateEscaping.forFormat("slack") == .slack)
        for format in ["dingtalk", "wecom", "feishu"] { #expect(TemplateEscaping.forFormat(format) == .markdown) }
        #expect(TemplateEscaping.forFormat("teams") == .teams)
        for format in ["generic", "pagerduty", "opsgenie", "email", "syslog"] {
            #expect(TemplateEscaping.forFormat(format) == .plain)
        }
    }

    @Test(arguments: [TemplateEscaping.slack, .markdown, .teams])
    func chatEscapingNeutralisesHostileText(escaping: TemplateEscaping) {
        let escaped = escaping.escape(TemplateTestSupport.hostile)
        for forbidden in Self.forbidden(in: escaping) {
            #expect(!escaped.contains(forbidden), "\(escaping) lets \(forbidden.debugDescription) through")
        }
        #expect(escaped.hasPrefix("evil "))
    }

    @Test func slackUsesEntities() {
        #expect(TemplateEscaping.slack.escape("a <b> & c") == "a &lt;b&gt; &amp; c")
        #expect(TemplateEscaping.slack.escape("<!channel>").contains("&lt;!channel&gt;"))
        // Marks inside a word cannot pair in mrkdwn and stay copyable; marks at a word boundary are broken up.
        #expect(TemplateEscaping.slack.escape("ob_cluster_name") == "ob_cluster_name")
        #expect(TemplateEscaping.slack.escape("_it_") == "\u{200B}_\u{200B}it\u{200B}_\u{200B}")
    }

    @Test func markdownUsesBackslashesAndFullWidthBrackets() {
        #expect(TemplateEscaping.markdown.escape("![x](y) #1") == "!\\[x\\](y) \\#1")
        #expect(TemplateEscaping.markdown.escape("<at>") == "\u{FF1C}at\u{FF1E}")
        #expect(TemplateEscaping.markdown.escape("- item") == "\\- item")
        #expect(TemplateEscaping.markdown.escape("prod-east") == "prod-east")
    }

    @Test func plainKeepsEverythingAndHTMLUsesEntities() {
        #expect(TemplateEscaping.plain.escape(TemplateTestSupport.hostile) == TemplateTestSupport.hostile)
        #expect(
            TemplateEscaping.html.escape("<a href=\"x\">'&'</a>")
                == "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        )
    }

    @Test(arguments: TemplateDefaults.formatNames)
    func hostileAgentTextThroughEveryFormat(format: String) throws {
        let renderer = try TemplateRenderer(format: format, timeZone: TemplateTestSupport.shanghai)
        let message = renderer.render(receiver: "c", rule: "r", events: [try TemplateTestSupport.hostileEvent()])
        #expect(!message.title.contains("\n") && !message.title.contains("\r"))
        #expect(!message.title.isEmpty)
        switch TemplateEscaping.forFormat(format) {
        case .slack, .markdown, .teams:
            for forbidden in Self.forbidden(in: TemplateEscaping.forFormat(format)) where forbidden != "\n" {
                #expect(!message.text.contains(forbidden), "\(format) lets \(forbidden.debugDescription) through")
                #expect(
                    !message.title.contains(forbidden),
                    "\(format) title lets \(forbidden.debugDescription) through"
                )
            }
            // Lines come from the template only: each hostile value stays on the line it started on.
            #expect(!message.text.contains("\n[FIRING] fake"))
        case .plain, .html:
            // Plain formats carry agent text exactly, CR LF included.
            #expect(message.text.contains(TemplateTestSupport.hostile))
        }
        if let html = message.html {
            #expect(!html.contains("<at"))
            #expect(html.contains("&lt;at user_id=&quot;all&quot;&gt;"))
        }
    }

    @Test func tripleMustacheStaysRaw() throws {
        let overrides = TemplateOverrides(
            text: TemplateTestSupport.source("{{{dag.name}}}|{{&node.name}}|{{dag.name}}")
        )
        let renderer = try TemplateRenderer(format: "slack", overrides: overrides)
        let event = try TemplateTestSupport.hostileEvent()
        let text = renderer.render(receiver: "c", rule: "r", events: [event]).text
        let parts = text.components(separatedBy: "|")
        #expect(parts.count >= 3)
        #expect(text.hasPrefix(TemplateTestSupport.hostile + "|" + TemplateTestSupport.hostile + "|"))
        #expect(text.hasSuffix(TemplateEscaping.slack.escape(TemplateTestSupport.hostile)))
    }
}
