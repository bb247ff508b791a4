package import History

/// A no-progress threshold: the text as the user wrote it (`"30m"`, carried by `stalled` events) and its length.
package struct StallThreshold: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The threshold exactly as written in the config, e.g. `30m` or `1h30m`.
    package var text: String
    /// How long a DAG must make no progress.
    package var duration: Duration

    /// Makes a threshold from its written form and its length.
    package init(text: String, duration: Duration) {
        self.text = text
        self.duration = duration
    }

    /// Parses a Go-style duration (`90s`, `30m`, `1h30m`, `500ms`, `2h`); `nil` when the text is not one or is not
    /// positive.
    package init?(_ text: String) {
        guard let duration = DurationText.parse(text), duration > .zero else { return nil }
        self.init(text: text, duration: duration)
    }

    /// The written form.
    package var description: String { self.text }
}

/// The knobs of the state machine, from `defaults:` and the rules (CONTRACT section 3).
package struct TrackerSettings: Sendable, Hashable {
    /// Failed polls in a row before `target_down` (at least 1).
    package var downAfter: Int
    /// How long after the first good poll that missed a DAG its final state is sought before `vanished`.
    package var confirmWithin: Duration
    /// Every distinct no-progress threshold; one `stalled` fires per threshold and stall episode.
    package var stallThresholds: [StallThreshold]
    /// How long a DAG that ended SUCCEED (succeeded, passed, rolled back) is remembered after it was last seen.
    /// obshell applies RETRY, ROLLBACK and PASS only to FAILED DAGs, so such a DAG cannot come back; forgetting it
    /// keeps the state small. FAILED and vanished DAGs are never forgotten: they may come back at any time.
    var forgetSucceededAfter: Duration
    /// Every distinct `slower_than:` in use: the built-in ``SlowerThan/usual`` first, then each rule's. One `slow`
    /// fires per threshold and node attempt.
    package var slowThresholds: [SlowerThan]

    /// The slowness thresholds as `slow` walks them: distinct by written text, in order.
    var orderedSlowThresholds: [SlowerThan] {
        var seen = Set<String>()
        return self.slowThresholds.filter { seen.insert($0.text).inserted }
    }

    /// The thresholds as `stalled` walks them: distinct by written text (rules route on it), shortest first.
    var orderedThresholds: [StallThreshold] {
        var seen = Set<String>()
        return self.stallThresholds.filter { seen.insert($0.text).inserted }
            .sorted { ($0.duration, $0.text) < ($1.duration, $1.text) }
    }

    /// The built-in `defaults.stall_after` of 30 minutes.
    package static let defaultStallAfter = StallThreshold(text: "30m", duration: .seconds(1800))

    /// Makes settings; the defaults are CONTRACT section 3's (`down_after: 3`, `confirm_within: 10m`,
    /// `stall_after: 30m`).
    /// - Parameters:
    ///   - downAfter: Failed polls in a row before `target_down`; values below 1 count as 1.
    ///   - confirmWithin: How long a vanished DAG is confirmed before `vanished`.
    ///   - stallThresholds: `defaults.stall_after` followed by every rule's `after:`.
    ///   - forgetSucceededAfter: How long a DAG that ended SUCCEED stays in the state (a day by default).
    ///   - slowThresholds: The built-in slowness threshold followed by every rule's `slower_than:`.
    package init(
        downAfter: Int = 3,
        confirmWithin: Duration = .seconds(600),
        stallThresholds: [StallThreshold] = [TrackerSettings.defaultStallAfter],
        forgetSucceededAfter: Duration = .seconds(86_400),
        slowThresholds: [SlowerThan] = [.usual]
    ) {
        self.slowThresholds = slowThresholds
        self.downAfter = max(1, downAfter)
        self.confirmWithin = confirmWithin
        self.stallThresholds = stallThresholds
        self.forgetSucceededAfter = forgetSucceededAfter
    }
}

/// Go-style duration text, the form the config uses.
enum DurationText {
    static func parse(_ text: String) -> Duration? {
        var rest = Substring(text)
        guard !rest.isEmpty else { return nil }
        var total = Duration.zero
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !digits.isEmpty, let value = Double(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix { $0.isASCII && $0.isLetter }
            rest = rest.dropFirst(unit.count)
            let nanosecondsPerUnit: Double
            switch unit {
            case "ns": nanosecondsPerUnit = 1
            case "us", "µs": nanosecondsPerUnit = 1e3
            case "ms": nanosecondsPerUnit = 1e6
            case "s": nanosecondsPerUnit = 1e9
            case "m": nanosecondsPerUnit = 60e9
            case "h": nanosecondsPerUnit = 3600e9
            case "d": nanosecondsPerUnit = 86_400e9
            default: return nil
            }
            let nanoseconds = value * nanosecondsPerUnit
            guard nanoseconds.isFinite, nanoseconds < 9e18 else { return nil }
            total += .nanoseconds(Int64(nanoseconds.rounded()))
        }
        return total
    }
}
