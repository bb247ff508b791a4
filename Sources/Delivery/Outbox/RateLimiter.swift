public import Foundation
public import Rules

/// Sliding-window rate limits: at most `count` sends in any window of `per`, for every limit at once (Feishu has
/// both 5/s and 100/min).
public struct RateLimiter: Sendable, Hashable {
    /// The limits.
    public let limits: [RateLimit]
    /// Send times still inside the longest window, oldest first.
    private var sent: [Date] = []

    /// Makes a limiter; no limits means no waiting.
    public init(limits: [RateLimit]) {
        self.limits = limits
    }

    /// The earliest time a send is allowed, at or after `now`.
    public func nextAllowed(at now: Date) -> Date {
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
    public mutating func record(at time: Date) {
        self.sent.append(time)
        let longest = self.limits.map { Self.seconds($0.per) }.max() ?? 0
        self.sent.removeAll { $0 <= time.addingTimeInterval(-longest) }
    }

    static func seconds(_ duration: Duration) -> TimeInterval {
        let (seconds, attoseconds) = duration.components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
