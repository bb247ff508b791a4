import Foundation

/// Statistics over a window of durations, computed on their logarithms: durations are right-skewed, and a log scale
/// keeps one long run from dragging the middle the way a mean would.
///
/// Quantiles interpolate linearly between order statistics of the log-durations and are turned back into seconds.
/// `madLog` is the median absolute deviation of the log-durations (unscaled; ×1.4826 estimates a standard deviation).
package struct DurationStatistics: Sendable, Hashable, Codable {
    /// How many samples.
    package var count: Int
    /// The 25th percentile, in seconds.
    package var p25: Double
    /// The median, in seconds.
    package var p50: Double
    /// The 90th percentile, in seconds.
    package var p90: Double
    /// The 95th percentile, in seconds.
    package var p95: Double
    /// The 99th percentile, in seconds (with 20 samples at most, close to the largest).
    package var p99: Double
    /// The median absolute deviation of the natural logarithms of the durations.
    package var madLog: Double

    /// The shortest duration taken into account: a zero-length node still has a logarithm.
    static let floorSeconds = 0.001

    /// Computes the statistics; `nil` for no samples.
    package init?(seconds: [Double]) {
        let logs = seconds.map { log(max($0, Self.floorSeconds)) }.sorted()
        guard !logs.isEmpty else { return nil }
        self.count = logs.count
        self.p25 = exp(Self.quantile(logs, 0.25))
        self.p50 = exp(Self.quantile(logs, 0.50))
        self.p90 = exp(Self.quantile(logs, 0.90))
        self.p95 = exp(Self.quantile(logs, 0.95))
        self.p99 = exp(Self.quantile(logs, 0.99))
        let median = Self.quantile(logs, 0.5)
        self.madLog = Self.quantile(logs.map { abs($0 - median) }.sorted(), 0.5)
    }

    /// The `q` quantile (0...1) in seconds.
    package func quantile(_ q: Double) -> Double? {
        switch q {
        case 0.25: self.p25
        case 0.5: self.p50
        case 0.9: self.p90
        case 0.95: self.p95
        case 0.99: self.p99
        default: nil
        }
    }

    /// Linear interpolation between order statistics of sorted values.
    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        guard sorted.count > 1 else { return sorted.first ?? 0 }
        let position = q * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down))
        let upper = min(lower + 1, sorted.count - 1)
        let fraction = position - Double(lower)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
    }
}
