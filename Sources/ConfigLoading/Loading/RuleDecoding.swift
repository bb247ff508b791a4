import ConfigModel
import Foundation
import History
import Messages
import ObshellModel
import Support
import Tracker
import YAML

extension ConfigDecoder {
    static let eventTypeNames = EventType.allCases.map(\.rawValue)
    /// The types that open an incident: the only ones an inhibition can start from.
    static let firingTypes = EventType.allCases.filter { $0.status == .firing }

    mutating func decodeRules(
        _ nodes: [YAMLNode],
        receivers: [ReceiverConfig],
        targets: [ObwatchConfig.Target],
        defaults: ObwatchConfig.Defaults
    ) -> [Rule] {
        var rules: [Rule] = []
        var ruleNodes: [YAMLNode] = []
        var seen: [String: YAMLMark] = [:]
        let receiverNames = receivers.map(\.name)
        for node in nodes {
            guard let rule = self.decodeRule(node, receiverNames: receiverNames) else {
                self.allRulesDecoded = false
                continue
            }
            let mark = node["name"]?.mark ?? node.mark
            if let first = seen[rule.name] {
                self.diagnostics.error(
                    "duplicate rule name \(YAMLNode.quote(rule.name)) (\(Self.firstDefinition(first, before: mark)))",
                    at: mark
                )
                continue
            }
            seen[rule.name] = mark
            self.warnIfNeverMatches(rule, node: node, targets: targets)
            rules.append(rule)
            ruleNodes.append(node)
        }
        self.warnResumedWithoutStalls(zip(rules, ruleNodes), defaults: defaults)
        return rules
    }

    /// Warns about a rule whose `match` takes `resumed` while it is not sent every `stalled` that opens a stall.
    ///
    /// One `resumed` ends a stall episode, which opens at the shortest threshold in use; a rule is sent the
    /// `stalled` of its own threshold only (every threshold with `event: "*"` and no `after:`). A stall that ended
    /// between a shorter threshold and the rule's was never announced to it, so its `resumed` would come out of
    /// nowhere. Receiving `resumed` because a `stalled` was sent (resolved-to-senders) is always right: this is
    /// only about what the rule's `match` takes.
    mutating func warnResumedWithoutStalls(
        _ rules: some Sequence<(Rule, YAMLNode)>,
        defaults: ObwatchConfig.Defaults
    ) {
        let rules = Array(rules)
        var thresholds = [defaults.stallAfter]
        for (rule, _) in rules {
            if let after = rule.after, !thresholds.contains(where: { $0.text == after.text }) {
                thresholds.append(after)
            }
        }
        for (rule, node) in rules where rule.matcher.types.contains(.resumed) {
            let received: [StallThreshold]
            if rule.matcher.types == .all && rule.after == nil {
                received = thresholds
            } else if rule.matcher.types.contains(.stalled) {
                received = [rule.after ?? defaults.stallAfter]
            } else {
                received = []
            }
            let shortest = received.map(\.duration).min()
            let missed = thresholds.filter { threshold in shortest.map { threshold.duration < $0 } ?? true }
                .sorted { $0.duration < $1.duration }
            guard !missed.isEmpty else { continue }
            let advice =
                received.isEmpty
                ? "add stalled to its events or use event: \"*\""
                : "give it the shortest after, or use event: \"*\" without after"
            let mark = node["match"]?["event"]?.mark ?? node["match"]?.mark ?? node.mark
            self.diagnostics.warning(
                "rule \(YAMLNode.quote(rule.name)) receives resumed events for stalls it is not sent "
                    + "(thresholds \(missed.map(\.text).joined(separator: ", "))); \(advice)",
                at: mark
            )
        }
    }

