import Foundation

/// `slower_than:` of a rule, or the built-in rule: when a running node counts as slow.
///
/// - ``usual``: max(1.5 × p95, p50 + 4 × 1.4826 × MAD, 2 minutes), MAD taken on log-durations (so the middle term is
///   `exp(log p50 + 4 × 1.4826 × MAD)`); the 2-minute floor keeps second-long nodes from firing on noise.
/// - `2x` (any positive factor): the factor times p50.
/// - `+5m` (any Go-style duration): p50 plus that much.
/// - `p99` (`p50`…`p99`): that percentile of the history (p25, p50, p90, p95, p99 are computed).
///
/// Every rule needs the same minimum history as the built-in one (``DurationHistory/pool(for:)``): no history, no
/// `slow`.
package struct SlowerThan: Sendable, Hashable, Codable, CustomStringConvertible {
    /// How the threshold is computed.
    package enum Kind: Sendable, Hashable, Codable {
        /// The built-in threshold.
        case usual
        /// A factor of p50.
        case times(Double)
        /// p50 plus seconds.
        case plus(Double)
        /// A percentile of the history (25, 50, 90, 95 or 99).
        case percentile(Int)
    }

    /// The text as written (`usual` for the built-in): the `threshold` field of `slow` events, what rules route on.
    package var text: String
    /// How the threshold is computed.
    package var kind: Kind

    /// The built-in rule.
    package static let usual = SlowerThan(text: "usual", kind: .usual)

    /// The percentiles a `pNN` may name.
    package static let percentiles = [25, 50, 90, 95, 99]

    /// Makes a rule from its parts.
    package init(text: String, kind: Kind) {
        self.text = text
        self.kind = kind
    }

    /// Parses `2x`, `1.5x`, `+5m`, `+90s`, `p99`; `nil` when the text is none of them.
    package init?(_ text: String) {
        if text.hasSuffix("x"), let factor = Double(text.dropLast()), factor.isFinite, factor > 0 {
            self.init(text: text, kind: .times(factor))
        } else if text.hasPrefix("+"), let seconds = HistoryDurationText.seconds(text.dropFirst()), seconds > 0 {
            self.init(text: text, kind: .plus(seconds))
        } else if text.hasPrefix("p"), let value = Int(text.dropFirst()), Self.percentiles.contains(value) {
            self.init(text: text, kind: .percentile(value))
        } else {
            return nil
        }
    }

    /// The written form.
    package var description: String { self.text }

    /// The built-in threshold's floor.
    package static let floorSeconds = 120.0

    /// The threshold in seconds for these statistics, and how it was made, spelled out.
    package func threshold(_ statistics: DurationStatistics) -> SlowThreshold {
        let format = HistoryDurationText.format
        switch self.kind {
        case .usual:
            let byP95 = 1.5 * statistics.p95
            let byMAD = exp(log(statistics.p50) + 4 * 1.4826 * statistics.madLog)
            let seconds = max(byP95, byMAD, Self.floorSeconds)
            return SlowThreshold(seconds: seconds, usual: "usually \(format(statistics.p95)) at p95")
        case .times(let factor):
            return SlowThreshold(
                seconds: factor * statistics.p50,
                usual: "usually \(format(statistics.p50)) at p50, slower than \(self.text)"
            )
        case .plus(let seconds):
            return SlowThreshold(
                seconds: statistics.p50 + seconds,
                usual: "usually \(format(statistics.p50)) at p50, slower than \(self.text)"
            )
        case .percentile(let value):
            let seconds = statistics.quantile(Double(value) / 100) ?? statistics.p99
            return SlowThreshold(seconds: seconds, usual: "usually \(format(statistics.p50)) at p50, \(self.text)")
        }
    }
}

/// A computed slowness threshold.
package struct SlowThreshold: Sendable, Hashable {
    /// Seconds a node may run before it counts as slow.
    package var seconds: Double
    /// What the history says, e.g. `usually 41s at p95`.
    package var usual: String

    /// `usually 41s at p95; this run 3m12s, threshold 1m02s`.
    package func explain(elapsed: Double) -> String {
        "\(self.usual); this run \(HistoryDurationText.format(elapsed)), threshold "
            + HistoryDurationText.format(self.seconds)
    }
}

/// Durations as people read them, and the Go-style text rules use.
package enum HistoryDurationText {
    /// `41s`, `3m12s`, `1m02s`, `2h05m`; below 10 seconds one decimal (`4.2s`).
    package static func format(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        if seconds < 10 {
            let tenths = (seconds * 10).rounded()
            return tenths.truncatingRemainder(dividingBy: 10) == 0
                ? "\(Int(tenths / 10))s" : "\(Int(tenths) / 10).\(Int(tenths) % 10)s"
        }
        let whole = Int(seconds.rounded())
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return "\(whole / 60)m" + Self.pad(whole % 60) + "s" }
        let minutes = (whole + 30) / 60
        return "\(minutes / 60)h" + Self.pad(minutes % 60) + "m"
    }

    private static func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

    /// Seconds of a Go-style duration (`90s`, `5m`, `1h30m`); `nil` when the text is not one.
    package static func seconds(_ text: Substring) -> Double? {
        var rest = text
        guard !rest.isEmpty else { return nil }
        var total = 0.0
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !digits.isEmpty, let value = Double(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix { $0.isASCII && $0.isLetter }
            rest = rest.dropFirst(unit.count)
            switch unit {
            case "ms": total += value / 1000
            case "s": total += value
            case "m": total += value * 60
            case "h": total += value * 3600
            case "d": total += value * 86_400
            default: return nil
            }
        }
        return total.isFinite ? total : nil
    }
}
