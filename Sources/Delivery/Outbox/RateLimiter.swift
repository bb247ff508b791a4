package import ConfigModel
package import Foundation

/// Sliding-window rate limits: at most `count` sends in any window of `per`, for every limit at once (Feishu has
/// both 5/s and 100/min).
struct RateLimiter: Sendable, Hashable {
    /// The limits.
    package let limits: [RateLimit]
    /// Send times still inside the longest window, oldest first.
    private var sent: [Date] = []

    /// Makes a limiter; no limits means no waiting.
    /// - Parameters:
    ///   - limits: The limits.
    ///   - history: Start times of earlier sends (from the journal, after a restart), so a restarted process allows
    ///     no burst beyond what the receiver allows; those outside every window are forgotten.
    package init(limits: [RateLimit], history: [Date] = []) {
        self.limits = limits
        if let newest = history.max() {
            self.sent = history.filter { $0 > newest.addingTimeInterval(-self.longestWindow) }.sorted()
        }
    }

    /// Send times that can still hold back a send, oldest first: what the journal keeps across a restart.
    package var history: [Date] { self.sent }

    /// The earliest time a send is allowed, at or after `now`.
    func nextAllowed(at now: Date) -> Date {
        var allowed = now
        for limit in self.limits where limit.count > 0 {
            let window = Self.seconds(limit.per)
            let inWindow = self.sent.filter { $0 > now.addingTimeInterval(-window) }
            guard inWindow.count >= limit.count else { continue }
            // The send that must leave the window before another may go.
            let blocking = inWindow[inWindow.count - limit.count]
            allowed = max(allowed, blocking.addingTimeInterval(window))
        }
        return allowed
    }

    /// Records a send.
    package mutating func record(at time: Date) {
        self.sent.append(time)
        let longest = self.longestWindow
        self.sent.removeAll { $0 <= time.addingTimeInterval(-longest) }
    }

    private var longestWindow: TimeInterval {
        self.limits.filter { $0.count > 0 }.map { Self.seconds($0.per) }.max() ?? 0
    }

    static func seconds(_ duration: Duration) -> TimeInterval {
        let (seconds, attoseconds) = duration.components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