    mutating func decodeRule(_ node: YAMLNode, receiverNames: [String]) -> Rule? {
        guard var reader = self.diagnostics.collect({ () throws(YAMLError) in try node.mappingReader() }) else {
            return nil
        }
        let name = self.diagnostics.collect { () throws(YAMLError) -> String in
            let value = try reader.required("name")
            let text = try value.string()
            guard !text.isEmpty else {
                throw YAMLError(code: .invalidValue, message: "a rule's name must not be empty", at: value.mark)
            }
            return text
        }
        var matcher: EventMatcher?
        if let value = self.diagnostics.collect({ () throws(YAMLError) in try reader.required("match") }) {
            matcher = self.decodeMatcher(value)
        }
        var receivers: [String]?
        if let value = self.diagnostics.collect({ () throws(YAMLError) in try reader.required("notify") }) {
            receivers = self.decodeNotify(value, known: receiverNames)
        }
        let after = self.duration(reader.optional("after"))
        let slowerThan = self.slowerThan(reader.optional("slower_than"))
        let repeatInterval = self.duration(reader.optional("repeat"))
        let groupWait = self.duration(reader.optional("group_wait"), allowZero: true)
        var template = TemplateOverrides()
        if let value = reader.optional("template") { template = self.decodeTemplate(value) }
        self.reportUnknownRuleKeys(reader)
        guard let name, let matcher, let receivers else { return nil }
        if let after, !matcher.types.contains(.stalled), let afterNode = node["after"] {
            self.diagnostics.warning(
                "\"after\" sets the stall threshold of stalled events, but this rule does not match \"stalled\"",
                at: afterNode.mark
            )
            _ = after
        }
        if slowerThan != nil, !matcher.types.contains(.slow), let node = node["slower_than"] {
            self.diagnostics.warning(
                "\"slower_than\" sets the threshold of slow events, but this rule does not match \"slow\"",
                at: node.mark
            )
        }
        return Rule(
            name: name,
            matcher: matcher,
            receivers: receivers,
            after: after.map { StallThreshold(text: $0.text, duration: $0.duration) },
            slowerThan: slowerThan,
            repeatInterval: repeatInterval?.duration,
            groupWait: groupWait?.duration ?? .zero,
            template: template,
            mark: SourcePosition(node.mark)
        )
    }

    /// The keys of `match:`, which a rule's own mapping does not take.
    static let matcherKeys = ["event", "dag", "dag_regex", "target", "labels"]

    /// Unknown keys of a rule, as errors; a condition written beside `match:` instead of under it (`event:`,
    /// `tagret:`) is told where it goes.
    /// `slower_than:` (`2x`, `+5m`, `p99`), or `nil` with an error that says what is accepted.
    mutating func slowerThan(_ node: YAMLNode?) -> SlowerThan? {
        guard let node, let text = self.diagnostics.collect({ () throws(YAMLError) in try node.string() }) else {
            return nil
        }
        guard let slowerThan = SlowerThan(text) else {
            self.diagnostics.error(
                "\"slower_than\" is \(YAMLNode.quote(text)): write a factor of the usual duration (2x), a margin over it"
                    + " (+5m) or a percentile of the history (p90, p95, p99)",
                at: node.mark
            )
            return nil
        }
        return slowerThan
    }

    mutating func reportUnknownRuleKeys(_ reader: YAMLMappingReader) {
        // unknownKeyErrors follows untakenKeys, one error per key, in order.
        for (key, error) in zip(reader.untakenKeys, reader.unknownKeyErrors()) {
            guard !error.message.contains("did you mean"),
                let condition = nearest(to: key.name, among: Self.matcherKeys)
            else {
                self.diagnostics.error(error.message, at: key.mark)
                continue
            }
            let hint =
                condition == key.name
                ? "it goes under \"match\"" : "did you mean \"\(condition)\" under \"match\"?"
            self.diagnostics.error("unknown key \(YAMLNode.quote(key.name)) (\(hint))", at: key.mark)
        }
    }

    mutating func decodeNotify(_ node: YAMLNode, known: [String]) -> [String]? {
        guard let names = self.diagnostics.collect({ try node.oneOrList { try $0.string() } }) else { return nil }
        if names.isEmpty {
            self.diagnostics.error("\"notify\" lists no receiver", at: node.mark)
            return nil
        }
        var result: [String] = []
        for (name, element) in zip(names, node.elements ?? [node]) {
            // A receiver with an error has its own diagnostic; "unknown receiver" would send the reader astray.
            if self.brokenReceiverNames.contains(name) { continue }
            guard known.contains(name) else {
                var message = "unknown receiver \(YAMLNode.quote(name))"
                if let suggestion = nearest(to: name, among: known, maxDistance: 3) {
                    message += " (did you mean \(YAMLNode.quote(suggestion))?)"
                }
                message +=
                    known.isEmpty ? "; no receiver is defined" : "; " + Self.knownReceivers(known, nearestTo: name)
                self.diagnostics.error(message, at: element.mark)
                continue
            }
            if !result.contains(name) { result.append(name) }
        }
        return result
    }

