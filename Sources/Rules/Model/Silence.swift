public import Foundation
public import ObshellModel
public import Tracker
public import YAML

/// One `silences:` entry: events it matches are not sent while it is active (`replay` still prints them, with no
/// receivers).
public struct Silence: Sendable, Hashable {
    /// `match:`.
    public var matcher: EventMatcher
    /// When it is active.
    public var window: SilenceWindow
    /// `comment:`, for the log.
    public var comment: String?
    /// Where it is written.
    public var mark: YAMLMark

    /// Makes a silence.
    public init(matcher: EventMatcher, window: SilenceWindow, comment: String? = nil, mark: YAMLMark) {
        self.matcher = matcher
        self.window = window
        self.comment = comment
        self.mark = mark
    }

    /// Whether the silence covers `event` at the instant `now`.
    public func silences(_ event: Event, at now: ObshellTime) -> Bool {
        self.matcher.matches(event) && self.window.contains(now)
    }
}

/// When a silence is active.
public enum SilenceWindow: Sendable, Hashable {
    /// `from:` and `until:` instants (RFC 3339 with any offset); active from `from` inclusive to `until` exclusive.
    case absolute(from: ObshellTime, until: ObshellTime)
    /// `weekly:`: the same hours on chosen weekdays, in an IANA time zone.
    case weekly(WeeklyWindow)

    /// Whether `instant` falls inside.
    public func contains(_ instant: ObshellTime) -> Bool {
        switch self {
        case .absolute(let from, let until): !from.isLater(than: instant) && until.isLater(than: instant)
        case .weekly(let window): window.contains(instant.date)
        }
    }
}

/// Weekly hours in a time zone, such as "Saturday and Sunday 02:00 to 06:00 Asia/Shanghai".
///
/// The hours are wall-clock times of the zone, so a window keeps its local hours across a daylight-saving change. A
/// window whose end is not after its start runs past midnight into the next day (22:00 to 02:00); it belongs to the
/// weekday on which it starts. `from` equal to `until` means the whole day.
public struct WeeklyWindow: Sendable, Hashable {
    /// Weekdays, 1 = Sunday ... 7 = Saturday (Foundation's numbering).
    public var weekdays: Set<Int>
    /// Minutes after local midnight at which the window opens.
    public var startMinute: Int
    /// Minutes after local midnight at which it closes.
    public var endMinute: Int
    /// The zone the hours are read in.
    public var timeZone: TimeZone

    /// Makes a window.
    public init(weekdays: Set<Int>, startMinute: Int, endMinute: Int, timeZone: TimeZone) {
        self.weekdays = weekdays
        self.startMinute = startMinute
        self.endMinute = endMinute
        self.timeZone = timeZone
    }

    /// Whether `date` falls inside, read on the zone's wall clock.
    public func contains(_ date: Date) -> Bool {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = self.timeZone
        let parts = calendar.dateComponents([.weekday, .hour, .minute], from: date)
        guard let weekday = parts.weekday, let hour = parts.hour, let minute = parts.minute else { return false }
        let minuteOfDay = hour * 60 + minute
        let previousDay = weekday == 1 ? 7 : weekday - 1
        if self.startMinute == self.endMinute { return self.weekdays.contains(weekday) }
        if self.startMinute < self.endMinute {
            return self.weekdays.contains(weekday) && minuteOfDay >= self.startMinute && minuteOfDay < self.endMinute
        }
        // Past midnight: the evening part belongs to today, the morning part to yesterday's window.
        return (self.weekdays.contains(weekday) && minuteOfDay >= self.startMinute)
            || (self.weekdays.contains(previousDay) && minuteOfDay < self.endMinute)
    }
}

/// One `inhibit:` entry: while a source incident is open on a target and DAG, the listed event types of the same
/// target and DAG are not sent.
public struct Inhibition: Sendable, Hashable {
    /// `source:`: the firing types whose open incident inhibits.
    public var sources: Set<EventType>
    /// `suppress:`: the types not sent meanwhile.
    public var suppressed: Set<EventType>
    /// Where it is written.
    public var mark: YAMLMark

    /// Makes an inhibition.
    public init(sources: Set<EventType>, suppressed: Set<EventType>, mark: YAMLMark) {
        self.sources = sources
        self.suppressed = suppressed
        self.mark = mark
    }
}
