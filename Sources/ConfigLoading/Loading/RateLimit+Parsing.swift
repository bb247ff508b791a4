package import ConfigModel
import Foundation
import YAML

extension RateLimit {
    /// Parses `N/s`, `N/min`, `N/h` or `N/DURATION` (`10/30s`); `nil` when it is not one or `N` is not positive.
    package init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let count = Int(parts[0].trimmingCharacters(in: .whitespaces)), count > 0 else {
            return nil
        }
        let unit = parts[1].trimmingCharacters(in: .whitespaces)
        let window: Duration
        switch unit {
        case "s", "sec", "second": window = .seconds(1)
        case "m", "min", "minute": window = .seconds(60)
        case "h", "hour": window = .seconds(3600)
        default:
            guard let written = WrittenDuration(unit), written.duration > .zero else { return nil }
            window = written.duration
        }
        self.init(count: count, per: window, text: text)
    }
}