    /// `the receivers are "db-chat", "oncall"`: every defined receiver, the nearest to `name` first (ties in the
    /// order they are defined), at most ten.
    static func knownReceivers(_ known: [String], nearestTo name: String) -> String {
        let limit = 10
        let lowered = name.lowercased()
        let ranked = known.enumerated()
            .map { (distance: editDistance(lowered, $0.element.lowercased()), index: $0.offset, name: $0.element) }
            .sorted { ($0.distance, $0.index) < ($1.distance, $1.index) }
            .map { YAMLNode.quote($0.name) }
        let shown = ranked.prefix(limit).joined(separator: ", ")
        let more = ranked.count > limit ? " and \(ranked.count - limit) more" : ""
        return (known.count == 1 ? "the one receiver is " : "the receivers are ") + shown + more
    }

    /// `match:` of a rule or a silence.
    mutating func decodeMatcher(_ node: YAMLNode) -> EventMatcher? {
        guard var reader = self.diagnostics.collect({ () throws(YAMLError) in try node.mappingReader() }) else {
            return nil
        }
        var matcher = EventMatcher()
        var valid = true
        if let value = reader.optional("event") {
            if let types = self.eventTypes(value, allowAll: true) { matcher.types = types } else { valid = false }
        }
        let glob = reader.optional("dag")
        let regex = reader.optional("dag_regex")
        if glob != nil, let regex {
            self.diagnostics.error("give \"dag\" (a glob) or \"dag_regex\", not both", at: regex.mark)
            valid = false
        } else if let glob {
            if let pattern = self.glob(glob) { matcher.dag = .glob(pattern) } else { valid = false }
        } else if let regex, let text = self.diagnostics.collect({ () throws(YAMLError) in try regex.string() }) {
            do {
                matcher.dag = .regex(try WholeMatchRegex(text))
            } catch {
                self.diagnostics.error("\(error.message) in \(YAMLNode.quote(text))", at: regex.mark)
                valid = false
            }
        }
        if let value = reader.optional("target") {
            if let pattern = self.glob(value) { matcher.target = pattern } else { valid = false }
        }
        if let value = reader.optional("labels") {
            if let pairs = self.diagnostics.collect({ try value.stringMap { $0 } }) {
                for pair in pairs {
                    if let pattern = self.glob(pair.value) { matcher.labels[pair.key] = pattern } else { valid = false }
                }
            } else {
                valid = false
            }
        }
        self.reportUnknownKeys(reader)
        return valid ? matcher : nil
    }

    /// One event type, a list, or `"*"`.
    mutating func eventTypes(_ node: YAMLNode, allowAll: Bool) -> EventMatcher.Types? {
        guard let names = self.diagnostics.collect({ try node.oneOrList { try $0.string() } }) else { return nil }
        if allowAll && names == ["*"] { return .all }
        if names.isEmpty {
            self.diagnostics.error("the event list is empty; name at least one event type", at: node.mark)
            return nil
        }
        var types = Set<EventType>()
        var valid = true
        for (name, element) in zip(names, node.elements ?? [node]) {
            if let type = EventType(rawValue: name) {
                types.insert(type)
                continue
            }
            valid = false
            if name == "*" {
                self.diagnostics.error("\"*\" stands alone: write event: \"*\" for every event", at: element.mark)
                continue
            }
            var message = "unknown event type \(YAMLNode.quote(name))"
            if let suggestion = nearest(to: name, among: Self.eventTypeNames, maxDistance: 3) {
                message += " (did you mean \(YAMLNode.quote(suggestion))?)"
            } else {
                message += "; known: " + Self.eventTypeNames.joined(separator: ", ")
            }
            self.diagnostics.error(message, at: element.mark)
        }
        return valid ? .only(types) : nil
    }

    mutating func glob(_ node: YAMLNode) -> Glob? {
        guard let text = self.diagnostics.collect({ () throws(YAMLError) in try node.string() }) else { return nil }
        do {
            return try Glob(text)
        } catch {
            self.diagnostics.error("invalid glob \(YAMLNode.quote(text)): \(error.message)", at: node.mark)
            return nil
        }
    }

