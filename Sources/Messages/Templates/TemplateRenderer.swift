package import ConfigModel
package import Foundation
import Mustache
package import Tracker

/// A message as rendered for one receiver.
package struct RenderedMessage: Sendable, Hashable {
    /// One line, never empty: chat title, mail subject, page summary.
    package var title: String
    /// The body, in the format's markup (plain text for plain formats and for the text part of a mail).
    package var text: String
    /// For `email` only: the HTML part, the same text with every value HTML-escaped, in a `<pre>`.
    package var html: String?

    /// Makes a message.
    /// - Parameters:
    ///   - title: The title.
    ///   - text: The body.
    ///   - html: The HTML part of a mail.
    package init(title: String, text: String, html: String? = nil) {
        self.title = title
        self.text = text
        self.html = html
    }
}

/// Renders the title and text of one format, with a rule's overrides, each template compiled once.
///
/// `{{var}}` escapes with the format's ``TemplateEscaping``, so agent text cannot break the format or mention
/// anyone; `{{{var}}}` and `{{&var}}` are raw by the template author's choice. Make one renderer per receiver and
/// rule and keep it: rendering is cheap, compiling is not.
package struct TemplateRenderer: Sendable {
    /// The format: a webhook format's name, `email` or `syslog`.
    package let format: String
    /// How `{{var}}` escapes for this format.
    package let escaping: TemplateEscaping
    /// The zone `at_local` is written in.
    package let timeZone: TimeZone
    private let title: MustacheTemplate
    private let text: MustacheTemplate
    private let htmlText: MustacheTemplate?

    /// Compiles the templates of a format.
    /// - Parameters:
    ///   - format: A name of ``TemplateDefaults/formatNames``.
    ///   - overrides: A rule's `template:`; each part left out takes the format's default.
    ///   - timeZone: The zone `at_local` is written in.
    /// - Throws: ``TemplateError`` with ``TemplateError/Code/unknownFormat``, or ``TemplateError/Code/invalidTemplate``
    ///   (placed in the file) for the first problem ``TemplateChecker`` finds.
    package init(
        format: String,
        overrides: TemplateOverrides = TemplateOverrides(),
        timeZone: TimeZone = .current
    ) throws(TemplateError) {
        guard let defaultTitle = TemplateDefaults.title(for: format),
            let defaultText = TemplateDefaults.text(for: format)
        else {
            throw TemplateError(
                code: .unknownFormat,
                message: "unknown message format \"\(format)\"; known: "
                    + TemplateDefaults.formatNames.joined(separator: ", ")
            )
        }
        let titleSource =
            overrides.title
            ?? TemplateSource(
                text: defaultTitle,
                mark: SourcePosition(file: "<default \(format) title>", line: 1, column: 1)
            )
        let textSource =
            overrides.text
            ?? TemplateSource(
                text: defaultText,
                mark: SourcePosition(file: "<default \(format) text>", line: 1, column: 1)
            )
        self.format = format
        self.escaping = TemplateEscaping.forFormat(format)
        self.timeZone = timeZone
        self.title = try Self.compile(titleSource, escaping: self.escaping)
        self.text = try Self.compile(textSource, escaping: self.escaping)
        self.htmlText = format == "email" ? try Self.compile(textSource, escaping: .html) : nil
    }

    /// Renders a notification of one or more events.
    /// - Parameters:
    ///   - receiver: The receiver's name (`{{receiver}}`).
    ///   - rule: The rule's name (`{{rule}}`): the first rule that routed the events to the receiver.
    ///   - rules: Every rule that routed them there (`{{#rules}}`); `nil` means `[rule]`.
    ///   - events: The events sent together.
    package func render(receiver: String, rule: String, rules: [String]? = nil, events: [Event]) -> RenderedMessage {
        let context = TemplateContext(
            receiver: receiver,
            rule: rule,
            rules: rules,
            events: events,
            timeZone: self.timeZone
        )
        return self.render(context, fallbackTitle: events.first?.summary)
    }

    /// Renders a context built by the caller.
    /// - Parameter context: The values.
    package func render(_ context: TemplateContext) -> RenderedMessage {
        self.render(context, fallbackTitle: context[path: "summary"])
    }

    private func render(_ context: TemplateContext, fallbackTitle: String?) -> RenderedMessage {
        var title = Self.oneLine(self.title.render(context.root))
        if title.isEmpty {
            // A title that renders to nothing (a variable that does not apply) would make an empty subject or page.
            title = Self.oneLine(self.escaping.escape(fallbackTitle ?? ""))
        }
        if title.isEmpty { title = "obwatch notification" }
        let text = Self.trimmingTrailingLineBreaks(self.text.render(context.root))
        let html = self.htmlText.map { template in
            "<html><body><pre style=\"font-family: monospace\">"
                + Self.trimmingTrailingLineBreaks(template.render(context.root)) + "</pre></body></html>"
        }
        return RenderedMessage(title: title, text: text, html: html)
    }

    private static func compile(
        _ source: TemplateSource,
        escaping: TemplateEscaping
    ) throws(TemplateError) -> MustacheTemplate {
        if let problem = TemplateChecker.check(source).first {
            throw TemplateError(code: .invalidTemplate, message: problem.message, mark: problem.mark)
        }
        do {
            // On a line of its own, the pragma is a standalone tag: it leaves no text and no line behind.
            return try MustacheTemplate(string: "{{% CONTENT_TYPE: \(escaping.contentTypeName)}}\n" + source.text)
        } catch {
            throw TemplateError(
                code: .invalidTemplate,
                message: "Mustache cannot parse the template",
                mark: source.mark,
                cause: "\(error)"
            )
        }
    }

    /// The text on one line: every line break or other control character a space, ends trimmed.
    private static func oneLine(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        var previousWasCR = false
        for scalar in text.unicodeScalars {
            defer { previousWasCR = scalar == "\r" }
            if scalar == "\n" && previousWasCR { continue }
            switch scalar.value {
            case 0x00..<0x20, 0x7F, 0x85, 0x2028, 0x2029: scalars.append(" ")
            default: scalars.append(scalar)
            }
        }
        while let first = scalars.first, first == " " { scalars.removeFirst() }
        while let last = scalars.last, last == " " { scalars.removeLast() }
        return String(scalars)
    }

    private static func trimmingTrailingLineBreaks(_ text: String) -> String {
        var scalars = text.unicodeScalars
        while let last = scalars.last, last == "\n" || last == "\r" { scalars.removeLast() }
        return String(scalars)
    }
}
