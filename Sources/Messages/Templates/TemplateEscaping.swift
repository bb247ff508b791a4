import ConfigModel
import Mustache

/// How `{{var}}` escapes a value for one message format, so that agent text (DAG and node names, log lines, target
/// names and labels) reads as text and can never add markup, links or mentions. `{{{var}}}` stays raw.
///
/// Chat formats put a message on as many lines as the template writes: a CR or LF inside a value becomes a space
/// there, so a hostile log line cannot start a fake line of its own. Plain formats keep values exactly as they are
/// (CR and LF included); keeping a syslog record on one line is the syslog transport's job, keeping a mail header
/// on one line the mail builder's (titles are made one line by ``TemplateRenderer`` anyway).
package enum TemplateEscaping: String, Sendable, Hashable, CaseIterable {
    /// Nothing escaped: generic webhooks, PagerDuty, Opsgenie, syslog and the text part of a mail.
    case plain
    /// Slack mrkdwn: `&`, `<`, `>` as entities (so `<!channel>` and `<http://x|y>` stay text), formatting marks
    /// broken up with a zero-width space, `@` followed by a zero-width space (`@here`, `@channel`).
    case slack
    /// DingTalk, WeCom and Feishu markdown: markdown punctuation backslash-escaped, `<` and `>` replaced by their
    /// full-width forms (no `<at ...>`, `<@user>` or `<font>` can form), `@` followed by a zero-width space (`@all`).
    case markdown
    /// Microsoft Teams Adaptive Card text: the same rules as ``markdown`` (the card's markdown subset has bold,
    /// italic, lists and links; mentions need `<at>` plus an entity, which cannot form).
    case teams
    /// The HTML part of a mail: `&`, `<`, `>`, `"` and `'` as entities.
    case html

    /// The escaping a format's `{{var}}` uses.
    /// - Parameter format: A webhook format's name, `email` or `syslog`.
    package static func forFormat(_ format: String) -> TemplateEscaping {
        switch format {
        case WebhookFormat.slack.rawValue: .slack
        case WebhookFormat.dingtalk.rawValue, WebhookFormat.wecom.rawValue, WebhookFormat.feishu.rawValue: .markdown
        case WebhookFormat.teams.rawValue: .teams
        default: .plain
        }
    }

    /// Escapes one value.
    /// - Parameter text: Agent text or any other value.
    package func escape(_ text: String) -> String {
        switch self {
        case .plain: text
        case .slack: Self.escapeSlack(text)
        case .markdown, .teams: Self.escapeMarkdown(text)
        case .html: Self.escapeHTML(text)
        }
    }

    /// The name of the Mustache content type (`{{% CONTENT_TYPE: NAME}}`) that applies this escaping.
    var contentTypeName: String {
        _ = Self.registration
        return "OBWATCH_" + self.rawValue.uppercased()
    }

    /// Registers every escaping with swift-mustache once; Swift runs a static initialiser exactly once, thread-safely.
    private static let registration: Void = {
        for escaping in TemplateEscaping.allCases {
            MustacheContentTypes.register(
                TemplateContentType(escaping: escaping),
                named: "OBWATCH_" + escaping.rawValue.uppercased()
            )
        }
    }()

    private static let zeroWidthSpace: Unicode.Scalar = "\u{200B}"

    /// Whether a scalar ends a line in some renderer: CR, LF, NEL, LINE and PARAGRAPH SEPARATOR.
    private static func isLineBreak(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x0A, 0x0B, 0x0C, 0x0D, 0x85, 0x2028, 0x2029: true
        default: false
        }
    }

    /// Line breaks and other control characters become one space each (CR LF counts as one), tabs stay.
    private static func flattened(_ text: String) -> [Unicode.Scalar] {
        var result: [Unicode.Scalar] = []
        var previousWasCR = false
        for scalar in text.unicodeScalars {
            defer { previousWasCR = scalar == "\r" }
            if scalar == "\n" && previousWasCR { continue }
            if Self.isLineBreak(scalar) || (scalar.value < 0x20 && scalar != "\t") || scalar.value == 0x7F {
                result.append(" ")
            } else {
                result.append(scalar)
            }
        }
        return result
    }

    private static func escapeSlack(_ text: String) -> String {
        var result = String.UnicodeScalarView()
        let scalars = Self.flattened(text)
        for (index, scalar) in scalars.enumerated() {
            switch scalar {
            case "&": result.append(contentsOf: "&amp;".unicodeScalars)
            case "<": result.append(contentsOf: "&lt;".unicodeScalars)
            case ">": result.append(contentsOf: "&gt;".unicodeScalars)
            case "*", "_", "~", "`":
                // mrkdwn has no escape character, and only marks at a word boundary pair up: leave `ob_cluster`
                // as it is (copyable), put a zero-width space on each side of any other mark.
                let before = index > 0 ? scalars[index - 1] : nil
                let after = index + 1 < scalars.count ? scalars[index + 1] : nil
                if scalar != "`", let before, let after, Self.isWordScalar(before), Self.isWordScalar(after) {
                    result.append(scalar)
                } else {
                    result.append(Self.zeroWidthSpace)
                    result.append(scalar)
                    result.append(Self.zeroWidthSpace)
                }
            case "@":
                result.append(scalar)
                result.append(Self.zeroWidthSpace)
            default: result.append(scalar)
            }
        }
        return String(result)
    }

    private static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isAlphabetic || scalar.properties.numericType != nil
    }

    private static func escapeMarkdown(_ text: String) -> String {
        var result = String.UnicodeScalarView()
        let scalars = Self.flattened(text)
        for (index, scalar) in scalars.enumerated() {
            switch scalar {
            case "\\", "`", "*", "_", "[", "]", "#", "~", "|":
                // Brackets are enough to stop links and images: `(`, `)` and `!` mean nothing without `[...]`.
                result.append("\\")
                result.append(scalar)
            case "-" where index == 0, "+" where index == 0, "=" where index == 0:
                // A value may start a template line, where these would begin a list or a heading underline.
                result.append("\\")
                result.append(scalar)
            case "<": result.append("\u{FF1C}")
            case ">": result.append("\u{FF1E}")
            case "@":
                result.append(scalar)
                result.append(Self.zeroWidthSpace)
            default: result.append(scalar)
            }
        }
        return String(result)
    }

    private static func escapeHTML(_ text: String) -> String {
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result.append(contentsOf: "&amp;".unicodeScalars)
            case "<": result.append(contentsOf: "&lt;".unicodeScalars)
            case ">": result.append(contentsOf: "&gt;".unicodeScalars)
            case "\"": result.append(contentsOf: "&quot;".unicodeScalars)
            case "'": result.append(contentsOf: "&#39;".unicodeScalars)
            default: result.append(scalar)
            }
        }
        return String(result)
    }
}

/// The bridge from ``TemplateEscaping`` to swift-mustache's content types.
struct TemplateContentType: MustacheContentType {
    let escaping: TemplateEscaping

    func escapeText(_ text: String) -> String {
        self.escaping.escape(text)
    }
}
