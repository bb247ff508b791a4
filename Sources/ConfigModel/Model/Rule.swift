package import History
package import Tracker

/// One `rules:` entry: which events it wants, where they go, and how.
package struct Rule: Sendable, Hashable {
    /// The unique name `routes` and notifications carry.
    package var name: String
    /// `match:`.
    package var matcher: EventMatcher
    /// `notify:`: receiver names, each defined under `receivers:`.
    package var receivers: [String]
    /// `after:`: the no-progress threshold of this rule's `stalled` events; `nil` takes `defaults.stall_after`.
    package var after: StallThreshold?
    /// `slower_than:`: the slowness threshold of this rule's `slow` events; `nil` takes the built-in one (`usual`).
    package var slowerThan: SlowerThan?
    /// `repeat:`: how often to remind while an incident this rule sent stays open; `nil` never.
    package var repeatInterval: Duration?
    /// `group_wait:`: how long to gather events for one receiver before sending them as one notification.
    package var groupWait: Duration
    /// `template:`: overrides of the receiver format's default texts.
    package var template: TemplateOverrides
    /// Where the rule is written.
    package var mark: SourcePosition

    /// Makes a rule.
    package init(
        name: String,
        matcher: EventMatcher,
        receivers: [String],
        after: StallThreshold? = nil,
        slowerThan: SlowerThan? = nil,
        repeatInterval: Duration? = nil,
        groupWait: Duration = .zero,
        template: TemplateOverrides = TemplateOverrides(),
        mark: SourcePosition
    ) {
        self.name = name
        self.matcher = matcher
        self.receivers = receivers
        self.after = after
        self.slowerThan = slowerThan
        self.repeatInterval = repeatInterval
        self.groupWait = groupWait
        self.template = template
        self.mark = mark
    }

    /// The rule's own stall threshold: its `after:`, or the default. A rule that takes every event type and has no
    /// `after:` receives the other thresholds in use too (see ``receivesStalled(threshold:default:thresholdsInUse:)``).
    /// - Parameter defaultThreshold: `defaults.stall_after`.
    func stallThreshold(default defaultThreshold: StallThreshold) -> StallThreshold {
        self.after ?? defaultThreshold
    }

    /// Whether the rule is routed `slow` events of a threshold (as written; `usual` is the built-in one), the way
    /// ``receivesStalled(threshold:default:thresholdsInUse:)`` treats `after:`: a rule with `slower_than:` gets only
    /// its own, a catch-all rule without it gets every one, any other rule the built-in one.
    package func receivesSlow(threshold: String) -> Bool {
        if let slowerThan = self.slowerThan { return slowerThan.text == threshold }
        return self.acceptsEveryEventType || threshold == SlowerThan.usual.text
    }

    /// Whether the rule's `match:` takes every event type: `event: "*"`, or no `event:` at all.
    package var acceptsEveryEventType: Bool {
        if case .all = self.matcher.types { return true }
        return false
    }

    /// Whether the rule is routed `stalled` events of a threshold (when the rest of its `match:` holds).
    ///
    /// A rule with `after:` gets only that threshold. A rule without `after:` that takes every event type is an
    /// audit trail: it gets `stalled` at every threshold in use, so it never sees a `resumed` without its `stalled`
    /// (CONTRACT section 6). Any other rule without `after:`, one that lists `stalled`, gets the default only.
    /// Thresholds compare as written: `30m` and `1800s` are two thresholds.
    /// - Parameters:
    ///   - threshold: The threshold as written, e.g. `30m`, as a `stalled` event carries it.
    ///   - defaultThreshold: `defaults.stall_after`.
    ///   - thresholdsInUse: `defaults.stall_after` and every rule's `after:` (see `Router.thresholdsInUse` in Routing).
    package func receivesStalled(
        threshold: String,
        default defaultThreshold: StallThreshold,
        thresholdsInUse: [StallThreshold]
    ) -> Bool {
        if let after = self.after { return after.text == threshold }
        if self.acceptsEveryEventType {
            return threshold == defaultThreshold.text || thresholdsInUse.contains { $0.text == threshold }
        }
        return threshold == defaultThreshold.text
    }
}

/// A Mustache template as written in the config, with where its text starts, so that problems point into the file.
package struct TemplateSource: Sendable, Hashable {
    /// The template text.
    package var text: String
    /// Where the YAML scalar holding it starts.
    package var mark: SourcePosition
    /// Whether the scalar is quoted (its text then starts one column after ``mark``).
    package var isQuoted: Bool
    /// Whether the scalar is a block scalar (`|` or `>`; its text then starts on the next line).
    package var isBlock: Bool

    /// Makes a source.
    package init(text: String, mark: SourcePosition, isQuoted: Bool = false, isBlock: Bool = false) {
        self.text = text
        self.mark = mark
        self.isQuoted = isQuoted
        self.isBlock = isBlock
    }
}

/// A rule's `template:`: each field replaces the receiver format's default for that part of the message.
package struct TemplateOverrides: Sendable, Hashable {
    /// `title:`: the headline (chat title, mail subject, page summary).
    package var title: TemplateSource?
    /// `text:`: the body (chat text, mail body, syslog message).
    package var text: TemplateSource?

    /// Makes overrides; none by default.
    package init(title: TemplateSource? = nil, text: TemplateSource? = nil) {
        self.title = title
        self.text = text
    }

    /// Whether no part is overridden.
    package var isEmpty: Bool { self.title == nil && self.text == nil }
}