    mutating func decodeTemplate(_ node: YAMLNode) -> TemplateOverrides {
        guard var reader = self.diagnostics.collect({ () throws(YAMLError) in try node.mappingReader() }) else {
            return TemplateOverrides()
        }
        func source(_ value: YAMLNode?, _ diagnostics: inout Diagnostics) -> TemplateSource? {
            guard let value else { return nil }
            guard let scalar = value.scalar, !value.isNull else {
                diagnostics.append(value.wrongType(expected: "a template string"))
                return nil
            }
            let isBlock = scalar.style == .literal || scalar.style == .folded
            return TemplateSource(
                text: scalar.value,
                mark: SourcePosition(isBlock ? Self.blockContentStart(after: value.mark) : value.mark),
                isQuoted: scalar.isQuoted,
                isBlock: isBlock
            )
        }
        let overrides = TemplateOverrides(
            title: source(reader.optional("title"), &self.diagnostics),
            text: source(reader.optional("text"), &self.diagnostics)
        )
        self.reportUnknownKeys(reader)
        for problem in TemplateChecker.check(overrides) {
            self.diagnostics.error(problem.message, at: YAMLMark(problem.mark))
        }
        return overrides
    }

    /// Where a block scalar's text starts: libyaml marks its `|` or `>`; the text begins on the first non-blank
    /// line after it, at that line's indentation.
    static func blockContentStart(after mark: YAMLMark) -> YAMLMark {
        guard let data = FileManager.default.contents(atPath: mark.file) else { return mark }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        var index = mark.line  // the 0-based index of the line after the indicator
        while index < lines.count {
            let line = lines[index]
            let indentation = line.prefix { $0 == " " }.count
            if indentation < line.count && !line.allSatisfy({ $0 == " " || $0 == "\r" }) {
                return YAMLMark(file: mark.file, line: index + 1, column: indentation + 1)
            }
            index += 1
        }
        return mark
    }

    /// Warns about a rule that no event can satisfy.
    mutating func warnIfNeverMatches(_ rule: Rule, node: YAMLNode, targets: [ObwatchConfig.Target]) {
        let mark = node["match"]?.mark ?? node.mark
        if rule.matcher.dag != nil, case .only(let types) = rule.matcher.types,
            types.isSubset(of: [.targetDown, .targetUp])
        {
            self.diagnostics.warning(
                "rule \(YAMLNode.quote(rule.name)) can never match: target_down and target_up carry no DAG, "
                    + "so a \"dag\" condition never holds",
                at: mark
            )
            return
        }
        guard !targets.isEmpty else { return }
        let reachable = targets.contains { target in
            (rule.matcher.target?.matches(target.name) ?? true)
                && rule.matcher.labels.allSatisfy { key, glob in target.labels[key].map(glob.matches) ?? false }
        }
        if !reachable {
            self.diagnostics.warning(
                "rule \(YAMLNode.quote(rule.name)) can never match: no configured target has that name and those "
                    + "labels",
                at: mark
            )
        }
    }

    mutating func decodeSilence(_ node: YAMLNode) -> Silence? {
        guard var reader = self.diagnostics.collect({ () throws(YAMLError) in try node.mappingReader() }) else {
            return nil
        }
        var matcher: EventMatcher? = EventMatcher()
        if let value = reader.optional("match") { matcher = self.decodeMatcher(value) }
        let from = reader.optional("from")
        let until = reader.optional("until")
        let weekly = reader.optional("weekly")
        let comment = reader.optional("comment").flatMap { self.expandedString($0) }
        self.reportUnknownKeys(reader)
        var window: SilenceWindow?
        if let weekly {
            if from != nil || until != nil {
                self.diagnostics.error(
                    "a silence has \"weekly\" hours or \"from\"/\"until\" instants, not both",
                    at: weekly.mark
                )
            } else {
                window = self.decodeWeekly(weekly).map { .weekly($0) }
            }
        } else if from == nil && until == nil {
            self.diagnostics.error(
                "a silence needs \"from\" and \"until\" (RFC 3339 instants) or \"weekly\" hours",
                at: node.mark
            )
        } else if let from, let until {
            let start = self.instant(from)
            let end = self.instant(until)
            if let start, let end {
                if end <= start {
                    self.diagnostics.error("\"until\" must be after \"from\"", at: until.mark)
                } else {
                    window = .absolute(from: start, until: end)
                }
            }
        } else {
            self.diagnostics.error(
                "a silence needs both \"from\" and \"until\"",
                at: (from ?? until)?.mark ?? node.mark
            )
        }
        guard let matcher, let window else { return nil }
        return Silence(matcher: matcher, window: window, comment: comment, mark: SourcePosition(node.mark))
    }

    /// An RFC 3339 instant with an offset (`2026-12-01T02:00:00+08:00` or `...Z`).
    mutating func instant(_ node: YAMLNode) -> ObshellTime? {
        guard let text = self.diagnostics.collect({ () throws(YAMLError) in try node.string() }) else { return nil }
        guard let time = ObshellTime(text), !time.isEpoch else {
            self.diagnostics.error(
                "invalid time \(YAMLNode.quote(text)): expected RFC 3339 with an offset, such as "
                    + "2026-12-01T02:00:00+08:00",
                at: node.mark
            )
            return nil
        }
        return time
    }

