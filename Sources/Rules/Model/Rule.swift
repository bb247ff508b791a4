public import Tracker
public import YAML

/// One `rules:` entry: which events it wants, where they go, and how.
public struct Rule: Sendable, Hashable {
    /// The unique name `routes` and notifications carry.
    public var name: String
    /// `match:`.
    public var matcher: EventMatcher
    /// `notify:`: receiver names, each defined under `receivers:`.
    public var receivers: [String]
    /// `after:`: the no-progress threshold of this rule's `stalled` events; `nil` takes `defaults.stall_after`.
    public var after: StallThreshold?
    /// `repeat:`: how often to remind while an incident this rule sent stays open; `nil` never.
    public var repeatInterval: Duration?
    /// `group_wait:`: how long to gather events for one receiver before sending them as one notification.
    public var groupWait: Duration
    /// `template:`: overrides of the receiver format's default texts.
    public var template: TemplateOverrides
    /// Where the rule is written.
    public var mark: YAMLMark

    /// Makes a rule.
    public init(
        name: String,
        matcher: EventMatcher,
        receivers: [String],
        after: StallThreshold? = nil,
        repeatInterval: Duration? = nil,
        groupWait: Duration = .zero,
        template: TemplateOverrides = TemplateOverrides(),
        mark: YAMLMark
    ) {
        self.name = name
        self.matcher = matcher
        self.receivers = receivers
        self.after = after
        self.repeatInterval = repeatInterval
        self.groupWait = groupWait
        self.template = template
        self.mark = mark
    }

    /// The threshold whose `stalled` events this rule receives: its own `after:`, or the default.
    /// - Parameter defaultThreshold: `defaults.stall_after`.
    public func stallThreshold(default defaultThreshold: StallThreshold) -> StallThreshold {
        self.after ?? defaultThreshold
    }
}

/// A Mustache template as written in the config, with where its text starts, so that problems point into the file.
public struct TemplateSource: Sendable, Hashable {
    /// The template text.
    public var text: String
    /// Where the YAML scalar holding it starts.
    public var mark: YAMLMark
    /// Whether the scalar is quoted (its text then starts one column after ``mark``).
    public var isQuoted: Bool
    /// Whether the scalar is a block scalar (`|` or `>`; its text then starts on the next line).
    public var isBlock: Bool

    /// Makes a source.
    public init(text: String, mark: YAMLMark, isQuoted: Bool = false, isBlock: Bool = false) {
        self.text = text
        self.mark = mark
        self.isQuoted = isQuoted
        self.isBlock = isBlock
    }
}

/// A rule's `template:`: each field replaces the receiver format's default for that part of the message.
public struct TemplateOverrides: Sendable, Hashable {
    /// `title:`: the headline (chat title, mail subject, page summary).
    public var title: TemplateSource?
    /// `text:`: the body (chat text, mail body, syslog message).
    public var text: TemplateSource?

    /// Makes overrides; none by default.
    public init(title: TemplateSource? = nil, text: TemplateSource? = nil) {
        self.title = title
        self.text = text
    }

    /// Whether no part is overridden.
    public var isEmpty: Bool { self.title == nil && self.text == nil }
}