    static let weekdayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    mutating func decodeWeekly(_ node: YAMLNode) -> WeeklyWindow? {
        guard var reader = self.diagnostics.collect({ () throws(YAMLError) in try node.mappingReader() }) else {
            return nil
        }
        var days: Set<Int>? = Set(1...7)
        if let value = reader.optional("days") { days = self.weekdays(value) }
        let start = self.diagnostics.collect { () throws(YAMLError) in try Self.clock(try reader.required("from")) }
        let end = self.diagnostics.collect { () throws(YAMLError) in try Self.clock(try reader.required("until")) }
        var zone: TimeZone? = TimeZone(identifier: "UTC")
        if let value = self.diagnostics.collect({ () throws(YAMLError) in try reader.required("time_zone") }) {
            zone = self.timeZone(value)
        }
        self.reportUnknownKeys(reader)
        guard let days, let start, let end, let zone else { return nil }
        return WeeklyWindow(weekdays: days, startMinute: start, endMinute: end, timeZone: zone)
    }

    /// `HH:MM`, 00:00 to 24:00.
    static func clock(_ node: YAMLNode) throws(YAMLError) -> Int {
        let text = try node.string()
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count <= 2, parts[1].count == 2,
            let hour = Int(parts[0]), let minute = Int(parts[1]),
            (0...24).contains(hour), (0...59).contains(minute), hour * 60 + minute <= 1440
        else {
            throw YAMLError(
                code: .invalidValue,
                message: "invalid time of day \(YAMLNode.quote(text)): expected HH:MM such as 02:00",
                at: node.mark
            )
        }
        return (hour * 60 + minute) % 1440
    }

    /// `[mon, tue]`, `mon-fri`, `[sat, sun]`; Foundation numbering (1 = Sunday).
    mutating func weekdays(_ node: YAMLNode) -> Set<Int>? {
        guard let names = self.diagnostics.collect({ try node.oneOrList { try $0.string() } }) else { return nil }
        var days = Set<Int>()
        var valid = true
        for (name, element) in zip(names, node.elements ?? [node]) {
            let lowered = name.lowercased()
            let bounds = lowered.split(separator: "-").map { String($0.prefix(3)) }
            let indices = bounds.compactMap { Self.weekdayNames.firstIndex(of: $0) }
            guard (bounds.count == 1 || bounds.count == 2), indices.count == bounds.count else {
                self.diagnostics.error(
                    "invalid weekday \(YAMLNode.quote(name)): expected mon, tue, wed, thu, fri, sat, sun or a range "
                        + "such as mon-fri",
                    at: element.mark
                )
                valid = false
                continue
            }
            var day = indices[0]
            let last = indices.last ?? day
            days.insert(day + 1)
            while day != last {
                day = (day + 1) % 7
                days.insert(day + 1)
            }
        }
        if names.isEmpty {
            self.diagnostics.error("\"days\" lists no weekday", at: node.mark)
            return nil
        }
        return valid ? days : nil
    }

    mutating func decodeInhibition(_ node: YAMLNode) -> Inhibition? {
        guard var reader = self.diagnostics.collect({ () throws(YAMLError) in try node.mappingReader() }) else {
            return nil
        }
        var sources: Set<EventType>?
        if let value = self.diagnostics.collect({ () throws(YAMLError) in try reader.required("source") }),
            case .only(let types)? = self.eventTypes(value, allowAll: false)
        {
            let notFiring = types.filter { $0.status != .firing }.map(\.rawValue).sorted()
            if notFiring.isEmpty {
                sources = types
            } else {
                self.diagnostics.error(
                    "an inhibition starts from an incident; \(notFiring.joined(separator: ", ")) opens none "
                        + "(use one of " + Self.firingTypes.map(\.rawValue).joined(separator: ", ") + ")",
                    at: value.mark
                )
            }
        }
        var suppressed: Set<EventType>?
        if let value = self.diagnostics.collect({ () throws(YAMLError) in try reader.required("suppress") }),
            case .only(let types)? = self.eventTypes(value, allowAll: false)
        {
            suppressed = types
        }
        self.reportUnknownKeys(reader)
        guard let sources, let suppressed else { return nil }
        return Inhibition(sources: sources, suppressed: suppressed, mark: SourcePosition(node.mark))
    }
}
